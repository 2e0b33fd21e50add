import { useState, type FormEvent } from 'react';
import { isoToLocal, localToIso } from './local-time';
import type { FilterValues } from './url-filters';

export interface FilterField {
  /** The query parameter (URL and API). */
  name: string;
  label: string;
  kind?: 'text' | 'time' | 'select' | 'number';
  options?: { value: string; label: string }[];
  hint?: string;
  placeholder?: string;
}

/**
 * A labelled filter form. Times are edited as local wall-clock time and applied as ISO 8601
 * with the reader's offset. Mount it with `key` set to the applied filters, so back/forward
 * (a changed URL) shows the filters in force, not stale edits.
 */
export function FilterForm({
  id,
  label,
  fields,
  values,
  onApply,
}: {
  id: string;
  label: string;
  fields: FilterField[];
  values: FilterValues;
  onApply: (next: FilterValues) => void;
}) {
  const [draft, setDraft] = useState<FilterValues>(() =>
    Object.fromEntries(
      fields.map((field) => [
        field.name,
        field.kind === 'time' ? isoToLocal(values[field.name] ?? '') : (values[field.name] ?? ''),
      ]),
    ),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(
      Object.fromEntries(
        fields.map((field) => [
          field.name,
          field.kind === 'time' ? localToIso(draft[field.name] ?? '') : (draft[field.name] ?? ''),
        ]),
      ),
    );
  };
  const active = fields.some((field) => values[field.name]);
  return (
    <form className="filters filter-form" aria-label={label} onSubmit={submit}>
      {fields.map((field) => {
        const inputId = `${id}-${field.name}`;
        const hintId = field.hint ? `${inputId}-hint` : undefined;
        const value = draft[field.name] ?? '';
        const set = (next: string) => setDraft((current) => ({ ...current, [field.name]: next }));
        return (
          <div key={field.name}>
            <label htmlFor={inputId}>{field.label}</label>
            {field.kind === 'select' ? (
              <select id={inputId} value={value} onChange={(event) => set(event.target.value)}>
                {(field.options ?? []).map((option) => (
                  <option key={option.value} value={option.value}>
                    {option.label}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={inputId}
                type={
                  field.kind === 'time'
                    ? 'datetime-local'
                    : field.kind === 'number'
                      ? 'number'
                      : 'text'
                }
                min={field.kind === 'number' ? 0 : undefined}
                value={value}
                placeholder={field.placeholder}
                aria-describedby={hintId}
                onChange={(event) => set(event.target.value)}
              />
            )}
            {field.hint ? (
              <small id={hintId} className="muted">
                {field.hint}
              </small>
            ) : null}
          </div>
        );
      })}
      <div className="filter-actions">
        <button type="submit">Apply filters</button>
        <button type="button" className="secondary" disabled={!active} onClick={() => onApply({})}>
          Clear
        </button>
      </div>
    </form>
  );
}
