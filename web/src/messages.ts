// A per-room message store: merge by id (deduped), my pending/sent/failed sends by clientMessageId, paging cursors.
import { attachmentsOf } from './attachments';
import type { Attachment, ChatMessage } from './types';

export type SendStatus = 'pending' | 'sent' | 'failed';

/** A message as the chat shows it: a stored one (with id) or one of mine not yet seen stored. */
export interface ViewMessage {
  /** Stable render key: follows a message of mine from pending to stored. */
  key: string;
  id: number | null;
  roomUUID: string;
  sender: string;
  content: string;
  type: string;
  notice?: string;
  createdAt: string;
  clientMessageId: string | null;
  /** The photos of an `IMAGE` message (empty for others). */
  attachments: Attachment[];
  /** The server's warnings on it (empty when none; the view shows them to the recipient only). */
  warnings: string[];
  mine: boolean;
  /** Only for my own messages. */
  status?: SendStatus;
  /** Why a failed send failed (an error code), if known. */
  error?: string;
}

interface LocalMessage {
  clientMessageId: string;
  content: string;
  attachments: Attachment[];
  createdAt: string;
  status: SendStatus;
  error?: string;
  seq: number;
}

export function messageKey(m: { id: number | null; clientMessageId: string | null; mine: boolean }): string {
  if (m.mine && m.clientMessageId) return `c:${m.clientMessageId}`;
  return `i:${m.id}`;
}

export class MessageStore {
  readonly roomUUID: string;
  readonly me: string;
  private byId = new Map<number, ChatMessage>();
  private local = new Map<string, LocalMessage>();
  private localSeq = 0;
  private cache: ViewMessage[] | null = null;
  /** True once the first page (newest messages) was loaded. */
  loaded = false;
  /** True once a page proved there is nothing older than the oldest loaded message. */
  reachedStart = false;
  /** Bumped on every change, so views can tell cheaply whether to re-render. */
  version = 0;

  constructor(roomUUID: string, me: string) {
    this.roomUUID = roomUUID;
    this.me = me;
  }

  private changed(): void {
    this.cache = null;
    this.version++;
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** The smallest stored id (the `before` cursor for older pages), or null when empty. */
  get oldestId(): number | null {
    let min: number | null = null;
    for (const id of this.byId.keys()) if (min === null || id < min) min = id;
    return min;
  }

  /** The largest stored id (the `after` cursor to catch up), or null when empty. */
  get newestId(): number | null {
    let max: number | null = null;
    for (const id of this.byId.keys()) if (max === null || id > max) max = id;
    return max;
  }

  /** True while an older page may exist (scrolling up should load it). */
  get hasMoreOlder(): boolean {
    return this.loaded && !this.reachedStart;
  }

  /**
   * Merges messages from any source (MESSAGE frames, history pages), ignoring other rooms'
   * messages and ids already stored. A stored message of mine replaces my local copy with the
   * same clientMessageId. Returns how many new ids were added.
   */
  merge(messages: readonly ChatMessage[]): number {
    let added = 0;
    for (const m of messages) {
      if (m.roomUUID !== this.roomUUID || typeof m.id !== 'number') continue;
      if (m.clientMessageId && m.sender === this.me && this.local.delete(m.clientMessageId)) {
        this.changed();
      }
      if (this.byId.has(m.id)) continue;
      this.byId.set(m.id, m);
      added++;
    }
    if (added > 0) this.changed();
    return added;
  }

  /**
   * Fresh copies of messages (a history page read again): stored ones are replaced when their
   * photos changed (new signed addresses, the old ones expire), new ones merge as usual.
   * Returns how many changed or were added.
   */
  refresh(messages: readonly ChatMessage[]): number {
    let replaced = 0;
    for (const m of messages) {
      const old = m.roomUUID === this.roomUUID && typeof m.id === 'number' ? this.byId.get(m.id) : undefined;
      if (!old || JSON.stringify(old.attachments ?? null) === JSON.stringify(m.attachments ?? null)) continue;
      this.byId.set(m.id, m);
      replaced++;
    }
    if (replaced > 0) this.changed();
    return replaced + this.merge(messages);
  }

  /** Applies the first page (newest `limit` messages): a short page means the room's start is loaded. */
  applyInitialPage(page: readonly ChatMessage[], limit: number): void {
    this.merge(page);
    this.loaded = true;
    if (page.length < limit) this.reachedStart = true;
    this.changed();
  }

  /** Applies an older page (`before` the oldest id): a short page means the start is reached. */
  applyOlderPage(page: readonly ChatMessage[], limit: number): number {
    const added = this.merge(page);
    if (page.length < limit || added === 0) {
      this.reachedStart = true;
      this.changed();
    }
    return added;
  }

  /** Shows a message of mine at once, as pending (with its uploaded photos, if any). */
  addPending(clientMessageId: string, content: string, createdAt: string, attachments: readonly Attachment[] = []): void {
    if (this.local.has(clientMessageId)) return;
    for (const m of this.byId.values()) {
      if (m.clientMessageId === clientMessageId && m.sender === this.me) return;
    }
    this.local.set(clientMessageId, {
      clientMessageId,
      content,
      attachments: [...attachments],
      createdAt,
      status: 'pending',
      seq: this.localSeq++,
    });
    this.changed();
  }

  private setStatus(clientMessageId: string, status: SendStatus, error?: string): boolean {
    const l = this.local.get(clientMessageId);
    if (!l || (l.status === status && l.error === error)) return false;
    l.status = status;
    l.error = error;
    this.changed();
    return true;
  }

  /** RECEIPT arrived: the message is stored; it stays shown as sent until its MESSAGE merges it. */
  markSent(clientMessageId: string): boolean {
    return this.setStatus(clientMessageId, 'sent');
  }

  markFailed(clientMessageId: string, error?: string): boolean {
    const l = this.local.get(clientMessageId);
    if (!l || l.status === 'sent') return false;
    return this.setStatus(clientMessageId, 'failed', error);
  }

  /** Back to pending (a retry, with the same clientMessageId). */
  markPending(clientMessageId: string): boolean {
    const l = this.local.get(clientMessageId);
    if (!l || l.status === 'sent') return false;
    return this.setStatus(clientMessageId, 'pending');
  }

  /** Whether a stored message of mine carries this clientMessageId (its MESSAGE or history arrived). */
  hasStored(clientMessageId: string): boolean {
    for (const m of this.byId.values()) {
      if (m.clientMessageId === clientMessageId && m.sender === this.me) return true;
    }
    return false;
  }

  statusOf(clientMessageId: string): SendStatus | null {
    const l = this.local.get(clientMessageId);
    if (l) return l.status;
    for (const m of this.byId.values()) {
      if (m.clientMessageId === clientMessageId && m.sender === this.me) return 'sent';
    }
    return null;
  }

  /** Stored messages ascending by id, then my not-yet-stored ones in the order typed. */
  list(): ViewMessage[] {
    if (this.cache) return this.cache;
    const stored = [...this.byId.values()].sort((a, b) => a.id - b.id);
    const out: ViewMessage[] = stored.map((m) => {
      const mine = m.sender === this.me && m.type !== 'SYSTEM';
      const v: ViewMessage = {
        key: '',
        id: m.id,
        roomUUID: m.roomUUID,
        sender: m.sender,
        content: m.content,
        type: m.type,
        notice: m.notice,
        createdAt: m.createdAt,
        clientMessageId: m.clientMessageId ?? null,
        attachments: attachmentsOf(m),
        warnings: Array.isArray(m.warnings) ? m.warnings.filter((w) => typeof w === 'string') : [],
        mine,
        status: mine ? 'sent' : undefined,
      };
      v.key = messageKey(v);
      return v;
    });
    const locals = [...this.local.values()].sort((a, b) => a.seq - b.seq);
    for (const l of locals) {
      out.push({
        key: `c:${l.clientMessageId}`,
        id: null,
        roomUUID: this.roomUUID,
        sender: this.me,
        content: l.content,
        type: l.attachments.length > 0 ? 'IMAGE' : 'TEXT',
        createdAt: l.createdAt,
        clientMessageId: l.clientMessageId,
        attachments: l.attachments,
        warnings: [],
        mine: true,
        status: l.status,
        error: l.error,
      });
    }
    this.cache = out;
    return out;
  }
}
