import { describe, expect, it } from 'vitest';
import { MessageStore } from './messages';
import { msg, photo, ROOM } from './testutil';

const store = () => new MessageStore(ROOM, 'alice');

describe('MessageStore merge', () => {
  it('orders by id and drops duplicates from any source', () => {
    const s = store();
    expect(s.merge([msg(3), msg(1)])).toBe(2);
    expect(s.merge([msg(2), msg(3), msg(1)])).toBe(1);
    expect(s.list().map((m) => m.id)).toEqual([1, 2, 3]);
    expect(s.size).toBe(3);
  });

  it('ignores messages of other rooms', () => {
    const s = store();
    expect(s.merge([msg(1, { roomUUID: 'other' })])).toBe(0);
    expect(s.list()).toEqual([]);
  });

  it('tracks oldest and newest ids as cursors', () => {
    const s = store();
    expect(s.oldestId).toBeNull();
    expect(s.newestId).toBeNull();
    s.merge([msg(10), msg(7), msg(12)]);
    expect(s.oldestId).toBe(7);
    expect(s.newestId).toBe(12);
  });

  it('bumps the version only on change', () => {
    const s = store();
    const v0 = s.version;
    s.merge([msg(1)]);
    const v1 = s.version;
    expect(v1).toBeGreaterThan(v0);
    s.merge([msg(1)]);
    expect(s.version).toBe(v1);
  });

  it('marks mine by sender, never a SYSTEM notice', () => {
    const s = store();
    s.merge([
      msg(1, { sender: 'alice' }),
      msg(2, { sender: 'bob' }),
      msg(3, { sender: 'alice', type: 'SYSTEM', notice: 'MEMBER_LEFT' }),
    ]);
    expect(s.list().map((m) => [m.mine, m.status])).toEqual([
      [true, 'sent'],
      [false, undefined],
      [false, undefined],
    ]);
  });
});

describe('MessageStore paging', () => {
  it('a full first page leaves older pages to load', () => {
    const s = store();
    expect(s.hasMoreOlder).toBe(false);
    s.applyInitialPage([msg(51), msg(52)], 2);
    expect(s.loaded).toBe(true);
    expect(s.hasMoreOlder).toBe(true);
  });

  it('a short first page is the start of the conversation', () => {
    const s = store();
    s.applyInitialPage([msg(1)], 50);
    expect(s.reachedStart).toBe(true);
    expect(s.hasMoreOlder).toBe(false);
  });

  it('an empty room is loaded and at its start', () => {
    const s = store();
    s.applyInitialPage([], 50);
    expect(s.loaded).toBe(true);
    expect(s.reachedStart).toBe(true);
    expect(s.list()).toEqual([]);
  });

  it('older pages prepend until a short page', () => {
    const s = store();
    s.applyInitialPage([msg(5), msg(6)], 2);
    expect(s.applyOlderPage([msg(3), msg(4)], 2)).toBe(2);
    expect(s.hasMoreOlder).toBe(true);
    expect(s.oldestId).toBe(3);
    s.applyOlderPage([msg(2)], 2);
    expect(s.reachedStart).toBe(true);
    expect(s.list().map((m) => m.id)).toEqual([2, 3, 4, 5, 6]);
  });

  it('a full older page with nothing new stops paging (no endless loop)', () => {
    const s = store();
    s.applyInitialPage([msg(5), msg(6)], 2);
    s.applyOlderPage([msg(5), msg(6)], 2);
    expect(s.hasMoreOlder).toBe(false);
  });
});

describe('MessageStore sends of mine', () => {
  it('shows a send at once as pending, after the stored messages', () => {
    const s = store();
    s.merge([msg(1)]);
    s.addPending('c-1', '안녕하세요', '2026-12-06T06:00:00.000Z');
    const l = s.list();
    expect(l).toHaveLength(2);
    expect(l[1]).toMatchObject({ id: null, mine: true, status: 'pending', clientMessageId: 'c-1', content: '안녕하세요' });
  });

  it('RECEIPT marks it sent; its MESSAGE then replaces it without showing it twice', () => {
    const s = store();
    s.addPending('c-1', 'hi', '2026-12-06T06:00:00.000Z');
    expect(s.markSent('c-1')).toBe(true);
    expect(s.list()[0]!.status).toBe('sent');
    s.merge([msg(9, { sender: 'alice', content: 'hi', clientMessageId: 'c-1' })]);
    const l = s.list();
    expect(l).toHaveLength(1);
    expect(l[0]).toMatchObject({ id: 9, status: 'sent', key: 'c:c-1' });
    expect(s.hasStored('c-1')).toBe(true);
    expect(s.hasStored('c-2')).toBe(false);
  });

  it('the MESSAGE before the RECEIPT merges too, and a late receipt changes nothing', () => {
    const s = store();
    s.addPending('c-1', 'hi', '2026-12-06T06:00:00.000Z');
    const keyBefore = s.list()[0]!.key;
    s.merge([msg(9, { sender: 'alice', clientMessageId: 'c-1' })]);
    expect(s.list()).toHaveLength(1);
    expect(s.list()[0]!.key).toBe(keyBefore);
    expect(s.markSent('c-1')).toBe(false);
    expect(s.statusOf('c-1')).toBe('sent');
  });

  it("another user's message with the same clientMessageId does not swallow mine", () => {
    const s = store();
    s.addPending('c-1', 'hi', '2026-12-06T06:00:00.000Z');
    s.merge([msg(4, { sender: 'bob', clientMessageId: 'c-1' })]);
    expect(s.list()).toHaveLength(2);
    expect(s.statusOf('c-1')).toBe('pending');
  });

  it('failed, then retried back to pending; a sent one cannot fail', () => {
    const s = store();
    s.addPending('c-1', 'hi', '2026-12-06T06:00:00.000Z');
    expect(s.markFailed('c-1', 'content_too_long')).toBe(true);
    expect(s.list()[0]).toMatchObject({ status: 'failed', error: 'content_too_long' });
    expect(s.markPending('c-1')).toBe(true);
    expect(s.statusOf('c-1')).toBe('pending');
    s.markSent('c-1');
    expect(s.markFailed('c-1')).toBe(false);
    expect(s.statusOf('c-1')).toBe('sent');
  });

  it('keeps the typed order of several pending sends', () => {
    const s = store();
    s.addPending('b', 'first', '2026-12-06T06:00:00.000Z');
    s.addPending('a', 'second', '2026-12-06T06:00:00.000Z');
    s.addPending('b', 'dup', '2026-12-06T06:00:00.000Z');
    expect(s.list().map((m) => m.content)).toEqual(['first', 'second']);
  });
});

describe('MessageStore photos', () => {
  it('a pending photo message shows its uploaded photos as IMAGE, then the stored one replaces it', () => {
    const s = store();
    s.addPending('c-1', '', '2026-12-06T06:00:00.000Z', [photo('a'), photo('b')]);
    expect(s.list()[0]).toMatchObject({ type: 'IMAGE', content: '', attachments: [photo('a'), photo('b')], status: 'pending' });
    s.merge([msg(5, { sender: 'alice', type: 'IMAGE', content: '', clientMessageId: 'c-1', attachments: [photo('a'), photo('b')] })]);
    expect(s.list()).toHaveLength(1);
    expect(s.list()[0]).toMatchObject({ id: 5, key: 'c:c-1', type: 'IMAGE', status: 'sent' });
    expect(s.list()[0]!.attachments.map((a) => a.id)).toEqual(['a', 'b']);
  });

  it('text messages have no attachments; malformed ones are not shown', () => {
    const s = store();
    s.merge([msg(1), msg(2, { type: 'IMAGE', attachments: [photo('a'), { id: 'broken' } as never] })]);
    expect(s.list().map((m) => m.attachments.length)).toEqual([0, 1]);
  });

  it('refresh puts fresh photo addresses in, merges new messages, and leaves the rest alone', () => {
    const s = store();
    s.merge([msg(1), msg(2, { type: 'IMAGE', content: '', attachments: [photo('a')] })]);
    const v = s.version;
    expect(s.refresh([msg(1), msg(2, { type: 'IMAGE', content: '', attachments: [photo('a')] })])).toBe(0);
    expect(s.version).toBe(v);
    const fresh = photo('a', { url: '/room/r/attachments/a?exp=2&sig=t', thumbnailUrl: '/room/r/attachments/a/thumbnail?exp=2&sig=t' });
    expect(s.refresh([msg(2, { type: 'IMAGE', content: '', attachments: [fresh] }), msg(3)])).toBe(2);
    expect(s.version).toBeGreaterThan(v);
    expect(s.list().map((m) => m.id)).toEqual([1, 2, 3]);
    expect(s.list()[1]!.attachments[0]!.thumbnailUrl).toContain('exp=2');
    expect(s.refresh([msg(9, { roomUUID: 'other', attachments: [fresh] })])).toBe(0);
  });
});

describe('MessageStore warnings', () => {
  it('carries the server\'s warnings to the view, and none on my pending sends', () => {
    const s = new MessageStore(ROOM, 'alice');
    s.merge([msg(1, { warnings: ['PHONE_NUMBER', 'MESSENGER'] }), msg(2), msg(3, { warnings: 'PHONE_NUMBER' as unknown as string[] })]);
    s.addPending('c1', '010-1234-5678', '2026-12-06T06:00:10.000Z');
    expect(s.list().map((m) => m.warnings)).toEqual([['PHONE_NUMBER', 'MESSENGER'], [], [], []]);
  });
  it('a send refused as blocked fails with its code', () => {
    const s = new MessageStore(ROOM, 'alice');
    s.addPending('c1', '안녕하세요', '2026-12-06T06:00:10.000Z');
    expect(s.markFailed('c1', 'blocked')).toBe(true);
    expect(s.list()[0]).toMatchObject({ status: 'failed', error: 'blocked' });
  });
});
