// Preact hooks shared by the views: re-render on session changes, a ticking clock, work while the tab is visible.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatSession } from '../net/session';

/** Re-renders the caller whenever the session changes; returns the session's version. */
export function useSession(session: ChatSession): number {
  const [, setVersion] = useState(session.version);
  useEffect(() => {
    setVersion(session.version);
    return session.subscribe(() => setVersion(session.version));
  }, [session]);
  return session.version;
}

/** The current time, refreshed every `ms` (for relative times). */
export function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Runs `fn` every `ms` while the page is visible, and when it becomes visible or focused again. */
export function useWhileVisible(fn: () => void, ms: number, deps: unknown[]): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const tick = () => {
      if (document.visibilityState === 'visible') ref.current();
    };
    const t = setInterval(tick, ms);
    window.addEventListener('focus', tick);
    document.addEventListener('visibilitychange', tick);
    return () => {
      clearInterval(t);
      window.removeEventListener('focus', tick);
      document.removeEventListener('visibilitychange', tick);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ms, ...deps]);
}

/** Whether a media query matches, following changes (e.g. the two-pane breakpoint). */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const mq = window.matchMedia(query);
    const on = () => setMatches(mq.matches);
    on();
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, [query]);
  return matches;
}

/** A `<dialog>` shown as a modal while `open` is true (and closed when it turns false). */
export function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return ref;
}
