import { globMatcher, isLiteralGlob, literalPrefix } from '../glob.js';

export interface Targeted<T> {
  actions?: readonly string[];
  resources?: readonly string[];
  value: T;
}

/** A target as the index holds it: its value, and what it says of resources. */
export interface TargetEntry<T> {
  readonly value: T;
}

/** Whether the entry's target takes the resource id. */
export function takesResource<T>(entry: TargetEntry<T>, resourceId: string): boolean {
  const { anyResource, resourceExact, resourceGlobs } = entry as Entry<T>;
  if (anyResource || resourceExact?.has(resourceId) === true) return true;
  if (resourceGlobs === undefined) return false;
  for (let i = 0; i < resourceGlobs.length; i++)
    if ((resourceGlobs[i] as (value: string) => boolean)(resourceId)) return true;
  return false;
}

interface Entry<T> extends TargetEntry<T> {
  order: number;
  value: T;
  resourceExact?: Set<string>;
  /** Linear-time matchers: resource ids come from requests, so no backtracking RegExp. */
  resourceGlobs?: ((value: string) => boolean)[];
  anyResource: boolean;
}

interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  globs: { test: (value: string) => boolean; entry: Entry<T> }[];
}

const MEMO_LIMIT = 10_000;

/**
 * Finds the policies whose target matches a request without looking at the others.
 * Literal actions are a hash lookup; wildcard actions hang in a trie under their literal
 * prefix, so a lookup only tests globs whose prefix the action starts with. The candidate
 * list per action is memoised (actions are a small vocabulary; resource ids are not).
 */
export class TargetIndex<T> {
  private readonly exact = new Map<string, Entry<T>[]>();
  private readonly trie: TrieNode<T> = { children: new Map(), globs: [] };
  private readonly anyAction: Entry<T>[] = [];
  private readonly memo = new Map<string, Entry<T>[]>();

  constructor(targets: readonly Targeted<T>[]) {
    targets.forEach((target, order) => {
      const entry: Entry<T> = { order, value: target.value, anyResource: !target.resources };
      for (const glob of target.resources ?? []) {
        if (isLiteralGlob(glob)) (entry.resourceExact ??= new Set()).add(glob);
        else (entry.resourceGlobs ??= []).push(globMatcher(glob));
      }
      if (!target.actions) {
        this.anyAction.push(entry);
        return;
      }
      for (const glob of new Set(target.actions)) {
        if (isLiteralGlob(glob)) {
          const list = this.exact.get(glob) ?? [];
          list.push(entry);
          this.exact.set(glob, list);
        } else {
          this.nodeFor(literalPrefix(glob)).globs.push({ test: globMatcher(glob), entry });
        }
      }
    });
  }

  /** The values whose targets match, in the order they were given. */
  match(action: string, resourceId: string): T[] {
    return this.candidatesFor(action)
      .filter((entry) => takesResource(entry, resourceId))
      .map((entry) => entry.value);
  }

  /**
   * The entries whose action matches, in order: memoised and shared, so the decision path
   * walks them with {@link takesResource} and builds no list. Do not modify it.
   */
  candidatesFor(action: string): readonly TargetEntry<T>[] {
    return this.candidates(action);
  }

  private candidates(action: string): Entry<T>[] {
    const memoised = this.memo.get(action);
    if (memoised) return memoised;
    const found = new Set<Entry<T>>(this.anyAction);
    for (const entry of this.exact.get(action) ?? []) found.add(entry);
    let node: TrieNode<T> | undefined = this.trie;
    for (let i = 0; node; i++) {
      for (const { test, entry } of node.globs)
        if (!found.has(entry) && test(action)) found.add(entry);
      if (i >= action.length) break;
      node = node.children.get(action[i] as string);
    }
    const list = [...found].sort((a, b) => a.order - b.order);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(action, list);
    return list;
  }

  private nodeFor(prefix: string): TrieNode<T> {
    let node = this.trie;
    for (const ch of prefix) {
      let next = node.children.get(ch);
      if (!next) {
        next = { children: new Map(), globs: [] };
        node.children.set(ch, next);
      }
      node = next;
    }
    return node;
  }
}
