import { describe, expect, it } from 'vitest';
import { errorText } from './errors';
import { checkContent, codePointLength, isValidUserId, jwtSubject } from './validate';

function jwt(payload: object): string {
  const enc = (o: object) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(o))))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}.sig`;
}

describe('isValidUserId', () => {
  it('accepts 1–128 ASCII letters, digits and -_.@:', () => {
    expect(isValidUserId('alice')).toBe(true);
    expect(isValidUserId('a.b-c_d@e:f9')).toBe(true);
    expect(isValidUserId('x'.repeat(128))).toBe(true);
  });
  it('refuses empty, too long, spaces and non-ASCII', () => {
    expect(isValidUserId('')).toBe(false);
    expect(isValidUserId('x'.repeat(129))).toBe(false);
    expect(isValidUserId('a b')).toBe(false);
    expect(isValidUserId('철수')).toBe(false);
  });
});

describe('checkContent', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(codePointLength('😀😀')).toBe(2);
    expect(codePointLength('안녕')).toBe(2);
    expect(checkContent('😀'.repeat(4), 4)).toEqual({ ok: true });
    expect(checkContent('😀'.repeat(5), 4)).toEqual({ ok: false, reason: 'too_long', length: 5, limit: 4 });
  });
  it('refuses whitespace-only content', () => {
    expect(checkContent('', 10)).toEqual({ ok: false, reason: 'empty' });
    expect(checkContent(' \n\t ', 10)).toEqual({ ok: false, reason: 'empty' });
    expect(checkContent(' a ', 10)).toEqual({ ok: true });
  });
});

describe('jwtSubject', () => {
  it('reads sub from the payload', () => {
    expect(jwtSubject(jwt({ sub: 'alice', exp: 1 }))).toBe('alice');
  });
  it('returns null for non-JWTs, missing or invalid sub', () => {
    expect(jwtSubject('abc')).toBeNull();
    expect(jwtSubject('a.!!!.c')).toBeNull();
    expect(jwtSubject(jwt({ exp: 1 }))).toBeNull();
    expect(jwtSubject(jwt({ sub: '철수' }))).toBeNull();
    expect(jwtSubject(jwt({ sub: 42 }))).toBeNull();
  });
});

describe('errorText', () => {
  it('has Korean text for known codes and a generic one otherwise', () => {
    expect(errorText('self_chat')).toBe('자기 자신과는 대화할 수 없습니다.');
    expect(errorText('something_new')).toContain('문제가 발생했습니다');
    expect(errorText(undefined)).toContain('문제가 발생했습니다');
  });
});
