// The page's URL state: which room `?room=` names, and the URL that opens a room.

/** The room a query string names (`?room={roomUUID}`), or null. */
export function roomFromSearch(search: string): string | null {
  const v = new URLSearchParams(search).get('room');
  const t = v?.trim();
  return t ? t : null;
}

/** The query string for a room (or none), keeping other parameters. */
export function searchWithRoom(search: string, roomUUID: string | null): string {
  const p = new URLSearchParams(search);
  if (roomUUID) p.set('room', roomUUID);
  else p.delete('room');
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The WebSocket endpoint on the page's own origin: ws(s)://{host}/ws-stomp. */
export function brokerUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws-stomp`;
}
