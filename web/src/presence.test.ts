import { describe, expect, it } from 'vitest';
import { lastSeenText, PresenceBook } from './presence';

const now = new Date(2026, 11, 6, 15, 30, 0);
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

describe('PresenceBook', () => {
  it('takes a fetched answer: online members, and when the others were last seen', () => {
    const b = new PresenceBook();
    expect(b.get('bob')).toBeNull();
    const t = b.begin();
    const changed = b.fetched(t, ['bob', 'carol', 'dave'], {
      online: ['alice', 'bob'],
      inRoom: [],
      lastSeenAt: { carol: ago(60_000) },
    });
    expect(changed).toBe(true);
    expect(b.get('bob')).toEqual({ online: true, lastSeenAt: null });
    expect(b.get('carol')).toEqual({ online: false, lastSeenAt: ago(60_000) });
    expect(b.get('dave')).toEqual({ online: false, lastSeenAt: null }); // never seen
    expect(b.fetched(b.begin(), ['bob'], { online: ['bob'], inRoom: [] })).toBe(false);
  });

  it('an answer from before an event does not undo the event', () => {
    const b = new PresenceBook();
    const t = b.begin();
    b.event('bob', false, ago(1000));
    b.fetched(t, ['bob'], { online: ['bob'], inRoom: [], lastSeenAt: {} });
    expect(b.get('bob')).toEqual({ online: false, lastSeenAt: ago(1000) });
    // An answer from after it does.
    b.fetched(b.begin(), ['bob'], { online: ['bob'], inRoom: [] });
    expect(b.get('bob')).toEqual({ online: true, lastSeenAt: null });
  });

  it('an older fetch answering last does not undo a newer one', () => {
    const b = new PresenceBook();
    const first = b.begin();
    const second = b.begin();
    b.fetched(second, ['bob'], { online: [], inRoom: [], lastSeenAt: { bob: ago(5000) } });
    b.fetched(first, ['bob'], { online: ['bob'], inRoom: [] });
    expect(b.get('bob')?.online).toBe(false);
  });

  it('events set online and offline; online never has a last seen', () => {
    const b = new PresenceBook();
    b.event('bob', true, ago(1));
    expect(b.get('bob')).toEqual({ online: true, lastSeenAt: null });
    b.event('bob', false, ago(2000));
    expect(b.get('bob')).toEqual({ online: false, lastSeenAt: ago(2000) });
  });

  it('a failed fetch (presence down) makes them unknown, unless an event is newer', () => {
    const b = new PresenceBook();
    b.event('bob', true, null);
    b.fetched(b.begin(), ['bob', 'carol'], { online: ['carol'], inRoom: [] });
    expect(b.fetched(b.begin(), ['bob', 'carol'], null)).toBe(true);
    expect(b.get('bob')).toBeNull();
    expect(b.get('carol')).toBeNull();
    const t = b.begin();
    b.event('bob', true, null);
    b.fetched(t, ['bob'], null);
    expect(b.get('bob')?.online).toBe(true);
  });
});

describe('lastSeenText', () => {
  it('says when an offline member was last online, in the list\'s relative times', () => {
    const off = (ms: number) => ({ online: false, lastSeenAt: ago(ms) });
    expect(lastSeenText(off(20_000), now)).toBe('마지막 접속 방금 전');
    expect(lastSeenText(off(-5_000), now)).toBe('마지막 접속 방금 전'); // clock skew
    expect(lastSeenText(off(3 * 60_000), now)).toBe('마지막 접속 3분 전');
    expect(lastSeenText(off(3 * 3_600_000), now)).toBe('마지막 접속 3시간 전');
    expect(lastSeenText({ online: false, lastSeenAt: new Date(2026, 11, 5, 10, 0).toISOString() }, now)).toBe('마지막 접속 어제');
    expect(lastSeenText({ online: false, lastSeenAt: new Date(2026, 10, 24, 10, 0).toISOString() }, now)).toBe('마지막 접속 11월 24일');
  });

  it('says nothing while online, when unknown, never seen, or for a bad time', () => {
    expect(lastSeenText({ online: true, lastSeenAt: null }, now)).toBeNull();
    expect(lastSeenText(null, now)).toBeNull();
    expect(lastSeenText({ online: false, lastSeenAt: null }, now)).toBeNull();
    expect(lastSeenText({ online: false, lastSeenAt: 'yesterday' }, now)).toBeNull();
  });
});
