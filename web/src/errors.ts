// Korean texts for REST and STOMP error codes, shown to the user instead of raw codes.

const MESSAGES: Record<string, string> = {
  unauthorized: '로그인 정보가 올바르지 않습니다. 다시 로그인해 주세요.',
  token_expired: '로그인이 만료되었습니다. 다시 로그인해 주세요.',
  not_a_member: '이 채팅방에 참여하고 있지 않습니다.',
  room_not_found: '채팅방을 찾을 수 없습니다.',
  invalid_room_id: '채팅방 주소가 올바르지 않습니다.',
  self_chat: '자기 자신과는 대화할 수 없습니다.',
  invalid_user: '상대방 ID가 올바르지 않습니다.',
  missing_user: '상대방 ID를 입력해 주세요.',
  missing_name: '상품명을 입력해 주세요.',
  invalid_name: '상품명은 1~100자로 입력해 주세요.',
  empty_content: '빈 메시지는 보낼 수 없습니다.',
  content_too_long: '메시지가 너무 깁니다.',
  invalid_content: '보낼 수 없는 메시지입니다.',
  invalid_client_message_id: '메시지를 보낼 수 없습니다.',
  backend_unavailable: '서버가 일시적으로 응답하지 않습니다. 잠시 후 다시 시도해 주세요.',
  shutting_down: '서버가 재시작 중입니다. 잠시 후 다시 시도해 주세요.',
  unavailable: '서버가 혼잡합니다. 잠시 후 다시 시도해 주세요.',
  too_large: '요청이 너무 큽니다.',
  unsupported_media_type: '사진 파일이 아니거나 손상된 파일입니다.',
  too_many_uploads: '아직 보내지 않은 사진이 너무 많습니다. 잠시 후 다시 시도해 주세요.',
  invalid_attachment: '사진을 보낼 수 없습니다. 사진을 다시 골라 주세요.',
  timeout: '응답이 없습니다.',
  network: '서버에 연결할 수 없습니다. 네트워크를 확인해 주세요.',
  // safety (v2)
  blocked: '상대방과 메시지를 주고받을 수 없어요',
  self_block: '자기 자신은 차단할 수 없어요.',
  user_not_found: '사용자를 찾을 수 없어요.',
  too_many_blocks: '더 이상 차단할 수 없어요. 차단할 수 있는 사용자 수를 넘었어요.',
  rate_limited: '요청이 너무 많아요. 잠시 후 다시 시도해 주세요.',
  invalid_reason: '신고 사유를 선택해 주세요.',
  detail_too_long: '자세한 내용은 1,000자까지 쓸 수 있어요.',
  field_too_long: '입력한 내용이 너무 길어요.',
  invalid_body: '요청을 처리할 수 없어요.',
  // the listing and notifications (v2)
  invalid_time: '약속 시간은 지금 이후, 1년 안으로 정해 주세요.',
  missing_time: '약속 시간을 골라 주세요.',
  missing_place: '약속 장소를 입력해 주세요.',
  place_too_long: '약속 장소는 100자까지 쓸 수 있어요.',
  invalid_place: '약속 장소는 1~100자로 입력해 주세요.',
  push_disabled: '이 서버는 알림을 보내지 않아요.',
  push_failed: '이 브라우저에서 알림을 켤 수 없어요.',
  // search (v2)
  invalid_query: '검색어를 확인해 주세요. 두 글자 이상인 단어가 있어야 하고, 100자·8단어까지 검색할 수 있어요.',
  invalid_cursor: '검색 결과를 더 불러올 수 없어요. 다시 검색해 주세요.',
  invalid_limit: '검색 결과를 불러올 수 없어요. 다시 검색해 주세요.',
};

/** Send refusals worth a visible line under the failed message (the rest say "전송 실패" only). */
const SEND_FAILURE_NOTES: ReadonlySet<string> = new Set([
  'blocked',
  'not_a_member',
  'room_not_found',
  'content_too_long',
  'empty_content',
  'invalid_content',
  'invalid_attachment',
]);

/** The Korean sentence for an error code; a generic one for codes this page does not know. */
export function errorText(code: string | null | undefined): string {
  return (code && MESSAGES[code]) || '문제가 발생했습니다. 잠시 후 다시 시도해 주세요.';
}

/** Whether the page has its own sentence for the code. */
export function knownError(code: string | null | undefined): boolean {
  return !!code && code in MESSAGES;
}

/** A rate-limited request the page did not wait out by itself: when to try again. */
export function rateLimitedText(waitSeconds: number | null | undefined): string {
  return waitSeconds && waitSeconds > 1 ? `요청이 너무 많아요. ${waitSeconds}초 후에 다시 시도해 주세요.` : errorText('rate_limited');
}

/** The line under a failed message of mine explaining why, or null (a timeout, an unknown code: "전송 실패" says it). */
export function sendFailureNote(code: string | null | undefined): string | null {
  return code && SEND_FAILURE_NOTES.has(code) ? errorText(code) : null;
}

/**
 * The machine code of a REST error body: `error` (this server's field, docs/API.md) or `code`
 * (the name API-v2 uses); null when the body has neither.
 */
export function errorCodeOf(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as { error?: unknown; code?: unknown };
  if (typeof b.error === 'string' && b.error) return b.error;
  if (typeof b.code === 'string' && b.code) return b.code;
  return null;
}
