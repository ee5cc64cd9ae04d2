// The catch-up after a (re)connect: page a room's history with `after={newest id}` until a short page, merging by id.
import type { MessageStore } from './messages';
import type { ChatMessage } from './types';

export type FetchAfter = (roomUUID: string, afterId: number, limit: number) => Promise<ChatMessage[]>;

export interface ResumeResult {
  store: MessageStore;
  /** New ids merged. */
  added: number;
  /** Pages fetched. */
  pages: number;
}

/**
 * Fetches every message after `from` (default: the store's newest id, or 0 when it holds none),
 * page by page (`limit` each) until a page comes back short, merging each into the store
 * (duplicates and overlaps with live MESSAGE frames are dropped by id). Each next page starts
 * after the last id of the page before, never after the store's newest id: a live MESSAGE that
 * arrives meanwhile must not make us skip the rest of the gap. Stops too when a full page brings
 * nothing newer (a server that ignores the cursor must not loop us forever). A fetch failure
 * rejects; what was merged before it stays merged.
 */
export async function resumeRoom(
  store: MessageStore,
  fetchAfter: FetchAfter,
  limit = 200,
  from: number | null = null,
): Promise<ResumeResult> {
  let added = 0;
  let pages = 0;
  let cursor = from ?? store.newestId ?? 0;
  for (;;) {
    const page = await fetchAfter(store.roomUUID, cursor, limit);
    pages++;
    added += store.merge(page);
    if (page.length < limit) break;
    let last = cursor;
    for (const m of page) if (m.id > last) last = m.id;
    if (last <= cursor) break;
    cursor = last;
  }
  return { store, added, pages };
}
