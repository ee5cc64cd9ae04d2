// The leave confirmation: a real modal <dialog> with "나가기" and "취소".
import { useModal } from './hooks';

interface Props {
  open: boolean;
  busy: boolean;
  error: string | null;
  productName: string;
  onConfirm: () => void;
  onCancel: () => void;
}

export function LeaveDialog({ open, busy, error, productName, onConfirm, onCancel }: Props) {
  const ref = useModal(open);

  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="leave-title"
      aria-describedby="leave-desc"
      onClose={() => {
        if (open) onCancel();
      }}
    >
      <h2 id="leave-title" class="dialog-title">
        채팅방을 나갈까요?
      </h2>
      <p id="leave-desc" class="dialog-text">
        {productName ? `「${productName}」 ` : ''}대화가 목록에서 사라지고, 상대방에게 나갔다는 알림이 표시됩니다.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" class="button ghost" data-testid="leave-cancel" onClick={onCancel} autoFocus>
          취소
        </button>
        <button type="button" class="button danger" data-testid="leave-confirm" onClick={onConfirm} disabled={busy}>
          나가기
        </button>
      </div>
    </dialog>
  );
}
