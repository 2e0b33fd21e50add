import type { VersionView } from '@stepgate/protocol';

/** A version's status and role as words (the badge colour only repeats them). */
export function VersionState({ version }: { version: VersionView }) {
  return (
    <>
      <span className={`badge ${version.status === 'ready' ? 'allow' : 'deny'}`}>
        {version.status}
      </span>
      {version.active ? <span className="badge connected">active</span> : null}
      {version.shadow ? <span className="badge step_up">shadow</span> : null}
      {version.protectionChanged ? (
        <span className="badge step_up">changes self-protection</span>
      ) : null}
    </>
  );
}
