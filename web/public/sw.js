// The service worker (/sw.js, scope /): shows the server's Web Push messages as notifications, one per room, and opens the room when one is clicked.
// A plain script, copied as it is into dist/ by Vite (web/src/sw.test.ts runs it against fakes). It has no fetch handler: the page loads as it would without it.
'use strict';

/** The message that asks an open page to show a room (web/src/push.ts reads it). */
const OPEN_ROOM = 'reuse-chat:open-room';

/** The page's address of a room. */
function roomPath(roomUUID) {
  return '/?room=' + encodeURIComponent(roomUUID);
}

/** The room an address names (`?room=`), or null. */
function roomOfUrl(href) {
  try {
    return new URL(href, self.location.origin).searchParams.get('room');
  } catch {
    return null;
  }
}

/** Only a path of this origin is ever opened, whatever a payload says. */
function samePath(url) {
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return null;
  return url;
}

/**
 * The notification for a push's text: `{"type":"MESSAGE","roomUUID","title","body","count","url","tag"}`
 * (the server's payload). Something unreadable still shows (a push that shows nothing is not
 * allowed), as a plain "새 메시지" that opens the page.
 */
function notificationOf(text) {
  let p = null;
  try {
    p = JSON.parse(text);
  } catch {
    // not JSON: the plain notification below
  }
  if (!p || typeof p !== 'object') p = {};
  const roomUUID = typeof p.roomUUID === 'string' && p.roomUUID ? p.roomUUID : null;
  const url = samePath(p.url) || (roomUUID ? roomPath(roomUUID) : '/');
  const tag = typeof p.tag === 'string' && p.tag ? p.tag : roomUUID ? 'room-' + roomUUID : undefined;
  const options = {
    body: typeof p.body === 'string' ? p.body : '',
    data: { url, roomUUID },
    lang: 'ko',
  };
  if (tag) {
    // One notification per room: a later burst replaces it, and alerts again.
    options.tag = tag;
    options.renotify = true;
  }
  return { title: typeof p.title === 'string' && p.title ? p.title : '새 메시지', options };
}

/**
 * Shows the push. Every one: the server sends none while the person has a live session, and a
 * page's address as the worker sees it (`Client.url`) does not follow the rooms opened in it
 * (Chromium keeps the address it loaded), so "is that room in front" cannot be told here.
 */
function showPush(text) {
  const n = notificationOf(text);
  return self.registration.showNotification(n.title, n.options);
}

/**
 * A clicked notification's room: an open page of ours (the focused one, else any) is asked to
 * show it (it stays signed in and connected) and brought to the front; with none, a new window
 * opens at the room's address.
 */
async function openNotification(data) {
  const d = data && typeof data === 'object' ? data : {};
  const roomUUID = typeof d.roomUUID === 'string' && d.roomUUID ? d.roomUUID : null;
  const url = samePath(d.url) || (roomUUID ? roomPath(roomUUID) : '/');
  const room = roomUUID || roomOfUrl(url);
  const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const client = open.find((c) => c.focused) || open[0];
  if (!client) {
    await self.clients.openWindow(url);
    return;
  }
  if (room) client.postMessage({ type: OPEN_ROOM, roomUUID: room });
  try {
    await client.focus();
  } catch {
    // focusing is the browser's to allow (only from a click): the page shows the room anyway
  }
}

self.addEventListener('install', () => {
  // Nothing to cache: the new worker takes over at once.
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('push', (event) => {
  event.waitUntil(showPush(event.data ? event.data.text() : ''));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openNotification(event.notification.data));
});
