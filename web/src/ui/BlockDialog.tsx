// The block (or unblock) confirmation: a modal <dialog> naming the other member and what blocking does.
import { useModal } from './hooks';

interface Props {
  open: boolean;
  /** True: the other member is blocked and this asks to unblock. */
  unblock: boolean;
  peer: string;
  busy: boolean;
  error: string | null;
  onConfirm: () => void;
  onCancel: () => void;
}

export function BlockDialog({ open, unblock, peer, busy, error, onConfirm, onCancel }: Props) {
  const ref = useModal(open);

  return (
    <dialog
      ref={ref}
      class="dialog"
      data-testid="block-dialog"
      aria-labelledby="block-title"
      aria-describedby="block-desc"
      onClose={() => {
        if (open) onCancel();
      }}
    >
      <h2 id="block-title" class="dialog-title">
        {unblock ? `${peer}님의 차단을 해제할까요?` : `${peer}님을 차단할까요?`}
      </h2>
      <p id="block-desc" class="dialog-text">
        {unblock
          ? '차단을 해제하면 다시 메시지를 주고받을 수 있어요.'
          : '차단하면 서로 메시지를 주고받을 수 없고, 새 채팅도 시작할 수 없어요. 지금까지의 대화는 그대로 남아요. 상대방에게 따로 알리지는 않아요.'}
      </p>
      {error && (
        <p class="error dialog-error" role="alert" data-testid="block-error">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" class="button ghost" data-testid="block-cancel" onClick={onCancel} autoFocus>
          취소
        </button>
        <button
          type="button"
          class={`button ${unblock ? 'primary' : 'danger'}`}
          data-testid="block-confirm"
          onClick={onConfirm}
          disabled={busy}
        >
          {unblock ? '차단 해제' : '차단하기'}
        </button>
      </div>
    </dialog>
  );
}
