import { describe, expect, it } from 'vitest';
import { base64UrlToBytes, OPEN_ROOM, parsePushConfig, pushPlan, roomToOpen, sameKey, subscriptionBody, vapidKey } from './push';

// An uncompressed P-256 point as the server sends it: 0x04, then x and y (32 bytes each).
const point = Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : i));
const toB64Url = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const KEY = toB64Url(point);

describe('base64UrlToBytes', () => {
  it('decodes base64url, with or without padding', () => {
    expect([...base64UrlToBytes('AQID')]).toEqual([1, 2, 3]);
    expect([...base64UrlToBytes('-_8')]).toEqual([251, 255]);
    expect([...base64UrlToBytes('-_8=')]).toEqual([251, 255]);
    expect([...base64UrlToBytes('')]).toEqual([]);
    expect([...base64UrlToBytes(KEY)]).toEqual([...point]);
  });
  it('refuses what is not base64url', () => {
    for (const bad of ['a+b/', 'ab$c', 'A', 'AQID==='] as const) expect(() => base64UrlToBytes(bad), bad).toThrow();
  });
});

describe('vapidKey', () => {
  it('takes an uncompressed P-256 point only', () => {
    expect([...vapidKey(KEY)!]).toEqual([...point]);
    expect(vapidKey(toB64Url(point.slice(0, 33)))).toBeNull(); // compressed
    expect(vapidKey(toB64Url(Uint8Array.from(point, (v, i) => (i === 0 ? 2 : v))))).toBeNull();
    expect(vapidKey('not a key!')).toBeNull();
    expect(vapidKey(null)).toBeNull();
  });
});

describe('parsePushConfig and pushPlan', () => {
  it('reads the answer', () => {
    expect(parsePushConfig({ webPush: true, vapidPublicKey: KEY })).toEqual({ webPush: true, vapidPublicKey: KEY });
    expect(parsePushConfig({ webPush: false, vapidPublicKey: null })).toEqual({ webPush: false, vapidPublicKey: null });
    expect(parsePushConfig({ webPush: false })).toEqual({ webPush: false, vapidPublicKey: null });
    expect(parsePushConfig({ webPush: 'yes' })).toBeNull();
    expect(parsePushConfig(null)).toBeNull();
  });
  it('subscribes when allowed, offers the button when not asked yet, nothing when refused', () => {
    const on = { webPush: true, vapidPublicKey: KEY };
    expect(pushPlan(on, 'granted')).toBe('subscribe');
    expect(pushPlan(on, 'default')).toBe('ask');
    expect(pushPlan(on, 'denied')).toBe('denied');
  });
  it('does nothing when the server sends no Web Push, or its key is not one', () => {
    expect(pushPlan(null, 'granted')).toBe('off');
    expect(pushPlan({ webPush: false, vapidPublicKey: null }, 'default')).toBe('off');
    expect(pushPlan({ webPush: true, vapidPublicKey: null }, 'granted')).toBe('off');
    expect(pushPlan({ webPush: true, vapidPublicKey: 'AQID' }, 'granted')).toBe('off');
  });
});

describe('sameKey', () => {
  it('compares a subscription’s key with the server’s', () => {
    expect(sameKey(point.slice().buffer, point)).toBe(true);
    expect(sameKey(Uint8Array.from(point, (v, i) => (i === 64 ? 0 : v)).buffer, point)).toBe(false);
    expect(sameKey(point.slice(0, 64).buffer, point)).toBe(false);
    expect(sameKey(null, point)).toBe(false);
  });
});

describe('subscriptionBody', () => {
  const json = { endpoint: 'https://push.example/abc', expirationTime: null, keys: { p256dh: 'BNc', auth: 'tBH' } };
  it('passes the browser’s PushSubscription JSON on', () => {
    expect(subscriptionBody(json)).toEqual(json);
    expect(subscriptionBody({ ...json, expirationTime: 1_800_000_000_000 })).toMatchObject({ expirationTime: 1_800_000_000_000 });
    expect(subscriptionBody({ endpoint: json.endpoint, keys: json.keys })).toEqual(json);
  });
  it('refuses one without its endpoint or keys', () => {
    expect(subscriptionBody({ ...json, endpoint: '' })).toBeNull();
    expect(subscriptionBody({ ...json, keys: { p256dh: 'BNc' } })).toBeNull();
    expect(subscriptionBody({ endpoint: json.endpoint })).toBeNull();
    expect(subscriptionBody(undefined)).toBeNull();
  });
});

describe('roomToOpen', () => {
  it('reads the service worker’s message', () => {
    expect(roomToOpen({ type: OPEN_ROOM, roomUUID: 'r-1' })).toBe('r-1');
  });
  it('ignores any other message', () => {
    expect(roomToOpen({ type: 'something', roomUUID: 'r-1' })).toBeNull();
    expect(roomToOpen({ type: OPEN_ROOM, roomUUID: '' })).toBeNull();
    expect(roomToOpen({ type: OPEN_ROOM, roomUUID: 'x'.repeat(65) })).toBeNull();
    expect(roomToOpen({ type: OPEN_ROOM })).toBeNull();
    expect(roomToOpen('open r-1')).toBeNull();
    expect(roomToOpen(null)).toBeNull();
  });
});
