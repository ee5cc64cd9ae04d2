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
};

/** The Korean sentence for an error code; a generic one for codes this page does not know. */
export function errorText(code: string | null | undefined): string {
  return (code && MESSAGES[code]) || '문제가 발생했습니다. 잠시 후 다시 시도해 주세요.';
}
