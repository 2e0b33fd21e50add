import { describe, expect, it } from 'vitest';
import { PlanJsonError, planChanges } from './plan-changes.js';

const entry = (type: string, actions: string[], mode = 'managed') => ({
  address: `${type}.x`,
  mode,
  type,
  name: 'x',
  change: { actions },
});

describe('planChanges', () => {
  it('lists the resource types a plan creates, updates, replaces and deletes, once each, sorted', () => {
    const plan = {
      format_version: '1.2',
      resource_changes: [
        entry('aws_route', ['update']),
        entry('aws_iam_role', ['create']),
        entry('aws_s3_bucket', ['delete', 'create']),
        entry('aws_iam_role', ['create']),
        entry('aws_instance', ['delete']),
        entry('aws_eip', ['forget']),
      ],
    };
    expect(planChanges(plan)).toEqual({
      changes: ['aws_eip', 'aws_iam_role', 'aws_instance', 'aws_route', 'aws_s3_bucket'],
      creates: ['aws_iam_role', 'aws_s3_bucket'],
      updates: ['aws_route'],
      deletes: ['aws_eip', 'aws_instance', 'aws_s3_bucket'],
    });
  });

  it('leaves out no-op resources and data sources, which change nothing', () => {
    const plan = {
      format_version: '1.2',
      resource_changes: [
        entry('aws_iam_policy', ['no-op']),
        entry('aws_iam_policy_document', ['read'], 'data'),
        // A data source only reads, whatever its actions say.
        entry('aws_iam_user', ['create'], 'data'),
        entry('aws_vpc', ['read']),
      ],
    };
    expect(planChanges(plan).changes).toEqual([]);
    expect(planChanges({ format_version: '1.2' }).changes).toEqual([]);
  });

  it('refuses what is not a plan rather than reading it as no changes', () => {
    expect(() => planChanges({ resource_changes: [] })).toThrow(PlanJsonError);
    expect(() => planChanges([])).toThrow(/format_version/);
    expect(() => planChanges({ format_version: '1.2', resource_changes: {} })).toThrow(
      /not a list/,
    );
    expect(() =>
      planChanges({ format_version: '1.2', resource_changes: [{ type: 'aws_vpc' }] }),
    ).toThrow(/resource_changes\[0\]/);
  });
});
