// Test fixtures: chat messages and rooms with sensible defaults (used only by *.test.ts).
import type { Attachment, ChatMessage, Room } from './types';

export const ROOM = '0b8e6f4e-0000-4000-8000-000000000001';

export function msg(id: number, over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    roomUUID: ROOM,
    sender: 'bob',
    content: `m${id}`,
    type: 'TEXT',
    createdAt: new Date(Date.UTC(2026, 11, 6, 6, 0, id)).toISOString(),
    clientMessageId: null,
    ...over,
  };
}

export function room(roomUUID: string, over: Partial<Room> = {}): Room {
  return {
    roomUUID,
    name: `상품 ${roomUUID}`,
    productId: null,
    buyer: 'alice',
    seller: 'bob',
    members: ['alice', 'bob'],
    createdAt: '2026-12-01T00:00:00.000Z',
    lastMessage: null,
    ...over,
  };
}

export function photo(id: string, over: Partial<Attachment> = {}): Attachment {
  return {
    id,
    contentType: 'image/jpeg',
    size: 1234,
    width: 1600,
    height: 1200,
    url: `/room/${ROOM}/attachments/${id}?exp=1&sig=s`,
    thumbnailUrl: `/room/${ROOM}/attachments/${id}/thumbnail?exp=1&sig=s`,
    ...over,
  };
}
