/**
 * Glob semantics are part of the language and must be identical in every agent forever,
 * so they are defined here rather than borrowed from a file-path matcher with its own
 * quirks (dotfiles, extglobs, path normalisation):
 *   `*`  any run of characters except `/`
 *   `**` any run of characters including `/`
 *   `?`  one character except `/`
 *   `{a,b}` one of the alternatives (no nesting)
 * Everything else matches itself.
 */
export interface GlobError {
  message: string;
  offset: number;
}

const SPECIAL = /[.+^$()|[\]\\]/;

export function globToRegExpSource(glob: string): string | GlobError {
  let out = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else {
        out += '[^/]*';
      }
    } else if (ch === '?') {
      out += '[^/]';
    } else if (ch === '{') {
      if (inBraces) return { message: 'nested "{" in glob', offset: i };
      inBraces = true;
      out += '(?:';
    } else if (ch === '}') {
      if (!inBraces) return { message: 'unmatched "}" in glob', offset: i };
      inBraces = false;
      out += ')';
    } else if (ch === ',' && inBraces) {
      out += '|';
    } else if (SPECIAL.test(ch)) {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
  }
  if (inBraces) return { message: 'unclosed "{" in glob', offset: glob.length };
  return `^${out}$`;
}

/** True when the pattern contains no glob syntax, so an exact string comparison suffices. */
export function isLiteralGlob(glob: string): boolean {
  return !/[*?{}]/.test(glob);
}

/** The characters every match must start with (everything before the first glob token). */
export function literalPrefix(glob: string): string {
  const index = glob.search(/[*?{]/);
  return index === -1 ? glob : glob.slice(0, index);
}

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

/** Compiles (and memoises) a glob; throws on an invalid glob. */
export function compileGlob(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  const source = globToRegExpSource(glob);
  if (typeof source !== 'string') throw new Error(`invalid glob "${glob}": ${source.message}`);
  re = new RegExp(source, 's');
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(glob, re);
  return re;
}

/**
 * Whether `value` matches `glob`; throws on an invalid glob. A glob with two or more `*` runs
 * (or braces) is not matched by its RegExp, which backtracks polynomially (`**a**a**b`
 * against a long run of `a` takes seconds): grant scopes are globs that any elevating user
 * chooses, matched against request values on the agent's hot path. Such a glob runs as a
 * bit-parallel automaton (one machine word per 32 glob tokens per character), or, when its
 * braces expand to too many alternatives, as a set-of-states walk; both are linear in the value.
 */
export function globMatch(value: string, glob: string): boolean {
  let matcher = matchers.get(glob);
  if (matcher === undefined) {
    matcher = globMatcher(glob);
    if (matchers.size >= CACHE_LIMIT) matchers.clear();
    matchers.set(glob, matcher);
  }
  return matcher(value);
}

/**
 * A compiled matcher for one glob, in linear time whatever the value (see {@link globMatch}):
 * for callers that keep their globs, like the policy target index. Throws on an invalid glob.
 */
export function globMatcher(glob: string): (value: string) => boolean {
  const re = compileGlob(glob);
  if (!backtracks(glob)) return (text) => re.test(text);
  const alternatives = expandBraces(globItems(glob));
  if (alternatives === undefined) {
    const states = compileStates(glob);
    return (text) => runStates(states, text);
  }
  const programs = alternatives.map(compileBits);
  return (text) => programs.some((program) => runBits(program, text));
}

/** Brace expansions past this many alternatives are walked as states instead of expanded. */
const MAX_EXPANSIONS = 32;

const matchers = new Map<string, (value: string) => boolean>();

/** One `*` run and fixed-width tokens cost a RegExp linear time; more may not. */
function backtracks(glob: string): boolean {
  return glob.includes('{') || (glob.match(/\*+/g)?.length ?? 0) > 1;
}

/** States of a glob (validated by compileGlob first): what each consumes, where it leads. */
interface States {
  /** `c`: one given code unit; `?`: one but `/`; `*`: loops on all but `/`; `**`: loops on any; `|`: splits; `$`: accepts. */
  kind: ('c' | '?' | '*' | '**' | '|' | '$')[];
  char: string[];
  next: number[][];
  start: number;
}

/** Tokens in the order the RegExp translation reads them (so `***` is `**` then `*`). */
type Token = { kind: 'c' | '?' | '*' | '**'; char: string };
/** A token, or a brace group: its alternatives' tokens. */
type Item = Token | Token[][];

/** The tokens and brace groups of a glob (validated by compileGlob first). */
function globItems(glob: string): Item[] {
  const top: Item[] = [];
  let options: Token[][] | undefined;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    let token: Token | undefined;
    if (ch === '*') {
      token = glob[i + 1] === '*' ? { kind: '**', char: '' } : { kind: '*', char: '' };
      if (token.kind === '**') i++;
    } else if (ch === '?') token = { kind: '?', char: '' };
    else if (ch === '{') {
      options = [[]];
      top.push(options);
    } else if (ch === '}') options = undefined;
    else if (ch === ',' && options) options.push([]);
    else token = { kind: 'c', char: ch };
    if (token) (options ? (options[options.length - 1] as Token[]) : top).push(token);
  }
  return top;
}

function compileStates(glob: string): States {
  const states: States = { kind: [], char: [], next: [], start: 0 };
  const add = (kind: States['kind'][number], char: string, next: number[]): number => {
    states.kind.push(kind);
    states.char.push(char);
    states.next.push(next);
    return states.kind.length - 1;
  };
  const top = globItems(glob);
  // Built back to front, so every state knows its successor.
  const chain = (tokens: Token[], after: number): number => {
    let next = after;
    for (let i = tokens.length - 1; i >= 0; i--) {
      const token = tokens[i] as Token;
      next = add(token.kind, token.char, [next]);
    }
    return next;
  };
  let next = add('$', '', []);
  for (let i = top.length - 1; i >= 0; i--) {
    const item = top[i] as Token | Token[][];
    const after = next;
    next = Array.isArray(item)
      ? add(
          '|',
          '',
          item.map((tokens) => chain(tokens, after)),
        )
      : chain([item], after);
  }
  states.start = next;
  return states;
}

/** Walks every state at once: time linear in the value (times the glob's size), no backtracking. */
function runStates(states: States, value: string): boolean {
  const seen = new Int32Array(states.kind.length).fill(-1);
  let current: number[] = [];
  let step = 0;
  // Adds a state and everything reachable from it without consuming a character.
  const enter = (list: number[], state: number): void => {
    if (seen[state] === step) return;
    seen[state] = step;
    const kind = states.kind[state];
    if (kind === '|') {
      for (const next of states.next[state] as number[]) enter(list, next);
      return;
    }
    list.push(state);
    if (kind === '*' || kind === '**') enter(list, (states.next[state] as number[])[0] as number);
  };
  enter(current, states.start);
  for (let i = 0; i < value.length && current.length > 0; i++) {
    const ch = value[i] as string;
    step++;
    const following: number[] = [];
    for (const state of current) {
      const kind = states.kind[state];
      const next = (states.next[state] as number[])[0] as number;
      if (kind === 'c') {
        if (states.char[state] === ch) enter(following, next);
      } else if (kind === '?') {
        if (ch !== '/') enter(following, next);
      } else if (kind === '*') {
        if (ch !== '/') enter(following, state);
      } else if (kind === '**') enter(following, state);
    }
    current = following;
  }
  return current.some((state) => states.kind[state] === '$');
}

/** Every brace-free token sequence a glob stands for; undefined past {@link MAX_EXPANSIONS}. */
function expandBraces(items: Item[]): Token[][] | undefined {
  let sequences: Token[][] = [[]];
  for (const item of items) {
    if (!Array.isArray(item)) {
      for (const sequence of sequences) sequence.push(item);
      continue;
    }
    if (sequences.length * item.length > MAX_EXPANSIONS) return undefined;
    sequences = sequences.flatMap((sequence) =>
      item.map((alternative) => [...sequence, ...alternative]),
    );
  }
  return sequences;
}

/**
 * A brace-free glob as a bit-parallel automaton (shift-and with loops): bit `i` of the state
 * set means "the first `i` tokens match what was read". A character moves every set bit over a
 * single-character token that accepts it (`(D << 1) & consume[c]`), keeps the bits of `*`/`**`
 * tokens that accept it (`D & stay[c]`), and a `*` run may match nothing (bit `i - 1` sets bit
 * `i`: applied once per token of the longest run of consecutive stars).
 */
interface BitProgram {
  /** 32-bit words per state set (tokens + 1 bits). */
  words: number;
  /** The bit of a full match (the token count). */
  accept: number;
  /** Bits of star tokens (they may match nothing). */
  star: Uint32Array;
  starRun: number;
  /** Consume masks: for `/`, per other ASCII code, for any other character. */
  slash: Uint32Array;
  ascii: Uint32Array[];
  byChar: Map<number, Uint32Array>;
  other: Uint32Array;
  /** Stay masks: `**` bits for `/`, every star bit for anything else. */
  staySlash: Uint32Array;
  stayOther: Uint32Array;
  /** The two state sets a run swaps between, kept so matching allocates nothing (runs never overlap). */
  scratch: [Uint32Array, Uint32Array];
}

function compileBits(tokens: Token[]): BitProgram {
  const words = (tokens.length >> 5) + 1;
  const mask = () => new Uint32Array(words);
  const set = (target: Uint32Array, bit: number) => {
    target[bit >> 5] = (target[bit >> 5] as number) | (1 << (bit & 31));
  };
  const star = mask();
  const slash = mask();
  const other = mask();
  const staySlash = mask();
  const stayOther = mask();
  const literals = new Map<number, number[]>();
  let starRun = 0;
  let run = 0;
  tokens.forEach((token, index) => {
    const bit = index + 1;
    run = token.kind === '*' || token.kind === '**' ? run + 1 : 0;
    starRun = Math.max(starRun, run);
    if (token.kind === '?') set(other, bit);
    else if (token.kind === 'c') {
      const code = token.char.charCodeAt(0);
      if (code === SLASH) set(slash, bit);
      else literals.set(code, [...(literals.get(code) ?? []), bit]);
    } else {
      set(star, bit);
      set(stayOther, bit);
      if (token.kind === '**') set(staySlash, bit);
    }
  });
  const byChar = new Map<number, Uint32Array>();
  for (const [code, bits] of literals) {
    const consume = Uint32Array.from(other);
    for (const bit of bits) set(consume, bit);
    byChar.set(code, consume);
  }
  const ascii = Array.from({ length: 128 }, (_, code) =>
    code === SLASH ? slash : (byChar.get(code) ?? other),
  );
  return {
    words,
    accept: tokens.length,
    star,
    starRun,
    slash,
    ascii,
    byChar,
    other,
    staySlash,
    stayOther,
    scratch: [mask(), mask()],
  };
}

const SLASH = 47;

function runBits(program: BitProgram, value: string): boolean {
  const { words, ascii, byChar, other, staySlash, stayOther } = program;
  let [current, next] = program.scratch;
  current.fill(0);
  current[0] = 1;
  starClosure(program, current);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const consume = code < 128 ? (ascii[code] as Uint32Array) : (byChar.get(code) ?? other);
    const stay = code === SLASH ? staySlash : stayOther;
    let carry = 0;
    let live = 0;
    for (let w = 0; w < words; w++) {
      const bits = current[w] as number;
      const moved = (((bits << 1) | carry) & (consume[w] as number)) | (bits & (stay[w] as number));
      carry = bits >>> 31;
      next[w] = moved;
      live |= moved;
    }
    if (live === 0) return false;
    starClosure(program, next);
    [current, next] = [next, current];
  }
  const accept = program.accept;
  return (((current[accept >> 5] as number) >>> (accept & 31)) & 1) === 1;
}

/** Lets every star run match nothing: bit `i - 1` sets the bit of a star token `i`. */
function starClosure(program: BitProgram, bits: Uint32Array): void {
  const { words, star } = program;
  for (let round = 0; round < program.starRun; round++) {
    let carry = 0;
    for (let w = 0; w < words; w++) {
      const word = bits[w] as number;
      bits[w] = word | (((word << 1) | carry) & (star[w] as number));
      carry = word >>> 31;
    }
  }
}
