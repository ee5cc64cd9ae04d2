// The composer: Enter sends (not during IME composition), Shift+Enter is a newline, whitespace-only and over-limit text are not sent; photos attached (button, paste) show as uploading tiles above it and go with the text as their caption; every change of the text is reported (typing).
import type { RefObject } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ACCEPT, isRetryableUpload, readiness, readinessHint, uploadErrorText, uploadPercent } from '../attachments';
import { errorText } from '../errors';
import type { Attachment, ClientConfig } from '../types';
import { codePointLength } from '../validate';
import type { Tile, Tray } from './useUploads';

interface Props {
  inputRef: RefObject<HTMLTextAreaElement>;
  limits: ClientConfig['limits'];
  /** Why nothing can be sent in this room now (the placeholder says it), or null. */
  disabled?: string | null;
  tray: Tray;
  onSend: (text: string, attachments: Attachment[]) => void;
  /** Every change of the text, typed or cleared (for the typing indicator). */
  onText: (text: string) => void;
}

const MAX_HEIGHT = 160;

/**
 * Image files among pasted clipboard items (a screenshot, a photo copied in the gallery). Text
 * that comes with a picture of itself (cells copied from a spreadsheet) pastes as text.
 */
function pastedImages(data: DataTransfer | null): File[] {
  if (!data) return [];
  if (Array.from(data.types).includes('text/plain') && data.getData('text/plain').trim()) return [];
  const out: File[] = [];
  for (const item of Array.from(data.items)) {
    if (item.kind !== 'file' || !item.type.startsWith('image/')) continue;
    const f = item.getAsFile();
    if (f) out.push(f);
  }
  return out;
}

export function Composer({ inputRef, limits, disabled = null, tray, onSend, onText }: Props) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const limit = limits.contentChars;
  const length = codePointLength(text);
  const over = length > limit;
  const tiles = tray.tiles;
  const ready = readiness(text, tiles, limit);
  const waiting = tiles.length > 0 && !ready.ok && (ready.reason === 'uploading' || ready.reason === 'failed');
  const full = tiles.length >= limits.attachmentsPerMessage;

  // grow with the text up to a few lines (CSSOM, allowed by the CSP)
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT)}px`;
  }, [text]);

  const send = () => {
    if (disabled) return;
    const r = readiness(text, tray.tiles, limit);
    if (!r.ok) {
      setError(r.reason === 'too_long' ? tooLongText(r.length, limit) : null);
      return;
    }
    onSend(r.content, r.attachments);
    tray.clear();
    setText('');
    setError(null);
    inputRef.current?.focus();
  };

  const shownError = over ? tooLongText(length, limit) : error;
  const firstFailed = tiles.find((t) => t.state.kind === 'failed');
  const failedText = firstFailed?.state.kind === 'failed' ? uploadErrorText(firstFailed.state.code, limits, errorText) : null;
  // a refusal the same bytes would get again: only removing the photo helps
  const permanent = tiles.filter((t) => t.state.kind === 'failed' && !isRetryableUpload(t.state.code)).length;
  const hint =
    permanent > 0 && !ready.ok && ready.reason === 'failed' && permanent === ready.failed
      ? permanent > 1
        ? `이 사진 ${permanent}장을 빼고 보내 주세요.`
        : '이 사진을 빼고 보내 주세요.'
      : readinessHint(ready);

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {tiles.length > 0 && (
        <ul class="tray" aria-label={`보낼 사진 ${tiles.length}장`} data-testid="attachment-tray">
          {tiles.map((t, i) => (
            <TileItem key={t.key} tile={t} n={i + 1} limits={limits} onRemove={tray.remove} onRetry={tray.retry} />
          ))}
        </ul>
      )}
      {waiting && (
        <p id="composer-hint" class="composer-hint" data-testid="upload-hint" aria-live="polite">
          {failedText && <span class="error">{failedText} </span>}
          {hint}
        </p>
      )}
      {tray.notice && (
        <p class="composer-notice error" role="alert" data-testid="attach-error">
          <span class="composer-notice-text">{tray.notice}</span>
          <button type="button" class="notice-close" aria-label="알림 닫기" onClick={tray.dismissNotice}>
            ✕
          </button>
        </p>
      )}
      <button
        type="button"
        class="attach"
        data-testid="attach-button"
        aria-label={full ? `사진은 ${limits.attachmentsPerMessage}장까지 보낼 수 있어요` : '사진 첨부'}
        title="사진 첨부"
        disabled={full || !!disabled}
        onClick={() => fileRef.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <rect x="3" y="5" width="18" height="14" rx="2.5" fill="none" stroke="currentColor" stroke-width="1.8" />
          <circle cx="9" cy="10" r="1.8" fill="currentColor" />
          <path d="M4.5 17.5l5-5 3.5 3.5 2.5-2.5 4 4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" />
        </svg>
      </button>
      <input
        ref={fileRef}
        type="file"
        accept={ACCEPT}
        multiple
        hidden
        tabIndex={-1}
        data-testid="attach-input"
        onChange={(e) => {
          const input = e.currentTarget;
          const picked = Array.from(input.files ?? []);
          input.value = ''; // the same photo can be picked again
          void tray.add(picked);
        }}
      />
      <label for="message-input" class="sr-only">
        메시지 입력
      </label>
      <textarea
        id="message-input"
        ref={inputRef}
        data-testid="message-input"
        class="composer-input"
        rows={1}
        placeholder={disabled ?? (tiles.length > 0 ? '사진 설명 (선택)' : '메시지를 입력하세요')}
        value={text}
        disabled={!!disabled}
        aria-invalid={over ? 'true' : undefined}
        aria-describedby={shownError ? 'composer-error' : undefined}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setError(null);
          onText(e.currentTarget.value);
        }}
        onPaste={(e) => {
          const images = pastedImages(e.clipboardData);
          if (images.length === 0) return; // text pastes as usual
          e.preventDefault();
          void tray.add(images);
        }}
        onKeyDown={(e) => {
          if (e.key !== 'Enter' || e.shiftKey) return;
          if (e.isComposing || e.keyCode === 229) return; // Korean IME: Enter commits the syllable
          e.preventDefault();
          send();
        }}
      />
      <button
        type="submit"
        class="button primary send"
        data-testid="send-button"
        disabled={waiting || !!disabled}
        aria-describedby={waiting ? 'composer-hint' : undefined}
      >
        전송
      </button>
      {shownError && (
        <p id="composer-error" class="composer-error error" role="alert" data-testid="composer-error">
          {shownError}
        </p>
      )}
    </form>
  );
}

function TileItem({
  tile,
  n,
  limits,
  onRemove,
  onRetry,
}: {
  tile: Tile;
  n: number;
  limits: ClientConfig['limits'];
  onRemove: (key: string) => void;
  onRetry: (key: string) => void;
}) {
  const s = tile.state;
  const pct = uploadPercent(s);
  const failed = s.kind === 'failed' ? s : null;
  return (
    <li
      class={`tile ${s.kind}`}
      data-testid="attachment-preview"
      data-state={s.kind}
      title={failed ? uploadErrorText(failed.code, limits, errorText) : tile.name}
    >
      <img class="tile-img" src={tile.preview} alt={`${n}번째 사진 미리 보기`} />
      {!failed && (
        <div
          class="tile-progress"
          role="progressbar"
          data-testid="upload-progress"
          aria-label={`${n}번째 사진 올리는 중`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
        >
          <span class="tile-bar" style={{ width: `${pct}%` }} />
        </div>
      )}
      {failed && (
        <div class="tile-failed">
          <span class="sr-only">{`${n}번째 사진을 올리지 못했어요.`}</span>
          {isRetryableUpload(failed.code) ? (
            <button
              type="button"
              class="tile-retry"
              data-testid="upload-retry"
              aria-label={`${n}번째 사진 다시 올리기`}
              onClick={() => onRetry(tile.key)}
            >
              <span aria-hidden="true">↻</span> 다시
            </button>
          ) : (
            <span class="tile-failed-mark" aria-hidden="true">
              !
            </span>
          )}
        </div>
      )}
      <button type="button" class="tile-remove" data-testid="attachment-remove" aria-label={`${n}번째 사진 빼기`} onClick={() => onRemove(tile.key)}>
        <span aria-hidden="true">✕</span>
      </button>
    </li>
  );
}

function tooLongText(length: number, limit: number): string {
  return `메시지는 ${limit.toLocaleString('ko-KR')}자까지 보낼 수 있습니다 (현재 ${length.toLocaleString('ko-KR')}자).`;
}
