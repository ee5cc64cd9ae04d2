// The signed-in page: header (with "알림 받기" while notifications can be turned on), connection banner, message search over the room list, and the open room (at a search hit's message); `?room=` in history (back/forward).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../errors';
import type { ChatSession } from '../net/session';
import { roomFromSearch, searchWithRoom } from '../route';
import { ChatRoom } from './ChatRoom';
import { ConnectionBanner } from './ConnectionBanner';
import { useMediaQuery, useNow, useSession, useWhileVisible } from './hooks';
import { BellIcon } from './icons';
import { RoomList } from './RoomList';
import { SearchPanel } from './Search';

interface Props {
  session: ChatSession;
  onLogout: () => void;
}

/** The clock of relative times ("3분 전"), and how often the open room is checked for unread while visible. */
const TICK_MS = 30_000;
/** From this width the list and the chat show side by side (keep in step with styles.css). */
const TWO_PANES = '(min-width: 768px)';

export function ChatApp({ session, onLogout }: Props) {
  useSession(session);
  const now = useNow(TICK_MS);
  const twoPanes = useMediaQuery(TWO_PANES);
  const [open, setOpen] = useState<string | null>(() => roomFromSearch(window.location.search));
  /** The search hit to show in its room (`seq` counts clicks: the same hit again scrolls again). */
  const [focus, setFocus] = useState<{ roomUUID: string; id: number; seq: number } | null>(null);
  const focusSeq = useRef(0);

  useEffect(() => {
    session.setOpenRoom(open);
  }, [session, open]);

  useEffect(() => {
    const onPop = () => setOpen(roomFromSearch(window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  // The open room is read when the person can see it: the tab coming back counts.
  useWhileVisible(() => session.markOpenRead(), TICK_MS, [session]);

  // The tab shows how many messages wait: "(3) reuse-chat".
  const unread = session.unreadTotal;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) reuse-chat` : 'reuse-chat';
  }, [unread]);

  const openRoom = useCallback((roomUUID: string) => {
    if (roomFromSearch(window.location.search) !== roomUUID) {
      const url = `${window.location.pathname}${searchWithRoom(window.location.search, roomUUID)}`;
      window.history.pushState({ room: roomUUID, fromList: true }, '', url);
    }
    setOpen(roomUUID);
  }, []);

  const openAt = useCallback(
    (roomUUID: string, id: number) => {
      setFocus({ roomUUID, id, seq: ++focusSeq.current });
      openRoom(roomUUID);
    },
    [openRoom],
  );

  /** Back to the list: pop our own history entry when we pushed it, else replace the URL. */
  const backToList = useCallback((replace: boolean) => {
    const state = window.history.state as { fromList?: boolean } | null;
    if (!replace && state?.fromList) {
      window.history.back();
      return;
    }
    const url = `${window.location.pathname}${searchWithRoom(window.location.search, null)}`;
    window.history.replaceState(null, '', url);
    setOpen(null);
  }, []);

  // A room I left (here, or on another device: its last ROOM_UPDATED) closes; the list shows.
  const leftOpen = open !== null && session.hasLeft(open);
  useEffect(() => {
    if (leftOpen) backToList(true);
  }, [leftOpen, backToList]);

  return (
    <div class={`app ${open ? 'has-room' : 'no-room'}`}>
      <header class="topbar">
        <h1 class="brand">Re:Use 채팅</h1>
        <span class="me" title="로그인한 사용자">
          <span class="sr-only">로그인: </span>
          {session.me}
        </span>
        <NotifyButton session={session} />
        <button type="button" class="button ghost small" data-testid="logout-button" onClick={onLogout}>
          로그아웃
        </button>
      </header>
      {session.push.failedOnAsk && session.push.state === 'failed' && (
        <p class="inline-error" role="alert" data-testid="notify-error">
          {errorText('push_failed')}
        </p>
      )}
      <ConnectionBanner state={session.conn} />
      <div class="panes">
        {/* On a phone one pane is on top; the other is inert (no focus, hidden from screen readers). */}
        <section class="pane list-pane" aria-label="대화 목록" inert={!twoPanes && !!open}>
          <SearchPanel session={session} now={now} onOpenAt={openAt}>
            <RoomList session={session} now={now} selected={open} onOpen={openRoom} />
          </SearchPanel>
        </section>
        <section class="pane chat-pane" aria-label="대화" inert={!twoPanes && !open}>
          {open ? (
            <ChatRoom
              key={open}
              session={session}
              roomUUID={open}
              now={now}
              focus={focus && focus.roomUUID === open ? focus : null}
              onBack={() => backToList(false)}
              onLeft={() => backToList(true)}
            />
          ) : (
            <div class="empty-chat">
              <p class="muted">대화를 선택해 주세요.</p>
            </div>
          )}
        </section>
      </div>
    </div>
  );
}

/** "알림 받기": asks the browser's permission (from the click, as browsers require), then subscribes. */
function NotifyButton({ session }: { session: ChatSession }) {
  const push = session.push;
  if (push.state !== 'ask' && push.state !== 'failed') return null;
  return (
    <button
      type="button"
      class="button ghost small notify-enable"
      data-testid="notify-enable"
      title="새 메시지 알림 받기"
      onClick={() => void push.enable()}
    >
      <BellIcon />
      <span class="action-text">알림 받기</span>
    </button>
  );
}
