// Web Push for the browser tests: a VAPID key for the server, a stand-in push service that
// receives the server's real encrypted pushes (RFC 8030/8291/8292) and reads them, and the page
// side's stand-in for the browser's own push service, which headless Chromium cannot reach here.
//
// Why a stand-in at all: `pushManager.subscribe` asks the browser's push service (Google's FCM
// for Chromium) for an endpoint. In Playwright's browser contexts (off the record, like
// incognito) Chromium refuses Push outright ("AbortError: Registration failed - permission
// denied", and a console error that Push is not supported in incognito); in a persistent profile
// it waits on FCM, which this machine cannot resolve, and had not answered after 150 s. So the
// page's `PushManager.subscribe`/`getSubscription` alone are replaced (an init script) by ones
// that answer with an endpoint on this receiver and real P-256 keys; everything else is real:
// the service worker's registration, the POST to the server, the server's encrypted push to the
// endpoint, and the decrypted payload delivered to the real worker (CDP
// `ServiceWorker.deliverPushMessage`), which shows the notification.
import { createDecipheriv, createECDH, generateKeyPairSync, hkdfSync, randomBytes, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

/** A P-256 VAPID key written as PEM (SEC 1) in `dir`; `publicKey` is base64url of its uncompressed point. */
export function vapidKeyFile(dir) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const file = join(dir, 'vapid.pem');
  writeFileSync(file, privateKey.export({ type: 'sec1', format: 'pem' }));
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return { file, publicKey: point.toString('base64url'), keyObject: publicKey };
}

/** A subscriber's keys: a P-256 key pair (the browser's p256dh) and a 16-byte auth secret. */
export function subscriberKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

/** The push service's side of the endpoints `/push/{id}`: records each POST and answers 201. */
export class PushReceiver {
  constructor() {
    this.pushes = [];
    this.waiters = [];
    this.server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const push = { id: req.url.replace(/^\/push\//, ''), method: req.method, headers: req.headers, body: Buffer.concat(chunks) };
        this.pushes.push(push);
        for (const w of [...this.waiters]) w();
        res.writeHead(201, { location: `${this.origin}/message/${this.pushes.length}` });
        res.end();
      });
    });
  }

  async start() {
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  endpoint(id) {
    return `${this.origin}/push/${id}`;
  }

  /** The first push to endpoint `id`, waiting up to `ms`. */
  async next(id, ms) {
    const deadline = Date.now() + ms;
    for (;;) {
      const p = this.pushes.find((x) => x.id === id);
      if (p) return p;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no push to ${id} within ${ms} ms (got ${this.pushes.map((x) => x.id).join(', ') || 'none'})`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close() {
    return new Promise((r) => this.server.close(r));
  }
}

/**
 * Reads a push as RFC 8291 says its recipient does: aes128gcm (RFC 8188) with the key from
 * ECDH between the subscriber's key and the sender's key in the header, and the auth secret.
 */
export function decryptPush(body, { ecdh, auth }) {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const senderKey = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  const secret = ecdh.computeSecret(senderKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), senderKey]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, Buffer.from(auth, 'base64url'), keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const d = createDecipheriv('aes-128-gcm', cek, nonce);
  d.setAuthTag(record.subarray(record.length - 16));
  const plain = Buffer.concat([d.update(record.subarray(0, record.length - 16)), d.final()]);
  // Padding: zeros after the last record's delimiter, 0x02.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error(`not the last record's delimiter: ${plain[end]}`);
  return plain.subarray(0, end).toString('utf8');
}

/**
 * Checks a push's `Authorization: vapid t=…, k=…` (RFC 8292): `k` is the server's key, `t` an
 * ES256 JWT signed by it. Returns the JWT's claims. `vapid` is what `vapidKeyFile` made.
 */
export function vapidClaims(header, vapid) {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) throw new Error(`not a VAPID authorization: ${header}`);
  const [, jwt, k] = m;
  if (k !== vapid.publicKey) throw new Error(`k is not the server's key: ${k}`);
  const [h, p, s] = jwt.split('.');
  const signed = verify('sha256', Buffer.from(`${h}.${p}`), { key: vapid.keyObject, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!signed) throw new Error('the VAPID JWT does not verify with the server key');
  const alg = JSON.parse(Buffer.from(h, 'base64url')).alg;
  if (alg !== 'ES256') throw new Error(`the VAPID JWT's alg is ${alg}`);
  return JSON.parse(Buffer.from(p, 'base64url'));
}

/**
 * The page's stand-in for the browser's push service (an init script): `subscribe` answers with
 * `cfg.endpoint` and `cfg`'s keys, kept in localStorage like a real subscription survives a
 * reload; `unsubscribe` forgets it. `window.__pushStandIn` counts the calls.
 */
export function pushServiceStandIn(cfg) {
  if (!('PushManager' in self)) return;
  const KEY = 'test.push-stand-in';
  const log = (window.__pushStandIn = { subscribe: 0, unsubscribe: 0 });
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
  const make = (serverKey) => ({
    endpoint: cfg.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(serverKey) },
    getKey: (name) => bytes(name === 'p256dh' ? cfg.p256dh : cfg.auth),
    toJSON: () => ({ endpoint: cfg.endpoint, expirationTime: null, keys: { p256dh: cfg.p256dh, auth: cfg.auth } }),
    unsubscribe: async () => {
      log.unsubscribe++;
      localStorage.removeItem(KEY);
      return true;
    },
  });
  PushManager.prototype.subscribe = async function subscribe(options) {
    if (!options?.userVisibleOnly) throw new DOMException('userVisibleOnly is required', 'NotAllowedError');
    log.subscribe++;
    const key = b64(options.applicationServerKey);
    localStorage.setItem(KEY, key);
    return make(key);
  };
  PushManager.prototype.getSubscription = async function getSubscription() {
    const key = localStorage.getItem(KEY);
    return key ? make(key) : null;
  };
}

/** Delivers `data` to the page's origin's service worker as a push, through CDP (what a push service would). */
export async function deliverPush(context, page, origin, data) {
  const cdp = await context.newCDPSession(page);
  try {
    const regs = new Map();
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
      for (const r of e.registrations) regs.set(r.scopeURL, r);
    });
    await cdp.send('ServiceWorker.enable');
    const deadline = Date.now() + 5000;
    while (!regs.has(`${origin}/`)) {
      if (Date.now() > deadline) throw new Error(`no service worker registered for ${origin}/`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: regs.get(`${origin}/`).registrationId, data });
  } finally {
    await cdp.detach();
  }
}
