import { describe, expect, it } from 'vitest';
import { WARNING_KINDS, WARNING_TEXTS, warningKinds, warningLines } from './warnings';

describe('warning texts', () => {
  it('has a Korean caution for every kind the server marks', () => {
    expect(WARNING_KINDS).toEqual(['PHONE_NUMBER', 'BANK_ACCOUNT', 'MESSENGER', 'PREPAYMENT']);
    expect(WARNING_TEXTS.PHONE_NUMBER).toBe('전화번호가 포함된 메시지예요. 앱 밖 거래는 사기 위험이 커요.');
    expect(WARNING_TEXTS.BANK_ACCOUNT).toBe('계좌번호가 포함되어 있어요. 안전결제를 이용하세요.');
    expect(WARNING_TEXTS.MESSENGER).toBe('다른 메신저로 대화를 옮기자는 요청은 사기일 수 있어요.');
    expect(WARNING_TEXTS.PREPAYMENT).toBe('선입금 요구는 사기의 대표적인 수법이에요.');
  });
});

describe('warningKinds', () => {
  it('keeps known kinds once each, in a fixed order', () => {
    expect(warningKinds(['PREPAYMENT', 'PHONE_NUMBER', 'PREPAYMENT'])).toEqual(['PHONE_NUMBER', 'PREPAYMENT']);
  });
  it('ignores unknown kinds and malformed fields', () => {
    expect(warningKinds(['CRYPTO_WALLET', 'MESSENGER', 7, null])).toEqual(['MESSENGER']);
    expect(warningKinds(undefined)).toEqual([]);
    expect(warningKinds('PHONE_NUMBER')).toEqual([]);
    expect(warningKinds({ PHONE_NUMBER: true })).toEqual([]);
    expect(warningKinds([])).toEqual([]);
  });
});

describe('warningLines', () => {
  it('shows the recipient a line per kind', () => {
    expect(warningLines({ warnings: ['BANK_ACCOUNT', 'PHONE_NUMBER'], mine: false, type: 'TEXT' })).toEqual([
      { kind: 'PHONE_NUMBER', text: WARNING_TEXTS.PHONE_NUMBER },
      { kind: 'BANK_ACCOUNT', text: WARNING_TEXTS.BANK_ACCOUNT },
    ]);
  });
  it('shows nothing under my own messages, notices, or messages without warnings', () => {
    expect(warningLines({ warnings: ['PHONE_NUMBER'], mine: true, type: 'TEXT' })).toEqual([]);
    expect(warningLines({ warnings: ['PHONE_NUMBER'], mine: false, type: 'SYSTEM' })).toEqual([]);
    expect(warningLines({ mine: false, type: 'TEXT' })).toEqual([]);
    expect(warningLines({ warnings: ['SOMETHING_NEW'], mine: false, type: 'TEXT' })).toEqual([]);
  });
});
