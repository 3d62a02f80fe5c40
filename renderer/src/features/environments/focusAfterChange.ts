import { useCallback, useEffect, useRef, type RefObject } from 'react';
import type { Environment } from '#protocol';

/** Marks the dashboard's Create environment buttons (the header's and the empty state's). */
export const CREATE_BUTTON = 'data-create-environment';
/** Marks each row's name link with its environment's id. */
export const ROW_LINK = 'data-env-link';

type Pending = { after: 'create'; id: string } | { after: 'delete'; id: string; next: string | null };

/** Compared as attribute values, not spliced into a selector: an id needs no escaping then. */
const linkOf = (root: HTMLElement, id: string) =>
  [...root.querySelectorAll<HTMLElement>(`[${ROW_LINK}]`)].find((link) => link.getAttribute(ROW_LINK) === id) ?? null;

/**
 * Where keyboard focus goes once a create or a delete has taken effect. Both remove what had focus
 * (the dialog closes; the opener — the empty state's button, or the deleted row's Delete — may be
 * gone), and the browser then leaves focus on <body>, where a keyboard user has lost their place.
 * After a create: the new environment's link. After a delete: the next row's link (the one before
 * when it was the last), else Create environment. Focus moves when the list shows the change.
 */
export function useFocusAfterChange(root: RefObject<HTMLElement | null>, environments: readonly Environment[]) {
  // A ref, not state: recording the wish changes nothing on screen; the list's next render acts on it.
  const pending = useRef<Pending | null>(null);

  useEffect(() => {
    const container = root.current;
    const wanted = pending.current;
    if (!wanted || !container) return;
    const present = environments.some((e) => e.id === wanted.id);
    if (wanted.after === 'create' && present) {
      linkOf(container, wanted.id)?.focus();
      pending.current = null;
    } else if (wanted.after === 'delete' && !present) {
      const target =
        (wanted.next !== null ? linkOf(container, wanted.next) : null) ??
        container.querySelector<HTMLElement>(`[${CREATE_BUTTON}]`);
      target?.focus();
      pending.current = null;
    }
  });

  return {
    created: useCallback((env: Environment) => {
      pending.current = { after: 'create', id: env.id };
    }, []),
    /** `env` is about to go from `shown`, the list as the user sees it now. */
    deleting: useCallback((env: Environment, shown: readonly Environment[]) => {
      const ids = shown.map((e) => e.id);
      const at = ids.indexOf(env.id);
      pending.current = { after: 'delete', id: env.id, next: ids[at + 1] ?? ids[at - 1] ?? null };
    }, []),
    /** The change failed: focus stays where the dialog gave it back. */
    cancel: useCallback(() => {
      pending.current = null;
    }, []),
  };
}
