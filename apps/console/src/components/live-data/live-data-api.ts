/**
 * The live-data calls the page makes besides plain reads. A write's body is the value itself,
 * so its reason travels in the X-Stepgate-Reason header (percent-encoded: the control plane
 * decodes it, and a header cannot carry non-ASCII text as such).
 */
import type { LiveDataWriteResponse } from '@stepgate/protocol';
import { api } from '../../api/client';

// The value of LIVE_DATA_REASON_HEADER in @stepgate/protocol; the console imports types only.
const REASON_HEADER = 'x-stepgate-reason';

/** What one edit does: the whole document, one key of an object document, or a reset. */
export type LiveDataEdit =
  | { kind: 'put'; value: unknown }
  | { kind: 'put-key'; key: string; value: unknown }
  | { kind: 'delete-key'; key: string }
  | { kind: 'reset' };

export function documentPath(name: string, key?: string): string {
  const path = `/v1/data/${encodeURIComponent(name)}`;
  return key === undefined ? path : `${path}/${encodeURIComponent(key)}`;
}

export function writeLiveData(
  name: string,
  edit: LiveDataEdit,
  reason: string,
): Promise<LiveDataWriteResponse> {
  const headers = { [REASON_HEADER]: encodeURIComponent(reason) };
  switch (edit.kind) {
    case 'put':
      return api(documentPath(name), { method: 'PUT', body: edit.value, headers });
    case 'put-key':
      return api(documentPath(name, edit.key), { method: 'PUT', body: edit.value, headers });
    case 'delete-key':
      return api(documentPath(name, edit.key), { method: 'DELETE', headers });
    case 'reset':
      return api(documentPath(name), { method: 'DELETE', headers });
  }
}

/** Pretty JSON for display; `undefined` (never sent by the API) shows as nothing. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? '';
}

/** A JSON text parsed, or where it fails (the browser's message names the position). */
export function parseJson(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === '')
    return { ok: false, error: 'Enter a JSON value (e.g. [], {}, "text", 42, null).' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${(error as Error).message}` };
  }
}

/** A window or interval in seconds as people read it: 90 s, 15 min, 1 h, 30 d. */
export function duration(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds >= 86_400) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** `in 3 min` until a future timestamp (`now` once it passed). */
export function until(at: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(at) - now) / 1000);
  const minutes = Math.round(seconds / 60);
  const hours = Math.round(seconds / 3600);
  if (seconds <= 0) return 'now';
  if (seconds < 60) return `in ${seconds} s`;
  if (minutes < 60) return `in ${minutes} min`;
  if (hours < 24) return `in ${hours} h`;
  return `in ${Math.round(seconds / 86_400)} d`;
}
