// Reports (POST /report): the reasons as the dialog offers them, the detail's limit, the request body.

export type ReportReason = 'SCAM' | 'ABUSE' | 'SPAM' | 'OTHER';

/** The reasons in the order the dialog lists them, with their Korean labels. */
export const REPORT_REASONS: readonly { value: ReportReason; label: string }[] = [
  { value: 'SCAM', label: '사기 의심' },
  { value: 'ABUSE', label: '욕설·비매너' },
  { value: 'SPAM', label: '스팸·광고' },
  { value: 'OTHER', label: '기타' },
];

/** The longest `detail` the server takes. */
export const REPORT_DETAIL_MAX = 1000;

export interface ReportBody {
  roomUUID: string;
  messageId?: number;
  reason: ReportReason;
  detail?: string;
}

export function isReportReason(v: unknown): v is ReportReason {
  return typeof v === 'string' && REPORT_REASONS.some((r) => r.value === v);
}

/**
 * The body of `POST /report`, or null while the form cannot be sent (no reason chosen, or the
 * detail over the limit). The detail is trimmed and left out when empty; the message id only
 * when the report was opened from a stored message.
 */
export function reportBody(roomUUID: string, reason: string, detail: string, messageId: number | null = null): ReportBody | null {
  if (!isReportReason(reason)) return null;
  const d = detail.trim();
  if (d.length > REPORT_DETAIL_MAX) return null;
  const body: ReportBody = { roomUUID, reason };
  if (messageId !== null && Number.isSafeInteger(messageId) && messageId > 0) body.messageId = messageId;
  if (d) body.detail = d;
  return body;
}

/** The counter under the detail field: "12/1000" (UTF-16 units, as the field's `maxlength` counts). */
export function detailCounter(detail: string): string {
  return `${detail.length.toLocaleString('ko-KR')}/${REPORT_DETAIL_MAX.toLocaleString('ko-KR')}`;
}
