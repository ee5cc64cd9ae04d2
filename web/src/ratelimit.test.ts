import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_AFTER_MS, MAX_AUTO_RETRIES, MAX_AUTO_WAIT_MS, retryAfterMs, SendPause, shouldRetryAfter, waitSeconds } from './ratelimit';

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 11, 7, 6, 0, 0);
  it('reads delta-seconds', () => {
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
  });
  it('reads an HTTP date', () => {
    expect(retryAfterMs(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(retryAfterMs(new Date(now - 5000).toUTCString(), now)).toBe(0);
  });
  it('falls back to a second when missing or unreadable', () => {
    expect(retryAfterMs(null, now)).toBe(DEFAULT_RETRY_AFTER_MS);
    expect(retryAfterMs('', now)).toBe(DEFAULT_RETRY_AFTER_MS);
    expect(retryAfterMs('soon', now)).toBe(DEFAULT_RETRY_AFTER_MS);
    expect(retryAfterMs('-3', now)).toBe(DEFAULT_RETRY_AFTER_MS);
  });
  it('caps absurd values at a day', () => {
    expect(retryAfterMs('99999999', now)).toBe(86_400_000);
  });
});

describe('shouldRetryAfter', () => {
  it('waits by itself for short pauses, a few times', () => {
    expect(shouldRetryAfter(1000, 1)).toBe(true);
    expect(shouldRetryAfter(MAX_AUTO_WAIT_MS, MAX_AUTO_RETRIES)).toBe(true);
    expect(shouldRetryAfter(1000, MAX_AUTO_RETRIES + 1)).toBe(false);
    expect(shouldRetryAfter(MAX_AUTO_WAIT_MS + 1, 1)).toBe(false);
  });
  it('words the wait in whole seconds', () => {
    expect(waitSeconds(0)).toBe(1);
    expect(waitSeconds(1200)).toBe(2);
    expect(waitSeconds(60_000)).toBe(60);
  });
});

describe('SendPause', () => {
  it('doubles from a second up to 30 s, and starts over after a send goes through', () => {
    const p = new SendPause();
    expect(p.paused(0)).toBe(false);
    expect(p.hit(0)).toBe(1000);
    expect(p.paused(999)).toBe(true);
    expect(p.paused(1000)).toBe(false);
    expect(p.hit(1000)).toBe(3000);
    expect(p.hit(3000)).toBe(7000);
    for (let i = 0; i < 10; i++) p.hit(100_000);
    expect(p.hit(200_000)).toBe(230_000);
    p.reset();
    expect(p.hit(300_000)).toBe(301_000);
  });
  it('never shortens a pause already running', () => {
    const p = new SendPause();
    p.hit(0);
    p.hit(0);
    p.reset();
    expect(p.hit(0)).toBe(2000);
  });
});
