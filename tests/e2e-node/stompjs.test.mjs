// End-to-end: the marketplace frontend's client library (@stomp/stompjs) against the real
// reuse-chat binary: open a room over REST, subscribe, send with a receipt, read history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';

const BIN = process.env.REUSE_CHAT_BIN ?? join(import.meta.dirname, '../../target/debug/reuse-chat');
let server;
let base;
let wsUrl;
let dataDir;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

before(async () => {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'reuse-chat-e2e-'));
  server = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  base = `http://127.0.0.1:${port}`;
  wsUrl = `ws://127.0.0.1:${port}/ws-stomp`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`reuse-chat did not start (${BIN})`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (server) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function connect(user) {
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: () => new WebSocket(wsUrl, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      connectHeaders: { 'X-Auth-User': user },
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
      reconnectDelay: 0,
      onConnect: () => resolve(client),
      onStompError: (f) => reject(new Error(`STOMP error: ${f.headers.message}`)),
      onWebSocketError: (e) => reject(e),
    });
    client.activate();
  });
}

function nextMessage(client, destination) {
  return new Promise((resolve) => {
    const sub = client.subscribe(destination, (m) => {
      sub.unsubscribe();
      resolve(m);
    });
  });
}

test('stompjs subscribes, sends with a receipt and reads history', async () => {
  const created = await fetch(`${base}/room/create?user=bob&name=${encodeURIComponent('자전거 팝니다')}`, {
    method: 'POST',
    headers: { 'X-Auth-User': 'alice' },
  });
  assert.equal(created.status, 201);
  const room = await created.json();
  const roomUUID = room.roomUUID;
  assert.deepEqual(room.members, ['alice', 'bob']);

  const alice = await connect('alice');
  const bob = await connect('bob');
  assert.equal(alice.connectedVersion, '1.2');
  const destination = `/sub/chat/room/${roomUUID}`;
  const bobGets = nextMessage(bob, destination);
  // Subscribe with a receipt so the subscription is in place before sending.
  const subscribed = new Promise((r) => bob.watchForReceipt('bob-sub', r));
  bob.subscribe(destination, () => {}, { receipt: 'bob-sub' });
  await subscribed;

  const receipt = new Promise((r) => alice.watchForReceipt('send-1', r));
  alice.publish({
    destination: `/pub/room/${roomUUID}/message`,
    headers: { receipt: 'send-1', 'content-type': 'application/json' },
    body: JSON.stringify({ roomUUID, sender: 'alice', content: '안녕하세요, 아직 판매중인가요?', clientMessageId: 'c-1' }),
  });
  const r = await receipt;
  assert.equal(r.headers['receipt-id'], 'send-1');

  const m = await bobGets;
  const msg = JSON.parse(m.body);
  assert.equal(msg.content, '안녕하세요, 아직 판매중인가요?');
  assert.equal(msg.sender, 'alice');
  assert.equal(msg.type, 'TEXT');
  assert.equal(msg.clientMessageId, 'c-1');
  assert.equal(m.headers['message-id'], String(msg.id));

  const history = await fetch(`${base}/chat/room/${roomUUID}`, { headers: { 'X-Auth-User': 'bob' } });
  assert.equal(history.status, 200);
  const page = await history.json();
  assert.equal(page.length, 1);
  assert.deepEqual(page[0], msg);

  await alice.deactivate();
  await bob.deactivate();
});

test('stompjs sees an ERROR frame for a room it is not a member of', async () => {
  const created = await fetch(`${base}/room/create?user=carol&name=lamp`, {
    method: 'POST',
    headers: { 'X-Auth-User': 'dave' },
  });
  const { roomUUID } = await created.json();
  const mallory = await connect('mallory');
  const error = new Promise((r) => { mallory.onStompError = r; });
  mallory.subscribe(`/sub/chat/room/${roomUUID}`, () => {});
  const f = await error;
  assert.equal(f.headers.message, 'not a member of this room');
  await mallory.deactivate();
});
