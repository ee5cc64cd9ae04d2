// The connection banner: "연결 중…" before the first connect, "연결 끊김 · 다시 연결 중…" after a drop, hidden when connected.
import type { ConnState } from '../net/session';

export function ConnectionBanner({ state }: { state: ConnState }) {
  const text = state === 'reconnecting' ? '연결 끊김 · 다시 연결 중…' : state === 'connecting' ? '연결 중…' : '';
  return (
    <div
      class={`banner ${state}`}
      data-testid="connection-status"
      role="status"
      data-state={state}
      hidden={state === 'connected'}
    >
      {text}
    </div>
  );
}
