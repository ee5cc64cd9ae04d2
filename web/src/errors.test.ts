import { describe, expect, it } from 'vitest';
import { errorCodeOf, errorText, knownError, rateLimitedText, sendFailureNote } from './errors';
import { ApiError, apiErrorText } from './net/api';

describe('errorText', () => {
  it('words the safety codes in Korean', () => {
    expect(errorText('blocked')).toBe('상대방과 메시지를 주고받을 수 없어요');
    expect(errorText('rate_limited')).toMatch(/잠시 후 다시 시도/);
    for (const c of ['self_block', 'user_not_found', 'too_many_blocks', 'invalid_user', 'invalid_reason', 'detail_too_long']) {
      expect(errorText(c)).toMatch(/[가-힣]/);
      expect(errorText(c)).not.toBe(errorText('unknown_code'));
    }
  });
  it('has a generic sentence for unknown codes', () => {
    expect(errorText('something_new')).toMatch(/문제가 발생했습니다/);
    expect(errorText(null)).toMatch(/문제가 발생했습니다/);
  });
  it('says when to try again after a long rate limit', () => {
    expect(rateLimitedText(30)).toBe('요청이 너무 많아요. 30초 후에 다시 시도해 주세요.');
    expect(rateLimitedText(1)).toBe(errorText('rate_limited'));
    expect(rateLimitedText(null)).toBe(errorText('rate_limited'));
  });
});

describe('sendFailureNote', () => {
  it('explains a send refused as blocked', () => {
    expect(sendFailureNote('blocked')).toBe('상대방과 메시지를 주고받을 수 없어요');
    expect(sendFailureNote('not_a_member')).toBe(errorText('not_a_member'));
  });
  it('says nothing more for timeouts and unknown codes', () => {
    expect(sendFailureNote('timeout')).toBeNull();
    expect(sendFailureNote('error')).toBeNull();
    expect(sendFailureNote(undefined)).toBeNull();
  });
});

describe('errorCodeOf', () => {
  it('reads the server\'s `error` field and API-v2\'s `code`', () => {
    expect(errorCodeOf({ error: 'blocked', message: 'x' })).toBe('blocked');
    expect(errorCodeOf({ code: 'rate_limited', message: 'x' })).toBe('rate_limited');
    expect(errorCodeOf({ error: 'self_block', code: 'other' })).toBe('self_block');
  });
  it('is null for other bodies', () => {
    expect(errorCodeOf(null)).toBeNull();
    expect(errorCodeOf('blocked')).toBeNull();
    expect(errorCodeOf({ error: 3 })).toBeNull();
    expect(errorCodeOf({ code: '' })).toBeNull();
  });
});

describe('the listing and notification codes', () => {
  it('words them in Korean', () => {
    for (const c of ['invalid_time', 'missing_time', 'missing_place', 'place_too_long', 'invalid_place', 'push_disabled', 'push_failed']) {
      expect(errorText(c)).toMatch(/[가-힣]/);
      expect(knownError(c)).toBe(true);
    }
    expect(knownError('something_new')).toBe(false);
    expect(knownError(null)).toBe(false);
  });
  it("adds the server's own message to a code the page has no sentence for", () => {
    expect(apiErrorText(new ApiError(400, 'something_new', "'at' is odd"))).toBe(`${errorText('something_new')} ('at' is odd)`);
    expect(apiErrorText(new ApiError(400, 'invalid_time', "'at' is in the past"))).toBe(errorText('invalid_time'));
    expect(apiErrorText(new ApiError(500, 'http_500'))).toBe(errorText('http_500'));
    expect(apiErrorText(new Error('offline'))).toBe(errorText('network'));
  });
});
