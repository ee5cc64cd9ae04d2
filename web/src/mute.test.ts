import { describe, expect, it } from 'vitest';
import { isMuted, muteLabel } from './mute';
import { room } from './testutil';

const now = Date.parse('2026-12-06T06:00:00Z');

describe('isMuted', () => {
  it('follows the room’s muted', () => {
    expect(isMuted(room('r', { muted: true, mutedUntil: null }), now)).toBe(true);
    expect(isMuted(room('r', { muted: false }), now)).toBe(false);
    expect(isMuted(room('r'), now)).toBe(false); // an older server: never muted
    expect(isMuted(undefined, now)).toBe(false);
  });
  it('ends by itself once mutedUntil has passed, before any event says so', () => {
    const r = room('r', { muted: true, mutedUntil: '2026-12-06T07:00:00Z' });
    expect(isMuted(r, now)).toBe(true);
    expect(isMuted(r, Date.parse('2026-12-06T07:00:00Z'))).toBe(false);
    expect(isMuted(r, Date.parse('2026-12-06T08:00:00Z'))).toBe(false);
    // a time that does not read: the server said muted
    expect(isMuted(room('r', { muted: true, mutedUntil: 'soon' }), now)).toBe(true);
  });
});

describe('muteLabel', () => {
  it('says what pressing the toggle does', () => {
    expect(muteLabel(false)).toBe('알림 끄기');
    expect(muteLabel(true)).toBe('알림 켜기');
  });
});
