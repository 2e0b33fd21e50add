import { useQueryClient } from '@tanstack/react-query';
import type {
  ActivationHeld,
  ActivationResponse,
  ShadowOffResponse,
  ShadowResponse,
  VersionView,
} from '@stepgate/protocol';
import { useState } from 'react';
import { api } from '../../api/client';
import { ReasonDialog } from '../ReasonDialog';

/** The changes the Versions page can make; each asks for a reason first. */
export type VersionAction =
  | { kind: 'activate'; version: VersionView; held?: ActivationHeld | null }
  | { kind: 'rollback'; to?: VersionView }
  | { kind: 'shadow'; version: VersionView }
  | { kind: 'stop-shadow' };

interface Wording {
  title: string;
  description: string;
  confirm: string;
}

function wording(action: VersionAction): Wording {
  switch (action.kind) {
    case 'activate':
      return {
        title: `Activate version ${action.version.number}`,
        description: action.held
          ? `The activation gate holds this version: ${action.held.reason}. Activating it anyway is audited with your reason.`
          : `Every agent will enforce version ${action.version.number} once it receives the new bundle.`,
        confirm: 'Activate',
      };
    case 'rollback':
      return {
        title: action.to ? `Roll back to version ${action.to.number}` : 'Roll back',
        description: action.to
          ? `Version ${action.to.number} becomes the active version again; every agent follows.`
          : 'The previously active version becomes the active version again; every agent follows.',
        confirm: 'Roll back',
      };
    case 'shadow':
      return {
        title: `Shadow version ${action.version.number}`,
        description: `Agents also evaluate version ${action.version.number} beside the active one and report where it would decide differently; it enforces nothing.`,
        confirm: 'Start shadow',
      };
    case 'stop-shadow':
      return {
        title: 'Stop the shadow version',
        description: 'Agents stop evaluating the shadow version.',
        confirm: 'Stop shadow',
      };
  }
}

/** Runs one action against the admin API and says in words what it did. */
async function perform(action: VersionAction, reason: string): Promise<string> {
  switch (action.kind) {
    case 'activate': {
      const done = await api<ActivationResponse>(`/v1/versions/${action.version.number}/activate`, {
        method: 'POST',
        body: { reason },
      });
      return `Version ${done.activeVersion.number} is active (revision ${done.revision}).`;
    }
    case 'rollback': {
      const done = await api<ActivationResponse>('/v1/rollback', {
        method: 'POST',
        body: action.to ? { reason, to: String(action.to.number) } : { reason },
      });
      return `Rolled back: version ${done.activeVersion.number} is active (revision ${done.revision})${
        done.from ? `, replacing version ${done.from.number}` : ''
      }.`;
    }
    case 'shadow': {
      const done = await api<ShadowResponse>(`/v1/versions/${action.version.number}/shadow`, {
        method: 'POST',
        body: { reason },
      });
      return `Version ${done.shadowVersion.number} is the shadow version (revision ${done.revision}).`;
    }
    case 'stop-shadow': {
      const done = await api<ShadowOffResponse>('/v1/shadow', {
        method: 'DELETE',
        body: { reason },
      });
      return `No shadow version any more (revision ${done.revision}).`;
    }
  }
}

/**
 * The page's actions: `start(action)` opens the reason dialog; once the API accepted the change,
 * the versions and fleet queries are refreshed and `notice` says what happened. A step-up the
 * active policies demand is handled by the API client's step-up dialog.
 */
export function useVersionActions() {
  const queries = useQueryClient();
  const [action, setAction] = useState<VersionAction>();
  const [notice, setNotice] = useState('');
  const words = action ? wording(action) : undefined;
  const confirm = async (reason: string) => {
    if (!action) return;
    const said = await perform(action, reason);
    setNotice(said);
    await Promise.all([
      queries.invalidateQueries({ queryKey: ['versions'] }),
      queries.invalidateQueries({ queryKey: ['fleet'] }),
    ]);
  };
  return {
    start: (next: VersionAction) => {
      setNotice('');
      setAction(next);
    },
    dialog: (
      <ReasonDialog
        open={action !== undefined}
        title={words?.title ?? 'Change versions'}
        description={words?.description}
        confirmLabel={words?.confirm ?? 'Confirm'}
        onConfirm={confirm}
        onClose={() => setAction(undefined)}
      />
    ),
    // Always rendered so screen readers announce the text when it appears.
    notice: (
      <p role="status" className="version-notice">
        {notice}
      </p>
    ),
  };
}
