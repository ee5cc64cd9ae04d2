// The room list's logic: order by activity, apply a live message, the peer, and which rooms to subscribe under the cap.
import type { ChatMessage, Room } from './types';

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

/** Adds or replaces a room (e.g. one just created or entered), keeping the order. */
export function upsertRoom(rooms: readonly Room[], room: Room): Room[] {
  const rest = rooms.filter((r) => r.roomUUID !== room.roomUUID);
  const old = rooms.find((r) => r.roomUUID === room.roomUUID);
  // keep a newer last message we already know from a live MESSAGE
  const merged =
    old?.lastMessage && (!room.lastMessage || old.lastMessage.id > room.lastMessage.id)
      ? { ...room, lastMessage: old.lastMessage }
      : room;
  return sortRooms([...rest, merged]);
}

/**
 * A fresh /room/list replaces the list, but what the page knows to be newer than the answer (a
 * race) is kept: a last message seen live, and my own read mark sent while the list was on its
 * way (the answer's count predates it).
 */
export function mergeRoomList(current: readonly Room[], fetched: readonly Room[], me: string): Room[] {
  const known = new Map(current.map((r) => [r.roomUUID, r]));
  const out = fetched.map((r) => {
    const old = known.get(r.roomUUID);
    if (old?.lastMessage && (!r.lastMessage || old.lastMessage.id > r.lastMessage.id)) {
      // The answer predates a message seen live: its count predates it too.
      return { ...r, lastMessage: old.lastMessage, unreadCount: old.unreadCount, readUpTo: old.readUpTo };
    }
    if (old && markOf(old, me) > markOf(r, me)) {
      return { ...r, unreadCount: old.unreadCount, readUpTo: { ...r.readUpTo, [me]: markOf(old, me) } };
    }
    return r;
  });
  return sortRooms(out);
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

/**
 * The rooms to subscribe: the open room first, then the most recent others, at most
 * `cap - 2` of them (64 → 62), so the open room plus the list stay under the server's limit.
 * Rooms in `exclude` (subscription refused) are skipped.
 */
export function chooseSubscriptions(
  rooms: readonly Room[],
  openRoom: string | null,
  cap: number,
  exclude: ReadonlySet<string> = new Set(),
): string[] {
  const others = Math.max(0, cap - 2);
  const out: string[] = [];
  if (openRoom && !exclude.has(openRoom)) out.push(openRoom);
  let count = 0;
  for (const r of sortRooms(rooms)) {
    if (count >= others) break;
    if (r.roomUUID === openRoom || exclude.has(r.roomUUID)) continue;
    out.push(r.roomUUID);
    count++;
  }
  return out;
}

/** What the list shows as a room's last message; null means "no messages yet". */
export function lastMessageText(room: Room): string | null {
  const m = room.lastMessage;
  if (!m) return null;
  return m.content.replace(/\s+/g, ' ').trim();
}
