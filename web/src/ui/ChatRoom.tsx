// The open room: header (back, product and its trade status, peer, online dot or last seen, appointment, mute, report, block, leave), the appointment card, its messages, the typing line, the blocked banner and the composer; photos dropped anywhere on it are attached.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../errors';
import { appointmentOf, productStatusLabel } from '../listing';
import { isMuted, muteLabel } from '../mute';
import { apiErrorText, errorCode } from '../net/api';
import type { ChatSession } from '../net/session';
import { lastSeenText } from '../presence';
import { peerOf } from '../rooms';
import { AppointmentCard, AppointmentDialog } from './Appointment';
import { BlockDialog } from './BlockDialog';
import { Composer } from './Composer';
import { LeaveDialog } from './LeaveDialog';
import { MessageList } from './MessageList';
import { BellIcon, BellOffIcon, CalendarIcon } from './icons';
import { ReportDialog } from './ReportDialog';
import { useUploads } from './useUploads';

/** The blocked banner's sentences: I block the other member, or my send was refused. */
export const BLOCKING_TEXT = '차단한 사용자예요. 차단을 해제하기 전에는 메시지를 주고받을 수 없어요.';
export const REFUSED_TEXT = '상대방과 메시지를 주고받을 수 없어요';
/** How long "신고가 접수되었어요" stays. */
const REPORT_DONE_MS = 6000;

interface Props {
  session: ChatSession;
  roomUUID: string;
  /** The clock for "마지막 접속 3분 전" (ticks in ChatApp). */
  now: number;
  /** A search hit to scroll to and highlight. */
  focus?: { id: number; seq: number } | null;
  onBack: () => void;
  onLeft: () => void;
}

export function ChatRoom({ session, roomUUID, now, focus = null, onBack, onLeft }: Props) {
  const room = session.room(roomUUID);
  const view = session.view(roomUUID);
  const peer = room ? peerOf(room, session.me) : null;
  const blockState = session.blockStateOf(roomUUID);
  // Presence: fetched when the room opens (and after each reconnect), then PRESENCE events; none
  // flows between two members while either blocks the other, so none shows (read again after).
  const presence = peer && blockState === 'none' ? session.presenceOf(peer) : null;
  const online = presence ? presence.online : null;
  const lastSeen = lastSeenText(presence, now);
  const typing = session.typistIn(roomUUID) !== null;
  const status = room?.productStatus ?? null;
  const statusLabel = productStatusLabel(status);
  const appointment = appointmentOf(room);
  const muted = isMuted(room, now);
  const [planning, setPlanning] = useState(false);
  /** A mute or an appointment cancel on its way, and why the last one failed. */
  const [actionBusy, setActionBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [leaving, setLeaving] = useState(false);
  const [leaveBusy, setLeaveBusy] = useState(false);
  const [leaveError, setLeaveError] = useState<string | null>(null);
  const blocking = blockState === 'blocking';
  const [blockAsk, setBlockAsk] = useState<null | { unblock: boolean }>(null);
  const [blockBusy, setBlockBusy] = useState(false);
  const [blockError, setBlockError] = useState<string | null>(null);
  /** The open report form: of the room, or of one message (its id, and the reason to start with). */
  const [reporting, setReporting] = useState<null | { messageId: number | null; reason: string }>(null);
  const [reportDone, setReportDone] = useState(false);
  const paused = session.sendsPaused(roomUUID);
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

  useEffect(() => {
    if (!reportDone) return;
    const t = setTimeout(() => setReportDone(false), REPORT_DONE_MS);
    return () => clearTimeout(t);
  }, [reportDone]);

  const askBlock = (unblock: boolean) => {
    setBlockError(null);
    setBlockAsk({ unblock });
  };

  const confirmBlock = async () => {
    if (!peer || !blockAsk) return;
    setBlockBusy(true);
    setBlockError(null);
    try {
      await session.setBlocked(peer, !blockAsk.unblock);
      setBlockAsk(null);
      if (blockAsk.unblock) inputRef.current?.focus();
    } catch (e) {
      setBlockError(apiErrorText(e));
    } finally {
      setBlockBusy(false);
    }
  };

  /** A room action's REST call: one at a time, its refusal shown under the header. */
  const act = async (call: () => Promise<void>) => {
    if (actionBusy) return;
    setActionBusy(true);
    setActionError(null);
    try {
      await call();
    } catch (e) {
      setActionError(apiErrorText(e));
    } finally {
      setActionBusy(false);
    }
  };

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
      <header class="chat-top">
        <div class="chat-header">
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
          <div class="chat-actions">
            <button
              type="button"
              class="button ghost small"
              data-testid="report-button"
              onClick={() => {
                setReportDone(false);
                setReporting({ messageId: null, reason: '' });
              }}
              disabled={!room}
            >
              신고
            </button>
            <button
              type="button"
              class="button ghost small"
              data-testid="block-button"
              data-blocked={String(blocking)}
              onClick={() => askBlock(blocking)}
              disabled={!peer}
            >
              {blocking ? '차단 해제' : '차단하기'}
            </button>
            <button
              type="button"
              class="button ghost small danger-text"
              data-testid="leave-button"
              onClick={() => {
                setLeaveError(null);
                setLeaving(true);
              }}
              disabled={!room}
            >
              나가기
            </button>
          </div>
        </div>
        {/* The listing: its trade status, and the room's own settings (the appointment, my mute). */}
        <div class="listing-bar">
          {statusLabel ? (
            <span class={`product-status status-${String(status).toLowerCase()}`} data-testid="product-status" data-status={status}>
              {statusLabel}
            </span>
          ) : (
            <span />
          )}
          <div class="listing-actions">
            <button
              type="button"
              class="button ghost small icon-action"
              data-testid="appointment-button"
              onClick={() => setPlanning(true)}
              disabled={!room}
            >
              <CalendarIcon />
              <span>{appointment ? '약속 변경' : '약속 잡기'}</span>
            </button>
            <button
              type="button"
              class="button ghost small icon-action"
              data-testid="mute-toggle"
              aria-pressed={muted}
              onClick={() => void act(() => session.setMuted(roomUUID, !muted))}
              disabled={!room}
            >
              {muted ? <BellOffIcon /> : <BellIcon />}
              <span>{muteLabel(muted)}</span>
            </button>
          </div>
        </div>
      </header>
      {appointment && (
        <AppointmentCard
          appointment={appointment}
          now={now}
          busy={actionBusy}
          onCancel={() => void act(() => session.cancelAppointment(roomUUID))}
        />
      )}
      {actionError && (
        <div class="inline-error" role="alert" data-testid="room-action-error">
          <span>{actionError}</span>
          <button type="button" class="button ghost small" onClick={() => setActionError(null)}>
            닫기
          </button>
        </div>
      )}
      {view.error && (
        <div class="inline-error" role="alert" data-testid="chat-error">
          <span>{errorText(view.error)}</span>
          <button type="button" class="button ghost small" onClick={() => void session.load(roomUUID)}>
            다시 시도
          </button>
        </div>
      )}
      <MessageList
        session={session}
        roomUUID={roomUUID}
        canRetry={!blocking}
        focus={focus}
        onReport={(messageId) => {
          setReportDone(false);
          setReporting({ messageId, reason: 'SCAM' });
        }}
      />
      {/* Always there, so screen readers announce what appears in it; the text only while typing. */}
      <div class="typing-line" aria-live="polite">
        {typing && (
          <p class="typing-indicator" data-testid="typing-indicator">
            입력 중…
          </p>
        )}
      </div>
      {reportDone && (
        <p class="toast" role="status" data-testid="report-done">
          신고가 접수되었어요
        </p>
      )}
      {blockState !== 'none' && (
        <div class={`blocked-banner ${blockState}`} role="status" data-testid="blocked-banner" data-state={blockState}>
          <p class="blocked-text">{blocking ? BLOCKING_TEXT : REFUSED_TEXT}</p>
          {blocking && (
            <button type="button" class="button ghost small" data-testid="unblock-button" onClick={() => askBlock(true)}>
              차단 해제
            </button>
          )}
        </div>
      )}
      {paused && (
        <p class="send-paused" role="status" data-testid="rate-limit-notice">
          메시지를 너무 빠르게 보내고 있어요. 잠시 후 자동으로 다시 보낼게요.
        </p>
      )}
      <Composer
        inputRef={inputRef}
        limits={session.config.limits}
        disabled={blocking ? '메시지를 보낼 수 없어요' : null}
        tray={tray}
        onSend={(text, attachments) => session.send(roomUUID, text, attachments)}
        onText={(text) => session.typingInput(roomUUID, text)}
      />
      <BlockDialog
        open={blockAsk !== null}
        unblock={blockAsk?.unblock ?? blocking}
        peer={peer ?? ''}
        busy={blockBusy}
        error={blockError}
        onConfirm={() => void confirmBlock()}
        onCancel={() => setBlockAsk(null)}
      />
      {planning && (
        <AppointmentDialog
          current={appointment}
          save={(body) => session.setAppointment(roomUUID, body)}
          onDone={() => setPlanning(false)}
          onCancel={() => setPlanning(false)}
        />
      )}
      {reporting && (
        <ReportDialog
          roomUUID={roomUUID}
          messageId={reporting.messageId}
          initialReason={reporting.reason}
          submit={(body) => session.report(body)}
          onDone={() => {
            setReporting(null);
            setReportDone(true);
          }}
          onCancel={() => setReporting(null)}
        />
      )}
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
