// The open room's messages: date separators, bubbles (text or photos) with times and send status, the photo viewer, paging up without jumps, stick-to-bottom, a search hit scrolled to and flashed.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { errorText, sendFailureNote } from '../errors';
import type { ViewMessage } from '../messages';
import type { ChatSession } from '../net/session';
import { markOf, peerOf } from '../rooms';
import { clockTime, dateSeparatorLabel, dayKey } from '../time';
import { warningLines } from '../warnings';
import { ImageViewer } from './ImageViewer';
import { MessagePhotos } from './Photos';

interface Props {
  session: ChatSession;
  roomUUID: string;
  /** False while I block the other member: a failed send would only be refused again. */
  canRetry: boolean;
  /** Report a stored message of the other member's (from under its warnings). */
  onReport: (messageId: number) => void;
  /** A search hit to show: its message id (`seq` tells one click from the next on the same hit). */
  focus?: { id: number; seq: number } | null;
}

/** How long a search hit stays highlighted once scrolled to. */
const FOUND_MS = 2500;

/** Within this many pixels of the bottom counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** Within this many pixels of the top, older messages load. */
const TOP_TRIGGER = 120;

type Item = { kind: 'day'; key: string; label: string } | { kind: 'msg'; key: string; m: ViewMessage };

function withSeparators(messages: readonly ViewMessage[]): Item[] {
  const out: Item[] = [];
  let day: string | null = null;
  const seen = new Set<string>();
  for (const m of messages) {
    const k = dayKey(m.createdAt);
    if (k !== day) {
      const key = seen.has(k) ? `d:${k}:${m.key}` : `d:${k}`;
      seen.add(k);
      out.push({ kind: 'day', key, label: dateSeparatorLabel(m.createdAt) });
      day = k;
    }
    out.push({ kind: 'msg', key: m.key, m });
  }
  return out;
}

export function MessageList({ session, roomUUID, canRetry, onReport, focus = null }: Props) {
  const view = session.view(roomUUID);
  const store = view.store;
  const messages = store ? store.list() : [];
  // My messages above the other member's read mark show "1" (not read yet).
  const room = session.room(roomUUID);
  const peerMark = room ? markOf(room, peerOf(room, session.me)) : Number.MAX_SAFE_INTEGER;
  const ref = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const placed = useRef(false);
  const prev = useRef<{ height: number; first: string | null; last: string | null }>({ height: 0, first: null, last: null });
  const [pill, setPill] = useState(false);
  /** The open viewer: which message's photos (by render key), at which one. */
  const [viewer, setViewer] = useState<{ key: string; index: number } | null>(null);
  /** Stored messages whose photos were read again on their own once (a failure after that waits for the person). */
  const autoRefreshed = useRef(new Set<number>());
  /** The search hit shown highlighted, the one still to scroll to, the last `focus.seq` handled, and a hit not found. */
  const [found, setFound] = useState<{ id: number; seq: number } | null>(null);
  const scrollTo = useRef<number | null>(null);
  const handled = useRef(0);
  const [missing, setMissing] = useState(false);

  const refreshPhotos = useCallback(
    (m: ViewMessage, asked: boolean) => {
      if (m.id === null) return; // my pending message: its addresses are fresh from the upload
      if (!asked) {
        if (autoRefreshed.current.has(m.id)) return;
        autoRefreshed.current.add(m.id);
      }
      void session.refreshPhotos(roomUUID, m.id);
    },
    [session, roomUUID],
  );

  const loadOlder = useCallback(() => {
    const v = session.view(roomUUID);
    if (!v.store?.hasMoreOlder || v.loadingOlder || v.loading) return;
    void session.loadOlder(roomUUID);
  }, [session, roomUUID]);

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
    if (atBottom.current) setPill(false);
    if (el.scrollTop <= TOP_TRIGGER) loadOlder();
  };

  // A search hit: once the room is open and loaded (a room opened before is caught up first),
  // older pages until the message is there, then to it.
  const loaded = session.openRoom === roomUUID && !!store?.loaded && !view.loading;
  useEffect(() => {
    if (!focus || handled.current === focus.seq || !loaded) return;
    handled.current = focus.seq;
    const { id, seq } = focus;
    setMissing(false);
    void session.reveal(roomUUID, id).then((ok) => {
      if (handled.current !== seq) return; // another hit was clicked meanwhile
      if (!ok) {
        setMissing(true);
        return;
      }
      scrollTo.current = id;
      setFound({ id, seq }); // a new object: the same hit clicked again scrolls again
    });
  }, [session, roomUUID, focus, loaded]);

  useEffect(() => {
    if (found === null && !missing) return;
    const t = setTimeout(() => {
      setFound(null);
      setMissing(false);
    }, FOUND_MS);
    return () => clearTimeout(t);
  }, [found, missing]);

  const first = messages[0]?.key ?? null;
  const last = messages[messages.length - 1] ?? null;

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const p = prev.current;
    const lastKey = last?.key ?? null;
    if (!placed.current) {
      if (store?.loaded) {
        el.scrollTop = el.scrollHeight;
        placed.current = true;
        atBottom.current = true;
      }
    } else {
      if (first !== p.first && p.first !== null && lastKey === p.last) {
        // older messages went in above: keep what the user sees where it was
        el.scrollTop += el.scrollHeight - p.height;
      } else if (lastKey !== p.last) {
        const mineJustSent = last?.mine && last.status === 'pending';
        if (atBottom.current || mineJustSent) {
          el.scrollTop = el.scrollHeight;
          atBottom.current = true;
          setPill(false);
        } else if (p.last !== null) {
          setPill(true);
        }
      } else if (atBottom.current) {
        el.scrollTop = el.scrollHeight;
      }
    }
    if (scrollTo.current !== null) {
      const target = el.querySelector<HTMLElement>(`[data-testid="message"][data-message-id="${scrollTo.current}"]`);
      if (target) {
        scrollTo.current = null;
        // centred in the list (scrollIntoView would scroll the panes around it too)
        const t = target.getBoundingClientRect();
        const box = el.getBoundingClientRect();
        el.scrollTop += t.top - box.top - Math.max(0, (el.clientHeight - t.height) / 2);
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
      }
    }
    prev.current = { height: el.scrollHeight, first, last: lastKey };
    // a first page that does not fill the view: fetch older ones right away
    if (placed.current && el.scrollHeight <= el.clientHeight + TOP_TRIGGER) loadOlder();
  });

  // keep the bottom in view when the viewport changes (phone keyboard, rotation)
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      prev.current = { ...prev.current, height: el.scrollHeight };
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const items = withSeparators(messages);

  const top = !store?.loaded
    ? view.loading
      ? '불러오는 중…'
      : ''
    : store.reachedStart
      ? '대화의 처음입니다'
      : view.loadingOlder
        ? '이전 메시지를 불러오는 중…'
        : '';

  return (
    <div class="message-area">
      <div
        ref={ref}
        class="message-list"
        data-testid="message-list"
        role="log"
        aria-live="polite"
        aria-label="메시지"
        tabIndex={0}
        onScroll={onScroll}
      >
        <p class="history-top muted" data-testid={store?.reachedStart ? 'history-start' : undefined}>
          {top}
        </p>
        <ol class="messages">
          {items.map((it) =>
            it.kind === 'day' ? (
              <li key={it.key} class="date-separator" data-testid="date-separator">
                <span>{it.label}</span>
              </li>
            ) : (
              <MessageItem
                key={it.key}
                m={it.m}
                unread={it.m.mine && it.m.id !== null && it.m.id > peerMark}
                found={it.m.id !== null && it.m.id === found?.id}
                onRetry={canRetry ? (cmid) => session.retry(roomUUID, cmid) : null}
                onReport={onReport}
                onOpenPhoto={(index) => setViewer({ key: it.m.key, index })}
                onBrokenPhoto={(asked) => refreshPhotos(it.m, asked)}
              />
            ),
          )}
        </ol>
      </div>
      {pill && (
        <button
          type="button"
          class="new-pill"
          data-testid="new-message-pill"
          onClick={() => {
            const el = ref.current;
            if (el) el.scrollTop = el.scrollHeight;
            atBottom.current = true;
            setPill(false);
          }}
        >
          새 메시지 ↓
        </button>
      )}
      {missing && (
        <p class="toast" role="status" data-testid="search-not-found">
          메시지를 찾을 수 없어요
        </p>
      )}
      {viewer && <Viewer messages={messages} viewer={viewer} setViewer={setViewer} refresh={refreshPhotos} />}
    </div>
  );
}

/** The viewer over the message it was opened from (followed by key, so fresh addresses reach it). */
function Viewer({
  messages,
  viewer,
  setViewer,
  refresh,
}: {
  messages: readonly ViewMessage[];
  viewer: { key: string; index: number };
  setViewer: (v: { key: string; index: number } | null) => void;
  refresh: (m: ViewMessage, asked: boolean) => void;
}) {
  const m = messages.find((x) => x.key === viewer.key);
  if (!m || m.attachments.length === 0) return null;
  return (
    <ImageViewer
      photos={m.attachments}
      index={viewer.index}
      onIndex={(index) => setViewer({ key: viewer.key, index })}
      onClose={() => setViewer(null)}
      onReload={(asked) => refresh(m, asked)}
    />
  );
}

function MessageItem({
  m,
  unread,
  found,
  onRetry,
  onReport,
  onOpenPhoto,
  onBrokenPhoto,
}: {
  m: ViewMessage;
  unread: boolean;
  /** The search hit just opened: highlighted for a moment. */
  found: boolean;
  onRetry: ((cmid: string) => void) | null;
  onReport: (messageId: number) => void;
  onOpenPhoto: (index: number) => void;
  onBrokenPhoto: (asked: boolean) => void;
}) {
  const system = m.type === 'SYSTEM';
  const photos = m.type === 'IMAGE' || m.attachments.length > 0;
  // The server's cautions, to the recipient only (never under my own message).
  const warnings = warningLines(m);
  const failureNote = m.status === 'failed' ? sendFailureNote(m.error) : null;
  const common = {
    'data-testid': 'message',
    'data-message-id': m.id === null ? undefined : String(m.id),
    'data-type': m.type,
    // A SYSTEM message's kind (MEMBER_LEFT, PRODUCT_STATUS, APPOINTMENT, or a newer one): its content is what shows.
    'data-notice': m.notice,
    'data-mine': String(m.mine),
    'data-status': m.mine ? m.status : undefined,
    'data-client-message-id': m.clientMessageId ?? undefined,
    'data-found': found ? 'true' : undefined,
  };
  const flash = found ? ' found' : '';
  if (system) {
    return (
      <li class={`msg system${flash}`} {...common}>
        <p class="notice">{m.content}</p>
      </li>
    );
  }
  return (
    <li class={`msg ${m.mine ? 'mine' : 'theirs'} ${m.status ?? ''}${flash}`} {...common}>
      {!m.mine && <span class="sr-only">{m.sender}: </span>}
      {m.mine && <span class="sr-only">나: </span>}
      {photos ? (
        <div class="bubble photo-bubble">
          {m.attachments.length > 0 ? (
            <MessagePhotos photos={m.attachments} onOpen={onOpenPhoto} onBroken={onBrokenPhoto} />
          ) : (
            <p class="photo-missing muted">사진</p>
          )}
          {m.content && <p class="text caption">{m.content}</p>}
        </div>
      ) : (
        <div class="bubble">
          <p class="text">{m.content}</p>
        </div>
      )}
      <div class="meta">
        {m.status === 'pending' && (
          <span class="status-pending" role="img" aria-label="전송 중" title="전송 중">
            <span class="clock-icon" aria-hidden="true" />
          </span>
        )}
        {m.status === 'failed' && m.clientMessageId && (
          <>
            <span class="status-failed" title={m.error ? errorText(m.error) : undefined}>
              전송 실패
            </span>
            {onRetry && (
              <button
                type="button"
                class="retry"
                data-testid="retry-button"
                onClick={() => onRetry(m.clientMessageId!)}
              >
                다시 보내기
              </button>
            )}
          </>
        )}
        {unread && m.status !== 'failed' && (
          <span class="read-mark" data-testid="read-mark" title="상대방이 아직 읽지 않았어요">
            1<span class="sr-only"> 안 읽음</span>
          </span>
        )}
        {m.status !== 'failed' && (
          <time class="clock" dateTime={m.createdAt}>
            {clockTime(m.createdAt)}
          </time>
        )}
      </div>
      {failureNote && (
        <p class="msg-note" data-testid="send-error">
          {failureNote}
        </p>
      )}
      {warnings.length > 0 && (
        <div class="msg-warnings" role="note" aria-label="안전 거래 주의">
          {warnings.map((w) => (
            <p key={w.kind} class="msg-warning" data-testid="message-warning" data-warning={w.kind}>
              {w.text}
            </p>
          ))}
          {m.id !== null && (
            <button type="button" class="msg-report" data-testid="message-report" onClick={() => onReport(m.id!)}>
              이 메시지 신고하기
            </button>
          )}
        </div>
      )}
    </li>
  );
}
