import { describe, expect, it } from 'vitest';
import {
  activityTime,
  applyMessage,
  chooseSubscriptions,
  lastMessageText,
  markOf,
  markRoomRead,
  mergeRoomList,
  peerOf,
  removeRoom,
  sortRooms,
  totalUnread,
  unreadOf,
  upsertRoom,
} from './rooms';
import { msg, room } from './testutil';

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
  it('upserts a created room in activity order', () => {
    const list = [room('a', { createdAt: '2026-12-01T00:00:00.000Z' })];
    const next = upsertRoom(list, room('n', { createdAt: '2026-12-06T00:00:00.000Z' }));
    expect(next.map((r) => r.roomUUID)).toEqual(['n', 'a']);
    expect(upsertRoom(next, room('n', { createdAt: '2026-12-06T00:00:00.000Z' }))).toHaveLength(2);
  });

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
});

describe('chooseSubscriptions', () => {
  const many = Array.from({ length: 100 }, (_, i) =>
    room(`r${i}`, { createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString() }),
  );

  it('takes the open room plus the 62 most recent others under a cap of 64', () => {
    const subs = chooseSubscriptions(many, 'r0', 64);
    expect(subs).toHaveLength(63);
    expect(subs[0]).toBe('r0');
    expect(subs[1]).toBe('r99');
    expect(subs).toContain('r38');
    expect(subs).not.toContain('r37');
    expect(new Set(subs).size).toBe(63);
  });

  it('does not count the open room twice when it is among the recent ones', () => {
    const subs = chooseSubscriptions(many, 'r99', 64);
    expect(subs).toHaveLength(63);
    expect(subs.filter((s) => s === 'r99')).toHaveLength(1);
  });

  it('takes every room when there are few, and none for a tiny cap', () => {
    expect(chooseSubscriptions(many.slice(0, 3), null, 64)).toEqual(['r2', 'r1', 'r0']);
    expect(chooseSubscriptions(many, 'x', 2)).toEqual(['x']);
  });

  it('skips refused rooms', () => {
    expect(chooseSubscriptions(many.slice(0, 3), 'r1', 64, new Set(['r1', 'r2']))).toEqual(['r0']);
  });
});
