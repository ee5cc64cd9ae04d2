// A signed-in chat session: the STOMP client, subscriptions, room list, message stores, outbox and the resume on reconnect.
import { Client, ReconnectionTimeMode, type IFrame, type IMessage, type StompSubscription } from '@stomp/stompjs';
import { MessageStore } from '../messages';
import { clientMessageIdOfReceipt, newClientMessageId, Outbox, RECEIPT_TIMEOUT_MS, receiptIdFor } from '../outbox';
import { resumeRoom } from '../resume';
import { applyMessage, chooseSubscriptions, markOf, markRoomRead, mergeRoomList, removeRoom, totalUnread, upsertRoom } from '../rooms';
import type { ChatMessage, ClientConfig, Identity, Room } from '../types';
import { Api, errorCode } from './api';

export type ConnState = 'connecting' | 'connected' | 'reconnecting';

/** Page size when opening a room and scrolling up. */
export const PAGE = 50;

const SUB_RECEIPT = 'sub-';
/** How long after a RECEIPT the message's own MESSAGE may take before we read it from history. */
const CATCH_UP_DELAY_MS = 400;
/** SUBSCRIBE refusals that will not change by retrying: drop that room from the subscriptions. */
const SUBSCRIBE_REFUSED = new Set(['not_a_member', 'room_not_found', 'invalid_room_id']);

export interface RoomView {
  store: MessageStore | null;
  loading: boolean;
  loadingOlder: boolean;
  /** An error code that stopped the room from loading. */
  error: string | null;
}

function isChatMessage(x: unknown): x is ChatMessage {
  if (!x || typeof x !== 'object') return false;
  const m = x as Partial<ChatMessage>;
  return typeof m.id === 'number' && typeof m.roomUUID === 'string' && typeof m.content === 'string';
}

export class ChatSession {
  readonly me: string;
  readonly api: Api;
  readonly config: ClientConfig;
  private readonly identity: Identity;

  rooms: Room[] = [];
  roomsLoaded = false;
  /** Error code of the last failed /room/list, cleared by the next success. */
  roomsError: string | null = null;
  conn: ConnState = 'connecting';
  openRoom: string | null = null;
  /** Bumped on every change; views re-render when it moves. */
  version = 0;

  private readonly stores = new Map<string, MessageStore>();
  private readonly roomState = new Map<string, { loading: boolean; loadingOlder: boolean; error: string | null }>();
  private readonly outbox = new Outbox();
  private readonly client: Client;
  private readonly subs = new Map<string, StompSubscription>();
  private readonly refused = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private connection = 0;
  /** True once the current connection has subscribed and resumed: sends may flush. */
  private ready = false;
  private everConnected = false;
  private stopped = false;
  private roomsInFlight: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  onAuthLost: ((code: string) => void) | null = null;

  constructor(identity: Identity, config: ClientConfig, brokerURL: string) {
    this.identity = identity;
    this.me = identity.userId;
    this.config = config;
    this.api = new Api(identity);
    const connectHeaders: Record<string, string> =
      identity.mode === 'header' ? { 'X-Auth-User': identity.userId } : { Authorization: `Bearer ${identity.token}` };
    this.client = new Client({
      brokerURL,
      connectHeaders,
      heartbeatIncoming: config.heartbeatMs,
      heartbeatOutgoing: config.heartbeatMs,
      reconnectDelay: 500,
      maxReconnectDelay: 10_000,
      reconnectTimeMode: ReconnectionTimeMode.EXPONENTIAL,
      connectionTimeout: 10_000,
      debug: () => {},
      onConnect: () => this.onConnect(),
      onStompError: (f) => this.onStompError(f),
      onWebSocketClose: () => this.onClose(),
      onWebSocketError: () => {},
    });
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Connects; `rooms` is a /room/list answer already in hand (the sign-in check's). */
  start(rooms?: Room[]): void {
    if (rooms) {
      this.rooms = mergeRoomList([], rooms, this.me);
      this.roomsLoaded = true;
    } else {
      void this.refreshRooms();
    }
    this.client.activate();
    this.timer = setInterval(() => this.expireSends(), 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    await this.client.deactivate();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    if (this.stopped) return;
    this.version++;
    for (const l of [...this.listeners]) l();
  }

  // ---- connection ------------------------------------------------------------------------

  private onConnect(): void {
    if (this.stopped) return;
    this.connection++;
    const conn = this.connection;
    this.everConnected = true;
    this.conn = 'connected';
    this.ready = false;
    this.subs.clear();
    // The newest id each room held before this connection: the catch-up starts there. Taken
    // before subscribing, because a live MESSAGE on the new subscription may arrive before the
    // catch-up runs, and starting after it would skip the gap.
    const marks = new Map<string, number | null>();
    for (const [room, store] of this.stores) marks.set(room, store.newestId);
    this.syncSubscriptions();
    this.emit();
    void this.afterConnect(conn, marks);
  }

  /** Subscribed already; now the list, the catch-up of every loaded room, then the outbox. */
  private async afterConnect(conn: number, marks: Map<string, number | null>): Promise<void> {
    await this.refreshRooms();
    for (const [room, store] of [...this.stores]) {
      if (conn !== this.connection) return;
      if (!store.loaded) continue;
      try {
        const fetchAfter = (id: string, after: number, limit: number) => this.api.history(id, { after }, limit);
        const r = await resumeRoom(store, fetchAfter, this.config.limits.historyPage, marks.get(room) ?? null);
        this.confirmMine(r.store);
        if (r.added > 0) this.emit();
      } catch {
        // this room stays as it was; the next reconnect or opening it catches up
      }
    }
    if (conn !== this.connection || this.conn !== 'connected') return;
    this.ready = true;
    this.flush();
  }

  private onClose(): void {
    if (this.stopped) return;
    this.ready = false;
    this.subs.clear();
    this.outbox.connectionLost();
    const next: ConnState = this.everConnected ? 'reconnecting' : 'connecting';
    if (this.conn !== next) {
      this.conn = next;
      this.emit();
    }
  }

  private onStompError(frame: IFrame): void {
    const code = frame.headers['code'] ?? '';
    const receipt = frame.headers['receipt-id'];
    const cmid = clientMessageIdOfReceipt(receipt);
    if (cmid) {
      const entry = this.outbox.get(cmid);
      const outcome = this.outbox.error(cmid, code);
      if (outcome === 'failed' && entry) this.stores.get(entry.roomUUID)?.markFailed(cmid, code);
      this.emit();
      return;
    }
    if (receipt?.startsWith(SUB_RECEIPT) && SUBSCRIBE_REFUSED.has(code)) {
      const room = receipt.slice(SUB_RECEIPT.length);
      this.refused.add(room);
      this.emit();
      void this.refreshRooms();
      return;
    }
    if (code === 'unauthorized' || code === 'token_expired') {
      this.onAuthLost?.(code);
    }
  }

  private syncSubscriptions(): void {
    if (!this.client.connected) return;
    const want = chooseSubscriptions(this.rooms, this.openRoom, this.config.limits.subscriptions, this.refused);
    const wanted = new Set(want);
    for (const [room, sub] of this.subs) {
      if (!wanted.has(room)) {
        try {
          sub.unsubscribe();
        } catch {
          // connection gone: nothing to undo
        }
        this.subs.delete(room);
      }
    }
    for (const room of want) {
      if (this.subs.has(room)) continue;
      try {
        const sub = this.client.subscribe(`/sub/chat/room/${room}`, (m) => this.onMessage(m), {
          receipt: `${SUB_RECEIPT}${room}`,
        });
        this.subs.set(room, sub);
      } catch {
        return; // not connected after all; onConnect subscribes again
      }
    }
  }

  private onMessage(frame: IMessage): void {
    let msg: unknown;
    try {
      msg = JSON.parse(frame.body);
    } catch {
      return;
    }
    if (!isChatMessage(msg)) return;
    const known = this.rooms.some((r) => r.roomUUID === msg.roomUUID);
    this.rooms = applyMessage(this.rooms, msg, this.me);
    const store = this.stores.get(msg.roomUUID);
    if (store) {
      store.merge([msg]);
      this.confirmMine(store);
    } else if (msg.sender === this.me && msg.clientMessageId) {
      this.outbox.confirm(msg.clientMessageId);
    }
    if (msg.roomUUID === this.openRoom) this.markOpenRead();
    this.syncSubscriptions();
    this.emit();
    if (!known) void this.refreshRooms();
  }

  /** Outbox entries whose message the store now holds are done (the MESSAGE beat the RECEIPT). */
  private confirmMine(store: MessageStore): void {
    for (const e of [...this.outbox.all()]) {
      if (e.roomUUID === store.roomUUID && store.statusOf(e.clientMessageId) === 'sent') {
        this.outbox.confirm(e.clientMessageId);
      }
    }
  }

  get connected(): boolean {
    return this.conn === 'connected';
  }

  // ---- rooms -----------------------------------------------------------------------------

  /** GET /room/list; concurrent calls share one request. */
  refreshRooms(): Promise<void> {
    if (this.roomsInFlight) return this.roomsInFlight;
    this.roomsInFlight = (async () => {
      try {
        const fetched = await this.api.listRooms();
        if (this.stopped) return;
        this.rooms = mergeRoomList(this.rooms, fetched, this.me);
        this.roomsLoaded = true;
        this.roomsError = null;
        this.syncSubscriptions();
      } catch (e) {
        const code = errorCode(e);
        this.roomsError = code;
        if (code === 'unauthorized') this.onAuthLost?.(code);
      } finally {
        this.roomsInFlight = null;
        this.emit();
      }
    })();
    return this.roomsInFlight;
  }

  room(roomUUID: string): Room | undefined {
    return this.rooms.find((r) => r.roomUUID === roomUUID);
  }

  async createRoom(seller: string, name: string): Promise<Room> {
    const room = await this.api.createRoom(seller, name);
    this.refused.delete(room.roomUUID);
    this.rooms = upsertRoom(this.rooms, room);
    this.syncSubscriptions();
    this.emit();
    return room;
  }

  async leave(roomUUID: string): Promise<void> {
    await this.api.leaveRoom(roomUUID);
    this.rooms = removeRoom(this.rooms, roomUUID);
    this.stores.delete(roomUUID);
    this.roomState.delete(roomUUID);
    this.outbox.dropRoom(roomUUID);
    if (this.openRoom === roomUUID) this.openRoom = null;
    const sub = this.subs.get(roomUUID);
    if (sub) {
      try {
        sub.unsubscribe();
      } catch {
        // already gone
      }
      this.subs.delete(roomUUID);
    }
    this.syncSubscriptions();
    this.emit();
  }

  /** Whether the room's other member is online; null when unknown (presence down or failed). */
  async peerOnline(roomUUID: string, peer: string): Promise<boolean | null> {
    try {
      const p = await this.api.presence(roomUUID);
      return Array.isArray(p.online) && p.online.includes(peer);
    } catch {
      return null;
    }
  }

  // ---- the open room ---------------------------------------------------------------------

  view(roomUUID: string): RoomView {
    const st = this.roomState.get(roomUUID);
    return {
      store: this.stores.get(roomUUID) ?? null,
      loading: st?.loading ?? false,
      loadingOlder: st?.loadingOlder ?? false,
      error: st?.error ?? null,
    };
  }

  private state(roomUUID: string) {
    let st = this.roomState.get(roomUUID);
    if (!st) {
      st = { loading: false, loadingOlder: false, error: null };
      this.roomState.set(roomUUID, st);
    }
    return st;
  }

  /** Opens a room (null: none): subscribes it, loads its newest page or catches it up. */
  setOpenRoom(roomUUID: string | null): void {
    if (this.openRoom === roomUUID) return;
    this.openRoom = roomUUID;
    if (roomUUID) {
      this.refused.delete(roomUUID);
      void this.load(roomUUID);
    }
    this.syncSubscriptions();
    this.emit();
  }

  /** Loads the room: the newest page when new, else the messages after the newest one held. */
  async load(roomUUID: string): Promise<void> {
    const st = this.state(roomUUID);
    if (st.loading) return;
    st.loading = true;
    st.error = null;
    this.emit();
    try {
      if (!this.room(roomUUID)) {
        const room = await this.api.enterRoom(roomUUID);
        this.rooms = upsertRoom(this.rooms, room);
        this.syncSubscriptions();
      }
      let store = this.stores.get(roomUUID);
      if (store?.loaded) {
        await resumeRoom(store, (room, after, limit) => this.api.history(room, { after }, limit), this.config.limits.historyPage);
      } else {
        const page = await this.api.history(roomUUID, {}, PAGE);
        store = store ?? new MessageStore(roomUUID, this.me);
        this.stores.set(roomUUID, store);
        store.applyInitialPage(page, PAGE);
      }
      this.confirmMine(store);
      this.markOpenRead();
    } catch (e) {
      st.error = errorCode(e);
    } finally {
      st.loading = false;
      this.emit();
    }
  }

  /** My unread messages over all rooms. */
  get unreadTotal(): number {
    return totalUnread(this.rooms);
  }

  /**
   * The open room is read up to its newest message held, if the person can see it: only while
   * the page is visible (a hidden tab reads nothing). Each new newest id is sent once (the local
   * mark moves first), by REST, so a refusal (a room just left) never ends the STOMP session.
   */
  markOpenRead(): void {
    const roomUUID = this.openRoom;
    if (!roomUUID || typeof document === 'undefined' || document.visibilityState !== 'visible') return;
    const room = this.room(roomUUID);
    const newest = this.stores.get(roomUUID)?.newestId ?? null;
    if (!room || newest === null) return;
    const before = markOf(room, this.me);
    if (newest <= before && (room.unreadCount ?? 0) === 0) return;
    this.rooms = markRoomRead(this.rooms, roomUUID, this.me, newest);
    this.emit();
    this.api.markRead(roomUUID, newest).catch(() => {
      // Not marked (offline, or the room is gone): my mark goes back to what the server has,
      // so the next message or visit sends it again.
      this.rooms = this.rooms.map((r) =>
        r.roomUUID === roomUUID && markOf(r, this.me) === newest
          ? { ...r, readUpTo: { ...r.readUpTo, [this.me]: before } }
          : r,
      );
    });
  }

  /** Scrolled up: the page `before` the oldest id. Returns how many messages were added. */
  async loadOlder(roomUUID: string): Promise<number> {
    const store = this.stores.get(roomUUID);
    const st = this.state(roomUUID);
    if (!store || !store.hasMoreOlder || st.loadingOlder) return 0;
    const before = store.oldestId;
    if (before === null) return 0;
    st.loadingOlder = true;
    this.emit();
    try {
      const page = await this.api.history(roomUUID, { before }, PAGE);
      return store.applyOlderPage(page, PAGE);
    } catch (e) {
      st.error = errorCode(e);
      return 0;
    } finally {
      st.loadingOlder = false;
      this.emit();
    }
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Shows the message at once as pending and sends it (now if ready, else after the reconnect). */
  send(roomUUID: string, content: string): string {
    const cmid = newClientMessageId();
    let store = this.stores.get(roomUUID);
    if (!store) {
      store = new MessageStore(roomUUID, this.me);
      this.stores.set(roomUUID, store);
    }
    store.addPending(cmid, content, new Date().toISOString());
    this.outbox.enqueue(roomUUID, cmid, content, store.newestId ?? 0);
    this.flush();
    this.emit();
    return cmid;
  }

  /** Sends a failed message again, with the same clientMessageId. */
  retry(roomUUID: string, clientMessageId: string): void {
    if (!this.outbox.retry(clientMessageId)) return;
    this.stores.get(roomUUID)?.markPending(clientMessageId);
    this.flush();
    this.emit();
  }

  private flush(): void {
    if (!this.ready || !this.client.connected) return;
    const conn = this.connection;
    for (const e of this.outbox.takeToSend(conn, Date.now())) {
      const receipt = receiptIdFor(e.clientMessageId);
      try {
        this.client.watchForReceipt(receipt, () => this.onReceipt(e.roomUUID, e.clientMessageId));
        this.client.publish({
          destination: `/pub/room/${e.roomUUID}/message`,
          headers: { receipt, 'content-type': 'application/json' },
          body: JSON.stringify({ roomUUID: e.roomUUID, content: e.content, clientMessageId: e.clientMessageId }),
        });
      } catch {
        this.outbox.unsend(e.clientMessageId);
        this.outbox.connectionLost();
        return;
      }
    }
  }

  private onReceipt(roomUUID: string, clientMessageId: string): void {
    const entry = this.outbox.confirm(clientMessageId);
    const store = this.stores.get(roomUUID);
    store?.markSent(clientMessageId);
    this.emit();
    // Stored, but its MESSAGE may never come (lost before a retry; a repeated clientMessageId
    // gets only the RECEIPT): if it has not arrived shortly, read it from history.
    if (store && !store.hasStored(clientMessageId)) {
      const from = entry?.afterId ?? 0;
      setTimeout(() => void this.findStored(store, clientMessageId, from), CATCH_UP_DELAY_MS);
    }
  }

  private async findStored(store: MessageStore, clientMessageId: string, from: number): Promise<void> {
    if (this.stopped || store.hasStored(clientMessageId) || this.stores.get(store.roomUUID) !== store) return;
    try {
      const r = await resumeRoom(store, (room, after, limit) => this.api.history(room, { after }, limit), this.config.limits.historyPage, from);
      if (r.added > 0) this.emit();
    } catch {
      // stays shown as sent; the next resume finds it
    }
  }

  private expireSends(): void {
    if (!this.connected) return;
    const expired = this.outbox.expire(Date.now(), RECEIPT_TIMEOUT_MS);
    if (expired.length === 0) return;
    for (const e of expired) this.stores.get(e.roomUUID)?.markFailed(e.clientMessageId, 'timeout');
    this.emit();
  }

  /** For the banner: whether the identity is the JWT kind (to word sign-out). */
  get authMode(): Identity['mode'] {
    return this.identity.mode;
  }
}
