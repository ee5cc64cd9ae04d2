import { describe, expect, it } from 'vitest';
import {
  ACCEPT,
  attachmentsOf,
  checkPicked,
  formatBytes,
  isRetryableUpload,
  isSamePath,
  parseAttachment,
  photoAspect,
  photoRows,
  photoSpans,
  previewText,
  QUEUED,
  readiness,
  readinessHint,
  refusalText,
  sendBody,
  sniffImageType,
  uploadDone,
  uploadErrorText,
  uploadFailed,
  uploadPercent,
  uploadProgressed,
  uploadRetried,
  uploadsToStart,
  uploadStarted,
  type UploadState,
} from './attachments';
import { photo } from './testutil';

const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);
const JPEG = bytes(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1);
const PNG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d);
const LIMITS = { attachmentBytes: 10 * 1024 * 1024, attachmentsPerMessage: 10 };

describe('sniffImageType', () => {
  it('knows JPEG, PNG, GIF and WebP by their first bytes', () => {
    expect(sniffImageType(JPEG)).toBe('image/jpeg');
    expect(sniffImageType(PNG)).toBe('image/png');
    expect(sniffImageType(text('GIF89a\x01\x00'))).toBe('image/gif');
    expect(sniffImageType(text('GIF87a'))).toBe('image/gif');
    expect(sniffImageType(text('RIFF\x10\x00\x00\x00WEBP'))).toBe('image/webp');
  });
  it('refuses everything else, whatever the name says', () => {
    expect(sniffImageType(text('hello, I am photo.jpg'))).toBeNull();
    expect(sniffImageType(text('RIFF\x10\x00\x00\x00WAVE'))).toBeNull(); // audio
    expect(sniffImageType(text('%PDF-1.7'))).toBeNull();
    expect(sniffImageType(bytes(0xff, 0xd8))).toBeNull(); // too short
    expect(sniffImageType(bytes())).toBeNull();
  });
  it('accepts exactly the four types in the file input', () => {
    expect(ACCEPT).toBe('image/jpeg,image/png,image/webp,image/gif');
  });
});

describe('checkPicked', () => {
  const file = (name: string, head: Uint8Array, size = 1000) => ({ name, head, size });

  it('takes images within the size and count limits, in order', () => {
    const r = checkPicked([file('a.jpg', JPEG), file('b.png', PNG)], 0, LIMITS);
    expect(r.accepted.map((f) => f.name)).toEqual(['a.jpg', 'b.png']);
    expect(r.refused).toEqual([]);
  });
  it('refuses non-images, too large files, and those over the count, saying why', () => {
    const r = checkPicked(
      [
        file('photo.jpg', text('not really a photo')),
        file('big.jpg', JPEG, LIMITS.attachmentBytes + 1),
        file('ok.jpg', JPEG, LIMITS.attachmentBytes),
        file('one-too-many.jpg', JPEG),
      ],
      9,
      LIMITS,
    );
    expect(r.accepted.map((f) => f.name)).toEqual(['ok.jpg']);
    expect(r.refused).toEqual([
      { name: 'photo.jpg', reason: 'not_image' },
      { name: 'big.jpg', reason: 'too_large' },
      { name: 'one-too-many.jpg', reason: 'too_many' },
    ]);
  });
  it('a full tray takes nothing more', () => {
    const r = checkPicked([file('a.jpg', JPEG)], 10, LIMITS);
    expect(r.accepted).toEqual([]);
    expect(r.refused[0]?.reason).toBe('too_many');
  });
});

describe('refusalText and formatBytes', () => {
  it('words sizes the Korean way', () => {
    expect(formatBytes(10 * 1024 * 1024)).toBe('10MB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5MB');
    expect(formatBytes(200 * 1024)).toBe('200KB');
    expect(formatBytes(12)).toBe('12B');
  });
  it('one sentence per reason, with the names', () => {
    expect(refusalText([], LIMITS)).toBeNull();
    expect(refusalText([{ name: 'photo.jpg', reason: 'not_image' }], LIMITS)).toBe(
      '사진 파일(JPEG, PNG, WebP, GIF)만 보낼 수 있어요: photo.jpg',
    );
    const all = refusalText(
      [
        { name: 'a.mp4', reason: 'not_image' },
        { name: 'b.pdf', reason: 'not_image' },
        { name: 'c.txt', reason: 'not_image' },
        { name: 'big.jpg', reason: 'too_large' },
        { name: 'x.jpg', reason: 'too_many' },
        { name: 'y.jpg', reason: 'too_many' },
      ],
      LIMITS,
    );
    expect(all).toBe(
      [
        '사진 파일(JPEG, PNG, WebP, GIF)만 보낼 수 있어요: a.mp4, b.pdf 외 1개',
        '10MB보다 큰 사진은 보낼 수 없어요: big.jpg',
        '사진은 한 번에 10장까지 보낼 수 있어요.',
      ].join('\n'),
    );
  });
});

describe('one upload', () => {
  const a = photo('a1');

  it('goes queued → uploading (progress) → done', () => {
    let s: UploadState = QUEUED;
    expect(uploadPercent(s)).toBe(0);
    s = uploadStarted(s);
    expect(s).toEqual({ kind: 'uploading', loaded: 0, total: 0 });
    s = uploadProgressed(s, 500, 1000);
    expect(uploadPercent(s)).toBe(50);
    expect(uploadProgressed(s, 100, 1000)).toBe(s); // never backwards
    s = uploadProgressed(s, 1000, 1000);
    expect(uploadPercent(s)).toBe(99); // all bytes out, the server has not answered
    s = uploadDone(s, a);
    expect(s).toEqual({ kind: 'done', attachment: a });
    expect(uploadPercent(s)).toBe(100);
  });
  it('fails with a code, and a retry queues it again', () => {
    const failed = uploadFailed(uploadStarted(QUEUED), 'network');
    expect(failed).toEqual({ kind: 'failed', code: 'network' });
    expect(uploadPercent(failed)).toBe(0);
    expect(uploadRetried(failed)).toEqual(QUEUED);
  });
  it('ignores events that do not fit the state', () => {
    const done = uploadDone(uploadStarted(QUEUED), a);
    expect(uploadFailed(done, 'network')).toBe(done);
    expect(uploadProgressed(done, 1, 2)).toBe(done);
    expect(uploadRetried(done)).toBe(done);
    expect(uploadDone(QUEUED, a)).toBe(QUEUED);
    expect(uploadStarted(done)).toBe(done);
  });
  it('offers no retry for refusals the same bytes get again', () => {
    expect(isRetryableUpload('network')).toBe(true);
    expect(isRetryableUpload('too_many_uploads')).toBe(true);
    expect(isRetryableUpload('http_502')).toBe(true);
    expect(isRetryableUpload('unsupported_media_type')).toBe(false);
    expect(isRetryableUpload('too_large')).toBe(false);
  });
  it('words upload errors in Korean, others by the fallback', () => {
    const fb = (c: string) => `fallback ${c}`;
    expect(uploadErrorText('unsupported_media_type', LIMITS, fb)).toMatch(/사진 파일이 아니거나/);
    expect(uploadErrorText('too_large', LIMITS, fb)).toBe('사진이 너무 커요. 10MB, 4,000만 화소까지 보낼 수 있어요.');
    expect(uploadErrorText('too_many_uploads', LIMITS, fb)).toMatch(/너무 많아요/);
    expect(uploadErrorText('network', LIMITS, fb)).toMatch(/네트워크/);
    expect(uploadErrorText('not_a_member', LIMITS, fb)).toBe('fallback not_a_member');
  });
});

describe('uploadsToStart', () => {
  const tile = (state: UploadState) => ({ state });
  it('starts queued tiles in order while fewer than the limit run', () => {
    const tiles = [tile(uploadStarted(QUEUED)), tile(QUEUED), tile(QUEUED), tile(QUEUED)];
    expect(uploadsToStart(tiles, 3)).toEqual([tiles[1], tiles[2]]);
    expect(uploadsToStart(tiles, 1)).toEqual([]);
    expect(uploadsToStart([tile(uploadFailed(QUEUED, 'network')), tile(QUEUED)], 3)).toHaveLength(1);
  });
});

describe('readiness', () => {
  const done = (id: string) => ({ state: uploadDone(uploadStarted(QUEUED), photo(id)) });
  const uploading = { state: uploadStarted(QUEUED) };
  const failed = { state: uploadFailed(QUEUED, 'network') };

  it('text alone as before: not blank, within the limit', () => {
    expect(readiness('안녕하세요', [], 10)).toEqual({ ok: true, content: '안녕하세요', attachments: [] });
    expect(readiness('  \n', [], 10)).toEqual({ ok: false, reason: 'empty' });
    expect(readiness('가'.repeat(11), [], 10)).toMatchObject({ ok: false, reason: 'too_long', length: 11 });
  });
  it('photos go once all are uploaded, in order, the caption as content ("" when blank)', () => {
    expect(readiness('', [done('a'), done('b')], 10)).toEqual({ ok: true, content: '', attachments: [photo('a'), photo('b')] });
    expect(readiness('  ', [done('a')], 10)).toMatchObject({ ok: true, content: '' });
    expect(readiness('상태 좋아요', [done('a')], 10)).toMatchObject({ ok: true, content: '상태 좋아요' });
    expect(readiness('가'.repeat(11), [done('a')], 10)).toMatchObject({ ok: false, reason: 'too_long' });
  });
  it('waits for uploads, and a failed one blocks until retried or removed', () => {
    const r = readiness('캡션', [done('a'), uploading, { state: QUEUED }], 10);
    expect(r).toEqual({ ok: false, reason: 'uploading', done: 1, total: 3 });
    expect(readinessHint(r)).toBe('사진을 올리는 중이에요 (1/3). 다 올라가면 보낼 수 있어요.');
    const f = readiness('', [done('a'), failed, uploading], 10);
    expect(f).toEqual({ ok: false, reason: 'failed', failed: 1 });
    expect(readinessHint(f)).toBe('다시 올리거나 빼 주세요.');
    expect(readinessHint(readiness('', [failed, failed], 10))).toBe('올리지 못한 사진 2장을 다시 올리거나 빼 주세요.');
    expect(readinessHint(readiness('', [], 10))).toBeNull();
  });
});

describe('sendBody', () => {
  it('a text message as before, a photo message with its ids', () => {
    expect(sendBody({ roomUUID: 'r', content: '안녕', clientMessageId: 'c1' })).toEqual({
      roomUUID: 'r',
      content: '안녕',
      clientMessageId: 'c1',
    });
    expect(sendBody({ roomUUID: 'r', content: '안녕', clientMessageId: 'c1', attachmentIds: [] })).not.toHaveProperty('attachments');
    expect(sendBody({ roomUUID: 'r', content: '', clientMessageId: 'c2', attachmentIds: ['a', 'b'] })).toEqual({
      roomUUID: 'r',
      content: '',
      clientMessageId: 'c2',
      attachments: ['a', 'b'],
    });
  });
});

describe('attachments from the server', () => {
  it('keeps well-formed ones, same-origin paths only', () => {
    expect(parseAttachment(photo('a'))).toEqual(photo('a'));
    expect(parseAttachment({ ...photo('a'), url: 'https://evil.example/x.jpg' })).toBeNull();
    expect(parseAttachment({ ...photo('a'), thumbnailUrl: '//evil.example/x.jpg' })).toBeNull();
    expect(parseAttachment({ ...photo('a'), url: 'javascript:alert(1)' })).toBeNull();
    expect(parseAttachment({ ...photo('a'), id: '' })).toBeNull();
    expect(parseAttachment(null)).toBeNull();
    expect(parseAttachment({ ...photo('a'), width: 'wide', height: -1, size: undefined })).toMatchObject({ width: 0, height: 0, size: 0 });
    expect(isSamePath('/room/x/attachments/y?exp=1&sig=z')).toBe(true);
    expect(isSamePath('/\\evil.example')).toBe(false);
  });
  it('a message without attachments has none; malformed entries are dropped', () => {
    expect(attachmentsOf({})).toEqual([]);
    expect(attachmentsOf({ attachments: 'x' })).toEqual([]);
    expect(attachmentsOf({ attachments: [photo('a'), { id: 'b' }, photo('c')] }).map((a) => a.id)).toEqual(['a', 'c']);
  });
});

describe('previewText', () => {
  it('"사진", "사진 N장", or the caption', () => {
    expect(previewText({ type: 'IMAGE', content: '', attachments: [photo('a')] })).toBe('사진');
    expect(previewText({ type: 'IMAGE', content: '', attachments: [photo('a'), photo('b'), photo('c')] })).toBe('사진 3장');
    expect(previewText({ type: 'IMAGE', content: ' 상태\n좋아요 ', attachments: [photo('a'), photo('b')] })).toBe('상태 좋아요');
    expect(previewText({ type: 'IMAGE', content: '' })).toBe('사진');
    expect(previewText({ type: 'TEXT', content: ' 줄1\n줄2 ' })).toBe('줄1 줄2');
    expect(previewText({ type: 'TEXT', content: '' })).toBe('');
  });
});

describe('photo shapes', () => {
  it('grid rows of threes ending in pairs, never a photo alone under others', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(photoRows)).toEqual([
      [],
      [1],
      [2],
      [3],
      [2, 2],
      [3, 2],
      [3, 3],
      [3, 2, 2],
      [3, 3, 2],
      [3, 3, 3],
      [3, 3, 2, 2],
    ]);
    for (let n = 1; n <= 10; n++) expect(photoRows(n).reduce((a, b) => a + b, 0)).toBe(n);
  });
  it('each photo spans its share of the six grid columns', () => {
    expect(photoSpans(1)).toEqual([6]);
    expect(photoSpans(5)).toEqual([2, 2, 2, 3, 3]);
    expect(photoSpans(7)).toEqual([2, 2, 2, 3, 3, 3, 3]);
  });
  it('a lone photo keeps its shape between 3:4 and 2:1', () => {
    expect(photoAspect(1600, 1200)).toBe('1600 / 1200');
    expect(photoAspect(1080, 2400)).toBe('3 / 4');
    expect(photoAspect(3000, 1000)).toBe('2 / 1');
    expect(photoAspect(0, 0)).toBe('1 / 1');
  });
});
