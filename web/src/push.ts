// Web Push on the page's side, the rules only: /push/config read, the VAPID key decoded, what to do for a permission, the subscription's POST body, and the service worker's "open this room" message.
import type { PushConfig } from './types';

/** base64url (padded or not) → bytes; throws on anything else. */
export function base64UrlToBytes(s: string): Uint8Array {
  if (!/^[A-Za-z0-9\-_]*={0,2}$/.test(s)) throw new Error('not base64url');
  const b64 = s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (b64.length % 4 === 1) throw new Error('not base64url');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** A VAPID public key: an uncompressed P-256 point (65 bytes, 0x04 first). */
export function vapidKey(s: unknown): Uint8Array | null {
  if (typeof s !== 'string') return null;
  try {
    const k = base64UrlToBytes(s);
    return k.length === 65 && k[0] === 4 ? k : null;
  } catch {
    return null;
  }
}

/** A `GET /push/config` answer; null when it is not one. */
export function parsePushConfig(body: unknown): PushConfig | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as { webPush?: unknown; vapidPublicKey?: unknown };
  if (typeof b.webPush !== 'boolean') return null;
  return { webPush: b.webPush, vapidPublicKey: typeof b.vapidPublicKey === 'string' ? b.vapidPublicKey : null };
}

/**
 * What the page does about notifications once signed in: `off` (the browser cannot, or the server
 * sends none), `denied` (the person said no: nothing to offer), `ask` (the "알림 받기" button: the
 * permission prompt must come from a click), `subscribe` (allowed: subscribe and tell the server).
 */
export type PushPlan = 'off' | 'denied' | 'ask' | 'subscribe';

export function pushPlan(config: PushConfig | null, permission: NotificationPermission): PushPlan {
  if (!config?.webPush || !vapidKey(config.vapidPublicKey)) return 'off';
  if (permission === 'granted') return 'subscribe';
  return permission === 'denied' ? 'denied' : 'ask';
}

/** Whether a subscription was made with this server key (else it is replaced: a new key, a new server). */
export function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

export interface SubscriptionBody {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

/** The POST /push/subscriptions body from `PushSubscription.toJSON()`; null when it lacks its endpoint or keys. */
export function subscriptionBody(json: unknown): SubscriptionBody | null {
  if (!json || typeof json !== 'object') return null;
  const j = json as { endpoint?: unknown; expirationTime?: unknown; keys?: { p256dh?: unknown; auth?: unknown } };
  if (typeof j.endpoint !== 'string' || !j.endpoint) return null;
  const k = j.keys;
  if (!k || typeof k.p256dh !== 'string' || typeof k.auth !== 'string' || !k.p256dh || !k.auth) return null;
  const exp = typeof j.expirationTime === 'number' ? j.expirationTime : null;
  return { endpoint: j.endpoint, expirationTime: exp, keys: { p256dh: k.p256dh, auth: k.auth } };
}

/** The type of the service worker's message to a page (`public/sw.js` sends it when a notification is clicked). */
export const OPEN_ROOM = 'reuse-chat:open-room';

/** The room a service worker message asks the page to open, or null (any other message). */
export function roomToOpen(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as { type?: unknown; roomUUID?: unknown };
  if (d.type !== OPEN_ROOM || typeof d.roomUUID !== 'string') return null;
  const room = d.roomUUID.trim();
  return room.length > 0 && room.length <= 64 ? room : null;
}
