import { StepgateError } from '@stepgate/protocol';

/**
 * The position after the last row of a newest-first page, on (at, id): opaque to clients, and
 * stable under concurrent inserts (the decision log and the audit log page this way).
 */
export interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at.toISOString(), cursor.id]), 'utf8').toString(
    'base64url',
  );
}

export function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[];
      if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)))
        return { at: new Date(at), id };
    }
  } catch {
    // reported below
  }
  throw new StepgateError(
    'request/invalid',
    'invalid cursor: pass nextCursor from a previous page',
  );
}

/** Rows strictly "before" the cursor in newest-first (at, id) order: a Prisma WHERE. */
export function olderThan({ at, id }: Cursor) {
  return { OR: [{ at: { lt: at } }, { at, id: { lt: id } }] };
}
