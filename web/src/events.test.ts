import { describe, expect, it } from 'vitest';
import { parseUserEvent } from './events';
import { msg, room } from './testutil';

const body = (x: unknown) => JSON.stringify(x);

describe('parseUserEvent', () => {
  it('reads a ROOM_UPDATED, with left only when it is true', () => {
    const r = room('a', { lastMessage: msg(3, { roomUUID: 'a' }), unreadCount: 1, readUpTo: { alice: 3, bob: 2 } });
    expect(parseUserEvent(body({ type: 'ROOM_UPDATED', room: r }))).toEqual({ type: 'ROOM_UPDATED', room: r, left: false });
    expect(parseUserEvent(body({ type: 'ROOM_UPDATED', room: r, left: true }))).toEqual({ type: 'ROOM_UPDATED', room: r, left: true });
    expect(parseUserEvent(body({ type: 'ROOM_UPDATED', room: r, left: 'yes' }))).toMatchObject({ left: false });
    // A room with no message yet, and extra fields of a newer server, pass.
    const fresh = { ...room('b'), muted: false };
    expect(parseUserEvent(body({ type: 'ROOM_UPDATED', room: fresh }))).toMatchObject({ room: fresh });
  });

  it('refuses a ROOM_UPDATED whose room the page could not show', () => {
    const r = room('a');
    for (const bad of [
      null,
      { ...r, roomUUID: 7 },
      { ...r, members: 'alice' },
      { ...r, lastMessage: { id: 'x' } },
      { ...r, lastMessage: undefined },
      { ...r, unreadCount: -1 },
      { ...r, readUpTo: { alice: '3' } },
    ]) {
      expect(parseUserEvent(body({ type: 'ROOM_UPDATED', room: bad }))).toBeNull();
    }
  });

  it('reads READ and TYPING', () => {
    expect(parseUserEvent(body({ type: 'READ', roomUUID: 'a', user: 'bob', upTo: 42 }))).toEqual({
      type: 'READ',
      roomUUID: 'a',
      user: 'bob',
      upTo: 42,
    });
    expect(parseUserEvent(body({ type: 'READ', roomUUID: 'a', user: 'bob', upTo: 1.5 }))).toBeNull();
    expect(parseUserEvent(body({ type: 'READ', roomUUID: 'a', upTo: 4 }))).toBeNull();
    expect(parseUserEvent(body({ type: 'TYPING', roomUUID: 'a', user: 'bob', typing: true }))).toEqual({
      type: 'TYPING',
      roomUUID: 'a',
      user: 'bob',
      typing: true,
    });
    expect(parseUserEvent(body({ type: 'TYPING', roomUUID: 'a', user: 'bob', typing: 'true' }))).toBeNull();
  });

  it('reads PRESENCE; online has no last seen', () => {
    const at = '2026-12-06T09:30:00.000Z';
    expect(parseUserEvent(body({ type: 'PRESENCE', user: 'bob', online: false, lastSeenAt: at }))).toEqual({
      type: 'PRESENCE',
      user: 'bob',
      online: false,
      lastSeenAt: at,
    });
    expect(parseUserEvent(body({ type: 'PRESENCE', user: 'bob', online: true, lastSeenAt: null }))).toMatchObject({ lastSeenAt: null });
    expect(parseUserEvent(body({ type: 'PRESENCE', user: 'bob', online: true, lastSeenAt: at }))).toMatchObject({ lastSeenAt: null });
    expect(parseUserEvent(body({ type: 'PRESENCE', user: 'bob', online: false }))).toMatchObject({ lastSeenAt: null });
    expect(parseUserEvent(body({ type: 'PRESENCE', user: 'bob', online: false, lastSeenAt: 5 }))).toBeNull();
    expect(parseUserEvent(body({ type: 'PRESENCE', online: false, lastSeenAt: at }))).toBeNull();
  });

  it('skips unknown types and what is not a JSON object', () => {
    expect(parseUserEvent(body({ type: 'MUTED', roomUUID: 'a' }))).toBeNull();
    expect(parseUserEvent(body([1, 2]))).toBeNull();
    expect(parseUserEvent('null')).toBeNull();
    expect(parseUserEvent('{not json')).toBeNull();
    expect(parseUserEvent('')).toBeNull();
  });
});
