import { useEffect } from 'react';

/** Each page names itself in the tab (WCAG 2.4.2). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Stepgate console`;
  }, [title]);
}
