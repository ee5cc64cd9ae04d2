// The open room: header (back, product, peer, online dot or last seen, leave), its messages, the typing line and the composer; photos dropped anywhere on it are attached.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../errors';
import { errorCode } from '../net/api';
import type { ChatSession } from '../net/session';
import { lastSeenText } from '../presence';
import { peerOf } from '../rooms';
import { Composer } from './Composer';
import { LeaveDialog } from './LeaveDialog';
import { MessageList } from './MessageList';
import { useUploads } from './useUploads';

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
  const tray = useUploads(session, roomUUID);
  const [dropping, setDropping] = useState(false);
  const dragDepth = useRef(0);

  useEffect(() => {
    inputRef.current?.focus();
  }, [roomUUID]);

  // once the room (so its members) is known
  useEffect(() => {
    if (peer) void session.refreshPresence(roomUUID);
  }, [session, roomUUID, peer]);

  // A file dropped beside the drop area must not make the browser leave the page to show it.
  useEffect(() => {
    const keep = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    window.addEventListener('dragover', keep);
    window.addEventListener('drop', keep);
    return () => {
      window.removeEventListener('dragover', keep);
      window.removeEventListener('drop', keep);
    };
  }, []);

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
    <div
      class={`chat${dropping ? ' dropping' : ''}`}
      onDragEnter={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current++;
        setDropping(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={(e) => {
        if (!hasFiles(e)) return;
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDropping(false);
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current = 0;
        setDropping(false);
        void tray.add(Array.from(e.dataTransfer?.files ?? []));
        inputRef.current?.focus();
      }}
    >
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
        limits={session.config.limits}
        tray={tray}
        onSend={(text, attachments) => session.send(roomUUID, text, attachments)}
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
      {dropping && (
        <div class="drop-overlay" aria-hidden="true">
          <p>사진을 여기에 놓으면 첨부돼요</p>
        </div>
      )}
    </div>
  );
}

/** Whether a drag carries files (not text or a link being dragged around the page). */
function hasFiles(e: DragEvent): boolean {
  return !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
}
