// Message search at the top of the room list: the search box (Enter searches), the hint for a query the server would refuse, the hits (room, sender, time, text with the matched words marked), "더 보기", and a hit opening its room at the message.
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { previewText } from '../attachments';
import { apiErrorText } from '../net/api';
import type { ChatSession } from '../net/session';
import { peerOf } from '../rooms';
import {
  IDLE,
  SEARCH_PAGE,
  applyError,
  applyPage,
  canLoadMore,
  checkQuery,
  clip,
  highlight,
  senderLabel,
  startMore,
  startSearch,
  type SearchState,
} from '../search';
import { relativeTime } from '../time';
import type { ChatMessage } from '../types';

interface Props {
  session: ChatSession;
  now: number;
  /** Opens the hit's room at the message. */
  onOpenAt: (roomUUID: string, messageId: number) => void;
  /** What shows while not searching: the room list. */
  children: ComponentChildren;
}

export function SearchPanel({ session, now, onOpenAt, children }: Props) {
  const [input, setInput] = useState('');
  const [hint, setHint] = useState<string | null>(null);
  const [state, setState] = useState<SearchState>(IDLE);
  const stateRef = useRef(state);
  stateRef.current = state;
  const seq = useRef(0);
  const inputRef = useRef<HTMLInputElement>(null);
  const active = state.status !== 'idle';

  const fetchPage = async (n: number, q: string, before?: number) => {
    try {
      const page = await session.api.search(q, { before, limit: SEARCH_PAGE });
      setState((s) => applyPage(s, n, page));
    } catch (e) {
      setState((s) => applyError(s, n, apiErrorText(e)));
    }
  };

  const submit = (e?: Event) => {
    e?.preventDefault();
    const check = checkQuery(input);
    if (!check.ok) {
      setHint(check.hint);
      return;
    }
    setHint(null);
    const n = ++seq.current;
    setState(startSearch(n, check.q, check.words));
    void fetchPage(n, check.q);
  };

  const more = () => {
    const s = stateRef.current;
    if (!canLoadMore(s) || s.next === null) return;
    const n = ++seq.current;
    setState(startMore(s, n));
    void fetchPage(n, s.q, s.next);
  };

  const close = () => {
    seq.current++;
    setState(IDLE);
    setInput('');
    setHint(null);
    inputRef.current?.focus();
  };

  return (
    <div class="search-wrap">
      <form class="search-bar" role="search" onSubmit={submit} noValidate>
        <label class="sr-only" for="search-input">
          메시지 검색
        </label>
        <input
          ref={inputRef}
          id="search-input"
          data-testid="search-input"
          type="search"
          placeholder="메시지 검색"
          autoComplete="off"
          enterKeyHint="search"
          spellcheck={false}
          maxLength={200}
          value={input}
          aria-describedby={hint ? 'search-hint' : undefined}
          onInput={(e) => {
            // The hint goes once the query changes: here, not in an effect, which would run
            // after the next paint and could take away the hint of an Enter pressed at once.
            setInput(e.currentTarget.value);
            setHint(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && (active || input)) {
              e.preventDefault();
              close();
            }
          }}
        />
        <button type="submit" class="button primary small" data-testid="search-submit">
          검색
        </button>
        {(active || input) && (
          <button type="button" class="button ghost small" data-testid="search-close" onClick={close} aria-label="검색 닫기">
            닫기
          </button>
        )}
      </form>
      {hint && (
        <p id="search-hint" class="search-hint" role="status" data-testid="search-hint">
          {hint}
        </p>
      )}
      {active ? <Results session={session} now={now} state={state} onMore={more} onRetry={submit} onOpenAt={onOpenAt} /> : children}
    </div>
  );
}

function Results({
  session,
  now,
  state,
  onMore,
  onRetry,
  onOpenAt,
}: {
  session: ChatSession;
  now: number;
  state: SearchState;
  onMore: () => void;
  onRetry: () => void;
  onOpenAt: (roomUUID: string, messageId: number) => void;
}) {
  const { status, messages, error } = state;
  const summary = status === 'loading' ? '검색 중…' : status === 'ready' && messages.length > 0 ? `검색 결과 ${messages.length}${state.next !== null ? '+' : ''}건` : '';
  return (
    <div class="search-results-wrap" data-testid="search-results" aria-busy={status === 'loading' || state.loadingMore}>
      <p class="search-summary muted" role="status">
        {summary}
      </p>
      {messages.length > 0 && (
        <ul class="search-results" aria-label="검색 결과">
          {messages.map((m) => (
            <Hit key={m.id} m={m} session={session} now={now} words={state.words} onOpenAt={onOpenAt} />
          ))}
        </ul>
      )}
      {status === 'ready' && messages.length === 0 && !error && (
        <p class="muted empty-list" data-testid="search-empty">
          검색 결과가 없습니다
        </p>
      )}
      {error && (
        <div class="inline-error" role="alert" data-testid="search-error">
          <span>{error}</span>
          <button type="button" class="button ghost small" onClick={() => (messages.length > 0 ? onMore() : onRetry())}>
            다시 시도
          </button>
        </div>
      )}
      {state.next !== null && !error && (
        <button type="button" class="button ghost small search-more" data-testid="search-more" disabled={state.loadingMore} onClick={onMore}>
          {state.loadingMore ? '불러오는 중…' : '더 보기'}
        </button>
      )}
    </div>
  );
}

function Hit({
  m,
  session,
  now,
  words,
  onOpenAt,
}: {
  m: ChatMessage;
  session: ChatSession;
  now: number;
  words: readonly string[];
  onOpenAt: (roomUUID: string, messageId: number) => void;
}) {
  const room = session.room(m.roomUUID);
  const peer = room ? peerOf(room, session.me) : null;
  const at = new Date(m.createdAt);
  // A photo without a caption: "사진" (nothing in it matched, but the message is the hit).
  const segments = m.content.trim() ? clip(highlight(m.content, words)) : [{ text: previewText(m), hit: false }];
  const photo = m.type === 'IMAGE' && m.content.trim() !== '';
  return (
    <li>
      <a
        class="room-item search-hit"
        href={`?room=${encodeURIComponent(m.roomUUID)}`}
        data-testid="search-result"
        data-message-id={String(m.id)}
        data-room-uuid={m.roomUUID}
        onClick={(e) => {
          if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
          e.preventDefault();
          onOpenAt(m.roomUUID, m.id);
        }}
      >
        <span class="room-line">
          <span class="room-name" data-testid="search-result-room">
            {room?.name ?? '대화방'}
          </span>
          {!Number.isNaN(at.getTime()) && (
            <time class="room-time" data-testid="search-result-time" dateTime={at.toISOString()}>
              {relativeTime(at, now)}
            </time>
          )}
        </span>
        {peer && (
          <span class="room-peer" data-testid="search-result-peer">
            {peer}
          </span>
        )}
        <span class="search-line">
          <span class="search-sender" data-testid="search-result-sender">
            {senderLabel(m, session.me)}
          </span>
          {photo && <span class="search-tag">사진</span>}
          <span class={`search-text${m.type === 'SYSTEM' ? ' muted' : ''}`} data-testid="search-result-text">
            {segments.map((s, i) => (s.hit ? <mark key={i}>{s.text}</mark> : s.text))}
          </span>
        </span>
      </a>
    </li>
  );
}
