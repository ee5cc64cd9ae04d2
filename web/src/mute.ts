// A room's mute (API-v2 "Notifications"): whether it is muted now, and the toggle's label.
import type { Room } from './types';

/**
 * Whether I muted the room's notifications, as of `now`: the server says `muted` (false again once
 * `mutedUntil` passed), but a room the page holds may have been read before that time came.
 */
export function isMuted(room: Room | undefined, now: number = Date.now()): boolean {
  if (!room || room.muted !== true) return false;
  if (!room.mutedUntil) return true;
  const until = Date.parse(room.mutedUntil);
  return Number.isNaN(until) || until > now;
}

/** The toggle's label: what pressing it does. */
export function muteLabel(muted: boolean): string {
  return muted ? '알림 켜기' : '알림 끄기';
}
