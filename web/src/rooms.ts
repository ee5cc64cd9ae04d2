// The room list's logic: order by activity, the user's events (ROOM_UPDATED, READ) and live messages applied, list refetches merged, the peer.
import { previewText } from './attachments';
import type { ChatMessage, Room, RoomEvent } from './types';

/** Milliseconds of a room's latest activity: its last message, else its creation. */
export function activityTime(room: Room): number {
  const t = Date.parse(room.lastMessage?.createdAt ?? room.createdAt);
  return Number.isNaN(t) ? 0 : t;
}

/** Most recent activity first; ties by last message id, then room id (a stable order). */
export function sortRooms(rooms: readonly Room[]): Room[] {
  return [...rooms].sort((a, b) => {
    const d = activityTime(b) - activityTime(a);
    if (d !== 0) return d;
    const ia = a.lastMessage?.id ?? -1;
    const ib = b.lastMessage?.id ?? -1;
    if (ia !== ib) return ib - ia;
    return a.roomUUID < b.roomUUID ? -1 : a.roomUUID > b.roomUUID ? 1 : 0;
  });
}

/** My unread messages in a room (0 when the server sent no count). */
export function unreadOf(room: Room): number {
  return room.unreadCount ?? 0;
}

/** My unread messages over all rooms: the number in the title. */
export function totalUnread(rooms: readonly Room[]): number {
  return rooms.reduce((n, r) => n + unreadOf(r), 0);
}

/** How far `user` has read the room (0: nothing). */
export function markOf(room: Room, user: string): number {
  return room.readUpTo?.[user] ?? 0;
}

/**
 * A message arrived live in some room: that room's last message becomes it (if newer) and the
 * list is re-sorted. A message of mine marks the room read up to it (as the server does); anyone
 * else's (a notice included) is one more unread. Returns the same array when nothing changed
 * (unknown room, older message).
 */
export function applyMessage(rooms: Room[], msg: ChatMessage, me: string): Room[] {
  const i = rooms.findIndex((r) => r.roomUUID === msg.roomUUID);
  if (i < 0) return rooms;
  const room = rooms[i]!;
  if (room.lastMessage && room.lastMessage.id >= msg.id) return rooms;
  const next = rooms.slice();
  next[i] =
    msg.sender === me && msg.type !== 'SYSTEM'
      ? { ...room, lastMessage: msg, unreadCount: 0, readUpTo: { ...room.readUpTo, [me]: msg.id } }
      : { ...room, lastMessage: msg, unreadCount: unreadOf(room) + 1 };
  return sortRooms(next);
}

/** I read the room up to `upTo`: nothing unread, my mark moves (never back). */
export function markRoomRead(rooms: Room[], roomUUID: string, me: string, upTo: number): Room[] {
  const i = rooms.findIndex((r) => r.roomUUID === roomUUID);
  if (i < 0) return rooms;
  const room = rooms[i]!;
  if (unreadOf(room) === 0 && markOf(room, me) >= upTo) return rooms;
  const next = rooms.slice();
  next[i] = { ...room, unreadCount: 0, readUpTo: { ...room.readUpTo, [me]: Math.max(upTo, markOf(room, me)) } };
  return next;
}

/**
 * A fresh /room/list replaces the list, but what the page knows to be newer than the answer (a
 * race) is kept: a last message seen live, my own read mark sent while the list was on its way
 * (the answer's count predates it), and the other members' marks (a mark never moves back, so
 * the higher one is the newer). Events that came while the list was on its way are applied
 * again afterwards (`applyRoomEvents`): rooms created or left meanwhile.
 */
export function mergeRoomList(current: readonly Room[], fetched: readonly Room[], me: string): Room[] {
  const known = new Map(current.map((r) => [r.roomUUID, r]));
  const out = fetched.map((r) => {
    const old = known.get(r.roomUUID);
    if (!old) return r;
    if (old.lastMessage && (!r.lastMessage || old.lastMessage.id > r.lastMessage.id)) {
      // The answer predates a message seen live: its count predates it too.
      return {
        ...r,
        lastMessage: old.lastMessage,
        unreadCount: old.unreadCount,
        readUpTo: { ...higherMarks(r.readUpTo, old.readUpTo, me), [me]: markOf(old, me) },
      };
    }
    if (markOf(old, me) > markOf(r, me)) {
      return { ...r, unreadCount: old.unreadCount, readUpTo: { ...higherMarks(r.readUpTo, old.readUpTo, me), [me]: markOf(old, me) } };
    }
    return { ...r, readUpTo: higherMarks(r.readUpTo, old.readUpTo, me) };
  });
  return sortRooms(out);
}

/**
 * `next`'s marks, the other members' each raised to `prev`'s where that is higher. Only the
 * members `next` lists (one who left has no mark any more). Never mine: my mark goes with my
 * unread count, and the callers choose the two together.
 */
function higherMarks(next: Room['readUpTo'], prev: Room['readUpTo'], me: string): Room['readUpTo'] {
  if (!next || !prev) return next;
  let out: Record<string, number> | null = null;
  for (const [user, mark] of Object.entries(next)) {
    if (user === me) continue;
    const old = prev[user];
    if (old !== undefined && old > mark) {
      out ??= { ...next };
      out[user] = old;
    }
  }
  return out ?? next;
}

/**
 * A `ROOM_UPDATED`: the room as the server shows it to me now, which replaces what the list has,
 * except that events can come late or twice (after a node or bus failure) and race the page's
 * own changes. So per room the one with the newer last message wins; for the same last message,
 * the higher mark of mine (with its count: a mark I just sent, or one a late event predates);
 * the other members' marks never move back. `left` (my last event of a room I left) removes it.
 * Also for a room the page fetched itself (created, or entered by its address).
 */
export function applyRoomUpdated(rooms: readonly Room[], room: Room, left: boolean, me: string): Room[] {
  if (left) return removeRoom(rooms, room.roomUUID);
  const old = rooms.find((r) => r.roomUUID === room.roomUUID);
  let next = room;
  if (old) {
    const oldId = old.lastMessage?.id ?? 0;
    const newId = room.lastMessage?.id ?? 0;
    if (oldId > newId) {
      // A late event (or one slower than the open room's own MESSAGE): the list knows a newer
      // message, and my mark and count that go with it; the event can only raise the others' marks.
      next = { ...old, readUpTo: higherMarks(old.readUpTo, room.readUpTo, me) };
    } else if (oldId === newId && markOf(old, me) > markOf(room, me)) {
      next = { ...room, unreadCount: old.unreadCount, readUpTo: { ...higherMarks(room.readUpTo, old.readUpTo, me), [me]: markOf(old, me) } };
    } else {
      next = { ...room, readUpTo: higherMarks(room.readUpTo, old.readUpTo, me) };
    }
  }
  return sortRooms([...rooms.filter((r) => r.roomUUID !== room.roomUUID), next]);
}

/**
 * A `READ`: `user`'s mark in the room is at least `upTo` now (never moved back: a late repeat
 * changes nothing). When it is my mark and reaches the last message, nothing is unread; any
 * other count comes with the `ROOM_UPDATED` that follows my mark.
 */
export function applyRead(rooms: Room[], roomUUID: string, user: string, upTo: number, me: string): Room[] {
  const i = rooms.findIndex((r) => r.roomUUID === roomUUID);
  if (i < 0) return rooms;
  const room = rooms[i]!;
  if (markOf(room, user) >= upTo) return rooms;
  const next = rooms.slice();
  const allRead = user === me && upTo >= (room.lastMessage?.id ?? 0);
  next[i] = { ...room, readUpTo: { ...room.readUpTo, [user]: upTo }, ...(allRead ? { unreadCount: 0 } : {}) };
  return next;
}

/** The list events, in order (live, or again after a refetch that they raced). */
export function applyRoomEvents(rooms: Room[], events: readonly RoomEvent[], me: string): Room[] {
  let out = rooms;
  for (const e of events) {
    out = e.type === 'READ' ? applyRead(out, e.roomUUID, e.user, e.upTo, me) : applyRoomUpdated(out, e.room, e.left, me);
  }
  return out;
}

/**
 * The list with fields of one room changed as I just changed them (my mute, the appointment I
 * set): shown at once, before the server's `ROOM_UPDATED` brings the same. Same array when the
 * room is not listed or nothing changes.
 */
export function patchRoom(rooms: Room[], roomUUID: string, patch: Partial<Room>): Room[] {
  const i = rooms.findIndex((r) => r.roomUUID === roomUUID);
  if (i < 0) return rooms;
  const room = rooms[i]!;
  if ((Object.keys(patch) as (keyof Room)[]).every((k) => room[k] === patch[k])) return rooms;
  const next = rooms.slice();
  next[i] = { ...room, ...patch };
  return next;
}

export function removeRoom(rooms: readonly Room[], roomUUID: string): Room[] {
  return rooms.filter((r) => r.roomUUID !== roomUUID);
}

/** The other member of a 1:1 room (from my point of view). */
export function peerOf(room: Room, me: string): string {
  if (room.buyer === me) return room.seller;
  if (room.seller === me) return room.buyer;
  return room.members.find((m) => m !== me) ?? room.seller;
}

/** What the list shows as a room's last message ("사진" for photos without a caption); null means "no messages yet". */
export function lastMessageText(room: Room): string | null {
  const m = room.lastMessage;
  if (!m) return null;
  return previewText(m);
}
