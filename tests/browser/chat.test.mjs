// The web client as buyers and sellers use it: two browser contexts (a buyer on a phone, a
// seller on a desktop) against the real binary, through the page's own controls and the
// `data-testid`s of API-v2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DESKTOP, PHONE, Server, hs256, launch, person, recordErrors, screenshotDir, sendAll, shownIds, signIn, sleep,
} from './harness.mjs';
import { PushReceiver, decryptPush, deliverPush, pushServiceStandIn, subscriberKeys, vapidClaims, vapidKeyFile } from './webpush.mjs';

let server;
let browser;
const uniq = () => Math.random().toString(36).slice(2, 8);
/** The marketplace backend's token for `PUT /product/{id}/status`. */
const SERVICE_TOKEN = randomBytes(16).toString('hex');

before(async () => {
  server = await new Server(['--service-token', SERVICE_TOKEN]).start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** The open room's message element with this exact text. */
const bubble = (page, text) => page.getByTestId('message-list').getByTestId('message').filter({ hasText: text });

test('a buyer and a seller chat both ways, and the room list follows live', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  // The seller has an older room with someone else, so the new one must come to the top.
  await server.openRoom(`other-${uniq()}`, sellerId, '캠핑 의자 2개');

  await signIn(buyer, buyerId);
  await buyer.page.getByTestId('new-room-user').fill(sellerId);
  await buyer.page.getByTestId('new-room-name').fill('삼천리 자전거 26인치');
  await buyer.page.getByTestId('new-room-submit').click();
  await buyer.page.getByTestId('message-input').waitFor();
  // Opening a room puts it in the address: the marketplace's `/?room=` link works the same way.
  const room = new URL(buyer.page.url()).searchParams.get('room');
  assert.match(room ?? '', /^[0-9a-f-]{36}$/);
  // The composer has the focus when a room opens (keyboard users type at once).
  assert.equal(await buyer.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'message-input');

  // Screen readers: the composer is labelled, new messages are announced politely.
  assert.equal(await buyer.page.getByRole('textbox', { name: '메시지 입력' }).count(), 1);
  assert.equal(await buyer.page.getByTestId('message-list').getAttribute('role'), 'log');
  assert.equal(await buyer.page.getByTestId('message-list').getAttribute('aria-live'), 'polite');
  // Keyboard: Tab goes from the composer to its send button.
  await buyer.page.getByTestId('message-input').press('Tab');
  assert.equal(await buyer.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'send-button');
  await buyer.page.getByTestId('message-input').focus();

  await buyer.page.getByTestId('message-input').fill('안녕하세요 자전거 아직 있나요?');
  await buyer.page.getByTestId('message-input').press('Enter');
  const first = bubble(buyer.page, '안녕하세요 자전거 아직 있나요?');
  await first.waitFor();
  await assert.doesNotReject(first.and(buyer.page.locator('[data-status="sent"]')).waitFor());
  assert.ok(Number(await first.getAttribute('data-message-id')) > 0, 'the sent message has its id');

  await signIn(seller, sellerId);
  const items = seller.page.getByTestId('room-item');
  await items.first().waitFor();
  assert.equal(await items.count(), 2);
  assert.equal(await items.first().getAttribute('data-room-uuid'), room, 'the newest conversation first');
  assert.equal((await items.first().getByTestId('room-name').textContent()).trim(), '삼천리 자전거 26인치');
  assert.equal((await items.first().getByTestId('room-last-message').textContent()).trim(), '안녕하세요 자전거 아직 있나요?');
  assert.match(await items.first().textContent(), /방금/);
  assert.match(await items.first().textContent(), new RegExp(buyerId));

  await items.first().click();
  await bubble(seller.page, '안녕하세요 자전거 아직 있나요?').waitFor();
  assert.equal(await bubble(seller.page, '안녕하세요 자전거 아직 있나요?').getAttribute('data-mine'), 'false');
  await seller.page.getByTestId('message-input').fill('네 있어요! 오늘 저녁에 보실 수 있어요.');
  await seller.page.getByTestId('send-button').click();
  await bubble(buyer.page, '네 있어요! 오늘 저녁에 보실 수 있어요.').waitFor();

  // Shift+Enter is a new line, not a send.
  await buyer.page.getByTestId('message-input').fill('7시 괜찮으세요?');
  await buyer.page.getByTestId('message-input').press('Shift+Enter');
  await buyer.page.getByTestId('message-input').pressSequentially('역 앞에서요');
  assert.equal(await buyer.page.getByTestId('message-input').inputValue(), '7시 괜찮으세요?\n역 앞에서요');
  await buyer.page.getByTestId('send-button').click();
  await bubble(seller.page, '역 앞에서요').waitFor();

  // A message in the seller's other room moves that room to the top of the list, live.
  const otherRoom = await items.nth(1).getAttribute('data-room-uuid');
  const otherBuyer = (await server.api(sellerId, 'GET', `/room/enter/${otherRoom}`)).body.buyer;
  const device = await server.stomp(otherBuyer);
  await sendAll(device, otherRoom, ['의자 아직 파시나요?']);
  await device.deactivate();
  await seller.page.getByTestId('room-item').first().and(seller.page.locator(`[data-room-uuid="${otherRoom}"]`)).waitFor();
  assert.equal((await seller.page.getByTestId('room-item').first().getByTestId('room-last-message').textContent()).trim(), '의자 아직 파시나요?');
  // The open conversation is unchanged by it.
  assert.equal(await bubble(seller.page, '의자 아직 파시나요?').count(), 0);

  // A day's messages open with its date.
  assert.match(await seller.page.getByTestId('date-separator').first().textContent(), /^\d{4}년 \d{1,2}월 \d{1,2}일 .요일$/);

  // Every message once, in the server's order, on both sides.
  const ids = (await server.history(buyerId, room)).map((m) => m.id);
  assert.equal(ids.length, 3);
  assert.deepEqual(await shownIds(buyer.page), ids);
  assert.deepEqual(await shownIds(seller.page), ids);

  const dir = screenshotDir();
  await buyer.page.screenshot({ path: join(dir, 'buyer-phone.png') });
  await seller.page.screenshot({ path: join(dir, 'seller-desktop.png') });

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

/** Waits (up to 5 s) until the server counts `expected` unread for `user`. */
async function unreadBecomes(user, expected) {
  let last;
  for (let i = 0; i < 50; i++) {
    last = (await server.api(user, 'GET', '/room/unread')).body;
    if (JSON.stringify(last) === JSON.stringify(expected)) return;
    await sleep(100);
  }
  assert.deepEqual(last, expected, `unread of ${user}`);
}

/** Pretends the tab is hidden (or shown again), as when the person switches to another app. */
async function setVisible(page, visible) {
  await page.evaluate((v) => {
    Object.defineProperty(document, 'visibilityState', { value: v ? 'visible' : 'hidden', configurable: true });
    Object.defineProperty(document, 'hidden', { value: !v, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, visible);
}

test('unread badges and the title count, read when seen (not while the tab is hidden), and the "1" on my messages', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '아이패드 미니 6');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await signIn(seller, sellerId);
  await signIn(buyer, buyerId, `/?room=${room}`);
  await buyer.page.getByTestId('message-input').waitFor();

  for (const text of ['안녕하세요', '배터리 효율 몇 %인가요?', '직거래 가능할까요?']) {
    await buyer.page.getByTestId('message-input').fill(text);
    await buyer.page.getByTestId('message-input').press('Enter');
    await bubble(buyer.page, text).and(buyer.page.locator('[data-status="sent"]')).waitFor();
  }
  // The seller has not opened the room: a badge of 3 on it and in the tab's title.
  const sellerItem = seller.page.locator(`[data-testid="room-item"][data-room-uuid="${room}"]`);
  await sellerItem.getByTestId('room-unread').filter({ hasText: '3' }).waitFor();
  await seller.page.waitForFunction(() => document.title === '(3) reuse-chat');
  // The buyer sees "1" on each message the seller has not read.
  assert.equal(await buyer.page.getByTestId('message-list').getByTestId('read-mark').count(), 3);

  // The seller opens the room while the tab is hidden (switched away): nothing is read yet.
  await setVisible(seller.page, false);
  await sellerItem.click();
  await bubble(seller.page, '직거래 가능할까요?').waitFor();
  await sleep(500);
  assert.equal(await sellerItem.getByTestId('room-unread').count(), 1, 'a hidden tab reads nothing');
  const { body: before } = await server.api(sellerId, 'GET', '/room/unread');
  assert.deepEqual(before, { total: 3, rooms: 1 });
  // Back to the tab: the room is read, the badge and the title count go.
  await setVisible(seller.page, true);
  await sellerItem.getByTestId('room-unread').waitFor({ state: 'detached' });
  await seller.page.waitForFunction(() => document.title === 'reuse-chat');
  await unreadBecomes(sellerId, { total: 0, rooms: 0 });

  // The buyer's page learns the seller's mark from its READ event, and the "1"s go.
  await buyer.page.getByTestId('message-list').getByTestId('read-mark').first().waitFor({ state: 'detached' });

  // The seller answers with the room open and visible: the buyer, in the room, gets no badge,
  // and the seller's own message is not counted for the seller.
  await seller.page.getByTestId('message-input').fill('네 가능해요, 강남역 어떠세요?');
  await seller.page.getByTestId('message-input').press('Enter');
  await bubble(buyer.page, '네 가능해요, 강남역 어떠세요?').waitFor();
  await buyer.page.waitForFunction(() => document.title === 'reuse-chat');
  await unreadBecomes(buyerId, { total: 0, rooms: 0 });
  assert.equal(await sellerItem.getByTestId('room-unread').count(), 0);

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('history pages over 300 messages load when scrolling up, without the view jumping', async () => {
  // 300 messages seeded at once are far over a person's message rate (10/s, bursts of 30): a
  // server of its own without that limit (the seeding is the fixture, not what is tested).
  const server = await new Server(['--rate-limits', 'messages=off']).start();
  try {
    await historyPaging(server);
  } finally {
    await server.dispose();
  }
});

async function historyPaging(server) {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '아이폰 15 프로 256GB');
  const device = await server.stomp(buyerId);
  const texts = Array.from({ length: 300 }, (_, i) => `메시지 ${i + 1}번`);
  for (let i = 0; i < texts.length; i += 50) await sendAll(device, room, texts.slice(i, i + 50));
  await device.deactivate();
  const ids = (await server.history(sellerId, room)).map((m) => m.id);
  assert.equal(ids.length, 300);

  const seller = await person(browser, server, PHONE);
  await signIn(seller, sellerId, `/?room=${room}`);
  const list = seller.page.getByTestId('message-list');
  await bubble(seller.page, '메시지 300번').waitFor();
  const firstPage = await shownIds(seller.page);
  assert.ok(firstPage.length < 300, `a first page, not everything: ${firstPage.length}`);
  assert.deepEqual(firstPage, ids.slice(ids.length - firstPage.length), 'the newest page, ascending');

  // The newest message is in view at the bottom.
  assert.ok(await bubble(seller.page, '메시지 300번').isVisible());

  for (let round = 0; round < 20; round++) {
    const shown = await shownIds(seller.page);
    if (shown.length === 300) break;
    // Remember where the oldest shown message sits, then scroll to the top.
    const anchor = seller.page.locator(`[data-testid="message"][data-message-id="${shown[0]}"]`);
    await list.evaluate((el) => { el.scrollTop = 0; });
    await seller.page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="message-list"] [data-testid="message"][data-message-id]').length > n,
      shown.length,
    );
    // The message that was at the top stays where the reader saw it: older ones go above it.
    const after = await anchor.boundingBox();
    const listBox = await list.boundingBox();
    assert.ok(after && after.y - listBox.y > -5 && after.y - listBox.y < 200,
      `round ${round}: the anchor stays near the top of the view (at ${after && after.y - listBox.y} px)`);
  }
  assert.deepEqual(await shownIds(seller.page), ids, 'all 300, in order, each once');
  // 300 is a whole number of pages: one more look upwards finds the start.
  await list.evaluate((el) => { el.scrollTop = 0; });
  await list.getByTestId('history-start').filter({ hasText: '대화의 처음입니다' }).waitFor();
  assert.deepEqual(await shownIds(seller.page), ids, 'still each once');
  assert.deepEqual(seller.errors, []);
  await seller.context.close();
}

test('content is text: markup in a message is shown, never run', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '<b>굵은</b> 상품명');
  const evil = [
    '<img src=x onerror="window.__xss=1">',
    '<script>window.__xss=2</script>',
    '[클릭](javascript:window.__xss=3) https://evil.example/phish?x="><svg onload=alert(1)>',
  ];
  const device = await server.stomp(buyerId);
  await sendAll(device, room, evil);
  await device.deactivate();
  const seller = await person(browser, server, PHONE);
  await signIn(seller, sellerId);
  assert.equal((await seller.page.getByTestId('room-name').first().textContent()).trim(), '<b>굵은</b> 상품명');
  await seller.page.getByTestId('room-item').first().click();
  for (const text of evil) {
    await bubble(seller.page, text).waitFor();
  }
  const list = seller.page.getByTestId('message-list');
  assert.equal(await list.locator('img, script, svg, a[href^="javascript"]').count(), 0);
  assert.equal(await seller.page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(seller.errors, []);
  await seller.context.close();
});

test('leaving asks first, then the other member sees the notice', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '닌텐도 스위치');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await signIn(buyer, buyerId, `/?room=${room}`);
  await signIn(seller, sellerId, `/?room=${room}`);
  await seller.page.getByTestId('message-input').waitFor();

  // The other member's online dot (both have a live session).
  await buyer.page.locator('[data-testid="presence-dot"][aria-label="온라인"]').waitFor();

  await buyer.page.getByTestId('leave-button').click();
  await buyer.page.getByTestId('leave-cancel').click();
  assert.equal((await server.api(buyerId, 'GET', `/room/enter/${room}`)).status, 200, 'cancel keeps the room');

  await buyer.page.getByTestId('leave-button').click();
  await buyer.page.getByTestId('leave-confirm').click();
  // Back on the list, which is empty now: the page says so.
  await buyer.page.getByText('아직 대화가 없습니다.').waitFor();
  await buyer.page.waitForFunction((r) => !document.querySelector(`[data-testid="room-item"][data-room-uuid="${r}"]`), room);
  assert.equal((await server.api(buyerId, 'GET', `/room/enter/${room}`)).status, 403, 'the buyer left');

  const notice = seller.page.getByTestId('message-list').locator('[data-testid="message"][data-type="SYSTEM"]');
  await notice.waitFor();
  assert.equal((await notice.textContent()).includes(`${buyerId}님이 채팅방을 나갔습니다.`), true);
  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

/**
 * Resolves when the page's subscription to its event stream is confirmed: the server's RECEIPT
 * for it (the page asks with `receipt:events`). Events are not stored, so a test that needs one
 * waits for this before causing it. Call before the page connects.
 */
function eventsReady(page) {
  return new Promise((resolve) => {
    page.on('websocket', (ws) => {
      ws.on('framereceived', ({ payload }) => {
        const text = String(payload);
        if (text.includes('RECEIPT') && text.includes('receipt-id:events\n')) resolve();
      });
    });
  });
}

/** Both pages in the room with their event streams up, each seeing the other online. */
async function bothInRoom(buyer, buyerId, seller, sellerId, room) {
  const ready = [eventsReady(buyer.page), eventsReady(seller.page)];
  await signIn(buyer, buyerId, `/?room=${room}`);
  await signIn(seller, sellerId, `/?room=${room}`);
  await Promise.all(ready);
  for (const p of [buyer, seller]) {
    await p.page.getByTestId('message-input').waitFor();
    await p.page.locator('[data-testid="presence-dot"][data-online="true"]').waitFor();
  }
}

test('typing: the other member sees "입력 중…" while I type, until I send or clear the input', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '캠핑 텐트 4인용');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);
  const indicator = seller.page.getByTestId('typing-indicator');
  assert.equal(await indicator.count(), 0, 'nobody types yet');

  await buyer.page.getByTestId('message-input').pressSequentially('텐트 폴대도', { delay: 50 });
  await indicator.waitFor();
  const shownAt = Date.now();
  assert.equal((await indicator.textContent()).trim(), '입력 중…');
  assert.equal(await buyer.page.getByTestId('typing-indicator').count(), 0, 'my own typing is not shown to me');

  // Sending ends it at once (its false, and the message itself), well before the 5 s run out.
  await buyer.page.getByTestId('message-input').pressSequentially(' 있나요?');
  await buyer.page.getByTestId('message-input').press('Enter');
  await bubble(seller.page, '텐트 폴대도 있나요?').waitFor();
  await indicator.waitFor({ state: 'detached', timeout: 2000 });
  assert.ok(Date.now() - shownAt < 4500, `gone with the send, not by the 5 s (${Date.now() - shownAt} ms)`);

  // Typing again (after the 3 s between trues), then clearing the input: its false ends it.
  await sleep(3000);
  await buyer.page.getByTestId('message-input').pressSequentially('그리고', { delay: 50 });
  await indicator.waitFor();
  const again = Date.now();
  await buyer.page.getByTestId('message-input').fill('');
  await indicator.waitFor({ state: 'detached', timeout: 2000 });
  assert.ok(Date.now() - again < 4500, 'gone with the cleared input');

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('online and last seen: the dot goes offline when the other member leaves the page, with "마지막 접속"', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '전동 킥보드');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);
  const dot = seller.page.getByTestId('presence-dot');
  assert.equal(await dot.getAttribute('aria-label'), '온라인');
  assert.equal(await seller.page.getByTestId('last-seen').count(), 0, 'no "last seen" while online');

  // The buyer closes the app mid-sentence: its last session ends, and the seller's header
  // follows live; "입력 중…" goes with it (no `false` came, and it does not wait out its 5 s).
  await buyer.page.getByTestId('message-input').pressSequentially('잠깐만요', { delay: 50 });
  const typing = seller.page.getByTestId('typing-indicator');
  await typing.waitFor();
  const closedAt = Date.now();
  await buyer.context.close();
  await seller.page.locator('[data-testid="presence-dot"][data-online="false"]').waitFor();
  await typing.waitFor({ state: 'detached' });
  assert.ok(Date.now() - closedAt < 4500, 'typing ended by going offline');
  assert.equal(await dot.getAttribute('aria-label'), '오프라인');
  const lastSeen = seller.page.getByTestId('last-seen');
  await lastSeen.waitFor();
  assert.equal((await lastSeen.textContent()).trim(), '마지막 접속 방금 전');

  // Opened again later, the page reads it from GET /room/{id}/presence (lastSeenAt).
  const readyAgain = eventsReady(seller.page);
  await seller.page.reload();
  await readyAgain;
  await seller.page.locator('[data-testid="presence-dot"][data-online="false"]').waitFor();
  assert.equal((await seller.page.getByTestId('last-seen').textContent()).trim(), '마지막 접속 방금 전');

  // Back online: the dot turns green and the text goes.
  const back = await person(browser, server, PHONE);
  await signIn(back, buyerId);
  await seller.page.locator('[data-testid="presence-dot"][data-online="true"]').waitFor();
  await seller.page.getByTestId('last-seen').waitFor({ state: 'detached' });

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(back.errors, []);
  assert.deepEqual(seller.errors, []);
  await back.context.close();
  await seller.context.close();
});

test('the "1" on my message goes live when the other member reads it', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '에어팟 프로 2');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  const ready = eventsReady(buyer.page);
  await signIn(seller, sellerId);
  await signIn(buyer, buyerId, `/?room=${room}`);
  await ready;

  await buyer.page.getByTestId('message-input').fill('정품 맞나요?');
  await buyer.page.getByTestId('message-input').press('Enter');
  const mine = bubble(buyer.page, '정품 맞나요?');
  await mine.and(buyer.page.locator('[data-status="sent"]')).waitFor();
  await mine.getByTestId('read-mark').waitFor();
  assert.equal((await mine.getByTestId('read-mark').textContent()).trim().startsWith('1'), true);

  // Nothing on the buyer's page is touched from here: no reload, no focus, no visibility change.
  await buyer.page.evaluate(() => { window.__sameDocument = true; });
  await seller.page.locator(`[data-testid="room-item"][data-room-uuid="${room}"]`).click();
  await bubble(seller.page, '정품 맞나요?').waitFor();
  await mine.getByTestId('read-mark').waitFor({ state: 'detached', timeout: 5000 });
  assert.equal(await buyer.page.evaluate(() => window.__sameDocument), true, 'the buyer\'s page was not reloaded');

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('the room list follows the event stream: a new room and its first message appear, a room left elsewhere goes', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const seller = await person(browser, server, DESKTOP);
  const ready = eventsReady(seller.page);
  await signIn(seller, sellerId);
  await seller.page.getByText('아직 대화가 없습니다.').waitFor();
  await ready;
  await seller.page.evaluate(() => { window.__sameDocument = true; });

  // The buyer opens a chat from the marketplace (REST) and writes from their phone (STOMP).
  const room = await server.openRoom(buyerId, sellerId, '플레이스테이션 5');
  const item = seller.page.locator(`[data-testid="room-item"][data-room-uuid="${room}"]`);
  await item.waitFor({ timeout: 5000 });
  assert.equal((await item.getByTestId('room-name').textContent()).trim(), '플레이스테이션 5');
  assert.equal(await item.getByTestId('room-unread').count(), 0, 'no badge before a message');

  const phone = await server.stomp(buyerId);
  await sendAll(phone, room, ['플스 아직 판매중인가요?']);
  await phone.deactivate();
  await item.getByTestId('room-unread').filter({ hasText: '1' }).waitFor({ timeout: 5000 });
  assert.equal((await item.getByTestId('room-last-message').textContent()).trim(), '플스 아직 판매중인가요?');
  await seller.page.waitForFunction(() => document.title === '(1) reuse-chat');

  // The seller leaves it on another device: its last ROOM_UPDATED ("left") takes it off here.
  assert.equal((await server.api(sellerId, 'DELETE', `/room/delete/${room}`)).status, 204);
  await item.waitFor({ state: 'detached', timeout: 5000 });
  await seller.page.waitForFunction(() => document.title === 'reuse-chat');
  assert.equal(await seller.page.evaluate(() => window.__sameDocument), true, 'all without a reload');

  assert.deepEqual(seller.errors, []);
  await seller.context.close();
});

/**
 * Routes the page's WebSocket through a relay the test controls: `relay.dropFromServer(text)`
 * decides per server frame whether the page gets it, `relay.cutAfterClientSends(text)` closes
 * the connection right after the page's frame containing `text` reached the server.
 */
async function relay(page) {
  const r = { dropFromServer: () => false, cutAfter: null, connections: 0 };
  await page.routeWebSocket(/\/ws-stomp$/, (ws) => {
    r.connections++;
    const upstream = ws.connectToServer();
    ws.onMessage((m) => {
      upstream.send(m);
      const text = typeof m === 'string' ? m : m.toString();
      if (r.cutAfter && text.includes(r.cutAfter)) {
        r.cutAfter = null;
        // Give the server the moment it needs to read the frame, then break the line.
        setTimeout(() => ws.close({ code: 1006 }), 0);
      }
    });
    upstream.onMessage((m) => {
      const text = typeof m === 'string' ? m : m.toString();
      if (!r.dropFromServer(text)) ws.send(m);
    });
  });
  return r;
}

test('a send whose receipt never comes fails visibly, and the retry stores it once', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '갤럭시 버즈');
  const buyer = await person(browser, server, PHONE);
  const line = await relay(buyer.page);
  await signIn(buyer, buyerId, `/?room=${room}`);
  await buyer.page.getByTestId('message-input').waitFor();

  // The server stores the message, but its answers (RECEIPT and MESSAGE) never reach the page.
  const text = '택배 거래 가능할까요?';
  line.dropFromServer = (frame) => frame.startsWith('RECEIPT') || frame.includes(text);
  await buyer.page.getByTestId('message-input').fill(text);
  await buyer.page.getByTestId('send-button').click();
  const mine = bubble(buyer.page, text);
  await mine.and(buyer.page.locator('[data-status="pending"]')).waitFor();
  const clientMessageId = await mine.getAttribute('data-client-message-id');
  assert.ok(clientMessageId, 'a pending message knows its clientMessageId');
  await mine.and(buyer.page.locator('[data-status="failed"]')).waitFor({ timeout: 20000 });
  assert.equal((await server.history(buyerId, room)).filter((m) => m.content === text).length, 1, 'stored once');

  // The line recovers; the retry reuses the clientMessageId, so nothing is stored twice.
  line.dropFromServer = () => false;
  await mine.getByTestId('retry-button').click();
  await mine.and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor();
  assert.equal(await mine.getAttribute('data-client-message-id'), clientMessageId);
  const stored = (await server.history(buyerId, room)).filter((m) => m.content === text);
  assert.equal(stored.length, 1, 'a retry never doubles a message');
  assert.equal(stored[0].clientMessageId, clientMessageId);
  assert.equal(await bubble(buyer.page, text).count(), 1);

  const seller = await person(browser, server, DESKTOP);
  await signIn(seller, sellerId, `/?room=${room}`);
  await bubble(seller.page, text).waitFor();
  assert.equal(await bubble(seller.page, text).count(), 1);
  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('a connection lost right after a send: confirmed after reconnecting, shown once', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '다이슨 청소기');
  const buyer = await person(browser, server, PHONE);
  const line = await relay(buyer.page);
  await signIn(buyer, buyerId, `/?room=${room}`);
  await buyer.page.getByTestId('message-input').waitFor();
  const before = line.connections;

  const text = '내일 오전에 직거래 될까요?';
  line.cutAfter = text;
  await buyer.page.getByTestId('message-input').fill(text);
  await buyer.page.getByTestId('message-input').press('Enter');
  const mine = bubble(buyer.page, text);
  await mine.and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor({ timeout: 30000 });
  assert.ok(line.connections > before, 'the page reconnected');
  assert.equal(await bubble(buyer.page, text).count(), 1);
  const stored = (await server.history(buyerId, room)).filter((m) => m.content === text);
  assert.equal(stored.length, 1);
  assert.equal(Number(await mine.getAttribute('data-message-id')), stored[0].id);
  // The browser reports the dropped WebSocket itself; nothing else may appear.
  assert.deepEqual(buyer.errors.filter((e) => !/WebSocket/.test(e)), []);
  await buyer.context.close();
});

test('the server restarts mid-conversation: both pages resume with no gap and no duplicate', async () => {
  const restartable = await new Server().start();
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await restartable.openRoom(buyerId, sellerId, '아이패드 에어 5세대');
  const buyer = await person(browser, restartable, PHONE);
  const seller = await person(browser, restartable, DESKTOP);
  try {
    await signIn(buyer, buyerId, `/?room=${room}`);
    await signIn(seller, sellerId, `/?room=${room}`);
    await buyer.page.getByTestId('message-input').fill('케이스도 같이 주시나요?');
    await buyer.page.getByTestId('send-button').click();
    await bubble(seller.page, '케이스도 같이 주시나요?').waitFor();

    await restartable.stop('SIGKILL');
    for (const p of [buyer, seller]) {
      await p.page.getByTestId('connection-status').filter({ hasText: '연결 끊김' }).waitFor();
    }
    // Typed during the outage: shown at once as pending, sent after reconnecting, once.
    const offline = '네고 가능할까요? 45만원이요';
    await buyer.page.getByTestId('message-input').fill(offline);
    await buyer.page.getByTestId('send-button').click();
    await bubble(buyer.page, offline).and(buyer.page.locator('[data-status="pending"]')).waitFor();

    await restartable.start();
    // While the pages are still backing off, the seller answers from another device: the
    // pages must find these in history when they resume (the gap).
    const phone = await restartable.stomp(sellerId);
    const gap = ['잠시만요', '케이스 드려요', '45만원은 어렵고 47만원 어떠세요?'];
    await sendAll(phone, room, gap);

    await bubble(buyer.page, offline).and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor({ timeout: 30000 });
    // And a live one after the resume reaches both.
    await sendAll(phone, room, ['그럼 47만원에 거래해요']);
    await phone.deactivate();
    for (const p of [buyer, seller]) {
      await bubble(p.page, '그럼 47만원에 거래해요').waitFor({ timeout: 30000 });
      await bubble(p.page, offline).waitFor({ timeout: 30000 });
      await p.page.getByTestId('connection-status').filter({ hasText: '연결 끊김' }).waitFor({ state: 'hidden' });
    }
    const history = await restartable.history(buyerId, room);
    assert.equal(history.filter((m) => m.content === offline).length, 1, 'the outage message is stored once');
    const ids = history.map((m) => m.id);
    assert.deepEqual(await shownIds(buyer.page), ids, 'buyer: every message once, in order');
    assert.deepEqual(await shownIds(seller.page), ids, 'seller: every message once, in order');
    // Only the browser's own reports of the refused connections while the server was down.
    const outage = /WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/;
    assert.deepEqual(buyer.errors.filter((e) => !outage.test(e)), []);
    assert.deepEqual(seller.errors.filter((e) => !outage.test(e)), []);
  } finally {
    await buyer.context.close();
    await seller.context.close();
    await restartable.dispose();
  }
});

test('at 390 px nothing scrolls sideways, also with a long unbroken message', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '아주아주긴상품명'.repeat(8));
  const device = await server.stomp(sellerId);
  await sendAll(device, room, [`https://example.com/${'a'.repeat(300)}`, 'ㅋ'.repeat(400)]);
  await device.deactivate();
  const buyer = await person(browser, server, PHONE);
  await signIn(buyer, buyerId);
  const noSideways = () => buyer.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth
    && document.body.scrollWidth <= window.innerWidth);
  assert.ok(await noSideways(), 'room list');
  await buyer.page.getByTestId('room-item').first().click();
  await bubble(buyer.page, 'ㅋㅋㅋ').waitFor();
  assert.ok(await noSideways(), 'chat');
  // Phone width shows one pane: the list comes back with the back button.
  await buyer.page.getByTestId('back-button').click();
  await buyer.page.getByTestId('room-item').first().waitFor();
  assert.ok(await noSideways(), 'back on the list');
  assert.deepEqual(buyer.errors, []);
  await buyer.context.close();
});

test('in jwt mode the page asks for a token, and a bad one is refused', async () => {
  const secret = `secret-${uniq()}-${uniq()}`;
  const jwtServer = await new Server(['--auth', 'jwt', '--jwt-secret', secret]).start();
  const p = await person(browser, jwtServer, PHONE);
  try {
    await p.page.goto(`${jwtServer.base}/`);
    await p.page.getByTestId('login-token').waitFor();
    assert.equal(await p.page.getByTestId('login-user').count(), 0, 'no user id field in jwt mode');
    await p.page.getByTestId('login-token').fill(hs256('wrong-secret', 'mallory'));
    await p.page.getByTestId('login-submit').click();
    await p.page.getByRole('alert').waitFor();
    assert.equal(await p.page.getByTestId('room-list').count(), 0);

    const userId = `jwt-user-${uniq()}`;
    await p.page.getByTestId('login-token').fill(hs256(secret, userId));
    await p.page.getByTestId('login-submit').click();
    await p.page.getByTestId('room-list').waitFor({ state: 'attached' });
    await p.page.getByTestId('new-room-user').fill(`seller-${uniq()}`);
    await p.page.getByTestId('new-room-name').fill('맥북 에어 M2');
    await p.page.getByTestId('new-room-submit').click();
    await p.page.getByTestId('message-input').fill('토큰으로 보낸 메시지');
    await p.page.getByTestId('message-input').press('Enter');
    await bubble(p.page, '토큰으로 보낸 메시지').and(p.page.locator('[data-status="sent"]')).waitFor().catch(async (e) => {
      // Seen once in CI and never again: say where the message stood, to find out why.
      const status = await bubble(p.page, '토큰으로 보낸 메시지').getAttribute('data-status', { timeout: 1000 }).catch(() => 'not shown');
      const banner = await p.page.getByTestId('connection-status').textContent({ timeout: 1000 }).catch(() => 'none');
      throw new Error(`${e.message}\nthe message's status: ${status}; connection banner: ${banner}; page errors: ${JSON.stringify(p.errors)}`);
    });
    // The refused token's 401 is the only thing the browser reported.
    assert.deepEqual(p.errors.filter((e) => !/401/.test(e)), []);
  } finally {
    await p.context.close();
    await jwtServer.dispose();
  }
});

/** A JPEG of `width`×`height` drawn on a canvas in the page (a gradient and a label), as bytes. */
async function jpeg(page, width, height, label) {
  const b64 = await page.evaluate(async ([w, h, text]) => {
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d');
    const grad = g.createLinearGradient(0, 0, w, h);
    grad.addColorStop(0, '#ff7e36');
    grad.addColorStop(1, '#3a7bd5');
    g.fillStyle = grad;
    g.fillRect(0, 0, w, h);
    g.fillStyle = '#ffffff';
    g.font = `bold ${Math.round(h / 5)}px sans-serif`;
    g.fillText(text, Math.round(w / 10), Math.round(h / 2));
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, [width, height, label]);
  return Buffer.from(b64, 'base64');
}

/** Resolves once the `<img>` has loaded real pixels (fails the test on a broken image). */
async function loaded(page, img) {
  await img.waitFor();
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle(), { timeout: 10000 });
  return img.evaluate((el) => ({ naturalWidth: el.naturalWidth, naturalHeight: el.naturalHeight, src: el.getAttribute('src') }));
}

const pathOf = (url) => new URL(url, 'http://x').pathname;

test('photos: the buyer attaches a photo with a caption, the seller sees it and opens it full size; a non-image is refused', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '캐논 미러리스 카메라');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);
  const input = buyer.page.getByTestId('attach-input');
  const tiles = buyer.page.getByTestId('attachment-preview');
  assert.equal(await input.getAttribute('accept'), 'image/jpeg,image/png,image/webp,image/gif');

  // A text file named like a photo: refused in the page, nothing uploaded; the server agrees.
  const fake = Buffer.from('이건 사진이 아니라 텍스트 파일이에요');
  await input.setInputFiles({ name: 'photo.jpg', mimeType: 'image/jpeg', buffer: fake });
  const refusal = buyer.page.getByTestId('attach-error');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /사진 파일.*photo\.jpg/);
  assert.equal(await tiles.count(), 0, 'no tile for a refused file');
  const form = new FormData();
  form.append('file', new Blob([fake], { type: 'image/jpeg' }), 'photo.jpg');
  const direct = await fetch(`${server.base}/room/${room}/attachments`, { method: 'POST', headers: { 'X-Auth-User': buyerId }, body: form });
  assert.equal(direct.status, 415);
  assert.equal((await direct.json()).error, 'unsupported_media_type');

  // A real photo: a tile at once, uploaded with progress to 100 %.
  const photo = await jpeg(buyer.page, 1200, 900, '캐논 R50');
  await input.setInputFiles({ name: 'camera.jpg', mimeType: 'image/jpeg', buffer: photo });
  await tiles.first().waitFor();
  await refusal.waitFor({ state: 'detached' });
  await buyer.page.locator('[data-testid="attachment-preview"][data-state="done"]').waitFor();
  assert.equal(await tiles.count(), 1);
  assert.equal(await tiles.first().getByTestId('upload-progress').getAttribute('aria-valuenow'), '100');
  await loaded(buyer.page, tiles.first().locator('img'));
  const noSideways = () => buyer.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth
    && document.body.scrollWidth <= window.innerWidth);
  assert.ok(await noSideways(), 'the tray fits a 390 px phone');

  // Sent with a caption: the caption is the message's content.
  const caption = '렌즈 기스 없어요. 실물 사진입니다';
  await buyer.page.getByTestId('message-input').fill(caption);
  await buyer.page.getByTestId('send-button').click();
  const mine = buyer.page.getByTestId('message-list').locator('[data-testid="message"][data-type="IMAGE"]').filter({ hasText: caption });
  await mine.and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor();
  assert.equal(await tiles.count(), 0, 'the tray empties once sent');
  await loaded(buyer.page, mine.getByTestId('message-image'));
  assert.ok(await noSideways(), 'a photo message fits a 390 px phone');

  const stored = (await server.history(buyerId, room)).filter((m) => m.type === 'IMAGE');
  assert.equal(stored.length, 1, 'stored once');
  assert.equal(stored[0].content, caption);
  assert.equal(stored[0].attachments.length, 1);
  const att = stored[0].attachments[0];
  assert.match(att.id, /^[0-9a-f]{32}$/);
  assert.equal(att.contentType, 'image/jpeg');
  assert.equal(att.width, 1200);
  assert.equal(att.height, 900);
  assert.equal(Number(await mine.getAttribute('data-message-id')), stored[0].id);

  // The seller's page shows it live: the thumbnail first, loaded, then full size in the viewer.
  const theirs = seller.page.getByTestId('message-list').locator('[data-testid="message"][data-type="IMAGE"]').filter({ hasText: caption });
  await theirs.waitFor();
  assert.equal(await theirs.getAttribute('data-mine'), 'false');
  const thumb = theirs.getByTestId('message-image');
  const shown = await loaded(seller.page, thumb);
  assert.equal(pathOf(shown.src), pathOf(att.thumbnailUrl), 'the bubble shows the thumbnail');
  assert.equal(await thumb.getAttribute('alt'), '사진');
  assert.equal(await thumb.getAttribute('loading'), 'lazy');

  const viewer = seller.page.getByTestId('image-viewer');
  await thumb.click();
  await viewer.waitFor();
  const full = await loaded(seller.page, viewer.getByTestId('image-viewer-image'));
  assert.equal(pathOf(full.src), pathOf(att.url), 'the viewer shows the full-size photo');
  assert.deepEqual([full.naturalWidth, full.naturalHeight], [1200, 900]);
  // Closed by Escape, by ✕, and by a tap beside the photo.
  await seller.page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'detached' });
  await thumb.click();
  await viewer.getByTestId('image-viewer-close').click();
  await viewer.waitFor({ state: 'detached' });
  await thumb.click();
  await viewer.waitFor();
  await seller.page.mouse.click(10, DESKTOP.height - 10);
  await viewer.waitFor({ state: 'detached' });

  // The room list says what came: the caption.
  const sellerItem = seller.page.locator(`[data-testid="room-item"][data-room-uuid="${room}"]`);
  assert.equal((await sellerItem.getByTestId('room-last-message').textContent()).trim(), caption);

  // Two photos without a caption (Enter sends): a grid, and "사진 2장" in the list.
  await input.setInputFiles([
    { name: 'front.jpg', mimeType: 'image/jpeg', buffer: await jpeg(buyer.page, 800, 800, '앞면') },
    { name: 'back.jpg', mimeType: 'image/jpeg', buffer: await jpeg(buyer.page, 600, 800, '뒷면') },
  ]);
  await buyer.page.locator('[data-testid="attachment-preview"][data-state="done"]').nth(1).waitFor();
  await buyer.page.getByTestId('message-input').press('Enter');
  const pair = seller.page.getByTestId('message-list').locator('[data-testid="message"][data-type="IMAGE"]').last();
  await pair.getByTestId('message-image').nth(1).waitFor();
  assert.equal(await pair.getByTestId('message-image').count(), 2);
  for (const img of await pair.getByTestId('message-image').all()) await loaded(seller.page, img);
  await sellerItem.getByTestId('room-last-message').filter({ hasText: '사진 2장' }).waitFor();
  const last = (await server.history(sellerId, room)).at(-1);
  assert.equal(last.type, 'IMAGE');
  assert.equal(last.content, '');
  assert.deepEqual(last.attachments.map((a) => [a.width, a.height]), [[800, 800], [600, 800]], 'in the order picked');

  await buyer.page.screenshot({ path: join(screenshotDir(), 'buyer-photos-phone.png') });
  await seller.page.screenshot({ path: join(screenshotDir(), 'seller-photos-desktop.png') });
  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('photos: an upload that fails shows on its tile, sending waits, and the retry sends it', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '아이폰 13 미니');
  const buyer = await person(browser, server, PHONE);
  await signIn(buyer, buyerId, `/?room=${room}`);
  await buyer.page.getByTestId('message-input').waitFor();
  // The line drops the first upload (as a phone losing its signal would); the rest go through.
  let dropped = 0;
  await buyer.page.route('**/attachments', (route) => {
    if (route.request().method() === 'POST' && dropped === 0) {
      dropped++;
      return route.abort('connectionreset');
    }
    return route.continue();
  });

  await buyer.page.getByTestId('attach-input').setInputFiles([
    { name: 'screen.jpg', mimeType: 'image/jpeg', buffer: await jpeg(buyer.page, 640, 480, '화면') },
    { name: 'box.jpg', mimeType: 'image/jpeg', buffer: await jpeg(buyer.page, 480, 640, '박스') },
  ]);
  const tiles = buyer.page.getByTestId('attachment-preview');
  // Whichever upload the line dropped: its tile fails, the other one finishes.
  const failed = buyer.page.locator('[data-testid="attachment-preview"][data-state="failed"]');
  const done = buyer.page.locator('[data-testid="attachment-preview"][data-state="done"]');
  await failed.waitFor();
  await done.waitFor();
  assert.equal(dropped, 1);
  assert.equal(await failed.count(), 1);
  // Nothing goes while a photo is missing: the button waits and says why.
  assert.equal(await buyer.page.getByTestId('send-button').isDisabled(), true);
  assert.match(await buyer.page.getByTestId('upload-hint').textContent(), /네트워크.*다시 올리거나 빼 주세요/);
  await buyer.page.getByTestId('message-input').fill('배터리 성능 87%예요');
  await buyer.page.getByTestId('message-input').press('Enter');
  assert.equal(await tiles.count(), 2, 'Enter did not send without the photo');

  await failed.getByTestId('upload-retry').click();
  await done.nth(1).waitFor();
  assert.equal(await failed.count(), 0);
  await buyer.page.getByTestId('upload-hint').waitFor({ state: 'detached' });
  await buyer.page.getByTestId('send-button').click();
  const mine = buyer.page.getByTestId('message-list').locator('[data-testid="message"][data-type="IMAGE"]');
  await mine.and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor();
  assert.equal(await mine.getByTestId('message-image').count(), 2);
  for (const img of await mine.getByTestId('message-image').all()) await loaded(buyer.page, img);

  const stored = (await server.history(buyerId, room)).filter((m) => m.type === 'IMAGE');
  assert.equal(stored.length, 1);
  assert.equal(stored[0].content, '배터리 성능 87%예요');
  assert.deepEqual(stored[0].attachments.map((a) => [a.width, a.height]), [[640, 480], [480, 640]], 'the retried photo keeps its place');

  // The seller, opening the room later, sees both photos.
  const seller = await person(browser, server, PHONE);
  await signIn(seller, sellerId, `/?room=${room}`);
  const theirs = seller.page.getByTestId('message-list').locator('[data-testid="message"][data-type="IMAGE"]');
  await theirs.getByTestId('message-image').nth(1).waitFor();
  for (const img of await theirs.getByTestId('message-image').all()) await loaded(seller.page, img);

  // The dropped upload is the only thing the browser reported.
  assert.deepEqual(buyer.errors.filter((e) => !/ERR_CONNECTION_RESET|Failed to load resource/.test(e)), []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('blocking: the seller blocks the buyer, whose sends then fail with the reason and never arrive; unblocking lets the next one through', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '로드 자전거 54사이즈');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);
  await buyer.page.getByTestId('message-input').fill('안녕하세요, 자전거 상태 어떤가요?');
  await buyer.page.getByTestId('message-input').press('Enter');
  await bubble(seller.page, '안녕하세요, 자전거 상태 어떤가요?').waitFor();

  // The seller blocks the buyer from the room's header, after a confirmation (a cancel first).
  const block = seller.page.getByTestId('block-button');
  const dialog = seller.page.getByTestId('block-dialog');
  assert.equal((await block.textContent()).trim(), '차단하기');
  await block.click();
  await dialog.waitFor();
  assert.match(await dialog.textContent(), new RegExp(`${buyerId}님을 차단할까요\\?`));
  await seller.page.getByTestId('block-cancel').click();
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual((await server.api(sellerId, 'GET', '/user/blocks')).body, { users: [] }, 'cancel blocks nobody');
  await block.click();
  await seller.page.getByTestId('block-confirm').click();
  const banner = seller.page.getByTestId('blocked-banner');
  await banner.waitFor();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await banner.textContent()).includes('차단한 사용자예요. 차단을 해제하기 전에는 메시지를 주고받을 수 없어요.'), true);
  assert.equal((await block.textContent()).trim(), '차단 해제');
  assert.equal(await seller.page.getByTestId('message-input').isDisabled(), true, 'the composer is off while blocked');
  assert.equal(await seller.page.getByTestId('send-button').isDisabled(), true);
  assert.equal(await seller.page.getByTestId('presence-dot').count(), 0, 'no presence shown while blocked');
  assert.deepEqual((await server.api(sellerId, 'GET', '/user/blocks')).body, { users: [buyerId] });
  // History stays readable to the blocker (it is evidence).
  assert.equal(await bubble(seller.page, '안녕하세요, 자전거 상태 어떤가요?').count(), 1);

  // Opened again, the page knows it from GET /user/blocks.
  await seller.page.reload();
  await seller.page.getByTestId('blocked-banner').waitFor();
  assert.equal(await seller.page.getByTestId('message-input').isDisabled(), true);
  assert.equal((await block.textContent()).trim(), '차단 해제');

  // The buyer is not told; their next message is refused: failed, with why, and the banner.
  const refusedText = '혹시 가격 조정 가능할까요?';
  let sockets = 0;
  buyer.page.on('websocket', () => sockets++);
  await buyer.page.getByTestId('message-input').fill(refusedText);
  await buyer.page.getByTestId('message-input').press('Enter');
  const refused = bubble(buyer.page, refusedText);
  await refused.and(buyer.page.locator('[data-status="failed"]')).waitFor();
  assert.equal((await refused.getByTestId('send-error').textContent()).trim(), '상대방과 메시지를 주고받을 수 없어요');
  const buyerBanner = buyer.page.getByTestId('blocked-banner');
  await buyerBanner.waitFor();
  assert.equal((await buyerBanner.textContent()).trim(), '상대방과 메시지를 주고받을 수 없어요');
  assert.equal(await buyerBanner.getByTestId('unblock-button').count(), 0, 'only the blocker can unblock');
  // Not sent again by itself: the server ends the connection after its ERROR, the page
  // reconnects and sends what waits in its outbox, and the refused message is not among it.
  for (let i = 0; i < 100 && sockets === 0; i++) await sleep(100);
  assert.ok(sockets > 0, 'the page reconnected after the ERROR');
  await buyer.page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ state: 'attached' });
  await sleep(1500);
  assert.equal(await refused.getAttribute('data-status'), 'failed');
  assert.equal(await bubble(seller.page, refusedText).count(), 0, 'the seller never receives it');
  assert.equal((await server.history(sellerId, room)).filter((m) => m.content === refusedText).length, 0, 'nothing stored');

  // The seller unblocks (from the banner, confirming): the composer is back.
  await banner.getByTestId('unblock-button').click();
  await dialog.waitFor();
  assert.match(await dialog.textContent(), new RegExp(`${buyerId}님의 차단을 해제할까요\\?`));
  await seller.page.getByTestId('block-confirm').click();
  await banner.waitFor({ state: 'detached' });
  assert.equal((await block.textContent()).trim(), '차단하기');
  assert.equal(await seller.page.getByTestId('message-input').isDisabled(), false);
  assert.deepEqual((await server.api(sellerId, 'GET', '/user/blocks')).body, { users: [] });

  // The buyer's next message arrives, and the buyer's banner goes with it.
  const after = '그럼 정가에 살게요. 내일 가능하세요?';
  await buyer.page.getByTestId('message-input').fill(after);
  await buyer.page.getByTestId('message-input').press('Enter');
  await bubble(seller.page, after).waitFor();
  await bubble(buyer.page, after).and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor();
  await buyerBanner.waitFor({ state: 'detached' });
  assert.equal(await bubble(seller.page, refusedText).count(), 0, 'the refused one stays undelivered');
  // Presence flows again (none did during the block): each sees the other online, without a reload.
  await buyer.page.locator('[data-testid="presence-dot"][data-online="true"]').waitFor();
  await seller.page.locator('[data-testid="presence-dot"][data-online="true"]').waitFor();
  // And the seller can answer again.
  await seller.page.getByTestId('message-input').fill('네 내일 저녁 괜찮아요');
  await seller.page.getByTestId('message-input').press('Enter');
  await bubble(buyer.page, '네 내일 저녁 괜찮아요').waitFor();

  await buyer.page.screenshot({ path: join(screenshotDir(), 'buyer-blocked-phone.png') });
  // The server ends the buyer's connection after its ERROR; nothing else may be reported.
  assert.deepEqual(buyer.errors.filter((e) => !/WebSocket/.test(e)), []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('reporting: the buyer reports the room as a scam, and the operators find it with the conversation', async () => {
  const token = randomBytes(24).toString('hex');
  const admin = await new Server(['--admin-token', token]).start();
  try {
    const buyerId = `buyer-${uniq()}`;
    const sellerId = `seller-${uniq()}`;
    const room = await admin.openRoom(buyerId, sellerId, '맥북 프로 M3 미개봉');
    const texts = ['미개봉 새제품 맞아요', '다른 분도 연락 와서 오늘 중으로 결정해 주세요'];
    const device = await admin.stomp(sellerId);
    await sendAll(device, room, texts);
    await device.deactivate();

    const buyer = await person(browser, admin, PHONE);
    await signIn(buyer, buyerId, `/?room=${room}`);
    await bubble(buyer.page, texts[1]).waitFor();

    await buyer.page.getByTestId('report-button').click();
    const dialog = buyer.page.getByTestId('report-dialog');
    await dialog.waitFor();
    const reason = dialog.getByTestId('report-reason');
    assert.deepEqual(
      (await reason.locator('option').allTextContents()).map((t) => t.trim()),
      ['사유를 선택해 주세요', '사기 의심', '욕설·비매너', '스팸·광고', '기타'],
    );
    assert.equal(await dialog.getByTestId('report-submit').isDisabled(), true, 'a reason first');
    await reason.selectOption('SCAM');
    const detailField = dialog.getByTestId('report-detail');
    assert.equal(await detailField.getAttribute('maxlength'), '1000');
    const detail = '시세보다 너무 싸고 계속 빨리 입금하라고 재촉해요.';
    await detailField.fill(detail);
    assert.equal((await dialog.getByTestId('report-detail-count').textContent()).trim(), `${detail.length}/1,000`);
    // The field takes no more than 1000 characters.
    await detailField.fill('가'.repeat(1200));
    assert.equal((await detailField.inputValue()).length, 1000);
    await detailField.fill(detail);
    await dialog.getByTestId('report-submit').click();
    const done = buyer.page.getByTestId('report-done');
    await done.waitFor();
    assert.equal((await done.textContent()).trim(), '신고가 접수되었어요');
    await dialog.waitFor({ state: 'detached' });

    // The operators' list (Bearer --admin-token) holds it, with the room's messages as they were.
    assert.equal((await fetch(`${admin.base}/admin/reports`)).status, 401, 'operators only');
    const r = await fetch(`${admin.base}/admin/reports`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const { reports } = await r.json();
    const report = reports.find((x) => x.roomUUID === room);
    assert.ok(report, `the report is listed: ${JSON.stringify(reports)}`);
    assert.equal(report.reason, 'SCAM');
    assert.equal(report.reporter, buyerId);
    assert.equal(report.detail, detail);
    assert.equal(report.messageId ?? null, null, 'a report of the room, not of one message');
    assert.deepEqual(report.messages.map((m) => m.content), texts);
    assert.ok(report.messages.every((m) => m.roomUUID === room && m.sender === sellerId));

    assert.deepEqual(buyer.errors, []);
    await buyer.context.close();
  } finally {
    await admin.dispose();
  }
});

test('warnings: the buyer sees a caution under the seller\'s phone number, the seller does not; an honest message has none', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '캠핑 랜턴 세트');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);

  const risky = '010-1234-5678 로 문자주세요';
  await seller.page.getByTestId('message-input').fill(risky);
  await seller.page.getByTestId('message-input').press('Enter');
  const theirs = bubble(buyer.page, risky);
  await theirs.waitFor();
  const warning = theirs.locator('[data-testid="message-warning"][data-warning="PHONE_NUMBER"]');
  await warning.waitFor();
  assert.equal((await warning.textContent()).trim(), '전화번호가 포함된 메시지예요. 앱 밖 거래는 사기 위험이 커요.');
  // Not under the sender's own message.
  const mine = bubble(seller.page, risky);
  await mine.and(seller.page.locator('[data-status="sent"][data-message-id]')).waitFor();
  assert.equal(await mine.getByTestId('message-warning').count(), 0, 'no warning under my own message');
  const stored = (await server.history(buyerId, room)).find((m) => m.content === risky);
  assert.ok(stored.warnings?.includes('PHONE_NUMBER'), `the server marked it: ${JSON.stringify(stored)}`);
  // Reloaded from history, the caution is still there.
  await buyer.page.reload();
  await bubble(buyer.page, risky).locator('[data-testid="message-warning"][data-warning="PHONE_NUMBER"]').waitFor();

  // An honest message (a price, a date, a time, a place): no caution on either side.
  const honest = '15만원에 가능할까요? 12/7 오후 3시 강남역';
  await buyer.page.getByTestId('message-input').fill(honest);
  await buyer.page.getByTestId('message-input').press('Enter');
  await bubble(seller.page, honest).waitFor();
  await bubble(buyer.page, honest).and(buyer.page.locator('[data-status="sent"][data-message-id]')).waitFor();
  assert.equal(await bubble(seller.page, honest).getByTestId('message-warning').count(), 0);
  assert.equal(await bubble(buyer.page, honest).getByTestId('message-warning').count(), 0);
  assert.equal((await server.history(sellerId, room)).find((m) => m.content === honest).warnings ?? null, null);

  // The caution offers to report that message: the form starts on 사기 의심 and names it.
  const warned = bubble(buyer.page, risky);
  const id = Number(await warned.getAttribute('data-message-id'));
  const posted = buyer.page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/report');
  await warned.getByTestId('message-report').click();
  const dialog = buyer.page.getByTestId('report-dialog');
  await dialog.waitFor();
  assert.equal(await dialog.getByTestId('report-reason').inputValue(), 'SCAM');
  await dialog.getByTestId('report-submit').click();
  await buyer.page.getByTestId('report-done').waitFor();
  assert.deepEqual((await posted).postDataJSON(), { roomUUID: room, reason: 'SCAM', messageId: id });

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

/** The open room's SYSTEM notices of one kind (`data-notice`). */
const notices = (page, kind) => page.getByTestId('message-list').locator(`[data-testid="message"][data-notice="${kind}"]`);

/** Waits (up to 5 s) until `locator` matches `n` elements. */
async function countBecomes(locator, n) {
  for (let i = 0; i < 100 && (await locator.count()) !== n; i++) await sleep(50);
  assert.equal(await locator.count(), n);
}

/** The marketplace backend reports the listing's status (`PUT /product/{id}/status`, its service token). */
async function reportStatus(srv, productId, status, buyer) {
  const body = buyer ? { status, buyer } : { status };
  const r = await srv.call('PUT', `/product/${encodeURIComponent(productId)}/status`, { Authorization: `Bearer ${SERVICE_TOKEN}` }, body);
  assert.equal(r.status, 204, `PUT /product/${productId}/status ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
}

test('the listing: the marketplace reserves the product, then sells it; both members see the status and its notice, live', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const productId = `p-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '닌텐도 스위치 OLED', productId);
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);
  for (const p of [buyer, seller]) assert.equal(await p.page.getByTestId('product-status').count(), 0, 'no status until the marketplace sets one');

  // Only the marketplace's backend may report it.
  const anyone = await server.call('PUT', `/product/${productId}/status`, { 'X-Auth-User': buyerId }, { status: 'SOLD' });
  assert.equal(anyone.status, 401);

  await reportStatus(server, productId, 'RESERVED', buyerId);
  for (const p of [buyer, seller]) {
    const status = p.page.getByTestId('product-status');
    await status.filter({ hasText: '예약중' }).waitFor();
    assert.equal(await status.getAttribute('data-status'), 'RESERVED');
    await notices(p.page, 'PRODUCT_STATUS').first().waitFor();
  }
  // The seller's list, beside the chat on a desktop, marks the room too.
  const item = seller.page.locator(`[data-testid="room-item"][data-room-uuid="${room}"]`);
  await item.getByTestId('room-product-status').filter({ hasText: '예약중' }).waitFor();

  await reportStatus(server, productId, 'SOLD', buyerId);
  for (const p of [buyer, seller]) {
    await p.page.getByTestId('product-status').filter({ hasText: '거래완료' }).waitFor();
    await countBecomes(notices(p.page, 'PRODUCT_STATUS'), 2);
  }
  await item.getByTestId('room-product-status').filter({ hasText: '거래완료' }).waitFor();

  // Each notice is the server's Korean sentence, a centred SYSTEM line, the same for both.
  const history = (await server.history(buyerId, room)).filter((m) => m.notice === 'PRODUCT_STATUS');
  assert.deepEqual(history.map((m) => [m.type, m.productStatus]), [['SYSTEM', 'RESERVED'], ['SYSTEM', 'SOLD']]);
  for (const p of [buyer, seller]) {
    const shown = (await notices(p.page, 'PRODUCT_STATUS').allTextContents()).map((t) => t.trim());
    assert.deepEqual(shown, history.map((m) => m.content));
    assert.ok(shown.every((t) => /[가-힣]/.test(t)), `Korean: ${shown}`);
    assert.equal(await notices(p.page, 'PRODUCT_STATUS').first().getAttribute('data-type'), 'SYSTEM');
  }

  // Opened again later, the status comes with the room list.
  await buyer.page.reload();
  await buyer.page.getByTestId('product-status').filter({ hasText: '거래완료' }).waitFor();

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test('appointments: the buyer sets a time and place, both see the card in local time; a past time is refused; a cancel takes it off both', async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '다이슨 에어랩');
  const buyer = await person(browser, server, PHONE);
  const seller = await person(browser, server, DESKTOP);
  await bothInRoom(buyer, buyerId, seller, sellerId, room);
  for (const p of [buyer, seller]) assert.equal(await p.page.getByTestId('appointment-card').count(), 0);

  // Three days ahead at 19:00 in the page's own time zone (Asia/Seoul), as the picker gives it.
  const when = await buyer.page.evaluate(() => {
    const pad = (n) => String(n).padStart(2, '0');
    const d = new Date(Date.now() + 3 * 86_400_000);
    d.setHours(19, 0, 0, 0);
    const y = new Date(Date.now() - 86_400_000);
    return {
      value: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T19:00`,
      past: `${y.getFullYear()}-${pad(y.getMonth() + 1)}-${pad(y.getDate())}T10:00`,
      ms: d.getTime(),
      day: `${d.getMonth() + 1}월 ${d.getDate()}일`,
    };
  });

  await buyer.page.getByTestId('appointment-button').click();
  const dialog = buyer.page.getByTestId('appointment-dialog');
  await dialog.waitFor();
  // Yesterday: the server refuses it (invalid_time), and the form says so in Korean.
  await dialog.getByTestId('appointment-at').fill(when.past);
  await dialog.getByTestId('appointment-place').fill('강남역 2번 출구');
  const refused = buyer.page.waitForResponse((r) => r.url().endsWith(`/room/${room}/appointment`) && r.request().method() === 'PUT');
  await dialog.getByTestId('appointment-save').click();
  const refusal = await refused;
  assert.equal(refusal.status(), 400);
  const refusalBody = await refusal.json();
  assert.equal(refusalBody.code ?? refusalBody.error, 'invalid_time', JSON.stringify(refusalBody));
  const error = dialog.getByTestId('appointment-error');
  await error.waitFor();
  assert.equal((await error.textContent()).trim(), '약속 시간은 지금 이후, 1년 안으로 정해 주세요.');
  // A place is required, which the form says before asking the server.
  await dialog.getByTestId('appointment-at').fill(when.value);
  await dialog.getByTestId('appointment-place').fill('  ');
  await dialog.getByTestId('appointment-save').click();
  assert.equal((await error.textContent()).trim(), '약속 장소를 입력해 주세요.');

  await dialog.getByTestId('appointment-place').fill('강남역 2번 출구');
  const saved = buyer.page.waitForResponse((r) => r.url().endsWith(`/room/${room}/appointment`) && r.request().method() === 'PUT');
  await dialog.getByTestId('appointment-save').click();
  const put = await saved;
  assert.equal(put.status(), 204);
  const sent = put.request().postDataJSON();
  assert.equal(sent.place, '강남역 2번 출구');
  assert.match(sent.at, /^\d{4}-\d{2}-\d{2}T19:00:00\+09:00$/, 'RFC 3339 with the local offset');
  assert.equal(Date.parse(sent.at), when.ms);
  await dialog.waitFor({ state: 'detached' });

  for (const p of [buyer, seller]) {
    const card = p.page.getByTestId('appointment-card');
    await card.filter({ hasText: '강남역 2번 출구' }).waitFor();
    const time = card.getByTestId('appointment-when');
    assert.match((await time.textContent()).trim(), new RegExp(`^${when.day} \\([일월화수목금토]\\) 오후 7:00$`));
    assert.equal(Date.parse(await time.getAttribute('datetime')), when.ms);
    await notices(p.page, 'APPOINTMENT').first().waitFor();
  }
  const listed = (await server.api(sellerId, 'GET', '/room/list')).body.find((r) => r.roomUUID === room);
  assert.equal(listed.appointment.place, '강남역 2번 출구');
  assert.equal(Date.parse(listed.appointment.at), when.ms);
  assert.equal(listed.appointment.setBy, buyerId);
  // With one set, the header's button moves it (its text shows on a desktop).
  assert.match(await seller.page.getByTestId('appointment-button').textContent(), /약속 변경/);

  await buyer.page.screenshot({ path: join(screenshotDir(), 'appointment-phone.png') });

  // The seller cancels it: gone on both sides, with a second notice.
  await seller.page.getByTestId('appointment-cancel').click();
  for (const p of [buyer, seller]) {
    await p.page.getByTestId('appointment-card').waitFor({ state: 'detached' });
    await countBecomes(notices(p.page, 'APPOINTMENT'), 2);
  }
  const history = (await server.history(buyerId, room)).filter((m) => m.notice === 'APPOINTMENT');
  assert.equal(history.length, 2);
  assert.equal(history[0].appointment.place, '강남역 2번 출구');
  assert.equal(history[1].appointment, null, 'the cancel notice carries no appointment');
  assert.deepEqual((await notices(buyer.page, 'APPOINTMENT').allTextContents()).map((t) => t.trim()), history.map((m) => m.content));

  // The browser reports the refused PUT on its console; nothing else.
  assert.deepEqual(buyer.errors, ['error: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  assert.deepEqual(seller.errors, []);
  await buyer.context.close();
  await seller.context.close();
});

test("mute: the seller turns the room's notifications off; the toggle, the list and the seller's other device follow, also after a reload", async () => {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await server.openRoom(buyerId, sellerId, '브롬톤 자전거');
  const seller = await person(browser, server, DESKTOP);
  const other = await person(browser, server, PHONE); // the seller's phone
  const ready = [eventsReady(seller.page), eventsReady(other.page)];
  await signIn(seller, sellerId, `/?room=${room}`);
  await signIn(other, sellerId, `/?room=${room}`);
  await Promise.all(ready);
  const toggle = seller.page.getByTestId('mute-toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  assert.equal((await toggle.textContent()).trim(), '알림 끄기');
  const item = seller.page.locator(`[data-testid="room-item"][data-room-uuid="${room}"]`);
  assert.equal(await item.getByTestId('room-muted').count(), 0);
  // On a phone the toggle is an icon; its name still says what it does.
  assert.equal(await other.page.getByRole('button', { name: '알림 끄기' }).getAttribute('aria-pressed'), 'false');

  const settings = () => seller.page.waitForResponse((r) => r.url().endsWith(`/room/${room}/settings`) && r.request().method() === 'PUT');
  let put = settings();
  await toggle.click();
  assert.equal((await put).status(), 204);
  assert.deepEqual((await put).request().postDataJSON(), { muted: true });
  await seller.page.locator('[data-testid="mute-toggle"][aria-pressed="true"]').waitFor();
  assert.equal((await toggle.textContent()).trim(), '알림 켜기');
  await item.getByTestId('room-muted').waitFor();
  // The other device learns it from its ROOM_UPDATED, without a reload.
  await other.page.locator('[data-testid="mute-toggle"][aria-pressed="true"]').waitFor();
  // Mine alone: the buyer's room is not muted.
  assert.equal((await server.api(sellerId, 'GET', '/room/list')).body.find((r) => r.roomUUID === room).muted, true);
  assert.equal((await server.api(buyerId, 'GET', '/room/list')).body.find((r) => r.roomUUID === room).muted, false);

  await seller.page.reload();
  await seller.page.getByTestId('message-input').waitFor();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await item.getByTestId('room-muted').waitFor();

  put = settings();
  await toggle.click();
  assert.deepEqual((await put).request().postDataJSON(), { muted: false });
  await seller.page.locator('[data-testid="mute-toggle"][aria-pressed="false"]').waitFor();
  await item.getByTestId('room-muted').waitFor({ state: 'detached' });
  await other.page.locator('[data-testid="mute-toggle"][aria-pressed="false"]').waitFor();

  assert.deepEqual(seller.errors, []);
  assert.deepEqual(other.errors, []);
  await seller.context.close();
  await other.context.close();
});

test('search: the buyer finds the seller\'s message by a word with a particle and by 초성, the matched words are highlighted, and a hit opens the room at that message', async () => {
  // 70 messages seeded at once are over a person's message rate: a server of its own without
  // that limit (the seeding is the fixture, not what is tested).
  const server = await new Server(['--rate-limits', 'messages=off']).start();
  try {
    await search(server);
  } finally {
    await server.dispose();
  }
});

/** Waits until the open room shows message `id` inside the message list's visible part. */
function messageInView(page, id) {
  return page.waitForFunction((id) => {
    const el = document.querySelector(`[data-testid="message-list"] [data-testid="message"][data-message-id="${id}"]`);
    const list = el?.closest('[data-testid="message-list"]');
    if (!el || !list) return false;
    const r = el.getBoundingClientRect();
    const l = list.getBoundingClientRect();
    return r.height > 0 && r.top >= l.top - 1 && r.bottom <= l.bottom + 1;
  }, id);
}

/** Types a query in the search box and presses Enter. */
async function searchFor(page, q) {
  await page.getByTestId('search-input').fill(q);
  await page.getByTestId('search-input').press('Enter');
}

async function search(server) {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const outsiderId = `outsider-${uniq()}`;
  const name = '삼천리 자전거 26인치';
  const room = await server.openRoom(buyerId, sellerId, name);
  const target = '자전거는 택배거래도 가능해요';
  const markup = '<b>자전거</b> 헬멧도 <img src=x onerror="window.__xss=1">있어요';
  const sellerDevice = await server.stomp(sellerId);
  await sendAll(sellerDevice, room, [target]);
  // Enough after it that it is far from the room's first page (50 messages).
  const buyerDevice = await server.stomp(buyerId);
  const fillers = Array.from({ length: 70 }, (_, i) => `메시지 ${i + 1}번`);
  for (let i = 0; i < fillers.length; i += 35) await sendAll(buyerDevice, room, fillers.slice(i, i + 35));
  await sendAll(sellerDevice, room, [markup]);
  await sellerDevice.deactivate();
  await buyerDevice.deactivate();
  const history = await server.history(buyerId, room);
  const targetId = history.find((m) => m.content === target).id;
  const markupId = history.find((m) => m.content === markup).id;
  assert.ok(history.length - history.findIndex((m) => m.id === targetId) > 60, 'the target is older than the first page');

  const buyer = await person(browser, server, PHONE);
  let searches = 0;
  const historyBefore = [];
  buyer.page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname === '/search') searches++;
    if (url.pathname === `/chat/room/${room}` && url.searchParams.has('before')) historyBefore.push(url.searchParams.get('before'));
  });
  await signIn(buyer, buyerId);
  const results = buyer.page.getByTestId('search-result');
  // The buyer had the room open before: it holds the newest page only, without the target.
  await buyer.page.getByTestId('room-item').first().click();
  await bubble(buyer.page, '헬멧도').waitFor();
  assert.equal(await bubble(buyer.page, target).count(), 0);
  await buyer.page.getByTestId('back-button').click();
  await buyer.page.getByTestId('room-list').waitFor();

  // One character is no search: a hint, and nothing asked of the server.
  await searchFor(buyer.page, '자');
  await buyer.page.getByTestId('search-hint').filter({ hasText: '두 글자 이상 입력하세요' }).waitFor();
  await searchFor(buyer.page, '   ');
  await buyer.page.getByTestId('search-hint').waitFor();
  assert.equal(searches, 0);
  assert.ok(await buyer.page.getByTestId('room-list').isVisible(), 'the room list stays');

  // A word with a particle after it: both of the seller's messages, newest first, the word marked.
  await searchFor(buyer.page, '자전거');
  await buyer.page.waitForFunction(() => document.querySelectorAll('[data-testid="search-result"]').length === 2);
  assert.equal(searches, 1);
  assert.deepEqual(await results.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-message-id')))), [markupId, targetId]);
  assert.deepEqual(await results.evaluateAll((els) => els.map((e) => e.getAttribute('data-room-uuid'))), [room, room]);
  const hit = results.nth(1);
  assert.equal((await hit.getByTestId('search-result-room').textContent()).trim(), name);
  assert.equal((await hit.getByTestId('search-result-sender').textContent()).trim(), sellerId);
  assert.equal((await hit.getByTestId('search-result-time').textContent()).trim(), '방금');
  assert.equal((await hit.getByTestId('search-result-text').textContent()).trim(), target);
  assert.deepEqual(await hit.locator('mark').allTextContents(), ['자전거']);
  // Markup in a hit is text: shown as typed, the word inside it marked, nothing run.
  assert.equal((await results.nth(0).getByTestId('search-result-text').textContent()).trim(), markup);
  assert.deepEqual(await results.nth(0).locator('mark').allTextContents(), ['자전거']);
  assert.equal(await buyer.page.getByTestId('search-results').locator('b, img, script').count(), 0);
  assert.equal(await buyer.page.evaluate(() => window.__xss), undefined);
  assert.equal(await buyer.page.getByTestId('room-list').count(), 0, 'the results replace the list');

  // Many hits come 20 at a time; "더 보기" asks for the older ones, each once, newest first.
  await searchFor(buyer.page, '메시지');
  await buyer.page.waitForFunction(() => document.querySelectorAll('[data-testid="search-result"]').length === 20);
  for (const expected of [40, 60, 70]) {
    await buyer.page.getByTestId('search-more').click();
    await buyer.page.waitForFunction((n) => document.querySelectorAll('[data-testid="search-result"]').length === n, expected);
  }
  await buyer.page.getByTestId('search-more').waitFor({ state: 'detached' });
  const fillerIds = history.filter((m) => m.content.startsWith('메시지 ')).map((m) => m.id).reverse();
  assert.deepEqual(await results.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-message-id')))), fillerIds);

  await searchFor(buyer.page, '없는단어입니다');
  await buyer.page.getByTestId('search-empty').filter({ hasText: '검색 결과가 없습니다' }).waitFor();
  assert.equal(await results.count(), 0);

  // The hit opens the room at the message: older pages load until it is there, it is scrolled
  // into view and flashes.
  await searchFor(buyer.page, '자전거');
  await buyer.page.waitForFunction(() => document.querySelectorAll('[data-testid="search-result"]').length === 2);
  historyBefore.length = 0;
  await results.nth(1).click();
  await buyer.page.locator(`[data-testid="message"][data-message-id="${targetId}"][data-found="true"]`).waitFor();
  await messageInView(buyer.page, targetId);
  assert.equal(new URL(buyer.page.url()).searchParams.get('room'), room);
  assert.ok(historyBefore.length > 0, 'older history was read to reach it');
  assert.equal(await bubble(buyer.page, target).count(), 1);
  const dir = screenshotDir();
  await buyer.page.screenshot({ path: join(dir, 'search-found-phone.png') });
  // Back on the list the results are still there; closing the search brings the room list back.
  await buyer.page.getByTestId('back-button').click();
  await results.nth(1).waitFor();
  await buyer.page.screenshot({ path: join(dir, 'search-phone.png') });
  await buyer.page.getByTestId('search-close').click();
  await buyer.page.getByTestId('room-list').waitFor();
  assert.equal(await buyer.page.getByTestId('search-input').inputValue(), '');
  assert.equal(await results.count(), 0);

  // 초성: the seller (on a desktop) finds 택배거래 by ㅌㅂ, the two syllables marked.
  const seller = await person(browser, server, DESKTOP);
  await signIn(seller, sellerId);
  await searchFor(seller.page, 'ㅌㅂ');
  const sellerResults = seller.page.getByTestId('search-result');
  await sellerResults.first().waitFor();
  assert.equal(await sellerResults.count(), 1);
  assert.equal(await sellerResults.first().getAttribute('data-message-id'), String(targetId));
  assert.deepEqual(await sellerResults.first().locator('mark').allTextContents(), ['택배']);
  assert.equal((await sellerResults.first().getByTestId('search-result-sender').textContent()).trim(), '나');
  await sellerResults.first().click();
  await seller.page.locator(`[data-testid="message"][data-message-id="${targetId}"][data-found="true"]`).waitFor();
  await messageInView(seller.page, targetId);
  // Beside the chat the results stay, and another search works on.
  await searchFor(seller.page, '택배거래');
  await seller.page.waitForFunction((id) => {
    const hits = document.querySelectorAll('[data-testid="search-result"]');
    return hits.length === 1 && hits[0].getAttribute('data-message-id') === String(id);
  }, targetId);

  // Someone not in the room finds nothing of it.
  const outsider = await person(browser, server, PHONE);
  await signIn(outsider, outsiderId);
  await searchFor(outsider.page, '자전거');
  await outsider.page.getByTestId('search-empty').waitFor();
  assert.equal(await outsider.page.getByTestId('search-result').count(), 0);
  assert.deepEqual(await server.api(outsiderId, 'GET', `/search?q=${encodeURIComponent('ㅌㅂ')}`), { status: 200, body: { messages: [], next: null } });
  assert.equal((await server.api(outsiderId, 'GET', `/search?q=${encodeURIComponent('자전거')}&roomUUID=${room}`)).status, 403);

  assert.deepEqual(buyer.errors, []);
  assert.deepEqual(seller.errors, []);
  assert.deepEqual(outsider.errors, []);
  await buyer.context.close();
  await seller.context.close();
  await outsider.context.close();
}

/** The notifications the origin's service worker shows now (as the page's registration lists them). */
function shownNotifications(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
  });
}

const pushSubscriptions = (srv, method) => (r) => r.url() === `${srv.base}/push/subscriptions` && r.request().method() === method;

test('notifications: the page registers /sw.js and subscribes; the server pushes (VAPID, aes128gcm) while the seller is away; the worker shows it and a click opens the room', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reuse-chat-vapid-'));
  const vapid = vapidKeyFile(dir);
  const receiver = await new PushReceiver().start();
  const srv = await new Server(['--vapid-private-key', vapid.file, '--push-allow-http-loopback']).start();
  try {
    await notifications(srv, receiver, vapid);
  } finally {
    await srv.dispose();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function notifications(srv, receiver, vapid) {
  const buyerId = `buyer-${uniq()}`;
  const sellerId = `seller-${uniq()}`;
  const room = await srv.openRoom(buyerId, sellerId, '아이폰 15 프로 256GB');
  assert.deepEqual(await srv.api(sellerId, 'GET', '/push/config'), { status: 200, body: { webPush: true, vapidPublicKey: vapid.publicKey } });

  // The seller allowed notifications before: signing in subscribes and tells the server.
  // (The browser's push service is the stand-in of webpush.mjs; see there why.)
  const sellerKeys = subscriberKeys();
  const seller = await person(browser, srv, DESKTOP);
  await seller.context.grantPermissions(['notifications'], { origin: srv.base });
  await seller.context.addInitScript(pushServiceStandIn, { endpoint: receiver.endpoint('seller'), p256dh: sellerKeys.p256dh, auth: sellerKeys.auth });
  const posted = seller.page.waitForResponse(pushSubscriptions(srv, 'POST'));
  await signIn(seller, sellerId);
  const post = await posted;
  assert.equal(post.status(), 201);
  assert.deepEqual(post.request().postDataJSON(), {
    endpoint: receiver.endpoint('seller'),
    expirationTime: null,
    keys: { p256dh: sellerKeys.p256dh, auth: sellerKeys.auth },
  });
  // The real worker: /sw.js, for the whole origin, active; and the subscription the page holds.
  const registered = await seller.page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    const sub = await reg.pushManager.getSubscription();
    return { script: reg.active?.scriptURL, scope: reg.scope, endpoint: sub?.endpoint, permission: Notification.permission };
  });
  assert.deepEqual(registered, { script: `${srv.base}/sw.js`, scope: `${srv.base}/`, endpoint: receiver.endpoint('seller'), permission: 'granted' });
  assert.equal(await seller.page.getByTestId('notify-enable').count(), 0, 'allowed already: nothing to ask');

  // The buyer was never asked: "알림 받기" asks (the browser's prompt, answered yes) and subscribes.
  const buyerKeys = subscriberKeys();
  const buyer = await person(browser, srv, PHONE);
  await buyer.context.addInitScript(pushServiceStandIn, { endpoint: receiver.endpoint('buyer'), p256dh: buyerKeys.p256dh, auth: buyerKeys.auth });
  await signIn(buyer, buyerId, `/?room=${room}`);
  const ask = buyer.page.getByTestId('notify-enable');
  await ask.waitFor();
  assert.equal((await ask.textContent()).trim(), '알림 받기');
  await buyer.context.grantPermissions(['notifications'], { origin: srv.base });
  const buyerPosted = buyer.page.waitForResponse(pushSubscriptions(srv, 'POST'));
  await ask.click();
  assert.equal((await buyerPosted).status(), 201);
  await ask.waitFor({ state: 'detached' });
  await buyer.page.locator('[data-testid="presence-dot"][data-online="true"]').waitFor();

  // The seller's tab closes (the browser stays, with its worker and subscription): away.
  await seller.page.close();
  await buyer.page.locator('[data-testid="presence-dot"][data-online="false"]').waitFor();
  const text = '오늘 저녁에 직거래 가능할까요?';
  await buyer.page.getByTestId('message-input').fill(text);
  await buyer.page.getByTestId('message-input').press('Enter');
  await bubble(buyer.page, text).and(buyer.page.locator('[data-status="sent"]')).waitFor();

  // The server's push, as the push service gets it: VAPID-signed for the endpoint's origin,
  // encrypted for the subscription's keys.
  const push = await receiver.next('seller', 30_000);
  assert.equal(push.method, 'POST');
  assert.equal(push.headers['content-encoding'], 'aes128gcm');
  assert.match(push.headers.ttl ?? '', /^\d+$/);
  const claims = vapidClaims(push.headers.authorization, vapid);
  assert.equal(claims.aud, receiver.origin);
  assert.match(claims.sub, /^(mailto|https):/);
  assert.ok(claims.exp * 1000 > Date.now() && claims.exp * 1000 <= Date.now() + 24 * 3600_000 + 60_000, `exp ${claims.exp}`);
  const payloadText = decryptPush(push.body, sellerKeys);
  const payload = JSON.parse(payloadText);
  assert.equal(payload.type, 'MESSAGE');
  assert.equal(payload.roomUUID, room);
  assert.equal(payload.url, `/?room=${room}`);
  assert.equal(payload.tag, `room-${room}`);
  assert.ok(typeof payload.title === 'string' && payload.title && typeof payload.body === 'string' && payload.body, payloadText);
  assert.ok(payload.count >= 1, payloadText);
  assert.equal(receiver.pushes.filter((p) => p.id === 'buyer').length, 0, 'the buyer, online, gets none');

  // Delivered to the seller's browser (what its push service would do): the worker shows it.
  const page = await seller.context.newPage();
  const pageErrors = recordErrors(page);
  await page.goto(`${srv.base}/`);
  await page.getByTestId('room-item').waitFor();
  await deliverPush(seller.context, page, srv.base, payloadText);
  let shown = [];
  for (let i = 0; i < 100 && shown.length === 0; i++) {
    await sleep(50);
    shown = await shownNotifications(page);
  }
  assert.deepEqual(shown, [{ title: payload.title, body: payload.body, tag: payload.tag, data: { url: payload.url, roomUUID: room } }]);
  // One per room: the next burst's replaces it.
  await deliverPush(seller.context, page, srv.base, JSON.stringify({ ...payload, body: '두 번째', count: 2 }));
  await page.waitForFunction(async () => {
    const all = await (await navigator.serviceWorker.ready).getNotifications();
    return all.length === 1 && all[0].body === '두 번째';
  });

  // The click. Headless Chromium has no way to click a notification, and a notificationclick made
  // by a script may not waitUntil; so the worker's click handler's own function runs in the worker.
  const worker = seller.context.serviceWorkers().find((w) => w.url() === `${srv.base}/sw.js`);
  assert.ok(worker, 'the service worker runs');
  await worker.evaluate(async () => {
    const [n] = await self.registration.getNotifications();
    n.close();
    await openNotification(n.data);
  });
  // The open page shows the room at once (its own router: no reload, still connected).
  await bubble(page, text).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('room'), room);
  assert.deepEqual(await shownNotifications(page), []);

  // Signing out: the server forgets the subscription, and the browser drops it.
  const deleted = page.waitForResponse(pushSubscriptions(srv, 'DELETE'));
  await page.getByTestId('logout-button').click();
  const del = await deleted;
  assert.equal(del.status(), 204);
  assert.deepEqual(del.request().postDataJSON(), { endpoint: receiver.endpoint('seller') });
  await page.waitForFunction(() => window.__pushStandIn.unsubscribe === 1);

  assert.deepEqual(seller.errors, []);
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(buyer.errors, []);
  await buyer.context.close();
  await seller.context.close();
}
