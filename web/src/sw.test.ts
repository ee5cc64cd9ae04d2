// The service worker (public/sw.js) run against a fake worker scope: the notifications it shows and the windows it opens.
import { describe, expect, it } from 'vitest';
import source from '../public/sw.js?raw';
import { OPEN_ROOM, roomToOpen } from './push';

const ORIGIN = 'https://chat.example';
const R = '0b8e6f4e-0000-4000-8000-000000000001';

interface FakeWindow {
  url: string;
  focused: boolean;
  visibilityState: 'visible' | 'hidden';
  messages: unknown[];
  focusRefused?: boolean;
  focusedByClick: boolean;
  postMessage: (m: unknown) => void;
  focus: () => Promise<FakeWindow>;
}

function win(path: string, over: Partial<FakeWindow> = {}): FakeWindow {
  const w: FakeWindow = {
    url: `${ORIGIN}${path}`,
    focused: false,
    visibilityState: 'hidden',
    messages: [],
    focusedByClick: false,
    postMessage: (m) => w.messages.push(m),
    focus: async () => {
      if (w.focusRefused) throw new DOMException('Not allowed to focus a window.', 'InvalidAccessError');
      w.focusedByClick = true;
      return w;
    },
    ...over,
  };
  return w;
}

type Listener = (event: Record<string, unknown>) => void;

/** The worker's script run with `self` a fake scope holding these windows. */
function worker(windows: FakeWindow[] = []) {
  const listeners = new Map<string, Listener>();
  const shown: { title: string; options: Record<string, unknown> }[] = [];
  const opened: string[] = [];
  const calls: string[] = [];
  const self = {
    location: { origin: ORIGIN },
    addEventListener: (type: string, fn: Listener) => listeners.set(type, fn),
    skipWaiting: () => {
      calls.push('skipWaiting');
      return Promise.resolve();
    },
    registration: {
      showNotification: async (title: string, options: Record<string, unknown>) => {
        shown.push({ title, options });
      },
    },
    clients: {
      matchAll: async (opts: unknown) => {
        calls.push(`matchAll ${JSON.stringify(opts)}`);
        return windows;
      },
      openWindow: async (url: string) => {
        opened.push(url);
        return null;
      },
      claim: async () => {
        calls.push('claim');
      },
    },
  };
  const api = new Function('self', `${source}\nreturn { OPEN_ROOM };`)(self) as { OPEN_ROOM: string };
  /** Dispatches an event as the browser would, and waits for what it keeps the worker alive for. */
  const dispatch = async (type: string, event: Record<string, unknown> = {}) => {
    let kept: Promise<unknown> = Promise.resolve();
    listeners.get(type)!({ ...event, waitUntil: (p: Promise<unknown>) => (kept = p) });
    await kept;
  };
  const push = (payload: unknown) =>
    dispatch('push', { data: { text: () => (typeof payload === 'string' ? payload : JSON.stringify(payload)) } });
  const click = async (data: unknown) => {
    const notification = { data, closed: false, close: () => (notification.closed = true) };
    await dispatch('notificationclick', { notification });
    return notification;
  };
  return { api, shown, opened, calls, dispatch, push, click };
}

const payload = {
  type: 'MESSAGE',
  roomUUID: R,
  title: '삼천리 자전거 26인치',
  body: 'buyer-1: 아직 있나요?',
  count: 2,
  url: `/?room=${R}`,
  tag: `room-${R}`,
};

describe('the service worker', () => {
  it('speaks the page’s message type', () => {
    expect(worker().api.OPEN_ROOM).toBe(OPEN_ROOM);
  });

  it('takes over at once when installed', async () => {
    const w = worker();
    await w.dispatch('install');
    await w.dispatch('activate');
    expect(w.calls).toEqual(['skipWaiting', 'claim']);
  });

  it('shows a push as a notification of its room, one per room', async () => {
    const w = worker();
    await w.push(payload);
    expect(w.shown).toEqual([
      {
        title: '삼천리 자전거 26인치',
        options: { body: 'buyer-1: 아직 있나요?', tag: `room-${R}`, renotify: true, lang: 'ko', data: { url: `/?room=${R}`, roomUUID: R } },
      },
    ]);
  });

  it('opens only paths of its own origin, whatever the payload says', async () => {
    for (const url of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 42]) {
      const w = worker();
      await w.push({ ...payload, url });
      expect(w.shown[0]!.options.data, String(url)).toEqual({ url: `/?room=${R}`, roomUUID: R });
    }
  });

  it('still shows something for a push it cannot read (a push must show)', async () => {
    const w = worker();
    await w.push('not json');
    expect(w.shown).toEqual([{ title: '새 메시지', options: { body: '', lang: 'ko', data: { url: '/', roomUUID: null } } }]);
    const v = worker();
    await v.push({ roomUUID: R });
    expect(v.shown[0]).toMatchObject({ title: '새 메시지', options: { tag: `room-${R}`, data: { url: `/?room=${R}` } } });
  });

  it('shows every push, also while a page of ours is in front (the server pushes only to the away)', async () => {
    const w = worker([win(`/?room=${R}`, { focused: true, visibilityState: 'visible' })]);
    await w.push(payload);
    expect(w.shown).toHaveLength(1);
  });

  it('a click closes the notification and opens a new window at the room without one of ours open', async () => {
    const w = worker();
    const n = await w.click({ url: `/?room=${R}`, roomUUID: R });
    expect(n.closed).toBe(true);
    expect(w.opened).toEqual([`/?room=${R}`]);
  });

  it('a click asks an open page to show the room and brings it to the front', async () => {
    const list = win('/', { focused: true, visibilityState: 'visible' });
    const other = win('/?room=other');
    const w = worker([other, list]);
    await w.click({ url: `/?room=${R}`, roomUUID: R });
    expect(w.opened).toEqual([]);
    // the focused page, not the first one; pages it does not control yet count too
    expect(w.calls).toContain('matchAll {"type":"window","includeUncontrolled":true}');
    expect(list.messages).toEqual([{ type: OPEN_ROOM, roomUUID: R }]);
    expect(roomToOpen(list.messages[0])).toBe(R);
    expect(list.focusedByClick).toBe(true);
    expect(other.messages).toEqual([]);
  });

  it('takes any page of ours when none is focused, and copes with focus refused', async () => {
    const behind = win(`/?room=other`, { focusRefused: true });
    const w = worker([behind, win('/')]);
    await w.click({ url: `/?room=${R}`, roomUUID: R });
    expect(w.opened).toEqual([]);
    expect(behind.messages).toEqual([{ type: OPEN_ROOM, roomUUID: R }]);
  });

  it('reads the room from the address when the data has only that, and opens the page for none', async () => {
    const page = win('/');
    const w = worker([page]);
    await w.click({ url: `/?room=${R}` });
    expect(page.messages).toEqual([{ type: OPEN_ROOM, roomUUID: R }]);
    const v = worker();
    await v.click({ url: 'https://evil.example/' });
    expect(v.opened).toEqual(['/']);
    const empty = worker([win('/')]);
    await empty.click(null);
    expect(empty.opened).toEqual([]);
  });
});
