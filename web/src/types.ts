// Wire types of the reuse-chat API (REST JSON bodies, STOMP MESSAGE bodies, the user's events, /client/config).

export type MessageType = 'TEXT' | 'SYSTEM' | (string & {});

export interface ChatMessage {
  id: number;
  roomUUID: string;
  sender: string;
  content: string;
  type: MessageType;
  notice?: string;
  createdAt: string;
  clientMessageId: string | null;
}

export interface Room {
  roomUUID: string;
  name: string;
  productId: string | null;
  buyer: string;
  seller: string;
  members: string[];
  createdAt: string;
  lastMessage: ChatMessage | null;
  /** Messages after my read mark (v2; absent from an older server: 0). */
  unreadCount?: number;
  /** Each current member's read mark, a message id (v2). */
  readUpTo?: Record<string, number>;
}

export interface Presence {
  online: string[];
  inRoom: string[];
  /** Members not online who were online before, with when they were last (v2). */
  lastSeenAt?: Record<string, string>;
}

/**
 * The bodies on `/user/queue/events` (v2), the session's own user's events from every node.
 * `ROOM_UPDATED` carries the room as `GET /room/list` shows it to me; `left` is my last one of a
 * room I left.
 */
export type UserEvent =
  | { type: 'ROOM_UPDATED'; room: Room; left: boolean }
  | { type: 'READ'; roomUUID: string; user: string; upTo: number }
  | { type: 'TYPING'; roomUUID: string; user: string; typing: boolean }
  | { type: 'PRESENCE'; user: string; online: boolean; lastSeenAt: string | null };

/** The events that change the room list. */
export type RoomEvent = Extract<UserEvent, { type: 'ROOM_UPDATED' | 'READ' }>;

export type AuthMode = 'header' | 'jwt';

export interface ClientConfig {
  auth: AuthMode;
  heartbeatMs: number;
  limits: {
    contentChars: number;
    historyPage: number;
    subscriptions: number;
  };
}

/** Who the page speaks as: the user id (header mode) or a JWT whose `sub` is the user id. */
export type Identity =
  | { mode: 'header'; userId: string }
  | { mode: 'jwt'; token: string; userId: string };
