// A photo message's pictures in its bubble: thumbnails (one alone in its own shape, several in rows of threes and pairs), a tap opens the viewer, a picture that will not load (expired address) becomes a placeholder that reloads it.
import { useState } from 'preact/hooks';
import { photoAspect, photoSpans } from '../attachments';
import type { Attachment } from '../types';

interface Props {
  photos: readonly Attachment[];
  onOpen: (index: number) => void;
  /** A thumbnail failed to load; `asked` is true when the person pressed "다시 불러오기". */
  onBroken: (asked: boolean) => void;
}

export function MessagePhotos({ photos, onOpen, onBroken }: Props) {
  // by address: fresh addresses (read again) show the picture again
  const [broken, setBroken] = useState<ReadonlySet<string>>(() => new Set());
  const n = photos.length;
  const spans = photoSpans(n);
  return (
    <div class={`photos${n === 1 ? ' single' : ''}`} data-count={n}>
      {photos.map((a, i) => {
        const label = n > 1 ? `사진 ${i + 1}/${n} 크게 보기` : '사진 크게 보기';
        // a lone photo keeps (about) its own shape; in a grid each takes its share of a row
        const shape = n === 1 ? { aspectRatio: photoAspect(a.width, a.height) } : { gridColumn: `span ${spans[i] ?? 2}` };
        if (broken.has(a.thumbnailUrl)) {
          return (
            <div key={`${a.id}:broken`} class="photo photo-broken" style={shape} data-testid="message-image-broken">
              <span class={n === 1 ? 'photo-broken-text' : 'sr-only'}>사진을 불러오지 못했어요</span>
              <button
                type="button"
                class="photo-reload"
                aria-label="다시 불러오기"
                title="다시 불러오기"
                onClick={() => {
                  setBroken(new Set());
                  onBroken(true);
                }}
              >
                <span aria-hidden="true">↻</span>
                {n === 1 && <span> 다시 불러오기</span>}
              </button>
            </div>
          );
        }
        return (
          <button key={a.id} type="button" class="photo" style={shape} aria-label={label} onClick={() => onOpen(i)}>
            <img
              data-testid="message-image"
              src={a.thumbnailUrl}
              width={a.width || undefined}
              height={a.height || undefined}
              loading="lazy"
              decoding="async"
              alt="사진"
              onError={() => {
                setBroken((b) => new Set(b).add(a.thumbnailUrl));
                onBroken(false);
              }}
            />
          </button>
        );
      })}
    </div>
  );
}
