// Rate limits: how long to wait after a REST 429 (its Retry-After) and after a STOMP `rate_limited` (a doubling pause, reset by a send that goes through).

/** A 429 without a usable Retry-After waits this long. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** A REST call waits by itself for at most this long; a longer Retry-After is shown to the person. */
export const MAX_AUTO_WAIT_MS = 10_000;
/** How many times one REST call is tried again after a 429. */
export const MAX_AUTO_RETRIES = 2;

/**
 * A `Retry-After` header in milliseconds from `now`: delta-seconds (`"3"`) or an HTTP date
 * (RFC 9110); missing or unreadable is DEFAULT_RETRY_AFTER_MS, a date in the past 0.
 */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number {
  const v = header?.trim();
  if (!v) return DEFAULT_RETRY_AFTER_MS;
  if (/^\d+$/.test(v)) return Math.min(Number(v), 86_400) * 1000;
  // An HTTP date names its day and month ("Mon, 07 Dec 2026 06:00:05 GMT"); a bare "-3" is no date.
  const at = /[a-z]/i.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(at)) return DEFAULT_RETRY_AFTER_MS;
  return Math.max(0, at - now);
}

/** Whether a REST call refused with 429 should wait `waitMs` and go again (its `attempt`th retry), or give up. */
export function shouldRetryAfter(waitMs: number, attempt: number): boolean {
  return attempt <= MAX_AUTO_RETRIES && waitMs <= MAX_AUTO_WAIT_MS;
}

/** The seconds to show for a wait ("3초 후"), at least 1. */
export function waitSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * The pause of my sends after STOMP `rate_limited` (which has no Retry-After): 1 s, doubling
 * with each refusal up to 30 s, back to 1 s after a send goes through.
 */
export class SendPause {
  private strikes = 0;
  /** Sends wait until this time (ms since the epoch); 0 when not paused. */
  until = 0;

  constructor(
    private readonly firstMs = 1_000,
    private readonly maxMs = 30_000,
  ) {}

  /** Refused as `rate_limited` at `now`: returns when sends may go again. */
  hit(now: number): number {
    const ms = Math.min(this.maxMs, this.firstMs * 2 ** Math.min(this.strikes, 30));
    this.strikes++;
    this.until = Math.max(this.until, now + ms);
    return this.until;
  }

  /** A send went through: the next refusal starts from the first pause again. */
  reset(): void {
    this.strikes = 0;
  }

  paused(now: number): boolean {
    return now < this.until;
  }
}
