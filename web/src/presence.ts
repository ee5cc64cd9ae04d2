// Who is online: PRESENCE events and GET /room/{id}/presence answers per user (the newer wins), and the "마지막 접속 …" text.
import { relativeTime } from './time';
import type { Presence } from './types';

export interface UserPresence {
  online: boolean;
  /** When they were last online (RFC 3339); null while online, or when never seen. */
  lastSeenAt: string | null;
}

/**
 * What the page knows of each user's presence. Events and fetched answers race: an answer
 * computed before an event that arrived while it was on its way must not undo the event. Each
 * entry remembers the sequence number of what set it; a fetch takes a ticket when it starts, and
 * its answer only sets users no newer event or later fetch has set since.
 */
export class PresenceBook {
  private readonly entries = new Map<string, { p: UserPresence | null; seq: number }>();
  private seq = 0;

  /** A `PRESENCE` event. */
  event(user: string, online: boolean, lastSeenAt: string | null): void {
    this.entries.set(user, { p: { online, lastSeenAt: online ? null : lastSeenAt }, seq: ++this.seq });
  }

  /** A presence fetch starts: its ticket, for `fetched`. */
  begin(): number {
    return ++this.seq;
  }

  /**
   * A fetch's answer for `users` (a room's members); null when it failed (presence down): they
   * are unknown again, unless something newer came meanwhile. Returns whether anything changed.
   */
  fetched(ticket: number, users: readonly string[], answer: Presence | null): boolean {
    let changed = false;
    for (const user of users) {
      const cur = this.entries.get(user);
      if (cur && cur.seq > ticket) continue;
      const online = answer ? Array.isArray(answer.online) && answer.online.includes(user) : false;
      const seen = answer && !online ? answer.lastSeenAt?.[user] : undefined;
      const p: UserPresence | null = answer ? { online, lastSeenAt: typeof seen === 'string' ? seen : null } : null;
      if (!cur || !samePresence(cur.p, p)) changed = true;
      this.entries.set(user, { p, seq: ticket });
    }
    return changed;
  }

  /** The user's presence, or null when unknown (never fetched, or presence down). */
  get(user: string): UserPresence | null {
    return this.entries.get(user)?.p ?? null;
  }
}

function samePresence(a: UserPresence | null, b: UserPresence | null): boolean {
  if (a === null || b === null) return a === b;
  return a.online === b.online && a.lastSeenAt === b.lastSeenAt;
}

/**
 * The header's line for an offline member: "마지막 접속 3시간 전", "마지막 접속 방금 전" (under a
 * minute), "마지막 접속 어제", "마지막 접속 11월 24일" (the room list's relative times). Null while
 * online, when unknown, or never seen.
 */
export function lastSeenText(p: UserPresence | null, now: Date | number = Date.now()): string | null {
  if (!p || p.online || !p.lastSeenAt) return null;
  const rel = relativeTime(p.lastSeenAt, now);
  if (rel === '') return null;
  return `마지막 접속 ${rel === '방금' ? '방금 전' : rel}`;
}
