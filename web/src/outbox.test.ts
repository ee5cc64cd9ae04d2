import { describe, expect, it } from 'vitest';
import {
  clientMessageIdOfReceipt,
  isTransientError,
  newClientMessageId,
  Outbox,
  RECEIPT_TIMEOUT_MS,
  receiptIdFor,
} from './outbox';

describe('error codes', () => {
  it('treats only outage codes as transient', () => {
    for (const c of ['backend_unavailable', 'shutting_down', 'slow_consumer', 'heartbeat_timeout', 'rate_limited']) {
      expect(isTransientError(c)).toBe(true);
    }
    for (const c of ['content_too_long', 'not_a_member', 'empty_content', 'room_not_found', 'internal', 'blocked', undefined, '']) {
      expect(isTransientError(c)).toBe(false);
    }
  });
});

describe('receipt ids and client message ids', () => {
  it('derives the receipt id from the clientMessageId and back', () => {
    expect(receiptIdFor('abc')).toBe('send-abc');
    expect(clientMessageIdOfReceipt('send-abc')).toBe('abc');
    expect(clientMessageIdOfReceipt('sub-abc')).toBeNull();
    expect(clientMessageIdOfReceipt(undefined)).toBeNull();
    expect(clientMessageIdOfReceipt('send-')).toBeNull();
  });
  it('makes ids of at most 64 characters', () => {
    expect(newClientMessageId(() => 'x'.repeat(100))).toHaveLength(64);
    const real = newClientMessageId();
    expect(real).toMatch(/^[0-9a-f-]{36}$/);
    expect(newClientMessageId()).not.toBe(real);
  });
});

describe('Outbox', () => {
  it('sends queued entries in order, each once per connection', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.enqueue('r', 'b', '2');
    expect(o.takeToSend(1, 0).map((e) => e.clientMessageId)).toEqual(['a', 'b']);
    expect(o.takeToSend(1, 1)).toEqual([]);
    o.enqueue('r', 'c', '3');
    expect(o.takeToSend(1, 2).map((e) => e.clientMessageId)).toEqual(['c']);
  });

  it('enqueueing the same clientMessageId twice keeps one entry', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.enqueue('r', 'a', '1');
    expect(o.size).toBe(1);
  });

  it('a receipt removes the entry, handing back where to look for the stored message', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1', 41);
    o.takeToSend(1, 0);
    expect(o.confirm('a')).toMatchObject({ content: '1', afterId: 41 });
    expect(o.size).toBe(0);
    expect(o.confirm('a')).toBeUndefined();
  });

  it('resends in-flight entries after a reconnect, in order, with the same ids', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.enqueue('r', 'b', '2');
    o.takeToSend(1, 0);
    o.confirm('a');
    o.connectionLost();
    o.enqueue('r', 'c', '3'); // typed while disconnected
    expect(o.takeToSend(2, 10).map((e) => e.clientMessageId)).toEqual(['b', 'c']);
  });

  it('a transient error keeps it pending for the next connection only', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.takeToSend(1, 0);
    expect(o.error('a', 'backend_unavailable')).toBe('transient');
    expect(o.get('a')?.state).toBe('queued');
    expect(o.takeToSend(1, 1)).toEqual([]);
    expect(o.takeToSend(2, 2).map((e) => e.clientMessageId)).toEqual(['a']);
  });

  it('a permanent error fails it until retried, and retry keeps the clientMessageId', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.takeToSend(1, 0);
    expect(o.error('a', 'content_too_long')).toBe('failed');
    o.connectionLost();
    expect(o.takeToSend(2, 1)).toEqual([]);
    expect(o.get('a')?.error).toBe('content_too_long');
    expect(o.retry('a')).toBe(true);
    const again = o.takeToSend(2, 2);
    expect(again.map((e) => e.clientMessageId)).toEqual(['a']);
    expect(o.retry('a')).toBe(false); // not failed any more
  });

  it('an error for an unknown send is ignored', () => {
    expect(new Outbox().error('zzz', 'not_a_member')).toBe('unknown');
  });

  it('fails in-flight entries without a receipt after the timeout', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.enqueue('r', 'b', '2');
    o.takeToSend(1, 1000);
    o.confirm('b');
    expect(o.expire(1000 + RECEIPT_TIMEOUT_MS - 1)).toEqual([]);
    expect(o.expire(1000 + RECEIPT_TIMEOUT_MS).map((e) => e.clientMessageId)).toEqual(['a']);
    expect(o.get('a')).toMatchObject({ state: 'failed', error: 'timeout' });
  });

  it('queued entries (disconnected) never time out', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    expect(o.expire(1e12)).toEqual([]);
  });

  it('unsend puts an entry back for the next attempt on the same connection', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.takeToSend(1, 0);
    o.unsend('a');
    expect(o.takeToSend(1, 1).map((e) => e.clientMessageId)).toEqual(['a']);
  });

  it('drops the sends of a room that was left', () => {
    const o = new Outbox();
    o.enqueue('r1', 'a', '1');
    o.enqueue('r2', 'b', '2');
    o.dropRoom('r1');
    expect(o.all().map((e) => e.clientMessageId)).toEqual(['b']);
  });

  it('a photo message keeps its attachment ids through failure and retry', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '', 3, ['p1', 'p2']);
    o.enqueue('r', 'b', 'text');
    expect(o.get('b')).not.toHaveProperty('attachmentIds');
    o.takeToSend(1, 0);
    expect(o.error('a', 'invalid_attachment')).toBe('failed');
    expect(o.retry('a')).toBe(true);
    expect(o.takeToSend(2, 1)).toMatchObject([{ clientMessageId: 'a', content: '', attachmentIds: ['p1', 'p2'] }]);
  });

  it('blocked fails the send for good: not resent on any connection until the person retries', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.takeToSend(1, 0);
    expect(o.error('a', 'blocked')).toBe('failed');
    expect(o.get('a')).toMatchObject({ state: 'failed', error: 'blocked' });
    o.connectionLost();
    for (let conn = 2; conn < 6; conn++) expect(o.takeToSend(conn, conn)).toEqual([]);
    expect(o.expire(1e12)).toEqual([]);
  });

  it('rate_limited keeps it pending and holds every send until the pause is over', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.enqueue('r', 'b', '2');
    o.takeToSend(1, 0);
    expect(o.error('a', 'rate_limited')).toBe('transient');
    o.pause(2000);
    o.connectionLost(); // the server closes after its ERROR
    o.enqueue('r', 'c', '3');
    expect(o.paused(1999)).toBe(true);
    expect(o.takeToSend(2, 1999)).toEqual([]);
    expect(o.takeToSend(2, 2000).map((e) => e.clientMessageId)).toEqual(['a', 'b', 'c']);
  });

  it('after rate_limited a send may go again on the same connection once the pause is over', () => {
    const o = new Outbox();
    o.enqueue('r', 'a', '1');
    o.takeToSend(1, 0);
    o.error('a', 'rate_limited');
    o.pause(1000);
    expect(o.takeToSend(1, 500)).toEqual([]);
    expect(o.takeToSend(1, 1000).map((e) => e.clientMessageId)).toEqual(['a']);
  });

  it('a pause is never shortened', () => {
    const o = new Outbox();
    o.pause(5000);
    o.pause(1000);
    expect(o.pausedUntil).toBe(5000);
  });
});
