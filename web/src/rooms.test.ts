import { describe, expect, it } from 'vitest';
import {
  activityTime,
  applyMessage,
  applyRead,
  applyRoomEvents,
  applyRoomUpdated,
  lastMessageText,
  markOf,
  markRoomRead,
  mergeRoomList,
  patchRoom,
  peerOf,
  removeRoom,
  sortRooms,
  totalUnread,
  unreadOf,
} from './rooms';
import { msg, photo, room } from './testutil';

const at = (iso: string, id: number, roomUUID: string) => msg(id, { roomUUID, createdAt: iso });

describe('sortRooms', () => {
  it('orders by last message time, else creation time, newest first', () => {
    const rooms = [
      room('a', { createdAt: '2026-12-01T00:00:00.000Z' }),
      room('b', { createdAt: '2026-12-03T00:00:00.000Z' }),
      room('c', { createdAt: '2026-11-01T00:00:00.000Z', lastMessage: at('2026-12-05T00:00:00.000Z', 5, 'c') }),
    ];
    expect(sortRooms(rooms).map((r) => r.roomUUID)).toEqual(['c', 'b', 'a']);
    expect(activityTime(rooms[2]!)).toBe(Date.parse('2026-12-05T00:00:00.000Z'));
  });

  it('breaks ties stably', () => {
    const t = '2026-12-01T00:00:00.000Z';
    const rooms = [room('b', { createdAt: t }), room('a', { createdAt: t })];
    expect(sortRooms(rooms).map((r) => r.roomUUID)).toEqual(['a', 'b']);
  });
});

describe('applyMessage', () => {
  const list = sortRooms([
    room('a', { lastMessage: at('2026-12-05T00:00:00.000Z', 10, 'a') }),
    room('b', { lastMessage: at('2026-12-04T00:00:00.000Z', 8, 'b') }),
  ]);

  it('moves the room to the top with the new last message', () => {
    const next = applyMessage(list, at('2026-12-06T00:00:00.000Z', 11, 'b'), 'me');
    expect(next.map((r) => r.roomUUID)).toEqual(['b', 'a']);
    expect(next[0]!.lastMessage?.id).toBe(11);
    expect(list[1]!.lastMessage?.id).toBe(8); // input not mutated
  });

  it('ignores older or repeated messages and unknown rooms', () => {
    expect(applyMessage(list, at('2026-12-06T00:00:00.000Z', 8, 'b'), 'me')).toBe(list);
    expect(applyMessage(list, at('2026-12-06T00:00:00.000Z', 3, 'b'), 'me')).toBe(list);
    expect(applyMessage(list, at('2026-12-06T00:00:00.000Z', 99, 'zzz'), 'me')).toBe(list);
  });
});

describe('unread counts and read marks', () => {
  const t = (id: number) => `2026-12-06T00:00:${String(id).padStart(2, '0')}.000Z`;
  const base = [room('a', { unreadCount: 2, readUpTo: { me: 4, bob: 9 }, lastMessage: msg(9, { roomUUID: 'a', sender: 'bob', createdAt: t(9) }) })];

  it("counts the other member's messages and notices, and my own message reads the room", () => {
    const theirs = applyMessage(base, msg(10, { roomUUID: 'a', sender: 'bob', createdAt: t(10) }), 'me');
    expect(unreadOf(theirs[0]!)).toBe(3);
    const notice = applyMessage(theirs, msg(11, { roomUUID: 'a', sender: 'bob', type: 'SYSTEM', createdAt: t(11) }), 'me');
    expect(unreadOf(notice[0]!)).toBe(4);
    const mine = applyMessage(notice, msg(12, { roomUUID: 'a', sender: 'me', createdAt: t(12) }), 'me');
    expect(unreadOf(mine[0]!)).toBe(0);
    expect(markOf(mine[0]!, 'me')).toBe(12);
    expect(markOf(mine[0]!, 'bob')).toBe(9);
    // A repeat changes nothing (the count is not bumped twice).
    expect(applyMessage(mine, msg(12, { roomUUID: 'a', sender: 'bob', createdAt: t(12) }), 'me')).toBe(mine);
  });

  it('marking read clears the count and never moves the mark back', () => {
    const read = markRoomRead(base, 'a', 'me', 9);
    expect(markOf(read[0]!, 'me')).toBe(9);
    expect(unreadOf(read[0]!)).toBe(0);
    expect(markOf(markRoomRead(read, 'a', 'me', 3)[0]!, 'me')).toBe(9);
    expect(markRoomRead(read, 'a', 'me', 9)).toBe(read);
    expect(markRoomRead(read, 'zzz', 'me', 9)).toBe(read);
  });

  it('adds up the title count; a room from an older server counts 0', () => {
    expect(totalUnread([...base, room('b', { unreadCount: 5 }), room('c')])).toBe(7);
    expect(unreadOf(room('c'))).toBe(0);
    expect(markOf(room('c'), 'me')).toBe(0);
  });

  it('keeps the live count when a refetched list predates a message seen live', () => {
    const live = applyMessage(base, msg(10, { roomUUID: 'a', sender: 'bob', createdAt: t(10) }), 'me');
    const merged = mergeRoomList(live, base, 'me');
    expect(unreadOf(merged[0]!)).toBe(3);
    const fresh = mergeRoomList(live, [{ ...live[0]!, unreadCount: 0 }], 'me');
    expect(unreadOf(fresh[0]!)).toBe(0);
  });

  it('keeps my read mark when a refetched list predates it', () => {
    const read = markRoomRead(base, 'a', 'me', 9);
    const merged = mergeRoomList(read, base, 'me');
    expect(unreadOf(merged[0]!)).toBe(0);
    expect(markOf(merged[0]!, 'me')).toBe(9);
    expect(markOf(merged[0]!, 'bob')).toBe(9);
    // A list that already has the mark is taken as it is.
    const later = [{ ...base[0]!, unreadCount: 1, readUpTo: { me: 9, bob: 9 } }];
    expect(unreadOf(mergeRoomList(read, later, 'me')[0]!)).toBe(1);
  });
});

describe('list updates', () => {
  it('keeps a newer live last message over a stale fetched list', () => {
    const live = [room('a', { lastMessage: at('2026-12-06T00:00:00.000Z', 20, 'a') })];
    const fetched = [
      room('a', { lastMessage: at('2026-12-05T00:00:00.000Z', 19, 'a') }),
      room('b', { createdAt: '2026-12-05T12:00:00.000Z' }),
    ];
    const next = mergeRoomList(live, fetched, 'me');
    expect(next.map((r) => [r.roomUUID, r.lastMessage?.id ?? null])).toEqual([
      ['a', 20],
      ['b', null],
    ]);
  });

  it('a fetched list drops rooms no longer listed', () => {
    expect(mergeRoomList([room('a'), room('b')], [room('b')], 'me').map((r) => r.roomUUID)).toEqual(['b']);
    expect(removeRoom([room('a'), room('b')], 'a').map((r) => r.roomUUID)).toEqual(['b']);
  });

  it("keeps the other member's higher mark (a READ the fetched list predates), only for listed members", () => {
    const current = [room('a', { readUpTo: { me: 3, bob: 9, gone: 5 } })];
    const fetched = [room('a', { readUpTo: { me: 3, bob: 7 } })];
    expect(mergeRoomList(current, fetched, 'me')[0]!.readUpTo).toEqual({ me: 3, bob: 9 });
    // A higher mark in the answer is taken as it is.
    expect(mergeRoomList([room('a', { readUpTo: { me: 3, bob: 2 } })], fetched, 'me')[0]!.readUpTo).toEqual({ me: 3, bob: 7 });
  });
});

describe('ROOM_UPDATED', () => {
  const t = (id: number) => `2026-12-06T00:00:${String(id).padStart(2, '0')}.000Z`;
  const last = (id: number, roomUUID = 'a', sender = 'bob') => msg(id, { roomUUID, sender, createdAt: t(id) });
  const base = sortRooms([
    room('a', { lastMessage: last(10), unreadCount: 1, readUpTo: { me: 9, bob: 10 } }),
    room('b', { lastMessage: last(5, 'b'), unreadCount: 0, readUpTo: { me: 5, bob: 5 } }),
  ]);

  it('adds a new room in activity order, and replaces a known one with a newer last message', () => {
    const created = applyRoomUpdated(base, room('n', { createdAt: t(20) }), false, 'me');
    expect(created.map((r) => r.roomUUID)).toEqual(['n', 'a', 'b']);
    const updated = applyRoomUpdated(base, room('b', { lastMessage: last(11, 'b'), unreadCount: 1, readUpTo: { me: 5, bob: 11 } }), false, 'me');
    expect(updated.map((r) => r.roomUUID)).toEqual(['b', 'a']);
    expect(updated[0]!.lastMessage?.id).toBe(11);
    expect(unreadOf(updated[0]!)).toBe(1);
    expect(base[1]!.lastMessage?.id).toBe(5); // input not mutated
  });

  it('takes the server count over the live estimate for the same message', () => {
    const live = applyMessage(base, last(11), 'me');
    expect(unreadOf(live[0]!)).toBe(2);
    const exact = applyRoomUpdated(live, room('a', { lastMessage: last(11), unreadCount: 1, readUpTo: { me: 10, bob: 11 } }), false, 'me');
    expect(unreadOf(exact[0]!)).toBe(1);
    expect(markOf(exact[0]!, 'me')).toBe(10);
  });

  it('keeps my higher mark (and its count) over an event for the same message', () => {
    const read = markRoomRead(base, 'a', 'me', 10);
    const stale = applyRoomUpdated(read, room('a', { name: '새 이름', lastMessage: last(10), unreadCount: 1, readUpTo: { me: 9, bob: 10 } }), false, 'me');
    const a = stale.find((r) => r.roomUUID === 'a')!;
    expect(unreadOf(a)).toBe(0);
    expect(markOf(a, 'me')).toBe(10);
    expect(a.name).toBe('새 이름'); // the rest is the event's
  });

  it('ignores a late event with an older last message, but takes a higher mark of the other member', () => {
    const late = applyRoomUpdated(base, room('a', { name: '옛 이름', lastMessage: last(8), unreadCount: 4, readUpTo: { me: 2, bob: 12 } }), false, 'me');
    const a = late.find((r) => r.roomUUID === 'a')!;
    expect(a.lastMessage?.id).toBe(10);
    expect(a.name).toBe('상품 a');
    expect(unreadOf(a)).toBe(1);
    expect(a.readUpTo).toEqual({ me: 9, bob: 12 });
    // A repeat of the current state changes nothing visible.
    const again = applyRoomUpdated(base, base[0]!, false, 'me');
    expect(again).toEqual(base);
  });

  it("never moves the other member's mark back", () => {
    const next = applyRoomUpdated(base, room('a', { lastMessage: last(12), unreadCount: 2, readUpTo: { me: 9, bob: 7 } }), false, 'me');
    expect(markOf(next[0]!, 'bob')).toBe(10);
    expect(unreadOf(next[0]!)).toBe(2);
  });

  it('removes a room I left, and a left room that is not listed is no change', () => {
    expect(applyRoomUpdated(base, base[0]!, true, 'me').map((r) => r.roomUUID)).toEqual(['b']);
    expect(applyRoomUpdated(base, room('zzz'), true, 'me').map((r) => r.roomUUID)).toEqual(['a', 'b']);
  });
});

describe('the listing and my mute on the list', () => {
  const t = (id: number) => `2026-12-06T00:00:${String(id).padStart(2, '0')}.000Z`;
  const last = (id: number) => msg(id, { roomUUID: 'a', createdAt: t(id) });
  const appointment = { at: '2026-12-24T10:00:00Z', place: '강남역', setBy: 'bob' };
  const base = [room('a', { lastMessage: last(10), unreadCount: 0, readUpTo: { me: 10, bob: 10 }, productStatus: 'ON_SALE', muted: false })];

  it('takes the trade status, the appointment and the mute of each ROOM_UPDATED', () => {
    // the status notice brings a new last message
    const sold = applyRoomUpdated(base, { ...base[0]!, lastMessage: last(11), productStatus: 'SOLD', appointment }, false, 'me');
    expect(sold[0]).toMatchObject({ productStatus: 'SOLD', appointment });
    // a mute changes no message
    const muted = applyRoomUpdated(sold, { ...sold[0]!, muted: true, mutedUntil: null }, false, 'me');
    expect(muted[0]).toMatchObject({ muted: true, productStatus: 'SOLD', appointment });
    // also when my mark on its way is higher than the event's
    const read = markRoomRead(sold, 'a', 'me', 11);
    const stale = applyRoomUpdated(read, { ...sold[0]!, readUpTo: { me: 10, bob: 11 }, unreadCount: 1, muted: true }, false, 'me');
    expect(stale[0]).toMatchObject({ muted: true, unreadCount: 0 });
  });

  it('keeps them from a fresh list', () => {
    const fetched = mergeRoomList(base, [{ ...base[0]!, productStatus: 'RESERVED', appointment: null, muted: true }], 'me');
    expect(fetched[0]).toMatchObject({ productStatus: 'RESERVED', appointment: null, muted: true });
  });

  it('shows my own change at once (patchRoom), a new array only when something changes', () => {
    const next = patchRoom(base, 'a', { muted: true, mutedUntil: null });
    expect(next[0]).toMatchObject({ muted: true, mutedUntil: null, productStatus: 'ON_SALE' });
    expect(base[0]!.muted).toBe(false); // input not mutated
    expect(patchRoom(next, 'a', { muted: true, mutedUntil: null })).toBe(next);
    expect(patchRoom(base, 'zzz', { muted: true })).toBe(base);
    expect(patchRoom(base, 'a', { appointment })[0]!.appointment).toEqual(appointment);
  });
});

describe('READ', () => {
  const base = [room('a', { lastMessage: msg(10, { roomUUID: 'a', sender: 'bob' }), unreadCount: 2, readUpTo: { me: 8, bob: 4 } })];

  it("moves the other member's mark forward only", () => {
    const read = applyRead(base, 'a', 'bob', 9, 'me');
    expect(markOf(read[0]!, 'bob')).toBe(9);
    expect(unreadOf(read[0]!)).toBe(2); // my count is not theirs
    expect(applyRead(read, 'a', 'bob', 6, 'me')).toBe(read);
    expect(applyRead(read, 'a', 'bob', 9, 'me')).toBe(read);
    expect(applyRead(read, 'zzz', 'bob', 99, 'me')).toBe(read);
  });

  it('my mark up to the last message (read on another device) leaves nothing unread', () => {
    const part = applyRead(base, 'a', 'me', 9, 'me');
    expect(markOf(part[0]!, 'me')).toBe(9);
    expect(unreadOf(part[0]!)).toBe(2); // the exact count comes with ROOM_UPDATED
    const all = applyRead(part, 'a', 'me', 10, 'me');
    expect(unreadOf(all[0]!)).toBe(0);
  });
});

describe('applyRoomEvents', () => {
  it('replays events that came while a list was fetched over its (older) answer', () => {
    const created = room('n', { createdAt: '2026-12-06T00:00:00.000Z' });
    const listed = [room('a', { readUpTo: { me: 0, bob: 1 } }), room('gone')];
    const events = [
      { type: 'ROOM_UPDATED' as const, room: created, left: false },
      { type: 'ROOM_UPDATED' as const, room: room('gone'), left: true },
      { type: 'READ' as const, roomUUID: 'a', user: 'bob', upTo: 3 },
    ];
    // The page already applied them live; the answer predates all three.
    const live = applyRoomEvents(listed, events, 'me');
    const merged = applyRoomEvents(mergeRoomList(live, listed, 'me'), events, 'me');
    expect(merged.map((r) => r.roomUUID)).toEqual(['n', 'a']);
    expect(markOf(merged[1]!, 'bob')).toBe(3);
  });
});

describe('peerOf and lastMessageText', () => {
  it('names the other member', () => {
    expect(peerOf(room('a'), 'alice')).toBe('bob');
    expect(peerOf(room('a'), 'bob')).toBe('alice');
  });
  it('flattens whitespace and says null for no message', () => {
    expect(lastMessageText(room('a'))).toBeNull();
    expect(lastMessageText(room('a', { lastMessage: msg(1, { content: ' 줄1\n줄2  ' }) }))).toBe('줄1 줄2');
    const sys = msg(2, { type: 'SYSTEM', notice: 'MEMBER_LEFT', content: 'bob님이 채팅방을 나갔습니다.' });
    expect(lastMessageText(room('a', { lastMessage: sys }))).toBe('bob님이 채팅방을 나갔습니다.');
  });
  it('a photo message without a caption reads "사진" or "사진 N장"', () => {
    const one = msg(3, { type: 'IMAGE', content: '', attachments: [photo('a')] });
    const three = msg(4, { type: 'IMAGE', content: '', attachments: [photo('a'), photo('b'), photo('c')] });
    const captioned = msg(5, { type: 'IMAGE', content: '직거래 장소 사진이에요', attachments: [photo('a')] });
    expect(lastMessageText(room('a', { lastMessage: one }))).toBe('사진');
    expect(lastMessageText(room('a', { lastMessage: three }))).toBe('사진 3장');
    expect(lastMessageText(room('a', { lastMessage: captioned }))).toBe('직거래 장소 사진이에요');
  });
});
