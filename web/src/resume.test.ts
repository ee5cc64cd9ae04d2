import { describe, expect, it } from 'vitest';
import { MessageStore } from './messages';
import { resumeRoom, type FetchAfter } from './resume';
import { msg, ROOM } from './testutil';
import type { ChatMessage } from './types';

/** A fake server history: ids given, answering `after` pages like the real one. */
function server(ids: number[], calls: number[] = []): FetchAfter {
  const all = ids.map((id) => msg(id)).sort((a, b) => a.id - b.id);
  return async (_room, after, limit) => {
    calls.push(after);
    return all.filter((m) => m.id > after).slice(0, limit);
  };
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('resumeRoom', () => {
  it('pages after the newest id until a short page', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1), msg(2)]);
    const calls: number[] = [];
    const r = await resumeRoom(s, server(range(1, 9), calls), 3);
    expect(calls).toEqual([2, 5, 8]);
    expect(r.added).toBe(7);
    expect(r.pages).toBe(3);
    expect(s.list().map((m) => m.id)).toEqual(range(1, 9));
  });

  it('starts from the mark taken before subscribing, not after a live message that came first', async () => {
    // Held 1..3 when the connection dropped; 4..6 were sent meanwhile; on the new subscription
    // MESSAGE 7 arrives before the catch-up runs. Starting after the store's newest (7) would
    // lose 4..6 for ever.
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1), msg(2), msg(3)]);
    const mark = s.newestId;
    s.merge([msg(7)]);
    const calls: number[] = [];
    await resumeRoom(s, server(range(1, 7), calls), 200, mark);
    expect(calls).toEqual([3]);
    expect(s.list().map((m) => m.id)).toEqual(range(1, 7));
  });

  it('fills a gap exactly and keeps ids unique when live frames overlap the pages', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1), msg(2), msg(3)]);
    const base = server(range(1, 12));
    // while the first page is in flight, MESSAGE frames 4..6 arrive and are merged
    let first = true;
    const fetchAfter: FetchAfter = async (room, after, limit) => {
      const page = await base(room, after, limit);
      if (first) {
        first = false;
        s.merge([msg(4), msg(5), msg(6)]);
      }
      return page;
    };
    await resumeRoom(s, fetchAfter, 4);
    const ids = s.list().map((m) => m.id);
    expect(ids).toEqual(range(1, 12));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a live MESSAGE far ahead during paging does not make it skip the rest of the gap', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1)]);
    const base = server(range(1, 20));
    const calls: number[] = [];
    let first = true;
    const fetchAfter: FetchAfter = async (room, after, limit) => {
      calls.push(after);
      const page = await base(room, after, limit);
      if (first) {
        first = false;
        s.merge([msg(20)]); // the newest message, live, while page 1 is in flight
      }
      return page;
    };
    await resumeRoom(s, fetchAfter, 5);
    expect(calls).toEqual([1, 6, 11, 16]);
    expect(s.list().map((m) => m.id)).toEqual(range(1, 20));
  });

  it('can start from an older id to find a message of mine whose MESSAGE was lost', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1), msg(2), msg(5)]);
    s.addPending('c-9', 'mine', '2026-12-06T06:00:00.000Z');
    const history = [msg(1), msg(2), msg(3, { sender: 'alice', clientMessageId: 'c-9' }), msg(4), msg(5)];
    const calls: number[] = [];
    await resumeRoom(
      s,
      async (_r, after, limit) => {
        calls.push(after);
        return history.filter((m) => m.id > after).slice(0, limit);
      },
      200,
      2,
    );
    expect(calls).toEqual([2]);
    expect(s.list().map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
    expect(s.statusOf('c-9')).toBe('sent');
  });

  it('a page of duplicates only does not loop forever', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(5)]);
    let calls = 0;
    const stuck: FetchAfter = async () => {
      calls++;
      return [msg(4), msg(5)]; // a server ignoring the cursor
    };
    const r = await resumeRoom(s, stuck, 2);
    expect(calls).toBe(1);
    expect(r.added).toBe(1);
  });

  it('starts from 0 for a loaded room without messages', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.applyInitialPage([], 50);
    const calls: number[] = [];
    await resumeRoom(s, server([1, 2], calls), 200);
    expect(calls).toEqual([0]);
    expect(s.size).toBe(2);
  });

  it('an empty page means nothing missed', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(7)]);
    const r = await resumeRoom(s, server([5, 6, 7]), 200);
    expect(r).toMatchObject({ added: 0, pages: 1 });
  });

  it('confirms my pending send found in the caught-up history', async () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1)]);
    s.addPending('c-1', 'hi', '2026-12-06T06:00:00.000Z');
    const mine: ChatMessage = msg(2, { sender: 'alice', content: 'hi', clientMessageId: 'c-1' });
    await resumeRoom(s, async () => [mine], 200);
    expect(s.list()).toHaveLength(2);
    expect(s.statusOf('c-1')).toBe('sent');
  });

  it('keeps what was merged when a later page fails', async () => {
    const s = new MessageStore(ROOM, 'alice');
    let n = 0;
    const flaky: FetchAfter = async (_r, after) => {
      if (n++ > 0) throw new Error('503');
      return [msg(after + 1), msg(after + 2)];
    };
    await expect(resumeRoom(s, flaky, 2)).rejects.toThrow('503');
    expect(s.list().map((m) => m.id)).toEqual([1, 2]);
  });
});
