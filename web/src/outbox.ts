// The outbox of my sends: order, what to (re)send on each connection, receipts, timeouts, transient vs permanent errors.

/**
 * ERROR codes after which a send stays pending and is resent after reconnecting (`rate_limited`
 * after a pause as well). Every other code fails it until the person retries: `blocked` among
 * them, which no number of resends gets through.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'backend_unavailable',
  'shutting_down',
  'slow_consumer',
  'heartbeat_timeout',
  'rate_limited',
]);

export function isTransientError(code: string | undefined | null): boolean {
  return !!code && TRANSIENT_CODES.has(code);
}

/** How long a send may wait for its RECEIPT on a live connection before it counts as failed. */
export const RECEIPT_TIMEOUT_MS = 10_000;

const RECEIPT_PREFIX = 'send-';

/** The SEND's `receipt` header, derived from the clientMessageId (browser tests rely on this form). */
export function receiptIdFor(clientMessageId: string): string {
  return `${RECEIPT_PREFIX}${clientMessageId}`;
}

/** The clientMessageId of a send's receipt id, or null for other receipts. */
export function clientMessageIdOfReceipt(receiptId: string | undefined | null): string | null {
  if (!receiptId || !receiptId.startsWith(RECEIPT_PREFIX)) return null;
  return receiptId.slice(RECEIPT_PREFIX.length) || null;
}

/** A new clientMessageId (a UUID, 36 characters; the server allows up to 64). */
export function newClientMessageId(random: () => string = () => crypto.randomUUID()): string {
  return random().slice(0, 64);
}

export type OutboxState = 'queued' | 'inflight' | 'failed';

export interface OutboxEntry {
  roomUUID: string;
  clientMessageId: string;
  content: string;
  /** The uploaded photos' ids of a photo message (sent again as they are on a retry). */
  attachmentIds?: readonly string[];
  state: OutboxState;
  /** The connection this entry was last sent on (each entry goes out once per connection). */
  sentOn: number | null;
  sentAt: number | null;
  /** The room's newest stored id when this was typed: the message's own id will be above it. */
  afterId: number;
  error?: string;
}

export type ErrorOutcome = 'transient' | 'failed' | 'unknown';

export class Outbox {
  private entries: OutboxEntry[] = [];
  /** Nothing is sent before this time (after a `rate_limited`); 0: no pause. */
  pausedUntil = 0;

  get size(): number {
    return this.entries.length;
  }

  all(): readonly OutboxEntry[] {
    return this.entries;
  }

  get(clientMessageId: string): OutboxEntry | undefined {
    return this.entries.find((e) => e.clientMessageId === clientMessageId);
  }

  /** Adds a send (queued until a connection takes it). Adding the same clientMessageId twice is a no-op. */
  enqueue(roomUUID: string, clientMessageId: string, content: string, afterId = 0, attachmentIds: readonly string[] = []): OutboxEntry {
    const existing = this.get(clientMessageId);
    if (existing) return existing;
    const e: OutboxEntry = { roomUUID, clientMessageId, content, state: 'queued', sentOn: null, sentAt: null, afterId };
    if (attachmentIds.length > 0) e.attachmentIds = [...attachmentIds];
    this.entries.push(e);
    return e;
  }

  /** Holds every send until `until` (the server said `rate_limited`). A running pause is never shortened. */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /** Whether sends wait for a pause at `now`. */
  paused(now: number): boolean {
    return now < this.pausedUntil;
  }

  /**
   * The entries to send now on connection `connection`, in the order typed: every queued entry
   * not yet sent on this connection; none while paused. They become in flight.
   */
  takeToSend(connection: number, now: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    if (this.paused(now)) return out;
    for (const e of this.entries) {
      if (e.state !== 'queued' || e.sentOn === connection) continue;
      e.state = 'inflight';
      e.sentOn = connection;
      e.sentAt = now;
      out.push(e);
    }
    return out;
  }

  /** A send could not go out (no connection after all): queue it again for the next one. */
  unsend(clientMessageId: string): void {
    const e = this.get(clientMessageId);
    if (e && e.state === 'inflight') {
      e.state = 'queued';
      e.sentOn = null;
      e.sentAt = null;
    }
  }

  /** Its RECEIPT (or its stored MESSAGE) arrived: done. Returns the entry removed, if any. */
  confirm(clientMessageId: string): OutboxEntry | undefined {
    const i = this.entries.findIndex((e) => e.clientMessageId === clientMessageId);
    if (i < 0) return undefined;
    return this.entries.splice(i, 1)[0];
  }

  /**
   * An ERROR carried this send's receipt-id. Transient codes keep it queued (resent after the
   * reconnect; `rate_limited` once the pause set with `pause` is over, on this connection too
   * should the server keep it open); any other code fails it (until retried).
   */
  error(clientMessageId: string, code: string | undefined): ErrorOutcome {
    const e = this.get(clientMessageId);
    if (!e) return 'unknown';
    if (isTransientError(code)) {
      e.state = 'queued';
      if (code === 'rate_limited') e.sentOn = null;
      return 'transient';
    }
    e.state = 'failed';
    e.error = code || 'error';
    return 'failed';
  }

  /** The connection closed: whatever was in flight without a receipt is resent on the next one. */
  connectionLost(): void {
    for (const e of this.entries) {
      if (e.state === 'inflight') e.state = 'queued';
    }
  }

  /** On a live connection: in-flight sends older than `timeoutMs` fail. Returns them. */
  expire(now: number, timeoutMs: number = RECEIPT_TIMEOUT_MS): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const e of this.entries) {
      if (e.state === 'inflight' && e.sentAt !== null && now - e.sentAt >= timeoutMs) {
        e.state = 'failed';
        e.error = 'timeout';
        out.push(e);
      }
    }
    return out;
  }

  /** Retry a failed send: queued again with the same clientMessageId, sendable on any connection. */
  retry(clientMessageId: string): boolean {
    const e = this.get(clientMessageId);
    if (!e || e.state !== 'failed') return false;
    e.state = 'queued';
    e.sentOn = null;
    e.sentAt = null;
    e.error = undefined;
    return true;
  }

  /** Forget a room's sends (the room was left). */
  dropRoom(roomUUID: string): void {
    this.entries = this.entries.filter((e) => e.roomUUID !== roomUUID);
  }
}
