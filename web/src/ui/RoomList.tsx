// The room list (most recent activity first, live; each room's trade status and mute) and the "새 대화" form that starts a chat.
import { useState } from 'preact/hooks';
import { errorText } from '../errors';
import { productStatusLabel } from '../listing';
import { isMuted } from '../mute';
import { errorCode } from '../net/api';
import type { ChatSession } from '../net/session';
import { activityTime, lastMessageText, peerOf, unreadOf } from '../rooms';
import { relativeTime } from '../time';
import type { Room } from '../types';
import { isValidUserId } from '../validate';
import { BellOffIcon } from './icons';

interface Props {
  session: ChatSession;
  now: number;
  selected: string | null;
  onOpen: (roomUUID: string) => void;
}

export function RoomList({ session, now, selected, onOpen }: Props) {
  const rooms = session.rooms;
  return (
    <div class="room-list-wrap">
      <NewRoomForm session={session} onOpen={onOpen} />
      {session.roomsError && (
        <div class="inline-error" role="alert">
          <span>대화 목록을 불러오지 못했습니다. {errorText(session.roomsError)}</span>
          <button type="button" class="button ghost small" onClick={() => void session.refreshRooms()}>
            다시 시도
          </button>
        </div>
      )}
      <ul class="room-list" data-testid="room-list" aria-label="대화 목록">
        {rooms.map((r) => (
          <RoomItem key={r.roomUUID} room={r} me={session.me} now={now} selected={r.roomUUID === selected} onOpen={onOpen} />
        ))}
      </ul>
      {session.roomsLoaded && rooms.length === 0 && <p class="muted empty-list">아직 대화가 없습니다.</p>}
    </div>
  );
}

function RoomItem({
  room,
  me,
  now,
  selected,
  onOpen,
}: {
  room: Room;
  me: string;
  now: number;
  selected: boolean;
  onOpen: (roomUUID: string) => void;
}) {
  const text = lastMessageText(room);
  const unread = unreadOf(room);
  const status = productStatusLabel(room.productStatus);
  const at = new Date(activityTime(room));
  const href = `?room=${encodeURIComponent(room.roomUUID)}`;
  return (
    <li>
      <a
        class={`room-item${selected ? ' selected' : ''}`}
        href={href}
        data-testid="room-item"
        data-room-uuid={room.roomUUID}
        aria-current={selected ? 'page' : undefined}
        onClick={(e) => {
          if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
          e.preventDefault();
          onOpen(room.roomUUID);
        }}
      >
        <span class="room-line">
          <span class="room-name" data-testid="room-name">
            {room.name}
          </span>
          {status && (
            <span class={`room-status status-${String(room.productStatus).toLowerCase()}`} data-testid="room-product-status">
              {status}
            </span>
          )}
          {isMuted(room, now) && (
            <span class="room-muted" data-testid="room-muted" role="img" aria-label="알림 꺼짐" title="알림 꺼짐">
              <BellOffIcon />
            </span>
          )}
          <time class="room-time" data-testid="room-time" dateTime={at.toISOString()}>
            {relativeTime(at, now)}
          </time>
        </span>
        <span class="room-peer" data-testid="room-peer">
          {peerOf(room, me)}
        </span>
        <span class="room-line">
          <span class={`room-last${text === null ? ' muted' : ''}`} data-testid="room-last-message">
            {text ?? '대화를 시작해 보세요'}
          </span>
          {unread > 0 && (
            <span class="room-unread" data-testid="room-unread">
              {unread > 99 ? '99+' : unread}
              <span class="sr-only">개 안 읽음</span>
            </span>
          )}
        </span>
      </a>
    </li>
  );
}

function NewRoomForm({ session, onOpen }: { session: ChatSession; onOpen: (roomUUID: string) => void }) {
  const [user, setUser] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const u = user.trim();
    const n = name.trim();
    if (!isValidUserId(u)) {
      setError('판매자 ID를 확인해 주세요 (영문, 숫자, - _ . @ :).');
      return;
    }
    if (u === session.me) {
      setError(errorText('self_chat'));
      return;
    }
    if (n.length === 0 || Array.from(n).length > 100) {
      setError(errorText('invalid_name'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const room = await session.createRoom(u, n);
      setUser('');
      setName('');
      onOpen(room.roomUUID);
    } catch (err) {
      setError(errorText(errorCode(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="new-room" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-room-title">
      <h2 id="new-room-title" class="section-title">
        새 대화
      </h2>
      <div class="new-room-fields">
        <label class="sr-only" for="new-room-user">
          판매자 ID
        </label>
        <input
          id="new-room-user"
          data-testid="new-room-user"
          type="text"
          placeholder="판매자 ID"
          autoComplete="off"
          autoCapitalize="off"
          spellcheck={false}
          maxLength={128}
          value={user}
          onInput={(e) => setUser(e.currentTarget.value)}
        />
        <label class="sr-only" for="new-room-name">
          상품명
        </label>
        <input
          id="new-room-name"
          data-testid="new-room-name"
          type="text"
          placeholder="상품명"
          autoComplete="off"
          maxLength={100}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit" class="button primary small" data-testid="new-room-submit" disabled={busy}>
          대화 시작
        </button>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="new-room-error">
          {error}
        </p>
      )}
    </form>
  );
}
