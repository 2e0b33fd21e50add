/**
 * `<input type="datetime-local">` speaks the reader's wall-clock time without a zone; the API
 * takes ISO 8601 with an offset. These convert between the two in the browser's time zone.
 */

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-12-03T09:30` (local) -> `2026-12-03T09:30:00+01:00`; '' when empty or unreadable. */
export function localToIso(local: string): string {
  if (!local) return '';
  const date = new Date(local);
  if (Number.isNaN(date.getTime())) return '';
  // getTimezoneOffset is minutes behind UTC (-60 for UTC+1), for that instant (DST included).
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** Any ISO time -> the `datetime-local` value showing it in the reader's zone; '' if unreadable. */
export function isoToLocal(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}
