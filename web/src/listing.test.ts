import { describe, expect, it } from 'vitest';
import {
  APPOINTMENT_PLACE_MAX,
  appointmentBody,
  appointmentOf,
  appointmentPast,
  appointmentTime,
  localInputValue,
  parseLocalInput,
  productStatusLabel,
  rfc3339Local,
} from './listing';
import { room } from './testutil';

// All dates are built in the local time zone, as the functions read and show them.
const now = new Date(2026, 11, 6, 15, 30, 0); // 2026-12-06 15:30 local, a Sunday

describe('productStatusLabel', () => {
  it('names the three statuses in Korean', () => {
    expect(productStatusLabel('ON_SALE')).toBe('판매중');
    expect(productStatusLabel('RESERVED')).toBe('예약중');
    expect(productStatusLabel('SOLD')).toBe('거래완료');
  });
  it('shows nothing for none, and for a status this page does not know', () => {
    expect(productStatusLabel(null)).toBeNull();
    expect(productStatusLabel(undefined)).toBeNull();
    expect(productStatusLabel('HIDDEN')).toBeNull();
    expect(productStatusLabel('sold')).toBeNull();
    expect(productStatusLabel(3)).toBeNull();
  });
});

describe('appointmentOf', () => {
  const a = { at: '2026-12-24T10:00:00Z', place: '강남역 2번 출구', setBy: 'alice' };
  it("reads the room's appointment", () => {
    expect(appointmentOf(room('r', { appointment: a }))).toEqual(a);
  });
  it('is null without one, or with one the page could not show', () => {
    expect(appointmentOf(undefined)).toBeNull();
    expect(appointmentOf(room('r'))).toBeNull();
    expect(appointmentOf(room('r', { appointment: null }))).toBeNull();
    expect(appointmentOf(room('r', { appointment: { ...a, at: 'tomorrow' } }))).toBeNull();
    expect(appointmentOf(room('r', { appointment: { ...a, place: 3 } as never }))).toBeNull();
  });
  it('keeps an appointment whose setter is missing', () => {
    expect(appointmentOf(room('r', { appointment: { at: a.at, place: a.place } as never }))).toEqual({ ...a, setBy: '' });
  });
});

describe('appointmentTime', () => {
  it('says 오늘 and 내일 for the next two calendar days', () => {
    expect(appointmentTime(new Date(2026, 11, 6, 19, 0), now)).toBe('오늘 오후 7:00');
    expect(appointmentTime(new Date(2026, 11, 7, 0, 30), now)).toBe('내일 오전 12:30');
    expect(appointmentTime(new Date(2026, 11, 7, 10, 5), now)).toBe('내일 오전 10:05');
  });
  it('gives the date and weekday further ahead, and the year when it is another one', () => {
    expect(appointmentTime(new Date(2026, 11, 24, 19, 0), now)).toBe('12월 24일 (목) 오후 7:00');
    expect(appointmentTime(new Date(2027, 0, 3, 12, 0), now)).toBe('2027년 1월 3일 (일) 오후 12:00');
    // one already past reads the same way (the card marks it)
    expect(appointmentTime(new Date(2026, 11, 1, 9, 0), now)).toBe('12월 1일 (화) 오전 9:00');
  });
  it('shows the RFC 3339 time in the local zone', () => {
    const at = new Date(2026, 11, 24, 19, 0);
    expect(appointmentTime(at.toISOString(), now)).toBe('12월 24일 (목) 오후 7:00');
    expect(appointmentTime(rfc3339Local(at), now)).toBe('12월 24일 (목) 오후 7:00');
    expect(appointmentTime('nonsense', now)).toBe('');
  });
  it('knows when it has passed', () => {
    const a = { at: new Date(2026, 11, 6, 15, 0).toISOString(), place: 'x', setBy: 'a' };
    expect(appointmentPast(a, now.getTime())).toBe(true);
    expect(appointmentPast({ ...a, at: new Date(2026, 11, 6, 16, 0).toISOString() }, now.getTime())).toBe(false);
  });
});

describe('the form', () => {
  it('reads a datetime-local value as local time, and writes one', () => {
    expect(parseLocalInput('2026-12-24T19:00')).toEqual(new Date(2026, 11, 24, 19, 0));
    expect(parseLocalInput('2026-12-24T19:00:30')).toEqual(new Date(2026, 11, 24, 19, 0, 30));
    expect(localInputValue(new Date(2026, 0, 5, 7, 3))).toBe('2026-01-05T07:03');
    expect(parseLocalInput(localInputValue(now))).toEqual(now);
  });
  it('refuses what is not a time the person picked', () => {
    for (const v of ['', '2026-12-24', '19:00', '2026-02-31T10:00', '2026-12-24 19:00', 'x']) {
      expect(parseLocalInput(v), v).toBeNull();
    }
  });
  it("writes RFC 3339 with the viewer's offset, the same instant", () => {
    const at = new Date(2026, 11, 24, 19, 0);
    const s = rfc3339Local(at);
    expect(s).toMatch(/^2026-12-24T19:00:00[+-]\d{2}:\d{2}$/);
    expect(Date.parse(s)).toBe(at.getTime());
  });
  it('makes the PUT body: the time in RFC 3339, the place trimmed', () => {
    const body = appointmentBody('2026-12-24T19:00', '  강남역 2번 출구 ');
    expect(body).toEqual({ at: rfc3339Local(new Date(2026, 11, 24, 19, 0)), place: '강남역 2번 출구' });
  });
  it('says what is missing; the server judges the time itself', () => {
    expect(appointmentBody('', '강남역')).toEqual({ error: 'missing_time' });
    expect(appointmentBody('2026-12-24T19:00', '   ')).toEqual({ error: 'missing_place' });
    expect(appointmentBody('2026-12-24T19:00', '가'.repeat(APPOINTMENT_PLACE_MAX + 1))).toEqual({ error: 'place_too_long' });
    // 100 characters (not UTF-16 units) is allowed
    expect(appointmentBody('2026-12-24T19:00', '😀'.repeat(APPOINTMENT_PLACE_MAX))).toMatchObject({ place: '😀'.repeat(100) });
    // a past time goes to the server, which answers invalid_time
    expect(appointmentBody('2020-01-01T10:00', '역 앞')).toMatchObject({ place: '역 앞' });
  });
});
