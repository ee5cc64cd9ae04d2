import { describe, expect, it } from 'vitest';
import { brokerUrl, roomFromSearch, searchWithRoom } from './route';

describe('route', () => {
  it('reads ?room=', () => {
    expect(roomFromSearch('?room=abc')).toBe('abc');
    expect(roomFromSearch('?x=1&room=%20abc%20')).toBe('abc');
    expect(roomFromSearch('')).toBeNull();
    expect(roomFromSearch('?room=')).toBeNull();
  });
  it('writes ?room= and keeps other parameters', () => {
    expect(searchWithRoom('', 'r1')).toBe('?room=r1');
    expect(searchWithRoom('?room=r1&lang=ko', 'r2')).toBe('?room=r2&lang=ko');
    expect(searchWithRoom('?room=r1', null)).toBe('');
  });
  it('derives the WebSocket URL from the page origin', () => {
    expect(brokerUrl({ protocol: 'http:', host: '127.0.0.1:8070' })).toBe('ws://127.0.0.1:8070/ws-stomp');
    expect(brokerUrl({ protocol: 'https:', host: 'chat.example.kr' })).toBe('wss://chat.example.kr/ws-stomp');
  });
});
