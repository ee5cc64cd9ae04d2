// REST calls to the reuse-chat server (same origin), with the identity header and errors as ApiError codes.
import { DEFAULT_ATTACHMENT_BYTES, DEFAULT_ATTACHMENTS_PER_MESSAGE } from '../attachments';
import { parseBlockList } from '../blocks';
import { errorCodeOf, errorText, knownError, rateLimitedText } from '../errors';
import { retryAfterMs, shouldRetryAfter, waitSeconds } from '../ratelimit';
import type { AppointmentBody } from '../listing';
import { parsePushConfig, type SubscriptionBody } from '../push';
import type { ReportBody } from '../report';
import { parseSearchPage, type SearchPage } from '../search';
import type { ChatMessage, ClientConfig, Identity, Presence, PushConfig, Room } from '../types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** A 429's Retry-After, in ms, when the page did not wait it out by itself. */
  readonly retryAfterMs: number | null;
  constructor(status: number, code: string, message?: string, retryAfterMs: number | null = null) {
    super(message ?? code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export function errorCode(e: unknown): string {
  if (e instanceof ApiError) return e.code;
  return 'network';
}

/**
 * What to tell the person about a failed call, in Korean (a long rate limit says when to try
 * again); for a code the page has no sentence for, the server's own `message` after the general one.
 */
export function apiErrorText(e: unknown): string {
  if (e instanceof ApiError && e.code === 'rate_limited') {
    return rateLimitedText(e.retryAfterMs === null ? null : waitSeconds(e.retryAfterMs));
  }
  const code = errorCode(e);
  if (e instanceof ApiError && !knownError(code) && e.message && e.message !== code) return `${errorText(code)} (${e.message})`;
  return errorText(code);
}

/** The code a failed response stands for: its JSON body's, else one derived from the status. */
export function statusCode(status: number): string {
  return status === 401 ? 'unauthorized' : status === 429 ? 'rate_limited' : `http_${status}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function authHeaders(identity: Identity): Record<string, string> {
  return identity.mode === 'header'
    ? { 'X-Auth-User': identity.userId }
    : { Authorization: `Bearer ${identity.token}` };
}

/**
 * One REST call. A `429 rate_limited` (nothing was done) is tried again after its Retry-After
 * when that is short, a couple of times; a longer one is an ApiError carrying the wait.
 */
async function request<T>(method: string, path: string, headers: Record<string, string>, json?: unknown): Promise<T> {
  let res: Response;
  const body = json === undefined ? undefined : JSON.stringify(json);
  const type: Record<string, string> = body === undefined ? {} : { 'Content-Type': 'application/json' };
  for (let attempt = 1; ; attempt++) {
    try {
      res = await fetch(path, { method, headers: { Accept: 'application/json', ...type, ...headers }, body, cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'network');
    }
    if (res.ok) break;
    let code = statusCode(res.status);
    let message: string | undefined;
    try {
      const body = (await res.json()) as { message?: unknown };
      code = errorCodeOf(body) ?? code;
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON: keep the status-derived code
    }
    if (res.status === 429 || code === 'rate_limited') {
      const wait = retryAfterMs(res.headers.get('Retry-After'));
      if (shouldRetryAfter(wait, attempt)) {
        await sleep(wait);
        continue;
      }
      throw new ApiError(res.status, code, message, wait);
    }
    throw new ApiError(res.status, code, message);
  }
  if (res.status === 204) return undefined as T;
  try {
    // An empty body (a 201 that says nothing more) is no answer, not a broken one.
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  } catch {
    throw new ApiError(res.status, 'invalid_response');
  }
}

function isConfig(c: unknown): c is ClientConfig {
  if (!c || typeof c !== 'object') return false;
  const o = c as Partial<ClientConfig>;
  return (o.auth === 'header' || o.auth === 'jwt') && !!o.limits && typeof o.limits === 'object';
}

/** GET /client/config (no identity needed), with defaults for missing numbers. */
export async function fetchConfig(): Promise<ClientConfig> {
  const c = await request<unknown>('GET', '/client/config', {});
  if (!isConfig(c)) throw new ApiError(200, 'invalid_response');
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d);
  return {
    auth: c.auth,
    heartbeatMs: num(c.heartbeatMs, 10_000),
    limits: {
      contentChars: num(c.limits.contentChars, 4000) || 4000,
      historyPage: num(c.limits.historyPage, 200) || 200,
      subscriptions: num(c.limits.subscriptions, 64) || 64,
      attachmentBytes: num(c.limits.attachmentBytes, DEFAULT_ATTACHMENT_BYTES) || DEFAULT_ATTACHMENT_BYTES,
      attachmentsPerMessage: num(c.limits.attachmentsPerMessage, DEFAULT_ATTACHMENTS_PER_MESSAGE) || DEFAULT_ATTACHMENTS_PER_MESSAGE,
    },
  };
}

export type HistoryCursor = { before: number } | { after: number } | Record<string, never>;

/** The REST calls that need an identity. */
export class Api {
  private readonly headers: Record<string, string>;
  constructor(identity: Identity) {
    this.headers = authHeaders(identity);
  }

  listRooms(): Promise<Room[]> {
    return request<Room[]>('GET', '/room/list', this.headers);
  }

  createRoom(seller: string, name: string): Promise<Room> {
    const q = `user=${encodeURIComponent(seller)}&name=${encodeURIComponent(name)}`;
    return request<Room>('POST', `/room/create?${q}`, this.headers);
  }

  enterRoom(roomUUID: string): Promise<Room> {
    return request<Room>('GET', `/room/enter/${encodeURIComponent(roomUUID)}`, this.headers);
  }

  leaveRoom(roomUUID: string): Promise<void> {
    return request<void>('DELETE', `/room/delete/${encodeURIComponent(roomUUID)}`, this.headers);
  }

  history(roomUUID: string, cursor: HistoryCursor, limit: number): Promise<ChatMessage[]> {
    const q = new URLSearchParams();
    if ('before' in cursor) q.set('before', String(cursor.before));
    if ('after' in cursor) q.set('after', String(cursor.after));
    q.set('limit', String(limit));
    return request<ChatMessage[]>('GET', `/chat/room/${encodeURIComponent(roomUUID)}?${q}`, this.headers);
  }

  /** Marks the room read up to message `upTo` (204; a lower mark changes nothing). */
  markRead(roomUUID: string, upTo: number): Promise<void> {
    return request<void>('POST', `/room/${encodeURIComponent(roomUUID)}/read`, this.headers, { upTo });
  }

  presence(roomUUID: string): Promise<Presence> {
    return request<Presence>('GET', `/room/${encodeURIComponent(roomUUID)}/presence`, this.headers);
  }

  /** GET /user/blocks: the users I block. */
  async blocks(): Promise<string[]> {
    const users = parseBlockList(await request<unknown>('GET', '/user/blocks', this.headers));
    if (!users) throw new ApiError(200, 'invalid_response');
    return users;
  }

  /** POST /user/blocks (204). */
  block(user: string): Promise<void> {
    return request<void>('POST', '/user/blocks', this.headers, { user });
  }

  /** DELETE /user/blocks/{user} (204). */
  unblock(user: string): Promise<void> {
    return request<void>('DELETE', `/user/blocks/${encodeURIComponent(user)}`, this.headers);
  }

  /** PUT /room/{id}/appointment (204): sets or moves the room's appointment. */
  setAppointment(roomUUID: string, body: AppointmentBody): Promise<void> {
    return request<void>('PUT', `/room/${encodeURIComponent(roomUUID)}/appointment`, this.headers, body);
  }

  /** DELETE /room/{id}/appointment (204). */
  cancelAppointment(roomUUID: string): Promise<void> {
    return request<void>('DELETE', `/room/${encodeURIComponent(roomUUID)}/appointment`, this.headers);
  }

  /** PUT /room/{id}/settings (204): my mute of the room. */
  roomSettings(roomUUID: string, settings: { muted: boolean; mutedUntil?: string }): Promise<void> {
    return request<void>('PUT', `/room/${encodeURIComponent(roomUUID)}/settings`, this.headers, settings);
  }

  /** GET /push/config: whether the server sends Web Push, and its key. */
  async pushConfig(): Promise<PushConfig> {
    const c = parsePushConfig(await request<unknown>('GET', '/push/config', this.headers));
    if (!c) throw new ApiError(200, 'invalid_response');
    return c;
  }

  /** POST /push/subscriptions (201): this browser's subscription, for me. */
  addPushSubscription(body: SubscriptionBody): Promise<unknown> {
    return request<unknown>('POST', '/push/subscriptions', this.headers, body);
  }

  /** DELETE /push/subscriptions (204). */
  removePushSubscription(endpoint: string): Promise<void> {
    return request<void>('DELETE', '/push/subscriptions', this.headers, { endpoint });
  }

  /**
   * GET /search: a page of my messages that match `q`, newest first, from the rooms I am in (only
   * `roomUUID`'s when given); `next` goes back as `before` for older hits.
   */
  async search(q: string, opts: { roomUUID?: string; before?: number; limit?: number } = {}): Promise<SearchPage> {
    const p = new URLSearchParams({ q });
    if (opts.roomUUID) p.set('roomUUID', opts.roomUUID);
    if (opts.before !== undefined) p.set('before', String(opts.before));
    if (opts.limit !== undefined) p.set('limit', String(opts.limit));
    const page = parseSearchPage(await request<unknown>('GET', `/search?${p}`, this.headers));
    if (!page) throw new ApiError(200, 'invalid_response');
    return page;
  }

  /** POST /report (202 with the report's id). */
  report(body: ReportBody): Promise<{ id: number }> {
    return request<{ id: number }>('POST', '/report', this.headers, body);
  }
}
