// Korean time formatting: relative times for the room list, day separators and bubble clock times (local time zone).

const WEEKDAYS = ['일요일', '월요일', '화요일', '수요일', '목요일', '금요일', '토요일'];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function toDate(t: Date | string | number): Date {
  return t instanceof Date ? t : new Date(t);
}

/** Whole calendar days from `a`'s local day to `b`'s local day (DST-safe). */
export function calendarDaysBetween(a: Date, b: Date): number {
  const da = Date.UTC(a.getFullYear(), a.getMonth(), a.getDate());
  const db = Date.UTC(b.getFullYear(), b.getMonth(), b.getDate());
  return Math.round((db - da) / 86_400_000);
}

/** A local-day key ("2026-12-06") used to place date separators. */
export function dayKey(t: Date | string | number): string {
  const d = toDate(t);
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}

/**
 * The room list's relative time: < 1 min "방금"; < 60 min "N분 전"; same calendar day "N시간 전";
 * previous calendar day "어제"; < 7 days "N일 전"; same year "M월 D일"; else "YYYY. M. D.".
 * A time in the future (clock skew) counts as "방금".
 */
export function relativeTime(t: Date | string | number, now: Date | number = Date.now()): string {
  const d = toDate(t);
  const n = toDate(now);
  if (Number.isNaN(d.getTime())) return '';
  const diff = n.getTime() - d.getTime();
  if (diff < MINUTE) return '방금';
  if (diff < HOUR) return `${Math.floor(diff / MINUTE)}분 전`;
  const days = calendarDaysBetween(d, n);
  if (days <= 0) return `${Math.floor(diff / HOUR)}시간 전`;
  if (days === 1) return '어제';
  if (days < 7) return `${days}일 전`;
  if (d.getFullYear() === n.getFullYear()) return `${d.getMonth() + 1}월 ${d.getDate()}일`;
  return `${d.getFullYear()}. ${d.getMonth() + 1}. ${d.getDate()}.`;
}

/** The label of a day separator in the chat: "2026년 12월 6일 일요일". */
export function dateSeparatorLabel(t: Date | string | number): string {
  const d = toDate(t);
  return `${d.getFullYear()}년 ${d.getMonth() + 1}월 ${d.getDate()}일 ${WEEKDAYS[d.getDay()]}`;
}

/** A bubble's clock time: "오전 9:05", "오후 3:12", "오전 12:00" (midnight), "오후 12:30" (noon). */
export function clockTime(t: Date | string | number): string {
  const d = toDate(t);
  const h = d.getHours();
  const half = h < 12 ? '오전' : '오후';
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${half} ${h12}:${String(d.getMinutes()).padStart(2, '0')}`;
}
