// The listing in the chat (API-v2 "The listing"): the trade status's Korean label, a room's appointment read and shown in local time, and the appointment form's PUT body.
import { calendarDaysBetween, clockTime } from './time';
import type { Appointment, Room } from './types';
import { codePointLength } from './validate';

const STATUS_LABELS: Record<string, string> = {
  ON_SALE: '판매중',
  RESERVED: '예약중',
  SOLD: '거래완료',
};

/** The header's label for a trade status; null for none (and for a status this page does not know). */
export function productStatusLabel(status: unknown): string | null {
  return typeof status === 'string' ? (STATUS_LABELS[status] ?? null) : null;
}

/** The room's appointment when it is a well-formed one (a time that reads, a place), else null. */
export function appointmentOf(room: Room | undefined): Appointment | null {
  const a = room?.appointment as Partial<Appointment> | null | undefined;
  if (!a || typeof a !== 'object') return null;
  if (typeof a.at !== 'string' || Number.isNaN(Date.parse(a.at)) || typeof a.place !== 'string') return null;
  return { at: a.at, place: a.place, setBy: typeof a.setBy === 'string' ? a.setBy : '' };
}

const WEEKDAYS = ['일', '월', '화', '수', '목', '금', '토'];

/**
 * When the appointment is, in the viewer's local time: "오늘 오후 7:00", "내일 오전 10:30",
 * "12월 24일 (수) 오후 7:00", another year's "2027년 1월 3일 (일) 오후 7:00".
 */
export function appointmentTime(at: string | Date, now: Date | number = Date.now()): string {
  const d = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  const n = now instanceof Date ? now : new Date(now);
  const days = calendarDaysBetween(n, d);
  const clock = clockTime(d);
  if (days === 0) return `오늘 ${clock}`;
  if (days === 1) return `내일 ${clock}`;
  const day = `${d.getMonth() + 1}월 ${d.getDate()}일 (${WEEKDAYS[d.getDay()]})`;
  return d.getFullYear() === n.getFullYear() ? `${day} ${clock}` : `${d.getFullYear()}년 ${day} ${clock}`;
}

/** Whether the appointment's time has passed. */
export function appointmentPast(a: Appointment, now: number = Date.now()): boolean {
  return Date.parse(a.at) <= now;
}

/** The longest place the server takes, in characters (code points). */
export const APPOINTMENT_PLACE_MAX = 100;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A local time as a `datetime-local` input shows it: "2026-12-24T19:00". */
export function localInputValue(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A time in RFC 3339 with the viewer's own offset: "2026-12-24T19:00:00+09:00". */
export function rfc3339Local(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${localInputValue(d)}:${pad(d.getSeconds())}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/** A `datetime-local` value read as the viewer's local time; null when it is not one. */
export function parseLocalInput(value: string): Date | null {
  const m = LOCAL_INPUT.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  // 2026-02-31 rolls over into March: not a time the person picked.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return date;
}

export interface AppointmentBody {
  at: string;
  place: string;
}

/**
 * The `PUT /room/{id}/appointment` body from the form, or the error code of what is missing
 * (`missing_time`, `missing_place`, `place_too_long`). Whether the time is too early or too far
 * ahead is the server's to say (`invalid_time`): one clock decides.
 */
export function appointmentBody(localValue: string, place: string): AppointmentBody | { error: string } {
  const at = parseLocalInput(localValue);
  if (!at) return { error: 'missing_time' };
  const p = place.trim();
  if (p.length === 0) return { error: 'missing_place' };
  if (codePointLength(p) > APPOINTMENT_PLACE_MAX) return { error: 'place_too_long' };
  return { at: rfc3339Local(at), place: p };
}
