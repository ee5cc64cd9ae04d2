// The browser tests' harness: the real reuse-chat binary on a fixed free port (so a restart
// comes back where the pages reconnect), Debian's Chromium through playwright-core, and a
// buyer's and a seller's page in two separate browser contexts.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Client } from '@stomp/stompjs';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

export const BIN = process.env.REUSE_CHAT_BIN ?? join(import.meta.dirname, '../../target/debug/reuse-chat');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = process.env.SCREENSHOT_DIR ?? join(import.meta.dirname, '../../target/browser-screenshots');
/**
 * Opt-in, for working on the page without rebuilding the server: the page's own files (`/`,
 * `/sw.js`, `/assets/…`) come from this directory (e.g. `web/dist` after `npm run build`) instead of the
 * bundle embedded in the binary, with the server's headers (its CSP among them). Unset, the tests
 * run the page exactly as the binary serves it.
 */
export const WEB_DIST = process.env.REUSE_WEB_DIST || null;

/** A phone (the marketplace's users are mostly on one) and a desktop viewport. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A reuse-chat server with its own data directory; `stop` and `start` again keep the data. */
export class Server {
  constructor(extraArgs = []) {
    this.extraArgs = extraArgs;
    this.dataDir = mkdtempSync(join(tmpdir(), 'reuse-chat-browser-'));
    this.proc = null;
  }

  async start() {
    if (!existsSync(BIN)) throw new Error(`the reuse-chat binary is missing: ${BIN} (cargo build first)`);
    this.port ??= await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.proc = spawn(BIN, ['serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, ...this.extraArgs], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    });
    const exited = new Promise((r) => this.proc.once('exit', r));
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        const r = await fetch(`${this.base}/health`);
        if (r.ok) return this;
      } catch {
        // not up yet
      }
      if (this.proc.exitCode !== null) throw new Error(`reuse-chat exited at start (${BIN})`);
      if (Date.now() > deadline) throw new Error(`reuse-chat did not start within 30 s (${BIN})`);
      await Promise.race([sleep(100), exited]);
    }
  }

  /** Stops the process: `SIGKILL` is a crash, `SIGTERM` a graceful stop. */
  async stop(signal = 'SIGTERM') {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await exited;
  }

  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A REST call as `user` (with a JSON body when `json` is given), answering `{status, body}`. */
  async api(user, method, path, json) {
    return this.call(method, path, { 'X-Auth-User': user }, json);
  }

  /** A REST call with these headers (a service token, say), answering `{status, body}`. */
  async call(method, path, headers, json) {
    const init = { method, headers: { ...headers } };
    if (json !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(json);
    }
    const r = await fetch(`${this.base}${path}`, init);
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  /** `buyer` opens a room with `seller` about a product (`productId` when the marketplace has one). */
  async openRoom(buyer, seller, name, productId) {
    const product = productId ? `&productId=${encodeURIComponent(productId)}` : '';
    const { status, body } = await this.api(buyer, 'POST', `/room/create?user=${encodeURIComponent(seller)}&name=${encodeURIComponent(name)}${product}`);
    if (status !== 201 && status !== 200) throw new Error(`room not opened: ${status} ${JSON.stringify(body)}`);
    return body.roomUUID;
  }

  /** The whole history of a room, ascending, read in `after` pages. */
  async history(user, room) {
    const all = [];
    let after = 0;
    for (;;) {
      const { status, body } = await this.api(user, 'GET', `/chat/room/${room}?after=${after}&limit=200`);
      if (status !== 200) throw new Error(`history: ${status} ${JSON.stringify(body)}`);
      all.push(...body);
      if (body.length < 200) return all;
      after = body[body.length - 1].id;
    }
  }

  /** A second device of `user`: a plain @stomp/stompjs client from Node. */
  stomp(user) {
    return new Promise((resolve, reject) => {
      const client = new Client({
        webSocketFactory: () => new WebSocket(`ws://127.0.0.1:${this.port}/ws-stomp`, ['v12.stomp']),
        connectHeaders: { 'X-Auth-User': user },
        reconnectDelay: 0,
        debug: () => {},
        onConnect: () => resolve(client),
        onStompError: (f) => reject(new Error(`STOMP error: ${f.headers.message}`)),
        onWebSocketError: () => reject(new Error('WebSocket error')),
      });
      client.activate();
    });
  }
}

/**
 * Sends every text in order as `user` over STOMP, each with a receipt, and waits for all; an
 * `ERROR` (a refusal, `rate_limited` included: the server then closes the connection) fails it
 * at once instead of leaving it waiting for receipts that never come.
 */
export async function sendAll(client, room, texts) {
  let n = 0;
  const refused = new Promise((_, reject) => {
    client.onStompError = (f) => reject(new Error(`STOMP ERROR ${f.headers.code ?? ''}: ${f.headers.message ?? ''}`));
  });
  const receipts = texts.map((content) => {
    const receipt = `seed-${Date.now()}-${n++}`;
    const done = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
    client.publish({
      destination: `/pub/room/${room}/message`,
      headers: { receipt },
      body: JSON.stringify({ roomUUID: room, content, clientMessageId: receipt }),
    });
    return done;
  });
  refused.catch(() => {}); // an ERROR after all receipts came is not this call's failure
  await Promise.race([Promise.all(receipts), refused]);
}

/** An HS256 token for `sub`, valid for an hour (the server's `--jwt-secret` mode). */
export function hs256(secret, sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** Chromium as this machine runs it: headless, as root, with no network of its own. */
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's chromium (apt-get install chromium); scripts/test.sh does`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // A page fulfilled from disk (REUSE_WEB_DIST) has no loopback address of its own, and
      // Local Network Access would refuse its WebSocket to 127.0.0.1.
      ...(WEB_DIST ? ['--disable-features=LocalNetworkAccessChecks'] : []),
    ],
  });
}

/**
 * A person's page in its own browser context (own storage and cookies), with every console
 * error and uncaught exception recorded in `errors` for the test to check.
 */
export async function person(browser, server, viewport = PHONE) {
  const context = await browser.newContext({ viewport, locale: 'ko-KR', timezoneId: 'Asia/Seoul' });
  if (WEB_DIST) await pageFromDisk(context, server.base, WEB_DIST);
  const page = await context.newPage();
  return { context, page, errors: recordErrors(page), base: server.base };
}

/** Every console error and warning and every uncaught exception of `page`, as they come. */
export function recordErrors(page, errors = []) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/** REUSE_WEB_DIST: the page's files from `dir`, with the headers the server gives its own page. */
async function pageFromDisk(context, base, dir) {
  const origin = new URL(base).origin;
  const own = (url) =>
    url.origin === origin &&
    (url.pathname === '/' || url.pathname === '/index.html' || url.pathname === '/sw.js' || url.pathname.startsWith('/assets/'));
  await context.route(own, async (route) => {
    const { pathname } = new URL(route.request().url());
    const file = join(dir, pathname === '/' ? 'index.html' : pathname);
    if (!existsSync(file)) return route.fallback();
    // The server's answer for the same path (a new asset name is a 404 there) lends its headers.
    const upstream = await route.fetch({ url: pathname.startsWith('/assets/') ? route.request().url() : `${origin}/` });
    const headers = { ...upstream.headers() };
    for (const h of ['content-encoding', 'content-length', 'etag', 'last-modified', 'vary']) delete headers[h];
    headers['content-type'] = TYPES[extname(file)] ?? 'application/octet-stream';
    await route.fulfill({ status: 200, headers, body: readFileSync(file) });
  });
}

/** Signs `user` in through the page's own sign-in form (header mode). */
export async function signIn(p, user, path = '/') {
  await p.page.goto(`${p.base}${path}`);
  await p.page.getByTestId('login-user').fill(user);
  await p.page.getByTestId('login-submit').click();
  // Attached, not visible: an empty list has no height, and on a phone `/?room=` shows the chat.
  await p.page.getByTestId('room-list').waitFor({ state: 'attached' });
}

/** The ids of the messages the page shows, in the order shown. */
export async function shownIds(page) {
  return page.getByTestId('message-list').locator('[data-testid="message"][data-message-id]')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-message-id'))));
}

export function screenshotDir() {
  mkdirSync(SHOTS, { recursive: true });
  return SHOTS;
}
