import { describe, expect, it } from 'vitest';
import { catchUp, type LiveRevisions } from './catch-up.js';

const live = (overrides: Partial<LiveRevisions> = {}): LiveRevisions => ({
  revision: 7,
  active: { revision: 5, versionId: 'v-active', activatedAt: new Date(0) },
  shadow: null,
  shadowChangedAt: null,
  ...overrides,
});

describe('catchUp', () => {
  it('sends the active bundle to an agent holding nothing or an older revision', () => {
    expect(catchUp({}, live())).toEqual({ active: true, shadow: 'none' });
    expect(catchUp({ active: 4 }, live())).toEqual({ active: true, shadow: 'none' });
  });

  it('sends nothing to an agent holding the revision of the last activation or newer', () => {
    // Revision 6 and 7 were shadow changes: the active policies are those of revision 5.
    expect(catchUp({ active: 5 }, live())).toEqual({ active: false, shadow: 'none' });
    expect(catchUp({ active: 7 }, live())).toEqual({ active: false, shadow: 'none' });
  });

  it('sends nothing active when no version is active', () => {
    expect(catchUp({}, live({ active: null }))).toEqual({ active: false, shadow: 'none' });
  });

  it('sends the shadow when the agent lacks it, clears one that is gone', () => {
    const withShadow = live({ shadow: { revision: 6, versionId: 'v-shadow' }, shadowChangedAt: 6 });
    expect(catchUp({ active: 5 }, withShadow)).toEqual({ active: false, shadow: 'send' });
    expect(catchUp({ active: 5, shadow: 3 }, withShadow)).toEqual({
      active: false,
      shadow: 'send',
    });
    expect(catchUp({ active: 5, shadow: 6 }, withShadow)).toEqual({
      active: false,
      shadow: 'none',
    });
    expect(catchUp({ active: 5, shadow: 6 }, live({ shadowChangedAt: 7 }))).toEqual({
      active: false,
      shadow: 'clear',
    });
  });
});
