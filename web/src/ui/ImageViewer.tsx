// The full-size photo viewer: a modal <dialog> over everything, the thumbnail until the picture loads, previous/next for several, closed by ✕, Escape or a tap beside the picture.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Attachment } from '../types';

interface Props {
  photos: readonly Attachment[];
  index: number;
  onIndex: (index: number) => void;
  onClose: () => void;
  /** The picture would not load (its address expired): `asked` when the person pressed "다시 불러오기". */
  onReload: (asked: boolean) => void;
}

export function ImageViewer({ photos, index, onIndex, onClose, onReload }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const n = photos.length;
  const i = Math.min(Math.max(index, 0), n - 1);
  const photo = photos[i];
  const [status, setStatus] = useState<{ url: string; state: 'loaded' | 'error' } | null>(null);
  const state = photo && status?.url === photo.url ? status.state : 'loading';

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
    };
  }, []);

  if (!photo) return null;
  const go = (to: number) => onIndex((to + n) % n);

  return (
    <dialog
      ref={ref}
      class="viewer"
      data-testid="image-viewer"
      aria-label={n > 1 ? `사진 ${i + 1}/${n}` : '사진'}
      onClose={onClose}
      onClick={(e) => {
        // beside the picture (the dark area), not on it or a button
        const t = e.target as Element;
        if (t === e.currentTarget || t.classList.contains('viewer-stage')) onClose();
      }}
      onKeyDown={(e) => {
        if (n < 2) return;
        if (e.key === 'ArrowLeft') go(i - 1);
        else if (e.key === 'ArrowRight') go(i + 1);
      }}
    >
      <div class="viewer-stage">
        {state === 'loading' && <img class="viewer-img viewer-thumb" src={photo.thumbnailUrl} alt="" aria-hidden="true" />}
        {state !== 'error' && (
          <img
            key={photo.url}
            class={`viewer-img${state === 'loading' ? ' loading' : ''}`}
            data-testid="image-viewer-image"
            src={photo.url}
            width={photo.width || undefined}
            height={photo.height || undefined}
            alt={n > 1 ? `사진 ${i + 1}/${n}` : '사진'}
            onLoad={() => setStatus({ url: photo.url, state: 'loaded' })}
            onError={() => {
              setStatus({ url: photo.url, state: 'error' });
              onReload(false);
            }}
          />
        )}
        {state === 'error' && (
          <p class="viewer-error" role="alert">
            사진을 불러오지 못했어요.
            <button
              type="button"
              class="button ghost small viewer-reload"
              onClick={() => {
                setStatus(null);
                onReload(true);
              }}
            >
              다시 불러오기
            </button>
          </p>
        )}
        {state === 'loading' && (
          <p class="viewer-status" role="status">
            불러오는 중…
          </p>
        )}
      </div>
      <button type="button" class="viewer-button viewer-close" data-testid="image-viewer-close" aria-label="닫기" onClick={onClose} autoFocus>
        <span aria-hidden="true">✕</span>
      </button>
      {n > 1 && (
        <>
          <button type="button" class="viewer-button viewer-prev" aria-label="이전 사진" onClick={() => go(i - 1)}>
            <span aria-hidden="true">‹</span>
          </button>
          <button type="button" class="viewer-button viewer-next" aria-label="다음 사진" onClick={() => go(i + 1)}>
            <span aria-hidden="true">›</span>
          </button>
          <p class="viewer-count" aria-hidden="true">
            {i + 1} / {n}
          </p>
        </>
      )}
    </dialog>
  );
}
