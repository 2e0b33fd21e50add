/**
 * A reader for the protobuf text format, as far as the cel-spec `simple` test files use it:
 * `#` comments, `name: value` and `name { ... }` (or `< ... >`) fields, `[type.url]` field
 * names inside `Any` values, `[a, b]` lists, adjacent string literals, C-style escapes, and
 * bare scalars (numbers, `true`, enum names). No schema: every value stays text until the
 * caller decides what the field means. Test code only.
 */

/** A quoted string, as bytes (text-format strings may hold any byte, e.g. "\xff"). */
export interface TextString {
  kind: 'string';
  bytes: Uint8Array;
}
/** A number, `true`/`false` or an enum name, exactly as written. */
export interface TextScalar {
  kind: 'scalar';
  text: string;
}
export interface TextMessage {
  kind: 'message';
  fields: [name: string, value: TextValue][];
}
export interface TextList {
  kind: 'list';
  items: TextValue[];
}
export type TextValue = TextString | TextScalar | TextMessage | TextList;

export class TextprotoError extends Error {}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 92,
  "'": 39,
  '"': 34,
  '?': 63,
};

const encoder = new TextEncoder();

class Reader {
  private position = 0;

  constructor(private readonly text: string) {}

  parseFile(): TextMessage {
    const message = this.parseFields(undefined);
    this.skipSpace();
    if (this.position < this.text.length) this.fail('unexpected text');
    return message;
  }

  private fail(what: string): never {
    const line = this.text.slice(0, this.position).split('\n').length;
    throw new TextprotoError(`textproto line ${line}: ${what}`);
  }

  private skipSpace(): void {
    for (;;) {
      const rest = /^(?:\s+|#[^\n]*)/.exec(this.text.slice(this.position, this.position + 4096));
      if (!rest || rest[0].length === 0) return;
      this.position += rest[0].length;
    }
  }

  private peek(): string {
    this.skipSpace();
    return this.text[this.position] ?? '';
  }

  private expect(char: string): void {
    if (this.peek() !== char) this.fail(`expected "${char}"`);
    this.position++;
  }

  private parseFields(close: string | undefined): TextMessage {
    const fields: TextMessage['fields'] = [];
    for (;;) {
      const next = this.peek();
      if (next === '' || next === close) return { kind: 'message', fields };
      let name: string;
      if (next === '[') {
        const end = this.text.indexOf(']', this.position);
        if (end < 0) this.fail('unclosed [');
        name = this.text.slice(this.position, end + 1);
        this.position = end + 1;
      } else name = this.word();
      const colon = this.peek() === ':';
      if (colon) this.position++;
      const start = this.peek();
      if (start === '{' || start === '<') {
        fields.push([name, this.parseMessage()]);
      } else if (!colon) {
        this.fail(`expected ":" or "{" after ${name}`);
      } else if (start === '[') {
        fields.push([name, this.parseList()]);
      } else {
        fields.push([name, this.parseScalar()]);
      }
      if (this.peek() === ',' || this.peek() === ';') this.position++;
    }
  }

  private parseMessage(): TextMessage {
    const open = this.peek();
    this.position++;
    const close = open === '{' ? '}' : '>';
    const message = this.parseFields(close);
    this.expect(close);
    return message;
  }

  private parseList(): TextList {
    this.expect('[');
    const items: TextValue[] = [];
    while (this.peek() !== ']') {
      const start = this.peek();
      items.push(start === '{' || start === '<' ? this.parseMessage() : this.parseScalar());
      if (this.peek() === ',') this.position++;
      else if (this.peek() !== ']') this.fail('expected "," or "]" in a list');
    }
    this.position++;
    return { kind: 'list', items };
  }

  private parseScalar(): TextString | TextScalar {
    const start = this.peek();
    if (start !== '"' && start !== "'") return { kind: 'scalar', text: this.word() };
    const parts: number[] = [];
    // Adjacent literals are one string: "abc" 'def' is "abcdef".
    while (this.peek() === '"' || this.peek() === "'") parts.push(...this.quoted());
    return { kind: 'string', bytes: Uint8Array.from(parts) };
  }

  private word(): string {
    this.skipSpace();
    const match = /^[-+]?(?:\.?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?[A-Za-z0-9]*|[A-Za-z_][\w.]*)/.exec(
      this.text.slice(this.position, this.position + 512),
    );
    if (!match) this.fail('expected a name or a value');
    this.position += match[0].length;
    return match[0];
  }

  private quoted(): number[] {
    const quote = this.text[this.position++];
    const bytes: number[] = [];
    for (;;) {
      const char = this.text[this.position];
      if (char === undefined || char === '\n') this.fail('unterminated string');
      if (char === quote) {
        this.position++;
        return bytes;
      }
      if (char !== '\\') {
        const codePoint = this.text.codePointAt(this.position) as number;
        const literal = String.fromCodePoint(codePoint);
        bytes.push(...encoder.encode(literal));
        this.position += literal.length;
        continue;
      }
      const escape = this.text[this.position + 1] ?? '';
      this.position += 2;
      if (escape in SIMPLE_ESCAPES) {
        bytes.push(SIMPLE_ESCAPES[escape] as number);
      } else if (/[0-7]/.test(escape)) {
        const digits = /^[0-7]{0,2}/.exec(this.text.slice(this.position))?.[0] ?? '';
        this.position += digits.length;
        bytes.push(parseInt(escape + digits, 8) & 0xff);
      } else if (escape === 'x' || escape === 'X') {
        const digits = /^[0-9a-fA-F]{1,2}/.exec(this.text.slice(this.position))?.[0];
        if (!digits) this.fail('\\x without hex digits');
        this.position += digits.length;
        bytes.push(parseInt(digits, 16));
      } else if (escape === 'u' || escape === 'U') {
        const length = escape === 'u' ? 4 : 8;
        const digits = this.text.slice(this.position, this.position + length);
        if (!/^[0-9a-fA-F]+$/.test(digits) || digits.length !== length)
          this.fail(`\\${escape} needs ${length} hex digits`);
        this.position += length;
        bytes.push(...encoder.encode(String.fromCodePoint(parseInt(digits, 16))));
      } else {
        this.fail(`unknown escape \\${escape}`);
      }
    }
  }
}

/** Parses a whole text-format file into its top-level message. */
export function parseTextproto(text: string): TextMessage {
  return new Reader(text).parseFile();
}

/** Every value of a (repeated) field; a field given as `name: [a, b]` counts as its items. */
export function fieldsOf(message: TextMessage, name: string): TextValue[] {
  return message.fields
    .filter(([field]) => field === name)
    .flatMap(([, value]) => (value.kind === 'list' ? value.items : [value]));
}

/** The value of a singular field, or undefined. */
export function fieldOf(message: TextMessage, name: string): TextValue | undefined {
  return fieldsOf(message, name)[0];
}

export function messageField(message: TextMessage, name: string): TextMessage | undefined {
  const value = fieldOf(message, name);
  if (value !== undefined && value.kind !== 'message')
    throw new TextprotoError(`${name} is not a message`);
  return value;
}

/** A string field as text (UTF-8). */
export function stringField(message: TextMessage, name: string): string | undefined {
  const value = fieldOf(message, name);
  if (value === undefined) return undefined;
  if (value.kind !== 'string') throw new TextprotoError(`${name} is not a string`);
  return new TextDecoder('utf-8', { fatal: true }).decode(value.bytes);
}

/** A scalar field (number, bool, enum name) as written. */
export function scalarField(message: TextMessage, name: string): string | undefined {
  const value = fieldOf(message, name);
  if (value === undefined) return undefined;
  if (value.kind !== 'scalar') throw new TextprotoError(`${name} is not a scalar`);
  return value.text;
}
