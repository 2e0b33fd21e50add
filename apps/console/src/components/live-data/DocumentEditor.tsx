import { useQueryClient } from '@tanstack/react-query';
import type { LiveDataWriteResponse, LiveDocumentResponse } from '@stepgate/protocol';
import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import { ErrorMessage } from '../ErrorMessage';
import { parseJson, prettyJson, writeLiveData, type LiveDataEdit } from './live-data-api';

type Mode = LiveDataEdit['kind'];

const MODES: { mode: Mode; label: string; submit: string; objectOnly: boolean }[] = [
  {
    mode: 'put',
    label: 'Replace the whole document',
    submit: 'Replace the document',
    objectOnly: false,
  },
  { mode: 'put-key', label: 'Set one key', submit: 'Set the key', objectOnly: true },
  { mode: 'delete-key', label: 'Remove one key', submit: 'Remove the key', objectOnly: true },
  { mode: 'reset', label: 'Reset to the default', submit: 'Reset the document', objectOnly: false },
];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `[{path, message}]`, as the API details a schema violation (data/invalid). */
function violations(error: unknown): { path: string; message: string }[] {
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) return [];
  return (error.details as unknown[]).filter(
    (d): d is { path: string; message: string } =>
      isObject(d) && typeof d.path === 'string' && typeof d.message === 'string',
  );
}

/**
 * Writes one document: the whole value, one key of an object document, a key removed, or a
 * reset to the declared default. JSON is checked here before anything is sent; the schema is
 * checked by the control plane, whose errors are listed by path. Every write carries a reason.
 */
export function DocumentEditor({ document }: { document: LiveDocumentResponse }) {
  const queryClient = useQueryClient();
  const ids = useId();
  const [mode, setMode] = useState<Mode>('put');
  const [key, setKey] = useState('');
  const [text, setText] = useState(() => prettyJson(document.value));
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [written, setWritten] = useState<LiveDataWriteResponse>();

  const fields = isObject(document.value) ? document.value : undefined;
  const needsKey = mode === 'put-key' || mode === 'delete-key';
  const needsValue = mode === 'put' || mode === 'put-key';
  const parsed = needsValue ? parseJson(text) : undefined;
  const submitLabel = MODES.find((m) => m.mode === mode)?.submit ?? 'Write';
  const ready =
    !busy &&
    reason.trim() !== '' &&
    (!needsKey || key !== '') &&
    (parsed === undefined || parsed.ok);

  const chooseKey = (next: string) => {
    setKey(next);
    // An existing key starts from its value, so a small change stays a small edit.
    if (mode === 'put-key' && fields && Object.hasOwn(fields, next))
      setText(prettyJson(fields[next]));
  };
  const chooseMode = (next: Mode) => {
    setMode(next);
    setError(undefined);
    if (next === 'put') setText(prettyJson(document.value));
    if (next === 'put-key')
      setText(fields && Object.hasOwn(fields, key) ? prettyJson(fields[key]) : '');
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!ready) return;
    const value = parsed?.ok ? parsed.value : undefined;
    const edit: LiveDataEdit =
      mode === 'put'
        ? { kind: 'put', value }
        : mode === 'put-key'
          ? { kind: 'put-key', key, value }
          : mode === 'delete-key'
            ? { kind: 'delete-key', key }
            : { kind: 'reset' };
    setBusy(true);
    setError(undefined);
    setWritten(undefined);
    try {
      const result = await writeLiveData(document.name, edit, reason.trim());
      setWritten(result);
      setReason('');
      if (mode === 'put') setText(prettyJson(result.value));
      await queryClient.invalidateQueries({ queryKey: ['live-data'] });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const textError = parsed !== undefined && !parsed.ok ? parsed.error : undefined;
  const details = violations(error);
  return (
    <section aria-labelledby="edit-title">
      <h2 id="edit-title">Edit</h2>
      <form onSubmit={submit} className="live-data-editor">
        <fieldset>
          <legend>Change</legend>
          {MODES.filter((m) => fields !== undefined || !m.objectOnly).map((m) => (
            <div key={m.mode} className="radio">
              <input
                type="radio"
                id={`${ids}-${m.mode}`}
                name="live-data-mode"
                checked={mode === m.mode}
                onChange={() => chooseMode(m.mode)}
              />
              <label htmlFor={`${ids}-${m.mode}`}>{m.label}</label>
            </div>
          ))}
        </fieldset>
        {needsKey ? (
          <>
            <label htmlFor={`${ids}-key`}>Key</label>
            <input
              id={`${ids}-key`}
              list={`${ids}-keys`}
              value={key}
              maxLength={1000}
              onChange={(event) => chooseKey(event.target.value)}
            />
            <datalist id={`${ids}-keys`}>
              {Object.keys(fields ?? {}).map((k) => (
                <option key={k} value={k} />
              ))}
            </datalist>
          </>
        ) : null}
        {needsValue ? (
          <>
            <label htmlFor={`${ids}-value`}>
              {mode === 'put' ? 'New value (JSON)' : 'Value of the key (JSON)'}
            </label>
            <textarea
              id={`${ids}-value`}
              className="json-input"
              rows={Math.min(20, Math.max(4, text.split('\n').length + 1))}
              spellCheck={false}
              value={text}
              aria-invalid={textError !== undefined}
              aria-describedby={`${ids}-value-check`}
              onChange={(event) => setText(event.target.value)}
            />
            <p
              id={`${ids}-value-check`}
              className={textError ? 'json-error' : 'muted'}
              aria-live="polite"
            >
              {textError ??
                'Valid JSON. The control plane checks it against the document’s JSON Schema.'}
            </p>
          </>
        ) : null}
        {mode === 'reset' ? (
          <p>
            The document goes back to its declared default:{' '}
            <code>{prettyJson(document.default)}</code>
          </p>
        ) : null}
        <label htmlFor={`${ids}-reason`}>Reason (kept in the history and the audit log)</label>
        <textarea
          id={`${ids}-reason`}
          rows={2}
          maxLength={1000}
          required
          value={reason}
          onChange={(event) => setReason(event.target.value)}
        />
        {error !== undefined ? (
          <div>
            <ErrorMessage error={error} title="The control plane refused the write" />
            {details.length > 0 ? (
              <ul className="violations" aria-label="Schema violations">
                {details.map((d, index) => (
                  <li key={index}>
                    <code>{d.path === '' ? '(the whole value)' : d.path}</code>: {d.message}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
        <div className="actions">
          <button
            type="submit"
            className={mode === 'delete-key' || mode === 'reset' ? 'danger' : undefined}
            disabled={!ready}
          >
            {busy ? 'Writing…' : submitLabel}
          </button>
        </div>
        <p role="status">
          {written
            ? written.changed.length === 0
              ? `Nothing changed: the value was already this (data revision ${written.revision}).`
              : `Written at data revision ${written.revision}; changed ${written.changed.map((p) => p || '(whole)').join(', ')}. Agents receive it within seconds.`
            : null}
        </p>
      </form>
    </section>
  );
}
