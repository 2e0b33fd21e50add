/** Texts longer than this are parsed every time: a memo of them would hold too much. */
const MAX_TEXT = 512;

/**
 * JSON.parse for columns whose few distinct values repeat across a replay's records (the
 * recorded reasons, requirement and signal values): each distinct text is parsed once, and the
 * rows share its value, frozen, so no reader can change it for the others. At most `max`
 * texts of up to MAX_TEXT characters are kept (the memo is emptied when full): memory stays
 * bounded whatever the window holds.
 */
export class JsonMemo {
  private readonly values = new Map<string, unknown>();

  constructor(private readonly max = 4096) {}

  parse(text: string | null): unknown {
    if (text === null) return null;
    if (text.length > MAX_TEXT) return JSON.parse(text);
    let value = this.values.get(text);
    if (value === undefined) {
      value = deepFreeze(JSON.parse(text));
      if (this.values.size >= this.max) this.values.clear();
      this.values.set(text, value);
    }
    return value;
  }
}

function deepFreeze(value: unknown): unknown {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
