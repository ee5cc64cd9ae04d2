// Web Push in the browser: the service worker (/sw.js) registered, this browser subscribed with the server's key and told to the server (again at every sign-in), taken back at sign-out; the worker's "open this room" messages.
import { pushPlan, roomToOpen, sameKey, subscriptionBody, vapidKey } from '../push';
import type { Api } from './api';

/**
 * `idle` until /push/config is read; `off` (no Web Push here: the browser or the server), `denied`
 * (the person said no), `ask` (the "알림 받기" button), `working` (registering and subscribing),
 * `on`, or `failed` (the browser could not subscribe: the button offers to try again).
 */
export type PushState = 'idle' | 'off' | 'denied' | 'ask' | 'working' | 'on' | 'failed';

/** Served from web/public at the root, so its scope is the whole page. */
const WORKER = '/sw.js';

/** Whether this browser can do Web Push at all (service workers need a secure context: https or localhost). */
export function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    'Notification' in window
  );
}

export class PushClient {
  state: PushState = 'idle';
  /** Set when a subscription the person asked for (the button) failed. */
  failedOnAsk = false;
  private key: Uint8Array<ArrayBuffer> | null = null;
  private working: Promise<void> | null = null;
  private signedOut = false;

  constructor(
    private readonly api: Api,
    private readonly changed: () => void,
  ) {}

  private set(state: PushState): void {
    if (this.state === state) return;
    this.state = state;
    this.changed();
  }

  /** After signing in: read /push/config, then subscribe (allowed already) or offer the button. */
  async start(): Promise<void> {
    if (!pushSupported()) return this.set('off');
    // Asked and refused: nothing to offer, and no need to ask the server.
    if (Notification.permission === 'denied') return this.set('denied');
    let config = null;
    try {
      config = await this.api.pushConfig();
    } catch {
      // an older server, or down: no notifications this time
    }
    const key = vapidKey(config?.vapidPublicKey);
    this.key = key ? new Uint8Array(key) : null;
    const plan = pushPlan(config, Notification.permission);
    if (plan === 'subscribe') await this.subscribe(false);
    else this.set(plan);
  }

  /** The "알림 받기" button: the browser's prompt (it must come from the click), then the subscription. */
  async enable(): Promise<void> {
    if (this.state !== 'ask' && this.state !== 'failed') return;
    this.failedOnAsk = false;
    const permission = await Notification.requestPermission();
    if (permission === 'granted') await this.subscribe(true);
    else this.set(permission === 'denied' ? 'denied' : 'ask');
  }

  private subscribe(asked: boolean): Promise<void> {
    this.working ??= this.doSubscribe(asked).finally(() => {
      this.working = null;
    });
    return this.working;
  }

  private async doSubscribe(asked: boolean): Promise<void> {
    const key = this.key;
    if (!key || this.signedOut) return this.set('off');
    this.set('working');
    try {
      await navigator.serviceWorker.register(WORKER, { scope: '/' });
      // Subscribing needs an active worker, which a first registration is not yet.
      const reg = await navigator.serviceWorker.ready;
      let sub = await reg.pushManager.getSubscription();
      if (sub && !sameKey(sub.options.applicationServerKey, key)) {
        // Made for another key (the server's changed): it would never be delivered to.
        await sub.unsubscribe();
        sub = null;
      }
      sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      const body = subscriptionBody(sub.toJSON());
      if (!body) throw new Error('subscription without endpoint or keys');
      if (this.signedOut) return;
      // Every sign-in: the server keeps one row per endpoint, now mine.
      await this.api.addPushSubscription(body);
      this.set('on');
    } catch {
      this.failedOnAsk = asked;
      this.state = 'failed';
      this.changed();
    }
  }

  /**
   * Signing out: the server forgets this browser's subscription and the browser drops it, so the
   * next person to sign in here gets none of my notifications (theirs subscribes anew).
   */
  async signOut(): Promise<void> {
    this.signedOut = true;
    if (!pushSupported()) return;
    await this.working?.catch(() => {});
    try {
      const reg = await navigator.serviceWorker.getRegistration('/');
      const sub = await reg?.pushManager.getSubscription();
      if (!sub) return;
      await this.api.removePushSubscription(sub.endpoint).catch(() => {});
      await sub.unsubscribe();
    } catch {
      // nothing registered, or the browser refuses: nothing more to do
    }
  }
}

/**
 * Calls `open` with the room of each "open this room" message from the service worker (a clicked
 * notification while this page is open). Returns the unsubscribe.
 */
export function onOpenRoomMessage(open: (roomUUID: string) => void): () => void {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return () => {};
  const container = navigator.serviceWorker;
  const on = (e: MessageEvent) => {
    const room = roomToOpen(e.data);
    if (room) open(room);
  };
  container.addEventListener('message', on);
  // Messages wait until the page says it listens (also done by the document's load, not always yet).
  container.startMessages();
  return () => container.removeEventListener('message', on);
}
