// The page's top level: load /client/config, sign in (or restore the remembered identity), run the chat session; a clicked notification's room opened.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errorText } from '../errors';
import { Api, errorCode, fetchConfig } from '../net/api';
import { onOpenRoomMessage } from '../net/push';
import { ChatSession } from '../net/session';
import { brokerUrl, roomFromSearch, searchWithRoom } from '../route';
import type { ClientConfig, Identity, Room } from '../types';
import { isValidUserId, jwtSubject } from '../validate';
import { ChatApp } from './ChatApp';
import { Login } from './Login';

const USER_KEY = 'reuse-chat.user';
const TOKEN_KEY = 'reuse-chat.token';

type Phase =
  | { kind: 'config' }
  | { kind: 'config-error'; code: string }
  | { kind: 'login'; config: ClientConfig; error: string | null; busy: boolean }
  | { kind: 'chat'; config: ClientConfig; session: ChatSession };

function storageGet(s: () => Storage, key: string): string | null {
  try {
    return s().getItem(key);
  } catch {
    return null;
  }
}

function storageSet(s: () => Storage, key: string, value: string | null): void {
  try {
    if (value === null) s().removeItem(key);
    else s().setItem(key, value);
  } catch {
    // storage unavailable (private mode): the identity is just not remembered
  }
}

function rememberedIdentity(config: ClientConfig): Identity | null {
  if (config.auth === 'header') {
    const u = storageGet(() => localStorage, USER_KEY);
    return u && isValidUserId(u) ? { mode: 'header', userId: u } : null;
  }
  const t = storageGet(() => sessionStorage, TOKEN_KEY);
  const sub = t ? jwtSubject(t) : null;
  return t && sub ? { mode: 'jwt', token: t, userId: sub } : null;
}

/**
 * A notification clicked while the page is open (the service worker's message): the room goes in
 * the address as if opened from the list, and the chat follows the address (`popstate`); on the
 * sign-in form, the room opens once signed in.
 */
function openFromNotification(roomUUID: string): void {
  if (roomFromSearch(window.location.search) === roomUUID) return;
  const url = `${window.location.pathname}${searchWithRoom(window.location.search, roomUUID)}`;
  window.history.pushState({ room: roomUUID, fromList: true }, '', url);
  window.dispatchEvent(new PopStateEvent('popstate', { state: window.history.state }));
}

function forget(): void {
  storageSet(() => localStorage, USER_KEY, null);
  storageSet(() => sessionStorage, TOKEN_KEY, null);
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'config' });

  const signIn = useCallback(async (config: ClientConfig, identity: Identity) => {
    setPhase({ kind: 'login', config, error: null, busy: true });
    let rooms: Room[];
    try {
      rooms = await new Api(identity).listRooms();
    } catch (e) {
      const code = errorCode(e);
      if (code === 'unauthorized') forget();
      const error =
        code === 'unauthorized'
          ? identity.mode === 'header'
            ? '사용자 ID를 확인해 주세요. 로그인할 수 없습니다.'
            : '토큰이 올바르지 않거나 만료되었습니다.'
          : errorText(code);
      setPhase({ kind: 'login', config, error, busy: false });
      return;
    }
    if (identity.mode === 'header') storageSet(() => localStorage, USER_KEY, identity.userId);
    else storageSet(() => sessionStorage, TOKEN_KEY, identity.token);
    const session = new ChatSession(identity, config, brokerUrl(window.location));
    session.onAuthLost = (code) => {
      forget();
      void session.push.signOut();
      void session.stop();
      setPhase({ kind: 'login', config, error: errorText(code), busy: false });
    };
    session.start(rooms);
    setPhase({ kind: 'chat', config, session });
  }, []);

  const loadConfig = useCallback(async () => {
    setPhase({ kind: 'config' });
    let config: ClientConfig;
    try {
      config = await fetchConfig();
    } catch (e) {
      setPhase({ kind: 'config-error', code: errorCode(e) });
      return;
    }
    const remembered = rememberedIdentity(config);
    if (remembered) await signIn(config, remembered);
    else setPhase({ kind: 'login', config, error: null, busy: false });
  }, [signIn]);

  useEffect(() => {
    void loadConfig();
  }, [loadConfig]);

  useEffect(() => onOpenRoomMessage(openFromNotification), []);

  const logout = useCallback(() => {
    if (phase.kind !== 'chat') return;
    void phase.session.push.signOut();
    void phase.session.stop();
    forget();
    setPhase({ kind: 'login', config: phase.config, error: null, busy: false });
  }, [phase]);

  switch (phase.kind) {
    case 'config':
      return (
        <main class="center-page">
          <p class="muted" role="status">
            불러오는 중…
          </p>
        </main>
      );
    case 'config-error':
      return (
        <main class="center-page">
          <div class="card">
            <h1 class="brand">Re:Use 채팅</h1>
            <p class="error" role="alert" data-testid="config-error">
              설정을 불러오지 못했습니다. {errorText(phase.code)}
            </p>
            <button type="button" class="button primary" data-testid="config-retry" onClick={() => void loadConfig()}>
              다시 시도
            </button>
          </div>
        </main>
      );
    case 'login':
      return (
        <Login
          mode={phase.config.auth}
          error={phase.error}
          busy={phase.busy}
          onSubmit={(identity) => void signIn(phase.config, identity)}
          onInvalid={(error) => setPhase({ ...phase, error })}
        />
      );
    case 'chat':
      return <ChatApp key={phase.session.me} session={phase.session} onLogout={logout} />;
  }
}
