// The user's event stream (`/user/queue/events`): a MESSAGE body checked and read into a UserEvent, or nothing.
import type { ChatMessage, Room, UserEvent } from './types';

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
/** Message ids and marks: whole numbers from 0 (a mark of 0 is "read nothing"). */
const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

function isMessage(x: unknown): x is ChatMessage {
  return isObj(x) && isId(x.id) && isStr(x.roomUUID) && isStr(x.sender) && isStr(x.content) && isStr(x.createdAt);
}

/** Only what the page reads from a room is checked; anything else in it passes through. */
function isRoom(x: unknown): x is Room {
  if (!isObj(x)) return false;
  if (!isStr(x.roomUUID) || !isStr(x.name) || !isStr(x.buyer) || !isStr(x.seller) || !isStr(x.createdAt)) return false;
  if (!Array.isArray(x.members) || !x.members.every(isStr)) return false;
  if (x.lastMessage !== null && !isMessage(x.lastMessage)) return false;
  if (x.unreadCount !== undefined && !isId(x.unreadCount)) return false;
  if (x.readUpTo !== undefined && !(isObj(x.readUpTo) && Object.values(x.readUpTo).every(isId))) return false;
  return true;
}

/**
 * Reads one event body. Unknown types (a newer server's) and malformed bodies give null, so
 * the page skips them rather than failing: one odd frame must not break the list.
 */
export function parseUserEvent(body: string): UserEvent | null {
  let x: unknown;
  try {
    x = JSON.parse(body);
  } catch {
    return null;
  }
  if (!isObj(x)) return null;
  switch (x.type) {
    case 'ROOM_UPDATED':
      if (!isRoom(x.room)) return null;
      return { type: 'ROOM_UPDATED', room: x.room, left: x.left === true };
    case 'READ':
      if (!isStr(x.roomUUID) || !isStr(x.user) || !isId(x.upTo)) return null;
      return { type: 'READ', roomUUID: x.roomUUID, user: x.user, upTo: x.upTo };
    case 'TYPING':
      if (!isStr(x.roomUUID) || !isStr(x.user) || typeof x.typing !== 'boolean') return null;
      return { type: 'TYPING', roomUUID: x.roomUUID, user: x.user, typing: x.typing };
    case 'PRESENCE': {
      if (!isStr(x.user) || typeof x.online !== 'boolean') return null;
      const seen = x.lastSeenAt;
      if (seen !== null && seen !== undefined && !isStr(seen)) return null;
      // Online has no "last seen" whatever the body says.
      return { type: 'PRESENCE', user: x.user, online: x.online, lastSeenAt: x.online ? null : (seen ?? null) };
    }
    default:
      return null;
  }
}
