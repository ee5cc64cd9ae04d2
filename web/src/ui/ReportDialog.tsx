// The report form: a modal <dialog> with the reason (a <select>), an optional detail with its counter, and the submit; mounted only while open, so each report starts empty.
import { useEffect, useRef, useState } from 'preact/hooks';
import { apiErrorText } from '../net/api';
import { detailCounter, REPORT_DETAIL_MAX, REPORT_REASONS, reportBody, type ReportBody } from '../report';

interface Props {
  roomUUID: string;
  /** The stored message it was opened from, if any. */
  messageId: number | null;
  /** The reason chosen at first ('' for none: the person picks). */
  initialReason?: string;
  submit: (body: ReportBody) => Promise<unknown>;
  onDone: () => void;
  onCancel: () => void;
}

export function ReportDialog({ roomUUID, messageId, initialReason = '', submit, onDone, onCancel }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState(initialReason);
  const [detail, setDetail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const body = reportBody(roomUUID, reason, detail, messageId);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
    };
  }, []);

  const send = async () => {
    if (!body || busy) return;
    setBusy(true);
    setError(null);
    try {
      await submit(body);
      onDone();
    } catch (e) {
      setError(apiErrorText(e));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={ref}
      class="dialog report-dialog"
      data-testid="report-dialog"
      aria-labelledby="report-title"
      aria-describedby="report-desc"
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <h2 id="report-title" class="dialog-title">
          {messageId !== null ? '이 메시지 신고하기' : '신고하기'}
        </h2>
        <p id="report-desc" class="dialog-text">
          신고 내용과 이 채팅방의 최근 대화가 운영팀에 전달돼요. 상대방에게는 알리지 않아요.
        </p>
        <label class="field-label" for="report-reason">
          신고 사유
        </label>
        <select
          id="report-reason"
          class="select"
          data-testid="report-reason"
          value={reason}
          required
          onChange={(e) => {
            setReason(e.currentTarget.value);
            setError(null);
          }}
        >
          <option value="" disabled>
            사유를 선택해 주세요
          </option>
          {REPORT_REASONS.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
        <label class="field-label" for="report-detail">
          자세한 내용 (선택)
        </label>
        <textarea
          id="report-detail"
          class="report-detail"
          data-testid="report-detail"
          rows={4}
          maxLength={REPORT_DETAIL_MAX}
          placeholder="어떤 일이 있었는지 적어 주세요."
          value={detail}
          aria-describedby="report-detail-count"
          onInput={(e) => setDetail(e.currentTarget.value)}
        />
        <p id="report-detail-count" class="counter muted" data-testid="report-detail-count">
          {detailCounter(detail)}
        </p>
        {error && (
          <p class="error dialog-error" role="alert" data-testid="report-error">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" class="button ghost" data-testid="report-cancel" onClick={onCancel} disabled={busy}>
            취소
          </button>
          <button type="submit" class="button danger" data-testid="report-submit" disabled={!body || busy}>
            {busy ? '보내는 중…' : '신고하기'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
