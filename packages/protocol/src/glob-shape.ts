/**
 * What a glob costs to match, for the limits on globs that callers choose (grant scopes). The
 * glob language itself (`*`, `**`, `?`, `{a,b}` without nesting) is @stepgate/policy's, which
 * this package may not import; only its brace rule is read again here, and
 * `packages/agent-core/src/glob-shape.spec.ts` pins that this reading and the policy's
 * compiler accept and refuse the same globs with the same messages.
 */
export interface GlobShape {
  /** No glob syntax: matched by comparison. */
  literal: boolean;
  /** Runs of `*` (`*`, `**`, `***` count one each). */
  wildcardRuns: number;
  /** Brace groups. */
  braceGroups: number;
  /** Brace-free globs it stands for (the product of the groups' alternatives; 1 without). */
  alternatives: number;
}

/** Why a glob is not one, and where. */
export interface GlobError {
  message: string;
  offset: number;
}

/** The shape of a glob, or what makes it invalid. Linear in the glob. */
export function globShape(glob: string): GlobShape | GlobError {
  let braceGroups = 0;
  let alternatives = 1;
  let inGroup = 0;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '{') {
      if (inGroup > 0) return { message: 'nested "{" in glob', offset: i };
      inGroup = 1;
    } else if (ch === '}') {
      if (inGroup === 0) return { message: 'unmatched "}" in glob', offset: i };
      braceGroups++;
      // Capped, so a glob of many groups cannot overflow to Infinity.
      alternatives = Math.min(alternatives * inGroup, 2 ** 31);
      inGroup = 0;
    } else if (ch === ',' && inGroup > 0) inGroup++;
  }
  if (inGroup > 0) return { message: 'unclosed "{" in glob', offset: glob.length };
  return {
    literal: !/[*?{}]/.test(glob),
    wildcardRuns: glob.match(/\*+/g)?.length ?? 0,
    braceGroups,
    alternatives,
  };
}
