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
 * (or braces) is matched by a set-of-states walk instead of its RegExp: the RegExp backtracks
 * polynomially (`**a**a**b` against a long run of `a` takes seconds), and grant scopes are
 * globs that any elevating user chooses, matched against request values on the agent's hot path.
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
  const program = backtracks(glob) ? compileStates(glob) : undefined;
  return program ? (text) => runStates(program, text) : (text) => re.test(text);
}

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

function compileStates(glob: string): States {
  const states: States = { kind: [], char: [], next: [], start: 0 };
  const add = (kind: States['kind'][number], char: string, next: number[]): number => {
    states.kind.push(kind);
    states.char.push(char);
    states.next.push(next);
    return states.kind.length - 1;
  };
  // Tokens in the order the RegExp translation reads them (so `***` is `**` then `*`).
  type Token = { kind: 'c' | '?' | '*' | '**'; char: string };
  const top: (Token | Token[][])[] = [];
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
