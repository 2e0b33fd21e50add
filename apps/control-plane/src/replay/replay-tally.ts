import type { NotReplayableReason, ReplayExample, ReplayResult } from '@stepgate/protocol';

/** Groups tracked per dimension: memory stays bounded whatever the window holds. */
const MAX_TRACKED = 10_000;
/** Groups reported per dimension, the largest first. */
const MAX_REPORTED = 100;

interface Group {
  count: number;
  examples: ReplayExample[];
}

/** A Groups as plain data (structured-cloneable): its groups in first-seen order. */
export interface GroupsState {
  groups: [string, Group][];
  overflow: boolean;
}

/**
 * A ReplayTally as plain data, which a replay worker thread posts to the main thread at the
 * end of its slice (see ReplayTally.merge).
 */
export interface TallyState {
  records: number;
  replayed: number;
  changed: number;
  skipped: number;
  notReplayable: GroupsState;
  changes: GroupsState;
  rules: GroupsState;
  principals: GroupsState;
  actions: GroupsState;
}

/** Counts with up to `examples` examples per key, at most MAX_TRACKED keys. */
class Groups {
  private readonly groups = new Map<string, Group>();
  overflow = false;

  constructor(private readonly examples: number) {}

  add(key: string, example: ReplayExample): void {
    let group = this.groups.get(key);
    if (group === undefined) {
      if (this.groups.size >= MAX_TRACKED) {
        this.overflow = true;
        return;
      }
      group = { count: 0, examples: [] };
      this.groups.set(key, group);
    }
    group.count++;
    if (group.examples.length < this.examples) group.examples.push(example);
  }

  state(): GroupsState {
    return { groups: [...this.groups.entries()], overflow: this.overflow };
  }

  /**
   * Adds the groups of a later part of the log, as if its records had been added one by one
   * after these: counts add up, examples are kept first come (these first), keys new here are
   * tracked in that part's first-seen order while there is room. Exact as long as the later
   * part tracked every key it saw (fewer than MAX_TRACKED); past that the report says
   * `truncated` either way.
   */
  merge(later: GroupsState): void {
    if (later.overflow) this.overflow = true;
    for (const [key, { count, examples }] of later.groups) {
      let group = this.groups.get(key);
      if (group === undefined) {
        if (this.groups.size >= MAX_TRACKED) {
          this.overflow = true;
          continue;
        }
        group = { count: 0, examples: [] };
        this.groups.set(key, group);
      }
      group.count += count;
      for (const example of examples) {
        if (group.examples.length >= this.examples) break;
        group.examples.push(example);
      }
    }
  }

  /** The largest groups first (ties by key, so a report is stable). */
  top(): [string, Group][] {
    const sorted = [...this.groups.entries()].sort(
      ([ka, a], [kb, b]) => b.count - a.count || (ka < kb ? -1 : ka > kb ? 1 : 0),
    );
    if (sorted.length > MAX_REPORTED) this.overflow = true;
    return sorted.slice(0, MAX_REPORTED);
  }
}

const SEP = '\u0000';

/** The running totals of a replay; `result()` is the stored report. */
export class ReplayTally {
  private records = 0;
  private replayed = 0;
  private changed = 0;
  private skipped = 0;
  private readonly notReplayable: Groups;
  private readonly changes: Groups;
  private readonly rules: Groups;
  private readonly principals: Groups;
  private readonly actions: Groups;

  constructor(examples: number) {
    this.notReplayable = new Groups(examples);
    this.changes = new Groups(examples);
    this.rules = new Groups(examples);
    this.principals = new Groups(examples);
    this.actions = new Groups(examples);
  }

  get read(): number {
    return this.records;
  }

  unchanged(): void {
    this.records++;
    this.replayed++;
  }

  change(
    change: string,
    rules: readonly { policy: string; rule: string }[],
    example: ReplayExample,
  ): void {
    this.records++;
    this.replayed++;
    this.changed++;
    this.changes.add(change, example);
    for (const rule of rules) this.rules.add(`${rule.policy}${SEP}${rule.rule}`, example);
    this.principals.add(example.principal, example);
    this.actions.add(example.action, example);
  }

  notReplayed(reason: NotReplayableReason, example: ReplayExample): void {
    this.records++;
    this.skipped++;
    this.notReplayable.add(reason, example);
  }

  /** The tally as plain data, for ReplayTally.merge in another thread. */
  state(): TallyState {
    return {
      records: this.records,
      replayed: this.replayed,
      changed: this.changed,
      skipped: this.skipped,
      notReplayable: this.notReplayable.state(),
      changes: this.changes.state(),
      rules: this.rules.state(),
      principals: this.principals.state(),
      actions: this.actions.state(),
    };
  }

  /**
   * Adds the tally of the records that follow these in (at, id) order (a later slice of the
   * window): merged in slice order into an empty tally, the slices' tallies give the report
   * that one pass over the whole window gives, the same examples included.
   */
  merge(later: TallyState): void {
    this.records += later.records;
    this.replayed += later.replayed;
    this.changed += later.changed;
    this.skipped += later.skipped;
    this.notReplayable.merge(later.notReplayable);
    this.changes.merge(later.changes);
    this.rules.merge(later.rules);
    this.principals.merge(later.principals);
    this.actions.merge(later.actions);
  }

  result(): ReplayResult {
    const byRule = this.rules.top().map(([key, group]) => {
      const [policy = '', rule = ''] = key.split(SEP);
      return { policy, rule, ...group };
    });
    const byPrincipal = this.principals.top().map(([principal, g]) => ({ principal, ...g }));
    const byAction = this.actions.top().map(([action, g]) => ({ action, ...g }));
    return {
      totals: {
        records: this.records,
        replayed: this.replayed,
        changed: this.changed,
        notReplayable: this.skipped,
      },
      notReplayable: this.notReplayable
        .top()
        .map(([reason, g]) => ({ reason: reason as NotReplayableReason, ...g })),
      changes: this.changes.top().map(([change, g]) => ({ change, ...g })),
      byRule,
      byPrincipal,
      byAction,
      truncated: this.rules.overflow || this.principals.overflow || this.actions.overflow,
    };
  }
}
