// The open room: header (back, product, peer, presence, leave), its messages and the composer.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../errors';
import { errorCode } from '../net/api';
import type { ChatSession } from '../net/session';
import { peerOf } from '../rooms';
import { Composer } from './Composer';
import { useWhileVisible } from './hooks';
import { LeaveDialog } from './LeaveDialog';
import { MessageList } from './MessageList';

interface Props {
  session: ChatSession;
  roomUUID: string;
  onBack: () => void;
  onLeft: () => void;
}

/** Presence is polled every 30 s; while the peer shows offline, every 10 s (an arrival matters more). */
const PRESENCE_MS = 30_000;
const PRESENCE_OFFLINE_MS = 10_000;

export function ChatRoom({ session, roomUUID, onBack, onLeft }: Props) {
  const room = session.room(roomUUID);
  const view = session.view(roomUUID);
  const peer = room ? peerOf(room, session.me) : null;
  const [online, setOnline] = useState<boolean | null>(null);
  const [leaving, setLeaving] = useState(false);
  const [leaveBusy, setLeaveBusy] = useState(false);
  const [leaveError, setLeaveError] = useState<string | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    inputRef.current?.focus();
  }, [roomUUID]);

  // presence: on open (once the peer is known), then periodically while visible
  const checkPresence = () => {
    if (!peer) return;
    void session.peerOnline(roomUUID, peer).then((v) => setOnline(v));
  };
  useEffect(checkPresence, [session, roomUUID, peer]);
  useWhileVisible(checkPresence, online === false ? PRESENCE_OFFLINE_MS : PRESENCE_MS, [session, roomUUID, peer]);

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
      <Composer
        inputRef={inputRef}
        limit={session.config.limits.contentChars}
        onSend={(text) => session.send(roomUUID, text)}
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
