import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'wouter';

export type FilterValues = Record<string, string>;

/**
 * List filters kept in the URL's query string, so a link (`/decisions?rule=…`) opens the list
 * filtered and the browser's back and forward buttons step through filter changes. `key` names
 * the current filter set (a new one restarts the cursor pages).
 */
export function useUrlFilters(names: readonly string[]) {
  const [params, setParams] = useSearchParams();
  const values = useMemo(
    () => Object.fromEntries(names.map((name) => [name, params.get(name) ?? ''])) as FilterValues,
    [names, params],
  );
  const key = names.map((name) => `${name}=${values[name]}`).join('&');
  const apply = useCallback(
    (next: FilterValues) => {
      const kept = new URLSearchParams();
      for (const name of names) {
        const value = next[name]?.trim();
        if (value) kept.set(name, value);
      }
      setParams(kept);
    },
    [names, setParams],
  );
  // The query string of the current filters (for links back to the list).
  const search = useMemo(() => {
    const kept = new URLSearchParams();
    for (const name of names) if (values[name]) kept.set(name, values[name]);
    return kept.toString();
  }, [names, values]);
  return { values, key, search, apply };
}
