import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TYPING_RESEND_MS, TYPING_SHOW_MS, TypingSender, TypingWatch } from './typing';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(2026, 11, 6, 15, 0, 0));
});
afterEach(() => {
  vi.useRealTimers();
});

function sender(connected = () => true) {
  const sent: [string, boolean][] = [];
  const s = new TypingSender((room, typing) => {
    if (!connected()) return false;
    sent.push([room, typing]);
    return true;
  });
  return { s, sent };
}

describe('TypingSender', () => {
  it('sends true on the first key, then at most every 3 s while typing', () => {
    const { s, sent } = sender();
    s.input('a', 'ㅇ');
    expect(sent).toEqual([['a', true]]);
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(500);
      s.input('a', `안녕${i}`);
    }
    expect(sent).toHaveLength(1); // 2.5 s in
    vi.advanceTimersByTime(500);
    s.input('a', '안녕하세요');
    expect(sent).toEqual([
      ['a', true],
      ['a', true],
    ]);
    vi.advanceTimersByTime(TYPING_RESEND_MS - 1);
    s.input('a', '안녕하세요!');
    expect(sent).toHaveLength(2);
  });

  it('takes a true back with one false when I send or clear the input', () => {
    const { s, sent } = sender();
    s.input('a', 'x');
    s.stop(); // sent the message
    s.stop();
    expect(sent).toEqual([
      ['a', true],
      ['a', false],
    ]);
    vi.advanceTimersByTime(TYPING_RESEND_MS);
    s.input('a', 'y');
    s.input('a', ''); // cleared
    expect(sent.slice(2)).toEqual([
      ['a', true],
      ['a', false],
    ]);
  });

  it('sends no false when no true went', () => {
    const { s, sent } = sender();
    s.stop();
    s.input('a', '');
    expect(sent).toEqual([]);
  });

  it('typing again right after sending waits out the 3 s (the server would drop it)', () => {
    const { s, sent } = sender();
    s.input('a', 'x');
    vi.advanceTimersByTime(1000);
    s.stop();
    s.input('a', 'y');
    expect(sent).toEqual([
      ['a', true],
      ['a', false],
    ]);
    s.stop(); // nothing to take back
    expect(sent).toHaveLength(2);
    vi.advanceTimersByTime(2000);
    s.input('a', 'yz');
    expect(sent.slice(2)).toEqual([['a', true]]);
  });

  it('switching rooms takes back the old room and starts the new one at once', () => {
    const { s, sent } = sender();
    s.input('a', 'x');
    vi.advanceTimersByTime(100);
    s.input('b', 'y');
    expect(sent).toEqual([
      ['a', true],
      ['a', false],
      ['b', true],
    ]);
  });

  it('a true that could not go is not taken back, and is tried again on the next key', () => {
    let up = false;
    const { s, sent } = sender(() => up);
    s.input('a', 'x');
    s.stop();
    expect(sent).toEqual([]);
    up = true;
    s.input('a', 'xy');
    expect(sent).toEqual([['a', true]]);
  });

  it('forgets a true when the connection ends, or when I am no longer in the room', () => {
    const { s, sent } = sender();
    s.input('a', 'x');
    s.connectionLost();
    s.stop();
    expect(sent).toEqual([['a', true]]);
    vi.advanceTimersByTime(TYPING_RESEND_MS);
    s.input('a', 'xy');
    s.forget('b');
    s.forget('a');
    s.stop();
    expect(sent).toEqual([
      ['a', true],
      ['a', true],
    ]);
  });
});

describe('TypingWatch', () => {
  function watch() {
    const onChange = vi.fn();
    return { w: new TypingWatch(onChange), onChange };
  }

  it('shows a true for 5 s', () => {
    const { w, onChange } = watch();
    w.typing('a', 'bob', true);
    expect(w.typist('a')).toBe('bob');
    expect(w.typist('b')).toBeNull();
    expect(onChange).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(TYPING_SHOW_MS - 1);
    expect(w.typist('a')).toBe('bob');
    vi.advanceTimersByTime(1);
    expect(w.typist('a')).toBeNull();
    expect(onChange).toHaveBeenCalledTimes(2);
  });

  it('each new true starts the 5 s again, without a re-render', () => {
    const { w, onChange } = watch();
    w.typing('a', 'bob', true);
    vi.advanceTimersByTime(4000);
    w.typing('a', 'bob', true);
    vi.advanceTimersByTime(4000);
    expect(w.typist('a')).toBe('bob');
    expect(onChange).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(w.typist('a')).toBeNull();
  });

  it("ends at their false or their message, not at someone else's", () => {
    const { w, onChange } = watch();
    w.typing('a', 'bob', true);
    w.typing('a', 'carol', false);
    w.message('a', 'me');
    expect(w.typist('a')).toBe('bob');
    w.typing('a', 'bob', false);
    expect(w.typist('a')).toBeNull();
    w.typing('a', 'bob', true);
    w.message('a', 'bob');
    expect(w.typist('a')).toBeNull();
    expect(onChange).toHaveBeenCalledTimes(4);
    // The ended timer does not fire a change later.
    vi.advanceTimersByTime(TYPING_SHOW_MS);
    expect(onChange).toHaveBeenCalledTimes(4);
    // A false with nothing shown changes nothing.
    w.typing('a', 'bob', false);
    expect(onChange).toHaveBeenCalledTimes(4);
  });

  it('ends everywhere when the typist goes offline', () => {
    const { w, onChange } = watch();
    w.typing('a', 'bob', true);
    w.typing('b', 'bob', true);
    w.typing('c', 'carol', true);
    w.offline('bob');
    expect([w.typist('a'), w.typist('b'), w.typist('c')]).toEqual([null, null, 'carol']);
    expect(onChange).toHaveBeenCalledTimes(5);
    w.offline('dave');
    expect(onChange).toHaveBeenCalledTimes(5);
  });

  it('keeps rooms apart, and clear forgets all', () => {
    const { w, onChange } = watch();
    w.typing('a', 'bob', true);
    w.typing('b', 'dave', true);
    w.typing('a', 'bob', false);
    expect(w.typist('b')).toBe('dave');
    w.clear();
    expect(w.typist('b')).toBeNull();
    expect(onChange).toHaveBeenCalledTimes(4);
    w.clear();
    expect(onChange).toHaveBeenCalledTimes(4);
    vi.advanceTimersByTime(TYPING_SHOW_MS);
    expect(onChange).toHaveBeenCalledTimes(4);
  });
});
