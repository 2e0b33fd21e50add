import type { NotReplayableReason, ReplayExample, ReplayResult } from '@stepgate/protocol';

/** Groups tracked per dimension: memory stays bounded whatever the window holds. */
const MAX_TRACKED = 10_000;
/** Groups reported per dimension, the largest first. */
const MAX_REPORTED = 100;

interface Group {
  count: number;
  examples: ReplayExample[];
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
