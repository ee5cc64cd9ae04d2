// Wire types of the reuse-chat API (REST JSON bodies, STOMP MESSAGE bodies, the user's events, /client/config).

export type MessageType = 'TEXT' | 'SYSTEM' | 'IMAGE' | (string & {});

/**
 * An uploaded photo (`POST /room/{id}/attachments`) as the upload answer and an `IMAGE` message
 * carry it. `url` and `thumbnailUrl` are same-origin paths signed for an hour.
 */
export interface Attachment {
  id: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
  url: string;
  thumbnailUrl: string;
}

export interface ChatMessage {
  id: number;
  roomUUID: string;
  sender: string;
  content: string;
  type: MessageType;
  notice?: string;
  createdAt: string;
  clientMessageId: string | null;
  /** The photos of an `IMAGE` message (v2), in the order sent. */
  attachments?: Attachment[];
  /**
   * What the server found risky in a `TEXT` message (v2: `PHONE_NUMBER`, `BANK_ACCOUNT`,
   * `MESSENGER`, `PREPAYMENT`; absent when none). Its recipient sees a caution under it.
   */
  warnings?: string[];
}

/** The listing's trade status as the marketplace reported it (v2; a newer server may add more). */
export type ProductStatus = 'ON_SALE' | 'RESERVED' | 'SOLD' | (string & {});

/** A meeting the members agreed on (약속, v2): when (RFC 3339), where, and who set it. */
export interface Appointment {
  at: string;
  place: string;
  setBy: string;
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
  /** The listing's trade status; null until the marketplace sets one (v2). */
  productStatus?: ProductStatus | null;
  /** The room's appointment, or null (v2). */
  appointment?: Appointment | null;
  /** Whether I muted the room's notifications (v2; false again once `mutedUntil` passed). */
  muted?: boolean;
  /** When my mute ends; null while muted for good or not muted (v2). */
  mutedUntil?: string | null;
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
    /** The largest photo upload in bytes (v2; default 10 MiB). */
    attachmentBytes: number;
    /** Photos per message (v2; default 10). */
    attachmentsPerMessage: number;
  };
}

/** `GET /push/config` (v2): whether the server sends Web Push, and its VAPID key (base64url, an uncompressed P-256 point). */
export interface PushConfig {
  webPush: boolean;
  vapidPublicKey: string | null;
}

/** Who the page speaks as: the user id (header mode) or a JWT whose `sub` is the user id. */
export type Identity =
  | { mode: 'header'; userId: string }
  | { mode: 'jwt'; token: string; userId: string };
