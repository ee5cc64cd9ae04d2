// Photos in chat: which picked files may go (type by their bytes, size, count), each tile's upload state, when the composer may send, the SEND body, list previews and photo shapes.
import { checkContent } from './validate';
import type { Attachment, ChatMessage } from './types';

/** What the server takes (it checks the bytes itself: it is the judge, this only spares a round trip). */
export const ACCEPTED_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
/** The file input's `accept`. */
export const ACCEPT = ACCEPTED_TYPES.join(',');
export const DEFAULT_ATTACHMENT_BYTES = 10 * 1024 * 1024;
export const DEFAULT_ATTACHMENTS_PER_MESSAGE = 10;
/** The server's pixel limit (not in /client/config): only worded in its refusal. */
export const MAX_MEGAPIXELS = 40;
/** How many leading bytes `sniffImageType` needs. */
export const SNIFF_BYTES = 12;
/** Uploads running at once; the others wait queued (a phone's uplink is shared). */
export const MAX_PARALLEL_UPLOADS = 3;

export interface AttachmentLimits {
  attachmentBytes: number;
  attachmentsPerMessage: number;
}

function ascii(b: Uint8Array, from: number, length: number): string {
  return String.fromCharCode(...b.subarray(from, from + length));
}

/** The image type a file's first bytes show (JPEG, PNG, GIF, WebP), or null: its name and claimed type are not trusted. */
export function sniffImageType(head: Uint8Array): (typeof ACCEPTED_TYPES)[number] | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (head.length >= 8 && png.every((v, i) => head[i] === v)) return 'image/png';
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return 'image/gif';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return 'image/webp';
  return null;
}

/** A picked (or pasted, or dropped) file as the checks see it: `head` is its first SNIFF_BYTES bytes. */
export interface PickedFile {
  name: string;
  size: number;
  head: Uint8Array;
}

export type RefusalReason = 'not_image' | 'too_large' | 'too_many';
export interface Refusal {
  name: string;
  reason: RefusalReason;
}

/**
 * Which picked files become tiles: images (by their bytes) up to `attachmentBytes`, while the
 * tray (`already` tiles) has room under `attachmentsPerMessage`; the rest are refused, with why.
 */
export function checkPicked<T extends PickedFile>(
  files: readonly T[],
  already: number,
  limits: AttachmentLimits,
): { accepted: T[]; refused: Refusal[] } {
  const accepted: T[] = [];
  const refused: Refusal[] = [];
  for (const f of files) {
    if (sniffImageType(f.head) === null) refused.push({ name: f.name, reason: 'not_image' });
    else if (f.size > limits.attachmentBytes) refused.push({ name: f.name, reason: 'too_large' });
    else if (already + accepted.length >= limits.attachmentsPerMessage) refused.push({ name: f.name, reason: 'too_many' });
    else accepted.push(f);
  }
  return { accepted, refused };
}

/** "10MB", "1.5MB", "200KB": how the page words a size. */
export function formatBytes(n: number): string {
  const one = (v: number) => String(Math.round(v * 10) / 10);
  if (n >= 1024 * 1024) return `${one(n / (1024 * 1024))}MB`;
  if (n >= 1024) return `${one(n / 1024)}KB`;
  return `${Math.max(0, Math.round(n))}B`;
}

function names(list: readonly Refusal[]): string {
  const shown = list.slice(0, 2).map((r) => r.name || '이름 없는 파일');
  return list.length > 2 ? `${shown.join(', ')} 외 ${list.length - 2}개` : shown.join(', ');
}

/** The Korean sentence(s) for refused files, one per reason; null when none was refused. */
export function refusalText(refused: readonly Refusal[], limits: AttachmentLimits): string | null {
  const of = (reason: RefusalReason) => refused.filter((r) => r.reason === reason);
  const out: string[] = [];
  const notImage = of('not_image');
  if (notImage.length) out.push(`사진 파일(JPEG, PNG, WebP, GIF)만 보낼 수 있어요: ${names(notImage)}`);
  const large = of('too_large');
  if (large.length) out.push(`${formatBytes(limits.attachmentBytes)}보다 큰 사진은 보낼 수 없어요: ${names(large)}`);
  if (of('too_many').length) out.push(`사진은 한 번에 ${limits.attachmentsPerMessage}장까지 보낼 수 있어요.`);
  return out.length ? out.join('\n') : null;
}

// ---- one tile's upload ----------------------------------------------------------------------

export type UploadState =
  | { kind: 'queued' }
  | { kind: 'uploading'; loaded: number; total: number }
  | { kind: 'done'; attachment: Attachment }
  | { kind: 'failed'; code: string };

export const QUEUED: UploadState = { kind: 'queued' };

/** A queued upload starts (another state stays as it is). */
export function uploadStarted(s: UploadState): UploadState {
  return s.kind === 'queued' ? { kind: 'uploading', loaded: 0, total: 0 } : s;
}

/** Bytes went out: only while uploading, never backwards. */
export function uploadProgressed(s: UploadState, loaded: number, total: number): UploadState {
  if (s.kind !== 'uploading' || loaded < s.loaded) return s;
  return { kind: 'uploading', loaded, total: Math.max(total, loaded) };
}

/** The server answered with the stored photo. */
export function uploadDone(s: UploadState, attachment: Attachment): UploadState {
  return s.kind === 'uploading' ? { kind: 'done', attachment } : s;
}

/** The upload failed (`network`, or the server's error code). */
export function uploadFailed(s: UploadState, code: string): UploadState {
  return s.kind === 'uploading' || s.kind === 'queued' ? { kind: 'failed', code } : s;
}

/** Retry: a failed upload is queued again (anything else stays). */
export function uploadRetried(s: UploadState): UploadState {
  return s.kind === 'failed' ? QUEUED : s;
}

/** The progress bar: 0–100; an upload whose bytes all went shows 99 until the server answers. */
export function uploadPercent(s: UploadState): number {
  switch (s.kind) {
    case 'queued':
    case 'failed':
      return 0;
    case 'done':
      return 100;
    case 'uploading':
      return s.total > 0 ? Math.min(99, Math.floor((s.loaded / s.total) * 100)) : 0;
  }
}

/** Server refusals that the same bytes will get again: the tile offers no retry, only removal. */
const PERMANENT_UPLOAD_CODES: ReadonlySet<string> = new Set(['unsupported_media_type', 'too_large']);

export function isRetryableUpload(code: string): boolean {
  return !PERMANENT_UPLOAD_CODES.has(code);
}

/** What a failed tile says, in Korean (`fallback` words the codes not about uploads). */
export function uploadErrorText(code: string, limits: AttachmentLimits, fallback: (code: string) => string): string {
  switch (code) {
    case 'unsupported_media_type':
      return '사진 파일이 아니거나 손상된 파일이에요.';
    case 'too_large':
      return `사진이 너무 커요. ${formatBytes(limits.attachmentBytes)}, ${(MAX_MEGAPIXELS * 100).toLocaleString('ko-KR')}만 화소까지 보낼 수 있어요.`;
    case 'too_many_uploads':
      return '아직 보내지 않은 사진이 너무 많아요. 잠시 후 다시 시도해 주세요.';
    case 'network':
      return '사진을 올리지 못했어요. 네트워크를 확인해 주세요.';
    default:
      return fallback(code);
  }
}

/** The tiles still to start: queued ones, in order, so that at most `parallel` upload at once. */
export function uploadsToStart<T extends { state: UploadState }>(tiles: readonly T[], parallel = MAX_PARALLEL_UPLOADS): T[] {
  const running = tiles.filter((t) => t.state.kind === 'uploading').length;
  const room = Math.max(0, parallel - running);
  return tiles.filter((t) => t.state.kind === 'queued').slice(0, room);
}

// ---- the composer ---------------------------------------------------------------------------

export type Readiness =
  | { ok: true; content: string; attachments: Attachment[] }
  | { ok: false; reason: 'empty' }
  | { ok: false; reason: 'too_long'; length: number; limit: number }
  | { ok: false; reason: 'uploading'; done: number; total: number }
  | { ok: false; reason: 'failed'; failed: number };

/**
 * Whether the composer may send, and what: text alone as before (not blank, within `limit`); with
 * photos, once every one is uploaded, the caption as `content` ("" when blank).
 */
export function readiness(text: string, tiles: readonly { state: UploadState }[], limit: number): Readiness {
  if (tiles.length === 0) {
    const c = checkContent(text, limit);
    return c.ok ? { ok: true, content: text, attachments: [] } : c;
  }
  const failed = tiles.filter((t) => t.state.kind === 'failed').length;
  if (failed > 0) return { ok: false, reason: 'failed', failed };
  const attachments = tiles.flatMap((t) => (t.state.kind === 'done' ? [t.state.attachment] : []));
  if (attachments.length < tiles.length) return { ok: false, reason: 'uploading', done: attachments.length, total: tiles.length };
  const blank = text.trim().length === 0;
  const c = checkContent(text, limit);
  if (!blank && !c.ok) return c;
  return { ok: true, content: blank ? '' : text, attachments };
}

/** The line under the tiles while the send waits on them; null when nothing waits. */
export function readinessHint(r: Readiness): string | null {
  if (r.ok) return null;
  if (r.reason === 'uploading') return `사진을 올리는 중이에요 (${r.done}/${r.total}). 다 올라가면 보낼 수 있어요.`;
  if (r.reason === 'failed') return r.failed > 1 ? `올리지 못한 사진 ${r.failed}장을 다시 올리거나 빼 주세요.` : '다시 올리거나 빼 주세요.';
  return null;
}

/** The STOMP SEND body of a message: `attachments` only when there are photos (text sends are as before). */
export function sendBody(e: {
  roomUUID: string;
  content: string;
  clientMessageId: string;
  attachmentIds?: readonly string[];
}): Record<string, unknown> {
  const body: Record<string, unknown> = { roomUUID: e.roomUUID, content: e.content, clientMessageId: e.clientMessageId };
  if (e.attachmentIds && e.attachmentIds.length > 0) body.attachments = [...e.attachmentIds];
  return body;
}

// ---- what the server sends ------------------------------------------------------------------

/** A same-origin path (`/room/…`): the only kind of photo address the page loads. */
export function isSamePath(u: unknown): u is string {
  return typeof u === 'string' && u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\');
}

const dimension = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);

/** An attachment object checked (id and both addresses required; unknown sizes become 0), or null. */
export function parseAttachment(x: unknown): Attachment | null {
  if (!x || typeof x !== 'object') return null;
  const a = x as Record<string, unknown>;
  if (typeof a.id !== 'string' || a.id.length === 0 || !isSamePath(a.url) || !isSamePath(a.thumbnailUrl)) return null;
  return {
    id: a.id,
    contentType: typeof a.contentType === 'string' ? a.contentType : '',
    size: dimension(a.size),
    width: dimension(a.width),
    height: dimension(a.height),
    url: a.url,
    thumbnailUrl: a.thumbnailUrl,
  };
}

/** A message's photos that can be shown (malformed ones dropped). */
export function attachmentsOf(m: { attachments?: unknown }): Attachment[] {
  if (!Array.isArray(m.attachments)) return [];
  return m.attachments.flatMap((x) => {
    const a = parseAttachment(x);
    return a ? [a] : [];
  });
}

/** Whether a message shows as photos (`IMAGE`, or any message that carries some). */
export function isPhotoMessage(m: { type: string; attachments?: unknown }): boolean {
  return m.type === 'IMAGE' || attachmentsOf(m).length > 0;
}

/** The room list's line for a message: its text, or for photos without a caption "사진" / "사진 3장". */
export function previewText(m: Pick<ChatMessage, 'content' | 'type' | 'attachments'>): string {
  const text = m.content.replace(/\s+/g, ' ').trim();
  if (text || !isPhotoMessage(m)) return text;
  const n = attachmentsOf(m).length;
  return n > 1 ? `사진 ${n}장` : '사진';
}

/** The grid photos sit in: six columns, so rows of 2 (each 3 wide) and 3 (each 2 wide) both fill it. */
export const GRID_COLUMNS = 6;

/**
 * How many photos each row of a message's grid holds: threes, ending in pairs rather than a
 * photo alone (5 → 3+2, 7 → 3+2+2, 4 → 2+2); one photo is a row of its own.
 */
export function photoRows(n: number): number[] {
  if (n <= 0) return [];
  if (n <= 3) return [n];
  if (n === 4) return [2, 2];
  const threes = n % 3 === 0 ? n / 3 : n % 3 === 2 ? (n - 2) / 3 : (n - 4) / 3;
  const pairs = (n - threes * 3) / 2;
  return [...Array<number>(threes).fill(3), ...Array<number>(pairs).fill(2)];
}

/** Each photo's width in grid columns (of GRID_COLUMNS), in order. */
export function photoSpans(n: number): number[] {
  return photoRows(n).flatMap((row) => Array<number>(row).fill(GRID_COLUMNS / row));
}

/**
 * The CSS aspect-ratio of a lone photo's box, from its size, held between 3:4 (portrait) and
 * 2:1 (wide) so a tall screenshot does not fill the screen; the thumbnail is cropped to it.
 */
export function photoAspect(width: number, height: number): string {
  if (!(width > 0) || !(height > 0)) return '1 / 1';
  const r = width / height;
  if (r < 3 / 4) return '3 / 4';
  if (r > 2) return '2 / 1';
  return `${width} / ${height}`;
}
