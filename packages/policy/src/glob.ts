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

export function globMatch(value: string, glob: string): boolean {
  return compileGlob(glob).test(value);
}
