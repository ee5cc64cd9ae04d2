// The server's scam and off-platform warnings on a message (`warnings`), as the caution lines the recipient sees under it.

/** The kinds the server marks, in the order their lines show. */
export const WARNING_KINDS = ['PHONE_NUMBER', 'BANK_ACCOUNT', 'MESSENGER', 'PREPAYMENT'] as const;

export type WarningKind = (typeof WARNING_KINDS)[number];

export const WARNING_TEXTS: Readonly<Record<WarningKind, string>> = {
  PHONE_NUMBER: '전화번호가 포함된 메시지예요. 앱 밖 거래는 사기 위험이 커요.',
  BANK_ACCOUNT: '계좌번호가 포함되어 있어요. 안전결제를 이용하세요.',
  MESSENGER: '다른 메신저로 대화를 옮기자는 요청은 사기일 수 있어요.',
  PREPAYMENT: '선입금 요구는 사기의 대표적인 수법이에요.',
};

export interface WarningLine {
  kind: WarningKind;
  text: string;
}

function isKind(k: unknown): k is WarningKind {
  return typeof k === 'string' && (WARNING_KINDS as readonly string[]).includes(k);
}

/**
 * The known kinds of a message's `warnings`, each once, in WARNING_KINDS order. Anything else
 * (a kind a newer server added, a malformed field) is ignored.
 */
export function warningKinds(warnings: unknown): WarningKind[] {
  if (!Array.isArray(warnings)) return [];
  const present = new Set(warnings.filter(isKind));
  return WARNING_KINDS.filter((k) => present.has(k));
}

/**
 * The caution lines to show under a message: only to its recipient (the sender knows what they
 * wrote; a warning under my own message would read as an accusation), only for chat messages.
 */
export function warningLines(m: { warnings?: unknown; mine: boolean; type: string }): WarningLine[] {
  if (m.mine || m.type === 'SYSTEM') return [];
  return warningKinds(m.warnings).map((kind) => ({ kind, text: WARNING_TEXTS[kind] }));
}
