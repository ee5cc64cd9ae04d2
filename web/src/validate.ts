// Input rules of the page: user ids, a JWT's subject, and what the composer may send.
import { base64UrlToBytes } from './push';

const USER_ID = /^[A-Za-z0-9\-_.@:]{1,128}$/;

/** A user id is 1–128 ASCII letters, digits and `-_.@:`. */
export function isValidUserId(s: string): boolean {
  return USER_ID.test(s);
}

/** Length in Unicode code points (how the server counts content characters). */
export function codePointLength(s: string): number {
  return Array.from(s).length;
}

export type ContentCheck =
  | { ok: true }
  | { ok: false; reason: 'empty' }
  | { ok: false; reason: 'too_long'; length: number; limit: number };

/** Whitespace-only content is not sent; content over `limit` code points is refused inline. */
export function checkContent(content: string, limit: number): ContentCheck {
  if (content.trim().length === 0) return { ok: false, reason: 'empty' };
  const length = codePointLength(content);
  if (length > limit) return { ok: false, reason: 'too_long', length, limit };
  return { ok: true };
}

function base64UrlDecode(s: string): string {
  return new TextDecoder().decode(base64UrlToBytes(s));
}

/**
 * The user id a JWT names (`sub`), read without verifying (the server verifies); null when the
 * token is not a JWT or its `sub` is not a valid user id.
 */
export function jwtSubject(token: string): string | null {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    if (payload && typeof payload === 'object' && 'sub' in payload) {
      const sub = (payload as { sub: unknown }).sub;
      if (typeof sub === 'string' && isValidUserId(sub)) return sub;
    }
    return null;
  } catch {
    return null;
  }
}
