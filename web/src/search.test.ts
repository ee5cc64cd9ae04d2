import { describe, expect, it } from 'vitest';
import {
  IDLE,
  applyError,
  applyPage,
  canLoadMore,
  checkQuery,
  chosungOf,
  clip,
  fold,
  highlight,
  isChosungWord,
  parseSearchPage,
  revealStep,
  senderLabel,
  startMore,
  startSearch,
  type Segment,
} from './search';
import { msg } from './testutil';

/** The segments as text with the matches in [brackets]. */
const marked = (segments: readonly Segment[]) => segments.map((s) => (s.hit ? `[${s.text}]` : s.text)).join('');
const hl = (content: string, q: string) => {
  const c = checkQuery(q);
  if (!c.ok) throw new Error(`bad query ${q}`);
  return marked(highlight(content, c.words));
};

describe('fold', () => {
  it('folds as the server does: NFC, full width, case, whitespace runs', () => {
    expect(fold('  Ｈｅｌｌｏ\n\tWORLD  ')).toBe('hello world');
    expect(fold('０１０－１２\u3000\u3000ＡｂC')).toBe('010-12 abc');
    expect(fold('\u1110\u1162\u11a8\u1107\u1162')).toBe('택배'); // decomposed jamo
    expect(fold('Éclair')).toBe('éclair');
    expect(fold('a\u0001b')).toBe('a b');
  });
});

describe('초성', () => {
  it('finds a syllable’s initial', () => {
    expect(chosungOf('택')).toBe('ㅌ');
    expect(chosungOf('가')).toBe('ㄱ');
    expect(chosungOf('힣')).toBe('ㅎ');
    expect(chosungOf('까')).toBe('ㄲ');
    expect(chosungOf('a')).toBeNull();
    expect(chosungOf('ㅌ')).toBeNull();
  });
  it('tells a 초성 word', () => {
    expect(isChosungWord('ㅌㅂ')).toBe(true);
    expect(isChosungWord('택ㅂ')).toBe(false);
    expect(isChosungWord('ㅏ')).toBe(false); // a vowel
    expect(isChosungWord('')).toBe(false);
  });
});

describe('checkQuery', () => {
  it('accepts a query with a word of two characters, words distinct and longest first', () => {
    expect(checkQuery('  택배  ')).toEqual({ ok: true, q: '택배', words: ['택배'] });
    expect(checkQuery('ab 자전거 AB ab')).toEqual({ ok: true, q: 'ab 자전거 AB ab', words: ['자전거', 'ab'] });
    expect(checkQuery('가 택배')).toMatchObject({ ok: true, words: ['택배', '가'] });
    expect(checkQuery('ㅌㅂ')).toMatchObject({ ok: true, words: ['ㅌㅂ'] });
    expect(checkQuery('Ａｉｒ')).toMatchObject({ ok: true, words: ['air'] });
  });
  it('refuses what the server refuses, with a hint', () => {
    for (const q of ['', '   ', '\t\n']) expect(checkQuery(q)).toMatchObject({ ok: false, reason: 'empty' });
    for (const q of ['가', 'a', '가 a', 'ㅌ']) expect(checkQuery(q)).toMatchObject({ ok: false, reason: 'short', hint: '두 글자 이상 입력하세요' });
    expect(checkQuery('가'.repeat(101))).toMatchObject({ ok: false, reason: 'long' });
    expect(checkQuery('가'.repeat(100))).toMatchObject({ ok: true });
    // characters, not UTF-16 units: 100 emoji are 100 characters
    expect(checkQuery('😀'.repeat(100))).toMatchObject({ ok: true });
    const nine = Array.from({ length: 9 }, (_, i) => `w${i}`).join(' ');
    expect(checkQuery(nine)).toMatchObject({ ok: false, reason: 'many' });
    const eight = Array.from({ length: 8 }, (_, i) => `w${i}`).join(' ');
    expect(checkQuery(eight)).toMatchObject({ ok: true });
    // repeated words count once
    expect(checkQuery(`${eight} w0 W1`)).toMatchObject({ ok: true });
  });
});

describe('highlight', () => {
  it('marks a word inside longer words and with particles', () => {
    expect(hl('자전거는 아직 있나요?', '자전거')).toBe('[자전거]는 아직 있나요?');
    expect(hl('택배거래 가능한가요', '택배')).toBe('[택배]거래 가능한가요');
    expect(hl('자전거를 사고 자전거는', '자전거')).toBe('[자전거]를 사고 [자전거]는');
  });
  it('is case-insensitive and reads full-width forms, keeping the text as written', () => {
    expect(hl('iPhone 15 Pro', 'IPHONE')).toBe('[iPhone] 15 Pro');
    expect(hl('ＡＩＲＰＯＤＳ 2세대', 'airpods')).toBe('[ＡＩＲＰＯＤＳ] 2세대');
    expect(hl('100% 정품', '100%')).toBe('[100%] 정품');
    expect(hl('a.b acb', 'a.b')).toBe('[a.b] acb'); // no wildcard
  });
  it('marks every word of the query; overlapping matches merge', () => {
    expect(hl('3시에 강남역 2번 출구', '강남역 3시')).toBe('[3시]에 [강남역] 2번 출구');
    expect(hl('ababab', 'aba bab')).toBe('[ababab]');
  });
  it('marks the syllables whose initials a 초성 word spells, within one run of syllables', () => {
    expect(hl('택배거래 가능', 'ㅌㅂ')).toBe('[택배]거래 가능');
    expect(hl('타봐도 돼요', 'ㅌㅂ')).toBe('[타봐]도 돼요');
    expect(hl('직거래 말고 택배 거래요', 'ㅌㅂ')).toBe('직거래 말고 [택배] 거래요');
    expect(hl('택배거래', 'ㅌㅂㄱㄹ')).toBe('[택배거래]');
    expect(hl('택배 거래', 'ㅌㅂㄱㄹ')).toBe('택배 거래');
    expect(hl('새 거래처', 'ㄱㄹ')).toBe('새 [거래]처');
    // a 초성 word is also found as written
    expect(hl('ㅋㅋㅋ 좋아요', 'ㅋㅋ')).toBe('[ㅋㅋㅋ] 좋아요');
  });
  it('maps back over decomposed Hangul and characters that lower-case longer', () => {
    expect(hl('\u1110\u1162\u11a8\u1107\u1162 OK', '택배')).toBe('[택배] OK');
    expect(hl('İstanbul 택배', 'stan')).toBe('İ[stan]bul 택배');
    expect(hl('😀택배😀', 'ㅌㅂ')).toBe('😀[택배]😀');
  });
  it('leaves a text without a match whole, and markup as text', () => {
    expect(highlight('안녕하세요', ['택배'])).toEqual([{ text: '안녕하세요', hit: false }]);
    expect(highlight('', ['택배'])).toEqual([]);
    expect(hl('<b>택배</b>', '택배')).toBe('<b>[택배]</b>');
  });
});

describe('clip', () => {
  it('keeps a short text whole', () => {
    const s = highlight('택배 가능', ['택배']);
    expect(clip(s)).toEqual(s);
  });
  it('cuts a long text around its first match', () => {
    const text = `${'가'.repeat(200)}택배${'나'.repeat(200)}`;
    const out = clip(highlight(text, ['택배']), 50, 10);
    expect(marked(out)).toBe(`…${'가'.repeat(10)}[택배]${'나'.repeat(38)}…`);
  });
  it('starts at the beginning when the match is early, and never splits an emoji', () => {
    const text = `택배${'😀'.repeat(100)}`;
    const out = clip(highlight(text, ['택배']), 21, 5);
    const joined = out.map((s) => s.text).join('');
    expect(out[0]).toEqual({ text: '택배', hit: true });
    expect(joined.endsWith('…')).toBe(true);
    expect([...joined.slice(2, -1)].every((c) => c === '😀')).toBe(true);
  });
});

describe('parseSearchPage', () => {
  it('reads the answer', () => {
    const m = msg(5, { content: '택배' });
    expect(parseSearchPage({ messages: [m], next: 5 })).toEqual({ messages: [m], next: 5 });
    expect(parseSearchPage({ messages: [], next: null })).toEqual({ messages: [], next: null });
  });
  it('refuses what is not one, and skips malformed hits', () => {
    expect(parseSearchPage(null)).toBeNull();
    expect(parseSearchPage([])).toBeNull();
    expect(parseSearchPage({ next: 1 })).toBeNull();
    expect(parseSearchPage({ messages: [{ id: 'x' }, msg(3)], next: 'soon' })).toEqual({ messages: [msg(3)], next: null });
  });
});

describe('paging', () => {
  const page = (ids: number[], next: number | null) => ({ messages: ids.map((id) => msg(id)), next });
  it('a search, then more pages with before = next', () => {
    let s = startSearch(1, '택배', ['택배']);
    expect(s).toMatchObject({ status: 'loading', messages: [], q: '택배' });
    expect(canLoadMore(s)).toBe(false);
    s = applyPage(s, 1, page([9, 8], 8));
    expect(s).toMatchObject({ status: 'ready', next: 8 });
    expect(canLoadMore(s)).toBe(true);
    s = startMore(s, 2);
    expect(s).toMatchObject({ loadingMore: true, seq: 2 });
    expect(canLoadMore(s)).toBe(false);
    expect(startMore(s, 3)).toBe(s);
    // the page overlaps (a message stored meanwhile): each hit once
    s = applyPage(s, 2, page([8, 7, 6], null));
    expect(s.messages.map((m) => m.id)).toEqual([9, 8, 7, 6]);
    expect(s).toMatchObject({ next: null, loadingMore: false });
    expect(canLoadMore(s)).toBe(false);
  });
  it('an empty result', () => {
    const s = applyPage(startSearch(1, '없는말', ['없는말']), 1, page([], null));
    expect(s).toMatchObject({ status: 'ready', messages: [], next: null, error: null });
  });
  it('drops stale answers: an older query’s, and any after closing', () => {
    let s = startSearch(2, '거래', ['거래']);
    expect(applyPage(s, 1, page([1], null))).toBe(s);
    expect(applyError(s, 1, 'x')).toBe(s);
    s = applyPage(s, 2, page([4], 4));
    expect(applyPage(IDLE, 2, page([1], null))).toBe(IDLE);
  });
  it('a failed page keeps what is shown and can be tried again', () => {
    let s = applyPage(startSearch(1, '택배', ['택배']), 1, page([9], 9));
    s = applyError(startMore(s, 2), 2, '서버에 연결할 수 없습니다.');
    expect(s).toMatchObject({ status: 'ready', loadingMore: false, error: '서버에 연결할 수 없습니다.', next: 9 });
    expect(s.messages).toHaveLength(1);
    expect(canLoadMore(s)).toBe(true);
  });
  it('a page that adds nothing new ends the paging', () => {
    let s = applyPage(startSearch(1, '택배', ['택배']), 1, page([9], 9));
    s = applyPage(startMore(s, 2), 2, page([9], 9));
    expect(s.next).toBeNull();
  });
});

describe('senderLabel', () => {
  it('says 나 for mine and 알림 for notices', () => {
    expect(senderLabel({ sender: 'alice', type: 'TEXT' }, 'alice')).toBe('나');
    expect(senderLabel({ sender: 'bob', type: 'IMAGE' }, 'alice')).toBe('bob');
    expect(senderLabel({ sender: 'bob', type: 'SYSTEM' }, 'alice')).toBe('알림');
  });
});

describe('revealStep', () => {
  const store = (ids: number[], hasMoreOlder: boolean) => ({
    has: (id: number) => ids.includes(id),
    oldestId: ids.length ? Math.min(...ids) : null,
    hasMoreOlder,
  });
  it('found when held, older while older pages may bring it, gone when they cannot', () => {
    expect(revealStep(store([50, 51], true), 50)).toBe('found');
    expect(revealStep(store([50, 51], true), 10)).toBe('older');
    expect(revealStep(store([50, 51], false), 10)).toBe('gone');
    expect(revealStep(store([50, 52], true), 51)).toBe('gone'); // not in this room's history
    expect(revealStep(store([], true), 5)).toBe('older');
  });
});
