// The composer's photo tray: picked, pasted or dropped files checked and shown as tiles, each uploaded at once (a few at a time) with progress, retried or removed; aborted when the room closes.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  checkPicked,
  QUEUED,
  refusalText,
  SNIFF_BYTES,
  uploadDone,
  uploadFailed,
  uploadProgressed,
  uploadRetried,
  uploadsToStart,
  uploadStarted,
  type UploadState,
} from '../attachments';
import { ApiError, errorCode } from '../net/api';
import { shouldRetryAfter } from '../ratelimit';
import type { ChatSession } from '../net/session';
import type { Upload } from '../net/upload';

export interface Tile {
  key: string;
  name: string;
  /** An object URL of the picked file, for the preview. */
  preview: string;
  state: UploadState;
}

export interface Tray {
  tiles: readonly Tile[];
  /** Why picked files were refused (Korean), until the next pick or dismissal. */
  notice: string | null;
  add(files: readonly File[]): Promise<void>;
  remove(key: string): void;
  retry(key: string): void;
  /** The message went: the tiles go (their uploads belong to it now). */
  clear(): void;
  dismissNotice(): void;
}

let nextKey = 0;

async function headOf(file: File): Promise<Uint8Array> {
  try {
    return new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  } catch {
    return new Uint8Array(0); // unreadable: not an image
  }
}

export function useUploads(session: ChatSession, roomUUID: string): Tray {
  const [, setVersion] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const tiles = useRef<Tile[]>([]);
  const files = useRef(new Map<string, File>());
  const uploads = useRef(new Map<string, Upload>());
  /** Uploads refused as rate_limited that were tried again by themselves, by tile. */
  const rateRetries = useRef(new Map<string, number>());
  const alive = useRef(true);

  const tray = useMemo(() => {
    const set = (next: Tile[]) => {
      tiles.current = next;
      if (alive.current) setVersion((v) => v + 1);
    };
    const update = (key: string, f: (s: UploadState) => UploadState) => {
      let changed = false;
      const next = tiles.current.map((t) => {
        if (t.key !== key) return t;
        const state = f(t.state);
        if (state === t.state) return t;
        changed = true;
        return { ...t, state };
      });
      if (changed) set(next);
    };
    const forget = (key: string) => {
      uploads.current.get(key)?.abort();
      uploads.current.delete(key);
      files.current.delete(key);
      rateRetries.current.delete(key);
      const t = tiles.current.find((x) => x.key === key);
      if (t) URL.revokeObjectURL(t.preview);
    };

    /** Starts queued uploads while fewer than the parallel limit run. */
    const pump = () => {
      if (!alive.current) return;
      for (const t of uploadsToStart(tiles.current)) {
        const file = files.current.get(t.key);
        if (!file) continue;
        update(t.key, uploadStarted);
        const u = session.upload(roomUUID, file, t.name, (loaded, total) => update(t.key, (s) => uploadProgressed(s, loaded, total)));
        uploads.current.set(t.key, u);
        u.done.then(
          (a) => {
            uploads.current.delete(t.key);
            update(t.key, (s) => uploadDone(s, a));
            pump();
          },
          (e: unknown) => {
            const code = errorCode(e);
            if (code === 'aborted') return; // removed, or the room closed
            uploads.current.delete(t.key);
            update(t.key, (s) => uploadFailed(s, code));
            // Too many uploads for now: tried again after the server's Retry-After (nothing was
            // stored), a couple of times; a longer wait leaves "다시" to the person.
            const wait = e instanceof ApiError ? e.retryAfterMs : null;
            const n = (rateRetries.current.get(t.key) ?? 0) + 1;
            if (code === 'rate_limited' && wait !== null && shouldRetryAfter(wait, n)) {
              rateRetries.current.set(t.key, n);
              setTimeout(() => {
                const now = tiles.current.find((x) => x.key === t.key);
                if (!alive.current || now?.state.kind !== 'failed') return;
                update(t.key, uploadRetried);
                pump();
              }, wait);
            }
            pump();
          },
        );
      }
    };

    const t: Omit<Tray, 'tiles' | 'notice'> = {
      async add(list) {
        if (list.length === 0) return;
        const picked = await Promise.all(list.map(async (file) => ({ file, name: file.name, size: file.size, head: await headOf(file) })));
        if (!alive.current) return;
        const limits = session.config.limits;
        const { accepted, refused } = checkPicked(picked, tiles.current.length, limits);
        setNotice(refusalText(refused, limits));
        if (accepted.length === 0) return;
        const added = accepted.map((p) => {
          const key = `t${nextKey++}`;
          files.current.set(key, p.file);
          return { key, name: p.name || 'photo', preview: URL.createObjectURL(p.file), state: QUEUED };
        });
        set([...tiles.current, ...added]);
        pump();
      },
      remove(key) {
        forget(key);
        set(tiles.current.filter((x) => x.key !== key));
        pump();
      },
      retry(key) {
        update(key, uploadRetried);
        pump();
      },
      clear() {
        for (const x of tiles.current) forget(x.key);
        set([]);
        setNotice(null);
      },
      dismissNotice() {
        setNotice(null);
      },
    };
    return t;
  }, [session, roomUUID]);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      for (const u of uploads.current.values()) u.abort();
      uploads.current.clear();
      for (const x of tiles.current) URL.revokeObjectURL(x.preview);
    };
  }, []);

  return { ...tray, tiles: tiles.current, notice };
}
