import { describe, expect, it } from 'vitest';
import { detailCounter, isReportReason, REPORT_DETAIL_MAX, REPORT_REASONS, reportBody } from './report';
import { ROOM } from './testutil';

describe('report reasons', () => {
  it('lists the four reasons of the API with Korean labels', () => {
    expect(REPORT_REASONS.map((r) => [r.value, r.label])).toEqual([
      ['SCAM', '사기 의심'],
      ['ABUSE', '욕설·비매너'],
      ['SPAM', '스팸·광고'],
      ['OTHER', '기타'],
    ]);
    expect(isReportReason('SCAM')).toBe(true);
    expect(isReportReason('scam')).toBe(false);
    expect(isReportReason('')).toBe(false);
  });
});

describe('reportBody', () => {
  it('needs a reason', () => {
    expect(reportBody(ROOM, '', '')).toBeNull();
    expect(reportBody(ROOM, 'FRAUD', '')).toBeNull();
  });
  it('sends the room and reason, the trimmed detail only when there is one', () => {
    expect(reportBody(ROOM, 'SPAM', '   ')).toEqual({ roomUUID: ROOM, reason: 'SPAM' });
    expect(reportBody(ROOM, 'SCAM', ' 선입금을 요구해요\n')).toEqual({ roomUUID: ROOM, reason: 'SCAM', detail: '선입금을 요구해요' });
  });
  it('names the message when opened from one', () => {
    expect(reportBody(ROOM, 'ABUSE', '', 42)).toEqual({ roomUUID: ROOM, reason: 'ABUSE', messageId: 42 });
    expect(reportBody(ROOM, 'ABUSE', '', 0)).toEqual({ roomUUID: ROOM, reason: 'ABUSE' });
    expect(reportBody(ROOM, 'ABUSE', '', null)).toEqual({ roomUUID: ROOM, reason: 'ABUSE' });
  });
  it('refuses a detail over the limit', () => {
    expect(reportBody(ROOM, 'OTHER', '가'.repeat(REPORT_DETAIL_MAX))).not.toBeNull();
    expect(reportBody(ROOM, 'OTHER', '가'.repeat(REPORT_DETAIL_MAX + 1))).toBeNull();
  });
  it('counts the detail as the field does', () => {
    expect(detailCounter('')).toBe('0/1,000');
    expect(detailCounter('사기')).toBe('2/1,000');
  });
});
