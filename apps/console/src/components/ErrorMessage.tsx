import { ApiError } from '../api/client';

/** An API (or any) error as a readable message: what the control plane said, and its code. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (error === null || error === undefined) return null;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div role="alert" className="error-message">
      <strong>{title ?? 'The request failed'}:</strong> {message}
      {code && code !== 'network' ? <span className="error-code"> ({code})</span> : null}
    </div>
  );
}
