import { describe, expect, it } from 'vitest';
import { calendarDaysBetween, clockTime, dateSeparatorLabel, dayKey, relativeTime } from './time';

// All dates are built in the local time zone, as the functions read them.
const now = new Date(2026, 11, 6, 15, 30, 0); // 2026-12-06 15:30 local, a Sunday

describe('relativeTime', () => {
  it('says 방금 under a minute, and for times slightly in the future', () => {
    expect(relativeTime(new Date(2026, 11, 6, 15, 29, 30), now)).toBe('방금');
    expect(relativeTime(now, now)).toBe('방금');
    expect(relativeTime(new Date(2026, 11, 6, 15, 31, 0), now)).toBe('방금');
  });
  it('counts minutes under an hour', () => {
    expect(relativeTime(new Date(2026, 11, 6, 15, 29, 0), now)).toBe('1분 전');
    expect(relativeTime(new Date(2026, 11, 6, 14, 30, 1), now)).toBe('59분 전');
  });
  it('counts hours on the same calendar day', () => {
    expect(relativeTime(new Date(2026, 11, 6, 14, 30, 0), now)).toBe('1시간 전');
    expect(relativeTime(new Date(2026, 11, 6, 0, 1, 0), now)).toBe('15시간 전');
  });
  it('says 어제 for the previous calendar day, even when under 24 hours ago', () => {
    expect(relativeTime(new Date(2026, 11, 5, 23, 59, 0), new Date(2026, 11, 6, 1, 0, 0))).toBe('어제');
    expect(relativeTime(new Date(2026, 11, 5, 0, 0, 0), now)).toBe('어제');
  });
  it('counts days under a week', () => {
    expect(relativeTime(new Date(2026, 11, 4, 12, 0, 0), now)).toBe('2일 전');
    expect(relativeTime(new Date(2026, 10, 30, 12, 0, 0), now)).toBe('6일 전');
  });
  it('shows month and day within the same year, a week or more ago', () => {
    expect(relativeTime(new Date(2026, 10, 29, 12, 0, 0), now)).toBe('11월 29일');
    expect(relativeTime(new Date(2026, 0, 1, 0, 0, 0), now)).toBe('1월 1일');
  });
  it('shows the full date for another year', () => {
    expect(relativeTime(new Date(2025, 2, 9, 8, 0, 0), now)).toBe('2025. 3. 9.');
    // across New Year: 2 days ago is still "2일 전", 8 days ago is last year's date
    const jan2 = new Date(2027, 0, 2, 10, 0, 0);
    expect(relativeTime(new Date(2026, 11, 31, 10, 0, 0), jan2)).toBe('2일 전');
    expect(relativeTime(new Date(2026, 11, 25, 10, 0, 0), jan2)).toBe('2026. 12. 25.');
  });
  it('accepts RFC 3339 strings and returns empty text for garbage', () => {
    const iso = new Date(now.getTime() - 5 * 60_000).toISOString();
    expect(relativeTime(iso, now)).toBe('5분 전');
    expect(relativeTime('not a date', now)).toBe('');
  });
});

describe('calendar helpers', () => {
  it('counts calendar days, not 24-hour spans', () => {
    expect(calendarDaysBetween(new Date(2026, 11, 5, 23, 0), new Date(2026, 11, 6, 1, 0))).toBe(1);
    expect(calendarDaysBetween(new Date(2026, 11, 6, 1, 0), new Date(2026, 11, 6, 23, 0))).toBe(0);
    expect(calendarDaysBetween(new Date(2026, 1, 27), new Date(2026, 2, 2))).toBe(3);
  });
  it('keys days by local date', () => {
    expect(dayKey(new Date(2026, 0, 5, 23, 59))).toBe('2026-01-05');
    expect(dayKey(new Date(2026, 0, 6, 0, 0))).toBe('2026-01-06');
  });
});

describe('dateSeparatorLabel', () => {
  it('writes year, month, day and weekday in Korean', () => {
    expect(dateSeparatorLabel(now)).toBe('2026년 12월 6일 일요일');
    expect(dateSeparatorLabel(new Date(2026, 11, 7))).toBe('2026년 12월 7일 월요일');
    expect(dateSeparatorLabel(new Date(2027, 0, 2))).toBe('2027년 1월 2일 토요일');
  });
});

describe('clockTime', () => {
  it('uses 오전/오후 with a 12-hour clock', () => {
    expect(clockTime(new Date(2026, 11, 6, 15, 12))).toBe('오후 3:12');
    expect(clockTime(new Date(2026, 11, 6, 9, 5))).toBe('오전 9:05');
    expect(clockTime(new Date(2026, 11, 6, 0, 0))).toBe('오전 12:00');
    expect(clockTime(new Date(2026, 11, 6, 12, 30))).toBe('오후 12:30');
    expect(clockTime(new Date(2026, 11, 6, 23, 59))).toBe('오후 11:59');
  });
});
