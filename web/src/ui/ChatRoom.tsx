// The open room: header (back, product, peer, online dot or last seen, leave), its messages, the typing line and the composer.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../errors';
import { errorCode } from '../net/api';
import type { ChatSession } from '../net/session';
import { lastSeenText } from '../presence';
import { peerOf } from '../rooms';
import { Composer } from './Composer';
import { LeaveDialog } from './LeaveDialog';
import { MessageList } from './MessageList';

interface Props {
  session: ChatSession;
  roomUUID: string;
  /** The clock for "마지막 접속 3분 전" (ticks in ChatApp). */
  now: number;
  onBack: () => void;
  onLeft: () => void;
}

export function ChatRoom({ session, roomUUID, now, onBack, onLeft }: Props) {
  const room = session.room(roomUUID);
  const view = session.view(roomUUID);
  const peer = room ? peerOf(room, session.me) : null;
  // Presence: fetched when the room opens (and after each reconnect), then PRESENCE events.
  const presence = peer ? session.presenceOf(peer) : null;
  const online = presence ? presence.online : null;
  const lastSeen = lastSeenText(presence, now);
  const typing = session.typistIn(roomUUID) !== null;
  const [leaving, setLeaving] = useState(false);
  const [leaveBusy, setLeaveBusy] = useState(false);
  const [leaveError, setLeaveError] = useState<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    inputRef.current?.focus();
  }, [roomUUID]);

  // once the room (so its members) is known
  useEffect(() => {
    if (peer) void session.refreshPresence(roomUUID);
  }, [session, roomUUID, peer]);

  const confirmLeave = async () => {
    setLeaveBusy(true);
    setLeaveError(null);
    try {
      await session.leave(roomUUID);
      setLeaving(false);
      onLeft();
    } catch (e) {
      setLeaveError(errorText(errorCode(e)));
    } finally {
      setLeaveBusy(false);
    }
  };

  return (
    <div class="chat">
      <header class="chat-header">
        <button type="button" class="button ghost back" data-testid="back-button" onClick={onBack} aria-label="대화 목록으로">
          <span aria-hidden="true">‹</span>
          <span class="back-text">목록</span>
        </button>
        <div class="chat-title">
          <h2 class="chat-name" data-testid="chat-room-name">
            {room?.name ?? (view.loading ? '불러오는 중…' : '채팅방')}
          </h2>
          {peer && (
            <p class="chat-peer">
              {online !== null && (
                <>
                  <span
                    class={`presence-dot ${online ? 'online' : 'offline'}`}
                    data-testid="presence-dot"
                    data-online={String(online)}
                    role="img"
                    aria-label={online ? '온라인' : '오프라인'}
                  />
                </>
              )}
              <span data-testid="chat-peer">{peer}</span>
              {online !== null && <span class="sr-only">{online ? ' (온라인)' : ' (오프라인)'}</span>}
              {lastSeen && (
                <span class="last-seen" data-testid="last-seen">
                  {lastSeen}
                </span>
              )}
            </p>
          )}
        </div>
        <button
          type="button"
          class="button ghost danger-text"
          data-testid="leave-button"
          onClick={() => {
            setLeaveError(null);
            setLeaving(true);
          }}
          disabled={!room}
        >
          나가기
        </button>
      </header>
      {view.error && (
        <div class="inline-error" role="alert" data-testid="chat-error">
          <span>{errorText(view.error)}</span>
          <button type="button" class="button ghost small" onClick={() => void session.load(roomUUID)}>
            다시 시도
          </button>
        </div>
      )}
      <MessageList session={session} roomUUID={roomUUID} />
      {/* Always there, so screen readers announce what appears in it; the text only while typing. */}
      <div class="typing-line" aria-live="polite">
        {typing && (
          <p class="typing-indicator" data-testid="typing-indicator">
            입력 중…
          </p>
        )}
      </div>
      <Composer
        inputRef={inputRef}
        limit={session.config.limits.contentChars}
        onSend={(text) => session.send(roomUUID, text)}
        onText={(text) => session.typingInput(roomUUID, text)}
      />
      <LeaveDialog
        open={leaving}
        busy={leaveBusy}
        error={leaveError}
        productName={room?.name ?? ''}
        onConfirm={() => void confirmLeave()}
        onCancel={() => setLeaving(false)}
      />
    </div>
  );
}
