// Message search (API-v2 "Search"): the query's rules as the server reads them, the matched words of a hit marked in its text (초성 too), the results' paging state, and finding a hit in its room's history.
import type { ChatMessage } from './types';

/** The server's limits on `q` (crates/core/src/search/text.rs). */
export const MAX_QUERY_CHARS = 100;
export const MAX_QUERY_WORDS = 8;
/** At least one word this long: one syllable alone matches most of a history. */
export const MIN_WORD_CHARS = 2;
/** Hits per page (the server's default; it allows 1–50). */
export const SEARCH_PAGE = 20;

/** The initial consonants (초성) of Hangul syllables, in the order of their index in a syllable. */
export const CHOSUNG = ['ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ'] as const;
const CHOSUNG_SET: ReadonlySet<string> = new Set(CHOSUNG);

const SPACE = /^[\p{White_Space}\p{Cc}]$/u;

/**
 * One character (a code point) folded as the server folds it: full-width ASCII forms as ASCII,
 * the ideographic space and every whitespace or control character a space, letters lower case.
 * The result may be longer than one code unit (`İ` lower-cases to two).
 */
export function foldChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const c = cp >= 0xff01 && cp <= 0xff5e ? String.fromCodePoint(cp - 0xfee0) : ch;
  if (SPACE.test(c) || cp === 0x3000) return ' ';
  return c.toLowerCase();
}

/** Text folded like the server's search text: NFC, each character folded, whitespace runs one space, trimmed. */
export function fold(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) out += foldChar(ch);
  return out.replace(/ {2,}/g, ' ').trim();
}

/** The initial consonant of a precomposed Hangul syllable (`가`..`힣`), else null. */
export function chosungOf(ch: string): string | null {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0xac00 || cp > 0xd7a3) return null;
  return CHOSUNG[Math.floor((cp - 0xac00) / 588)] ?? null;
}

/** Whether a (folded) word is made only of initial consonants: a 초성 word (`ㅌㅂ`). */
export function isChosungWord(word: string): boolean {
  return word.length > 0 && [...word].every((c) => CHOSUNG_SET.has(c));
}

export type QueryCheck =
  | { ok: true; q: string; words: string[] }
  | { ok: false; reason: 'empty' | 'short' | 'long' | 'many'; hint: string };

/** What the page says instead of sending a query the server would refuse. */
export const QUERY_HINTS = {
  empty: '검색어를 입력하세요',
  short: '두 글자 이상 입력하세요',
  long: `검색어는 ${MAX_QUERY_CHARS}자까지 입력할 수 있어요`,
  many: `단어는 ${MAX_QUERY_WORDS}개까지 검색할 수 있어요`,
} as const;

/**
 * Checks a query as the server does (`400 invalid_query` otherwise): at most 100 characters and
 * 8 distinct words, at least one word of 2 characters or more. On success `q` is what to send
 * (trimmed) and `words` its distinct folded words, longest first, for marking the hits.
 */
export function checkQuery(input: string): QueryCheck {
  const q = input.trim();
  const fail = (reason: 'empty' | 'short' | 'long' | 'many'): QueryCheck => ({ ok: false, reason, hint: QUERY_HINTS[reason] });
  if ([...q].length > MAX_QUERY_CHARS) return fail('long');
  const words: string[] = [];
  for (const w of fold(q).split(' ')) if (w && !words.includes(w)) words.push(w);
  if (words.length === 0) return fail('empty');
  if (words.length > MAX_QUERY_WORDS) return fail('many');
  if (words.every((w) => [...w].length < MIN_WORD_CHARS)) return fail('short');
  words.sort((a, b) => b.length - a.length);
  return { ok: true, q, words };
}

/** A piece of a hit's text: matched (shown in `<mark>`) or not. */
export interface Segment {
  text: string;
  hit: boolean;
}

/**
 * A message's text cut into plain and matched pieces, for `words` (folded, as `checkQuery`
 * gives them): each word wherever it occurs in the folded text (case and full width do not
 * matter), and a 초성 word also over the syllables of a run whose initials it spells (`ㅌㅂ`
 * marks `택배` in `택배거래`). The pieces join to the text in NFC (the same glyphs).
 */
export function highlight(content: string, words: readonly string[]): Segment[] {
  const text = content.normalize('NFC');
  // The folded text, and for each of its code units the original code units it came from.
  let folded = '';
  const from: number[] = [];
  const to: number[] = [];
  for (let i = 0; i < text.length; ) {
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    const f = foldChar(ch);
    for (let k = 0; k < f.length; k++) {
      from.push(i);
      to.push(i + ch.length);
    }
    folded += f;
    i += ch.length;
  }
  const ranges: Array<[number, number]> = [];
  const add = (start: number, len: number) => ranges.push([from[start]!, to[start + len - 1]!]);
  for (const w of words) {
    if (!w || w.includes(' ')) continue;
    for (let at = folded.indexOf(w); at >= 0; at = folded.indexOf(w, at + 1)) add(at, w.length);
    if (!isChosungWord(w)) continue;
    // Each run of syllables and its initials (a syllable and its initial are one code unit each).
    for (let i = 0; i < folded.length; ) {
      if (chosungOf(folded[i]!) === null) {
        i++;
        continue;
      }
      let j = i;
      let initials = '';
      while (j < folded.length && chosungOf(folded[j]!) !== null) initials += chosungOf(folded[j++]!);
      for (let at = initials.indexOf(w); at >= 0; at = initials.indexOf(w, at + 1)) add(i + at, w.length);
      i = j;
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Segment[] = [];
  let pos = 0;
  for (const [s, e] of ranges) {
    if (e <= pos) continue;
    const start = Math.max(s, pos);
    if (start > pos) out.push({ text: text.slice(pos, start), hit: false });
    const last = out[out.length - 1];
    if (last?.hit && start === pos) last.text += text.slice(start, e);
    else out.push({ text: text.slice(start, e), hit: true });
    pos = e;
  }
  if (pos < text.length) out.push({ text: text.slice(pos), hit: false });
  return out;
}

/** A cut that does not split a surrogate pair (an emoji). */
function safeCut(text: string, at: number): number {
  const c = text.charCodeAt(at - 1);
  return at > 0 && at < text.length && c >= 0xd800 && c <= 0xdbff ? at - 1 : at;
}

/**
 * A long text shortened to about `max` code units around its first match (`lead` of them before
 * it), with "…" where it was cut; a short one as it is.
 */
export function clip(segments: readonly Segment[], max = 140, lead = 24): Segment[] {
  const whole = segments.map((s) => s.text).join('');
  if (whole.length <= max) return [...segments];
  let first = 0;
  for (const s of segments) {
    if (s.hit) break;
    first += s.text.length;
  }
  if (first >= whole.length) first = 0;
  const start = safeCut(whole, Math.max(0, Math.min(first - lead, whole.length - max)));
  const end = safeCut(whole, Math.min(whole.length, start + max));
  const out: Segment[] = [];
  if (start > 0) out.push({ text: '…', hit: false });
  let pos = 0;
  for (const s of segments) {
    const a = Math.max(pos, start);
    const b = Math.min(pos + s.text.length, end);
    if (b > a) out.push({ text: s.text.slice(a - pos, b - pos), hit: s.hit });
    pos += s.text.length;
  }
  if (end < whole.length) out.push({ text: '…', hit: false });
  return out;
}

/** `GET /search`'s answer. */
export interface SearchPage {
  messages: ChatMessage[];
  next: number | null;
}

function isHit(x: unknown): x is ChatMessage {
  if (!x || typeof x !== 'object') return false;
  const m = x as Partial<ChatMessage>;
  return (
    typeof m.id === 'number' &&
    typeof m.roomUUID === 'string' &&
    typeof m.sender === 'string' &&
    typeof m.content === 'string' &&
    typeof m.createdAt === 'string'
  );
}

/** Reads a `GET /search` body; null when it is not one (malformed hits are skipped). */
export function parseSearchPage(body: unknown): SearchPage | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as { messages?: unknown; next?: unknown };
  if (!Array.isArray(b.messages)) return null;
  const next = typeof b.next === 'number' && Number.isSafeInteger(b.next) && b.next > 0 ? b.next : null;
  return { messages: b.messages.filter(isHit), next };
}

/** The results as the page holds them: one query's hits so far, newest first. */
export interface SearchState {
  /** Which request the state waits for: answers to any other are stale and dropped. */
  seq: number;
  status: 'idle' | 'loading' | 'ready';
  /** The query sent, and its words for marking hits. */
  q: string;
  words: string[];
  messages: ChatMessage[];
  /** The `before` of the next page; null on the last. */
  next: number | null;
  /** A "더 보기" on its way. */
  loadingMore: boolean;
  /** Why the last request failed, in Korean. */
  error: string | null;
}

export const IDLE: SearchState = { seq: 0, status: 'idle', q: '', words: [], messages: [], next: null, loadingMore: false, error: null };

/** A new query (request `seq`): nothing shown until its first page. */
export function startSearch(seq: number, q: string, words: readonly string[]): SearchState {
  return { ...IDLE, seq, status: 'loading', q, words: [...words] };
}

/** Whether "더 보기" can ask for the next page now. */
export function canLoadMore(s: SearchState): boolean {
  return s.status === 'ready' && s.next !== null && !s.loadingMore;
}

/** "더 보기" (request `seq`, `before` = `s.next`); the same state when there is nothing to load. */
export function startMore(s: SearchState, seq: number): SearchState {
  if (!canLoadMore(s)) return s;
  return { ...s, seq, loadingMore: true, error: null };
}

/** A page arrived for request `seq`: its hits after those shown (each id once). */
export function applyPage(s: SearchState, seq: number, page: SearchPage): SearchState {
  if (seq !== s.seq || s.status === 'idle') return s;
  const seen = new Set(s.messages.map((m) => m.id));
  const fresh = page.messages.filter((m) => !seen.has(m.id) && seen.add(m.id));
  // A page that adds nothing new cannot lead anywhere new: stop rather than ask for it again.
  const next = page.next !== null && (fresh.length > 0 || s.status === 'loading') ? page.next : null;
  return { ...s, status: 'ready', messages: [...s.messages, ...fresh], next, loadingMore: false, error: null };
}

/** Request `seq` failed: the hits so far stay (and "더 보기" can be tried again). */
export function applyError(s: SearchState, seq: number, error: string): SearchState {
  if (seq !== s.seq || s.status === 'idle') return s;
  return { ...s, status: 'ready', loadingMore: false, error };
}

/** Who sent a hit, as its line says it: 나, the notice, or the sender. */
export function senderLabel(m: Pick<ChatMessage, 'sender' | 'type'>, me: string): string {
  if (m.type === 'SYSTEM') return '알림';
  return m.sender === me ? '나' : m.sender;
}

/**
 * Finding a hit in its room's history, loaded newest first and contiguous: `found` once held,
 * `older` while older pages may still bring it, `gone` when they cannot (the start is loaded, or
 * the oldest held is already older than it).
 */
export function revealStep(store: { has(id: number): boolean; oldestId: number | null; hasMoreOlder: boolean }, id: number): 'found' | 'older' | 'gone' {
  if (store.has(id)) return 'found';
  if (!store.hasMoreOlder || (store.oldestId !== null && store.oldestId < id)) return 'gone';
  return 'older';
}
