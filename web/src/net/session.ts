// A signed-in chat session: the STOMP client, the user's event stream and the open room's subscription, room list, message stores, outbox, typing, presence, blocks, reports, rate-limit pauses and the resume on reconnect.
import { Client, ReconnectionTimeMode, type IFrame, type IMessage, type StompSubscription } from '@stomp/stompjs';
import { sendBody } from '../attachments';
import { BlockBook, type BlockState } from '../blocks';
import { parseUserEvent } from '../events';
import { MessageStore } from '../messages';
import { clientMessageIdOfReceipt, newClientMessageId, Outbox, RECEIPT_TIMEOUT_MS, receiptIdFor } from '../outbox';
import { PresenceBook, type UserPresence } from '../presence';
import { SendPause } from '../ratelimit';
import type { ReportBody } from '../report';
import { resumeRoom } from '../resume';
import { revealStep } from '../search';
import type { AppointmentBody } from '../listing';
import { applyMessage, applyRoomEvents, applyRoomUpdated, markOf, markRoomRead, mergeRoomList, patchRoom, peerOf, removeRoom, totalUnread } from '../rooms';
import { TypingSender, TypingWatch } from '../typing';
import type { Attachment, ChatMessage, ClientConfig, Identity, Room, RoomEvent } from '../types';
import { Api, authHeaders, errorCode } from './api';
import { PushClient } from './push';
import { uploadAttachment, type Upload } from './upload';

export type ConnState = 'connecting' | 'connected' | 'reconnecting';

/** Page size when opening a room and scrolling up. */
export const PAGE = 50;
/** How many older pages (of `limits.historyPage`) a search hit's room reads back before giving up. */
const REVEAL_PAGES = 50;

const SUB_RECEIPT = 'sub-';
/** The user's own events: every room's changes, marks, typing and presence, from every node. */
const EVENTS = '/user/queue/events';
const EVENTS_RECEIPT = 'events';
/** How long after a RECEIPT the message's own MESSAGE may take before we read it from history. */
const CATCH_UP_DELAY_MS = 400;
/** SUBSCRIBE refusals that will not change by retrying: that room is not subscribed again (until opened again). */
const SUBSCRIBE_REFUSED = new Set(['not_a_member', 'room_not_found', 'invalid_room_id']);
/** How a server without the event stream refuses it. */
const EVENTS_REFUSED = new Set(['forbidden_destination', 'unknown_destination']);

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
  /** Web Push for this browser: subscribed after signing in, taken back at sign-out. */
  readonly push: PushClient;
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
  /** The open room's `/sub/chat/room/{id}`: its messages (the list follows the event stream). */
  private roomSub: { roomUUID: string; sub: StompSubscription } | null = null;
  private eventsSub: StompSubscription | null = null;
  /** A server without the event stream refused it: not asked again (each refusal ends the connection). */
  private eventsRefused = false;
  private readonly refused = new Set<string>();
  /** List events that came while a /room/list was on its way: applied again to its answer. */
  private journal: RoomEvent[] | null = null;
  /** Rooms I left (here or on another device) since they were last listed: the view closes them. */
  private readonly leftRooms = new Set<string>();
  private readonly typingOut = new TypingSender((room, typing) => this.publishTyping(room, typing));
  private readonly typingIn = new TypingWatch(() => this.emit());
  private readonly presence = new PresenceBook();
  /** The users I block, and those whose refusal (`blocked`) my sends met. */
  private readonly blockBook = new BlockBook();
  /** How long my sends wait after STOMP `rate_limited`. */
  private readonly sendPause = new SendPause();
  private pauseTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<() => void>();
  private connection = 0;
  /** True once the current connection has subscribed and resumed: sends may flush. */
  private ready = false;
  private everConnected = false;
  private stopped = false;
  private roomsInFlight: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Messages whose photos are being read again (`refreshPhotos`), by room and id. */
  private readonly refreshing = new Set<string>();
  onAuthLost: ((code: string) => void) | null = null;

  constructor(identity: Identity, config: ClientConfig, brokerURL: string) {
    this.identity = identity;
    this.me = identity.userId;
    this.config = config;
    this.api = new Api(identity);
    this.push = new PushClient(this.api, () => this.emit());
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
    void this.refreshBlocks();
    void this.push.start();
    this.client.activate();
    this.timer = setInterval(() => this.expireSends(), 1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
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
    this.roomSub = null;
    this.eventsSub = null;
    // The newest id the open room held before this connection: the catch-up starts there. Taken
    // before subscribing, because a live MESSAGE on the new subscription may arrive before the
    // catch-up runs, and starting after it would skip the gap. (Other rooms' stores are not
    // followed; opening one catches it up.)
    const open = this.openRoom;
    const mark = open ? (this.stores.get(open)?.newestId ?? null) : null;
    // The events first, then the list: an event between the two is in the list or after it.
    this.subscribeEvents();
    this.syncRoomSubscription();
    this.emit();
    void this.afterConnect(conn, open, mark);
  }

  /**
   * Subscribed already; now the list (events are not stored: what changed while disconnected is
   * only in it), the open room's catch-up and its member's presence, then the outbox.
   */
  private async afterConnect(conn: number, open: string | null, mark: number | null): Promise<void> {
    await this.refreshRooms();
    if (conn !== this.connection) return;
    if (open) void this.refreshPresence(open);
    // A block or unblock made on another device while this one was away (the first connection's
    // list is fetched by `start`).
    if (conn > 1) void this.refreshBlocks();
    const store = open ? this.stores.get(open) : undefined;
    if (open && store?.loaded) {
      try {
        const fetchAfter = (id: string, after: number, limit: number) => this.api.history(id, { after }, limit);
        const r = await resumeRoom(store, fetchAfter, this.config.limits.historyPage, mark);
        this.confirmMine(r.store);
        if (r.added > 0) this.emit();
        if (open === this.openRoom) this.markOpenRead();
      } catch {
        // the room stays as it was; the next reconnect or opening it catches up
      }
    }
    if (conn !== this.connection || this.conn !== 'connected') return;
    this.ready = true;
    this.flush();
  }

  private onClose(): void {
    if (this.stopped) return;
    this.ready = false;
    this.roomSub = null;
    this.eventsSub = null;
    this.outbox.connectionLost();
    this.typingOut.connectionLost();
    this.typingIn.clear();
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
    if (code === 'rate_limited') {
      // Too many frames (mine, from any of my devices): every send waits a while, growing with
      // each refusal; the connection closes and the reconnect resends once the pause is over.
      this.pauseSends();
    }
    if (cmid) {
      const entry = this.outbox.get(cmid);
      const outcome = this.outbox.error(cmid, code);
      if (outcome === 'failed' && entry) {
        this.stores.get(entry.roomUUID)?.markFailed(cmid, code);
        if (code === 'blocked') this.sendRefused(entry.roomUUID);
      }
      this.emit();
      return;
    }
    if (code === 'blocked' && this.openRoom) {
      // Only typing goes without a receipt, and only from the open room: its member refuses me.
      this.sendRefused(this.openRoom);
      this.emit();
      return;
    }
    if (receipt === EVENTS_RECEIPT && EVENTS_REFUSED.has(code)) {
      // An older server: the list then changes only with the open room's messages and on
      // reconnects; asking again would only end every connection the same way.
      this.eventsRefused = true;
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

  private subscribeEvents(): void {
    if (this.eventsSub || this.eventsRefused || !this.client.connected) return;
    try {
      this.eventsSub = this.client.subscribe(EVENTS, (m) => this.onEvent(m), { receipt: EVENTS_RECEIPT });
    } catch {
      // not connected after all; onConnect subscribes again
    }
  }

  /** One room subscription: the open room's (none while the list alone shows). */
  private syncRoomSubscription(): void {
    if (!this.client.connected) return;
    const want = this.openRoom && !this.refused.has(this.openRoom) ? this.openRoom : null;
    if (this.roomSub && this.roomSub.roomUUID !== want) {
      try {
        this.roomSub.sub.unsubscribe();
      } catch {
        // connection gone: nothing to undo
      }
      this.roomSub = null;
    }
    if (!want || this.roomSub) return;
    try {
      const sub = this.client.subscribe(`/sub/chat/room/${want}`, (m) => this.onMessage(m), {
        receipt: `${SUB_RECEIPT}${want}`,
      });
      this.roomSub = { roomUUID: want, sub };
    } catch {
      // not connected after all; onConnect subscribes again
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
    // At once, not waiting for its ROOM_UPDATED (which then brings the exact count).
    this.rooms = applyMessage(this.rooms, msg, this.me);
    this.typingIn.message(msg.roomUUID, msg.sender);
    // They can write to me: no block between us (any earlier refusal is over).
    if (msg.sender !== this.me && msg.type !== 'SYSTEM') this.blockEnded(msg.sender, this.blockBook.accepted(msg.sender));
    const store = this.stores.get(msg.roomUUID);
    if (store) {
      store.merge([msg]);
      this.confirmMine(store);
    } else if (msg.sender === this.me && msg.clientMessageId) {
      this.outbox.confirm(msg.clientMessageId);
    }
    if (msg.roomUUID === this.openRoom) this.markOpenRead();
    this.emit();
  }

  private onEvent(frame: IMessage): void {
    const e = parseUserEvent(frame.body);
    if (!e) return;
    switch (e.type) {
      case 'ROOM_UPDATED':
      case 'READ':
        this.applyRoomEvent(e);
        break;
      case 'TYPING':
        if (e.user !== this.me) this.typingIn.typing(e.roomUUID, e.user, e.typing);
        return; // TypingWatch emits when what shows changes
      case 'PRESENCE':
        this.presence.event(e.user, e.online, e.lastSeenAt);
        if (!e.online) this.typingIn.offline(e.user);
        break;
    }
    this.emit();
  }

  private applyRoomEvent(e: RoomEvent): void {
    if (e.type === 'ROOM_UPDATED') {
      const id = e.room.roomUUID;
      const last = e.room.lastMessage;
      // A new last message ends its sender's typing (in a room not open, no MESSAGE says so).
      if (!e.left && last && last.id > (this.room(id)?.lastMessage?.id ?? 0)) this.typingIn.message(id, last.sender);
      if (e.left) this.forgetRoom(id);
      else this.leftRooms.delete(id);
    }
    this.journal?.push(e);
    this.rooms = applyRoomEvents(this.rooms, [e], this.me);
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
    this.journal = [];
    this.roomsInFlight = (async () => {
      try {
        const fetched = await this.api.listRooms();
        if (this.stopped) return;
        // The answer may predate events that came meanwhile (a room created or left, a mark):
        // they go on top of it again.
        this.rooms = applyRoomEvents(mergeRoomList(this.rooms, fetched, this.me), this.journal ?? [], this.me);
        for (const r of this.rooms) this.leftRooms.delete(r.roomUUID); // back in it (rejoined meanwhile)
        this.roomsLoaded = true;
        this.roomsError = null;
      } catch (e) {
        const code = errorCode(e);
        this.roomsError = code;
        if (code === 'unauthorized') this.onAuthLost?.(code);
      } finally {
        this.journal = null;
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
    this.leftRooms.delete(room.roomUUID);
    this.rooms = applyRoomUpdated(this.rooms, room, false, this.me);
    this.emit();
    return room;
  }

  async leave(roomUUID: string): Promise<void> {
    // While still a member: a typing frame to a room I left would be refused, ending the connection.
    this.typingOut.stop();
    await this.api.leaveRoom(roomUUID);
    this.forgetRoom(roomUUID);
    if (this.openRoom === roomUUID) {
      this.openRoom = null;
      this.syncRoomSubscription();
    }
    this.emit();
  }

  /** I left the room (here, or its `"left": true` event): off the list, its messages and sends dropped. */
  private forgetRoom(roomUUID: string): void {
    this.leftRooms.add(roomUUID);
    this.typingOut.forget(roomUUID);
    this.rooms = removeRoom(this.rooms, roomUUID);
    this.stores.delete(roomUUID);
    this.roomState.delete(roomUUID);
    this.outbox.dropRoom(roomUUID);
  }

  /** Whether I left the room since it was last listed (the open room's view then closes). */
  hasLeft(roomUUID: string): boolean {
    return this.leftRooms.has(roomUUID);
  }

  /** A user's presence, from events and the last fetch; null when unknown (presence down). */
  presenceOf(user: string): UserPresence | null {
    return this.presence.get(user);
  }

  /**
   * GET /room/{id}/presence for the room's other members: when the room opens and after every
   * reconnect (PRESENCE events are not stored); events keep it current in between.
   */
  async refreshPresence(roomUUID: string): Promise<void> {
    const room = this.room(roomUUID);
    if (!room) return;
    const users = room.members.filter((m) => m !== this.me);
    const ticket = this.presence.begin();
    let answer = null;
    try {
      answer = await this.api.presence(roomUUID);
    } catch {
      // presence down (503) or the room gone: unknown, the dot hides
    }
    if (this.presence.fetched(ticket, users, answer)) this.emit();
  }

  /** Who is typing in the room (the other member), or null. */
  typistIn(roomUUID: string): string | null {
    return this.typingIn.typist(roomUUID);
  }

  /** The composer's text changed: `typing` true now and then while it has text, false when cleared. */
  typingInput(roomUUID: string, text: string): void {
    // Only in a room I am a member of: any refused SEND ends the STOMP connection. Not to a
    // member blocked either way (the server drops it; nobody would see it).
    if (!this.room(roomUUID) || this.blockStateOf(roomUUID) !== 'none') return;
    this.typingOut.input(roomUUID, text);
  }

  private publishTyping(roomUUID: string, typing: boolean): boolean {
    if (!this.client.connected) return false;
    try {
      this.client.publish({
        destination: `/pub/room/${roomUUID}/typing`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ typing }),
      });
      return true;
    } catch {
      return false;
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

  /**
   * Opens a room (null: none): loads its newest page or catches it up, then subscribes it (the
   * catch-up's mark is taken first, as on a reconnect). My typing in the room I leave ends.
   */
  setOpenRoom(roomUUID: string | null): void {
    if (this.openRoom === roomUUID) return;
    this.typingOut.stop();
    this.openRoom = roomUUID;
    if (roomUUID) {
      this.refused.delete(roomUUID);
      void this.load(roomUUID);
    }
    this.syncRoomSubscription();
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
        this.leftRooms.delete(roomUUID);
        this.rooms = applyRoomUpdated(this.rooms, room, false, this.me);
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

  /** Scrolled up: the page (of `limit`) `before` the oldest id. Returns how many messages were added. */
  async loadOlder(roomUUID: string, limit: number = PAGE): Promise<number> {
    const store = this.stores.get(roomUUID);
    const st = this.state(roomUUID);
    if (!store || !store.hasMoreOlder || st.loadingOlder) return 0;
    const before = store.oldestId;
    if (before === null) return 0;
    st.loadingOlder = true;
    this.emit();
    try {
      const page = await this.api.history(roomUUID, { before }, limit);
      return store.applyOlderPage(page, limit);
    } catch (e) {
      st.error = errorCode(e);
      return 0;
    } finally {
      st.loadingOlder = false;
      this.emit();
    }
  }

  /**
   * A search hit opened its room: reads older pages (the largest the server gives, so the history
   * stays one contiguous run) until message `id` is held, while the room stays open. Resolves to
   * whether it is.
   */
  async reveal(roomUUID: string, id: number): Promise<boolean> {
    for (let i = 0; i <= REVEAL_PAGES && this.openRoom === roomUUID; i++) {
      await this.settled(roomUUID);
      const store = this.stores.get(roomUUID);
      if (!store?.loaded) return false;
      const step = revealStep(store, id);
      if (step !== 'older') return step === 'found';
      if (i === REVEAL_PAGES) break;
      const added = await this.loadOlder(roomUUID, Math.max(PAGE, this.config.limits.historyPage));
      // Nothing added and nothing on its way (a page scrolled up for meanwhile): failed or at the start.
      if (added === 0 && !this.busy(roomUUID)) return store.has(id);
    }
    return this.stores.get(roomUUID)?.has(id) ?? false;
  }

  /** Whether the room has a load or an older page on its way. */
  private busy(roomUUID: string): boolean {
    const st = this.roomState.get(roomUUID);
    return !!st && (st.loading || st.loadingOlder);
  }

  /** Resolves once the room has no load or older page on its way. */
  private settled(roomUUID: string): Promise<void> {
    if (!this.busy(roomUUID) || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.subscribe(() => {
        if (this.busy(roomUUID) && !this.stopped) return;
        off();
        resolve();
      });
    });
  }

  // ---- sending ---------------------------------------------------------------------------

  /**
   * Shows the message at once as pending and sends it (now if ready, else after the reconnect);
   * with `attachments` (uploaded to this room) it is a photo message and `content` its caption.
   */
  send(roomUUID: string, content: string, attachments: readonly Attachment[] = []): string {
    const cmid = newClientMessageId();
    let store = this.stores.get(roomUUID);
    if (!store) {
      store = new MessageStore(roomUUID, this.me);
      this.stores.set(roomUUID, store);
    }
    store.addPending(cmid, content, new Date().toISOString(), attachments);
    this.outbox.enqueue(roomUUID, cmid, content, store.newestId ?? 0, attachments.map((a) => a.id));
    this.flush();
    this.typingOut.stop();
    this.emit();
    return cmid;
  }

  /** Sends a failed message again, with the same clientMessageId (not while I block the other member). */
  retry(roomUUID: string, clientMessageId: string): void {
    if (this.blockStateOf(roomUUID) === 'blocking') return;
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
          body: JSON.stringify(sendBody(e)),
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
    this.sendPause.reset();
    // It went through: whoever refused me before no longer does.
    const room = this.room(roomUUID);
    if (room) {
      const peer = peerOf(room, this.me);
      this.blockEnded(peer, this.blockBook.accepted(peer));
    }
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

  /** STOMP `rate_limited`: the outbox holds every send for a growing pause, then flushes. */
  private pauseSends(): void {
    const now = Date.now();
    const until = this.sendPause.hit(now);
    this.outbox.pause(until);
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      this.flush();
      this.emit();
    }, until - now);
  }

  /** Whether my sends in the room wait for a rate-limit pause (some are waiting). */
  sendsPaused(roomUUID: string): boolean {
    return this.outbox.paused(Date.now()) && this.outbox.all().some((e) => e.roomUUID === roomUUID && e.state !== 'failed');
  }

  private expireSends(): void {
    if (!this.connected) return;
    const expired = this.outbox.expire(Date.now(), RECEIPT_TIMEOUT_MS);
    if (expired.length === 0) return;
    for (const e of expired) this.stores.get(e.roomUUID)?.markFailed(e.clientMessageId, 'timeout');
    this.emit();
  }

  // ---- the listing and mute ---------------------------------------------------------------

  /**
   * Sets (or moves) the room's appointment: `PUT /room/{id}/appointment`. Shown at once after the
   * 204; the `APPOINTMENT` notice and its `ROOM_UPDATED` bring the same to both members.
   */
  async setAppointment(roomUUID: string, body: AppointmentBody): Promise<void> {
    await this.api.setAppointment(roomUUID, body);
    this.rooms = patchRoom(this.rooms, roomUUID, { appointment: { ...body, setBy: this.me } });
    this.emit();
  }

  /** Cancels the room's appointment: `DELETE /room/{id}/appointment`. */
  async cancelAppointment(roomUUID: string): Promise<void> {
    await this.api.cancelAppointment(roomUUID);
    this.rooms = patchRoom(this.rooms, roomUUID, { appointment: null });
    this.emit();
  }

  /**
   * Mutes (or unmutes) the room's notifications for me, for good: shown at once, then `PUT
   * /room/{id}/settings`; a refusal puts back what was shown (unless an event changed it since).
   */
  async setMuted(roomUUID: string, muted: boolean): Promise<void> {
    const before = this.room(roomUUID);
    if (!before) return;
    this.rooms = patchRoom(this.rooms, roomUUID, { muted, mutedUntil: null });
    this.emit();
    try {
      await this.api.roomSettings(roomUUID, { muted });
    } catch (e) {
      if (this.room(roomUUID)?.muted === muted) {
        this.rooms = patchRoom(this.rooms, roomUUID, { muted: before.muted ?? false, mutedUntil: before.mutedUntil ?? null });
        this.emit();
      }
      throw e;
    }
  }

  // ---- blocks and reports ----------------------------------------------------------------

  /** GET /user/blocks: after signing in and after each reconnect (a failure keeps what was known). */
  async refreshBlocks(): Promise<void> {
    const ticket = this.blockBook.begin();
    try {
      const users = await this.api.blocks();
      if (this.blockBook.fetched(ticket, users)) this.emit();
    } catch (e) {
      if (errorCode(e) === 'unauthorized') this.onAuthLost?.('unauthorized');
    }
  }

  /** Between me and the room's other member: whether I block them, or they refused my send. */
  blockStateOf(roomUUID: string): BlockState {
    const room = this.room(roomUUID);
    return this.blockBook.state(room ? peerOf(room, this.me) : null);
  }

  /** Blocks (POST /user/blocks) or unblocks (DELETE) a user; rejects with an ApiError. */
  async setBlocked(user: string, blocked: boolean): Promise<void> {
    // Before blocking: a typing frame to them afterwards would only be dropped.
    if (blocked) this.typingOut.stop();
    if (blocked) await this.api.block(user);
    else await this.api.unblock(user);
    this.blockBook.set(user, blocked);
    this.blockEnded(user, !blocked);
    this.emit();
  }

  /**
   * A block between me and `user` ended (`ended`): presence stopped while it lasted and no event
   * says it is back, so the open room with them reads it again.
   */
  private blockEnded(user: string, ended: boolean): void {
    const open = this.openRoom;
    const room = open ? this.room(open) : undefined;
    if (ended && open && room && peerOf(room, this.me) === user) void this.refreshPresence(open);
  }

  /** A send in the room was refused as `blocked`: its other member refuses me, unless the list says I block them. */
  private sendRefused(roomUUID: string): void {
    const room = this.room(roomUUID);
    if (!room) return;
    const peer = peerOf(room, this.me);
    this.blockBook.refused(peer);
    this.typingOut.stop();
    // Which of us blocks: my own block made on another device also refuses, and the list tells.
    void this.refreshBlocks();
  }

  /** POST /report; resolves to the report's id (null if the answer had none), rejects with an ApiError. */
  async report(body: ReportBody): Promise<number | null> {
    const r = await this.api.report(body);
    return typeof r?.id === 'number' ? r.id : null;
  }

  // ---- photos ----------------------------------------------------------------------------

  /** Uploads a photo to the room (POST /room/{id}/attachments) with progress; abortable. */
  upload(roomUUID: string, file: Blob, name: string, onProgress: (loaded: number, total: number) => void): Upload {
    return uploadAttachment(authHeaders(this.identity), roomUUID, file, name, onProgress);
  }

  /**
   * A stored message's photo would not load (its signed address expired after an hour): reads
   * the message again (`after` the id before it), which brings fresh addresses. One at a time
   * per message; resolves to whether anything changed.
   */
  async refreshPhotos(roomUUID: string, id: number): Promise<boolean> {
    const key = `${roomUUID}/${id}`;
    const store = this.stores.get(roomUUID);
    if (!store || this.refreshing.has(key)) return false;
    this.refreshing.add(key);
    try {
      const page = await this.api.history(roomUUID, { after: id - 1 }, PAGE);
      const changed = store.refresh(page) > 0;
      if (changed) this.emit();
      return changed;
    } catch {
      return false;
    } finally {
      this.refreshing.delete(key);
    }
  }

  /** For the banner: whether the identity is the JWT kind (to word sign-out). */
  get authMode(): Identity['mode'] {
    return this.identity.mode;
  }
}
