// Blocking: the users I block (GET /user/blocks, kept current after each block and unblock, a late answer never undoing one), and the users whose refusal I met (a SEND answered `blocked`).

/**
 * Between me and a room's other member: `blocking` (I block them: the composer is off and the
 * banner offers to unblock), `refused` (a send of mine was answered `blocked` and I do not
 * block them: they block me, which the server tells me only that way), or `none`.
 */
export type BlockState = 'none' | 'blocking' | 'refused';

/** The users of a `GET /user/blocks` answer (`{"users": [...]}`), or null when it is not one. */
export function parseBlockList(body: unknown): string[] | null {
  if (!body || typeof body !== 'object') return null;
  const users = (body as { users?: unknown }).users;
  if (!Array.isArray(users)) return null;
  return users.filter((u): u is string => typeof u === 'string' && u.length > 0);
}

interface Change {
  user: string;
  blocked: boolean;
  at: number;
}

export class BlockBook {
  private users = new Set<string>();
  private readonly refusals = new Set<string>();
  /** My blocks and unblocks (each after its 204), with the clock when they were made. */
  private changes: Change[] = [];
  private clock = 0;
  /** The ticket of the newest answer applied: an older one arriving later is stale. */
  private applied = 0;
  /** True once a list was fetched (until then `blocking` is unknown, not false). */
  loaded = false;

  /** A GET /user/blocks is about to go: its ticket for `fetched`. */
  begin(): number {
    return ++this.clock;
  }

  /**
   * The answer of the GET that `ticket` began. Blocks and unblocks made since it began are
   * applied on top (the answer may predate them); an answer older than one already applied is
   * dropped. Returns whether anything shown may have changed.
   */
  fetched(ticket: number, users: readonly string[]): boolean {
    if (ticket < this.applied) return false;
    this.applied = ticket;
    const next = new Set(users);
    for (const c of this.changes) {
      if (c.at < ticket) continue;
      if (c.blocked) next.add(c.user);
      else next.delete(c.user);
    }
    // Changes made before this request began are in its answer (each was made after its 204).
    this.changes = this.changes.filter((c) => c.at >= ticket);
    let changed = !this.loaded || !sameSet(this.users, next);
    this.users = next;
    this.loaded = true;
    // A refusal is explained by my own block (made on another device): not theirs.
    for (const u of next) if (this.refusals.delete(u)) changed = true;
    return changed;
  }

  /** I blocked (or unblocked) `user` and the server said 204. */
  set(user: string, blocked: boolean): void {
    this.changes.push({ user, blocked, at: ++this.clock });
    if (blocked) this.users.add(user);
    else {
      this.users.delete(user);
      // The refusal may have been my own block; the next send tells again if it was theirs.
      this.refusals.delete(user);
    }
  }

  /** Whether I block `user`. */
  blocks(user: string): boolean {
    return this.users.has(user);
  }

  /** The users I block, sorted. */
  list(): string[] {
    return [...this.users].sort();
  }

  /** A send to `user` was refused as `blocked`. Returns whether the state changed. */
  refused(user: string): boolean {
    if (this.refusals.has(user)) return false;
    this.refusals.add(user);
    return true;
  }

  /** A send to `user` went through, or a live message came from them: no block between us. */
  accepted(user: string): boolean {
    return this.refusals.delete(user);
  }

  state(peer: string | null): BlockState {
    if (!peer) return 'none';
    if (this.users.has(peer)) return 'blocking';
    if (this.refusals.has(peer)) return 'refused';
    return 'none';
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
