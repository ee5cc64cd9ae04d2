// Typing: when my page sends `typing` true/false (at most every 3 s), and how long the other member's "입력 중…" shows (5 s, or until their false or message).

/** While I keep typing, `true` goes again this often (the receiver shows it for 5 s). */
export const TYPING_RESEND_MS = 3_000;
/** A `typing: true` lasts this long at the receiver unless a `false` or a message ends it. */
export const TYPING_SHOW_MS = 5_000;

/** Sends one typing frame; false when it could not go (not connected), so nothing was said. */
export type SendTyping = (roomUUID: string, typing: boolean) => boolean;

/**
 * My side. `input` on every change of the composer's text; `stop` when I send, or leave or
 * switch the room. A `true` goes at most every 3 s per room (the server relays one per 2 s and
 * drops the rest, so a faster rhythm would only cost frames); a `false` only takes back a `true`
 * that went (the server would drop it anyway, and it is a frame for nothing).
 */
export class TypingSender {
  /** The room where a `true` went and no `false` since. */
  private active: string | null = null;
  private lastRoom: string | null = null;
  private lastAt = -Infinity;

  constructor(
    private readonly send: SendTyping,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The composer's text in `roomUUID` changed to `text` (empty: I cleared it). */
  input(roomUUID: string, text: string): void {
    if (text === '') {
      this.stop();
      return;
    }
    if (this.active !== null && this.active !== roomUUID) this.stop();
    const t = this.now();
    // Kept across a `false`: typing again right after sending waits out the 3 s too.
    if (this.lastRoom === roomUUID && t - this.lastAt < TYPING_RESEND_MS) return;
    if (!this.send(roomUUID, true)) return;
    this.active = roomUUID;
    this.lastRoom = roomUUID;
    this.lastAt = t;
  }

  /** I sent the message, cleared the input, or left the room: take back a `true` that went. */
  stop(): void {
    const room = this.active;
    if (room === null) return;
    this.active = null;
    this.send(room, false);
  }

  /**
   * I am no longer a member of the room (left on another device): nothing can be taken back
   * there, and a `false` would be refused (which ends the STOMP connection).
   */
  forget(roomUUID: string): void {
    if (this.active === roomUUID) this.active = null;
  }

  /** The connection ended: the server forgot my `true` with it, there is nothing to take back. */
  connectionLost(): void {
    this.active = null;
  }
}

/**
 * The other members' side: per room, who is typing. A `true` shows for 5 s from its arrival
 * (each new `true` starts the 5 s again); their `false` or their message ends it at once.
 * `onChange` runs whenever what `typist` answers changes (to re-render).
 */
export class TypingWatch {
  private readonly shown = new Map<string, { user: string; timer: ReturnType<typeof setTimeout> }>();

  constructor(private readonly onChange: () => void) {}

  /** A `TYPING` event. */
  typing(roomUUID: string, user: string, typing: boolean): void {
    const cur = this.shown.get(roomUUID);
    if (!typing) {
      if (cur?.user === user) this.end(roomUUID);
      return;
    }
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => this.end(roomUUID), TYPING_SHOW_MS);
    this.shown.set(roomUUID, { user, timer });
    if (cur?.user !== user) this.onChange();
  }

  /** A message of `sender` arrived in the room: what they typed is here, they are not typing. */
  message(roomUUID: string, sender: string): void {
    if (this.shown.get(roomUUID)?.user === sender) this.end(roomUUID);
  }

  /** `user` went offline: they type nowhere (their last session ended without a `false`). */
  offline(user: string): void {
    for (const [roomUUID, cur] of [...this.shown]) if (cur.user === user) this.end(roomUUID);
  }

  /** Who is typing in the room now, or null. */
  typist(roomUUID: string): string | null {
    return this.shown.get(roomUUID)?.user ?? null;
  }

  /** Forgets everyone (the connection ended: a `false` may have been lost with it). */
  clear(): void {
    const had = this.shown.size > 0;
    for (const { timer } of this.shown.values()) clearTimeout(timer);
    this.shown.clear();
    if (had) this.onChange();
  }

  private end(roomUUID: string): void {
    const cur = this.shown.get(roomUUID);
    if (!cur) return;
    clearTimeout(cur.timer);
    this.shown.delete(roomUUID);
    this.onChange();
  }
}
