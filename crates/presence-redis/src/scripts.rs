//! The Lua scripts behind every presence change and answer. Each runs atomically in Redis, so a
//! change that spans several keys (a session, its user, its rooms, its node) is never seen half
//! done, and liveness is judged by Redis's own clock, the same for every node.
//!
//! Every script takes the key prefix as `ARGV[1]` and builds its keys from it (standalone Redis;
//! a cluster would need the prefix to carry a hash tag). Key layout under prefix `P`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:nodes` | sorted set | node id → deadline (Redis time, ms) until which it counts as alive |
//! | `P:ns:{node}` | set | the session ids recorded by that node |
//! | `P:s:{session}` | hash | `user`, `node`, and one `room:{roomUUID}` field per room joined |
//! | `P:u:{user}` | hash | session id → node, for every session of the user |
//! | `P:r:{roomUUID}` | hash | session id → user, for every session subscribed to the room |
//! | `P:t:{roomUUID}:{user}` | string | a typing claim, expiring after the throttle window |
//! | `P:rl:{bucket}` | string | a rate bucket's theoretical arrival time (GCRA, Redis time in µs), expiring when the bucket is full again |

use redis::Script;

/// Helpers shared by the scripts below (prepended to each).
const PRELUDE: &str = r#"
local P = ARGV[1]
local now = nil
local checked = {}
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A node is alive while its deadline in P:nodes lies ahead (judged once per script run).
local function alive(node)
  if not node then return false end
  local known = checked[node]
  if known ~= nil then return known end
  now = now or now_ms()
  local deadline = redis.call('ZSCORE', P .. ':nodes', node)
  known = (deadline ~= false) and (tonumber(deadline) > now)
  checked[node] = known
  return known
end
local function add_session(sid, user, node)
  redis.call('HSET', P .. ':s:' .. sid, 'user', user, 'node', node)
  redis.call('HSET', P .. ':u:' .. user, sid, node)
  redis.call('SADD', P .. ':ns:' .. node, sid)
end
local function add_room(sid, user, room)
  redis.call('HSET', P .. ':s:' .. sid, 'room:' .. room, '1')
  redis.call('HSET', P .. ':r:' .. room, sid, user)
end
local function remove_room(sid, room)
  redis.call('HDEL', P .. ':s:' .. sid, 'room:' .. room)
  redis.call('HDEL', P .. ':r:' .. room, sid)
end
-- Whether the user has a session on a live node other than `except`.
local function user_online(user, except)
  local sessions = redis.call('HGETALL', P .. ':u:' .. user)
  for j = 1, #sessions, 2 do
    if sessions[j] ~= except and alive(sessions[j + 1]) then return true end
  end
  return false
end
-- Removes a session and every index entry that points at it; returns its user (false when
-- the session was not recorded).
local function close_session(sid)
  local key = P .. ':s:' .. sid
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then return false end
  local user, node
  for i = 1, #fields, 2 do
    local f = fields[i]
    if f == 'user' then user = fields[i + 1]
    elseif f == 'node' then node = fields[i + 1]
    elseif string.sub(f, 1, 5) == 'room:' then
      redis.call('HDEL', P .. ':r:' .. string.sub(f, 6), sid)
    end
  end
  if user then redis.call('HDEL', P .. ':u:' .. user, sid) end
  if node then redis.call('SREM', P .. ':ns:' .. node, sid) end
  redis.call('DEL', key)
  return user or ''
end
"#;

/// ARGV: prefix, session, user, node. Records a new session (a repeat changes nothing) and
/// answers 1 when the user had no other session on a live node (they came online), else 0. A
/// node not yet known is entered as already expired, so that a node that never beats is still
/// found and swept.
const OPEN: &str = r#"
local sid, user, node = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', P .. ':s:' .. sid) == 1 then return 0 end
local first = not user_online(user, sid)
add_session(sid, user, node)
redis.call('ZADD', P .. ':nodes', 'NX', 0, node)
if first then return 1 end
return 0
"#;

/// ARGV: prefix, session, room. An unknown session joins nothing.
const JOIN: &str = r#"
local user = redis.call('HGET', P .. ':s:' .. ARGV[2], 'user')
if not user then return 0 end
add_room(ARGV[2], user, ARGV[3])
return 1
"#;

/// ARGV: prefix, session, room.
const LEAVE: &str = r#"
remove_room(ARGV[2], ARGV[3])
return 1
"#;

/// ARGV: prefix, session. Answers the session's user when no session of theirs is left on a
/// live node (they went offline), else ''.
const CLOSE: &str = r#"
local user = close_session(ARGV[2])
if user and user ~= '' and not user_online(user, nil) then return user end
return ''
"#;

/// ARGV: prefix, room, user, window ms. Answers 1 and starts the window when no claim of the
/// user's typing in the room lasts, else 0.
const CLAIM_TYPING: &str = r#"
local ok = redis.call('SET', P .. ':t:' .. ARGV[2] .. ':' .. ARGV[3], '1', 'NX', 'PX', ARGV[4])
if ok then return 1 end
return 0
"#;

/// ARGV: prefix, users…. The users (in the order given) with a session on a live node.
const ONLINE: &str = r#"
local out = {}
for i = 2, #ARGV do
  local sessions = redis.call('HGETALL', P .. ':u:' .. ARGV[i])
  for j = 2, #sessions, 2 do
    if alive(sessions[j]) then
      out[#out + 1] = ARGV[i]
      break
    end
  end
end
return out
"#;

/// ARGV: prefix, room, limit. Distinct users with a session on a live node subscribed to the
/// room, at most `limit`. Entries whose session is gone are repaired on the way.
const IN_ROOM: &str = r#"
local room_key = P .. ':r:' .. ARGV[2]
local limit = tonumber(ARGV[3])
local entries = redis.call('HGETALL', room_key)
local seen, out = {}, {}
for i = 1, #entries, 2 do
  local sid, user = entries[i], entries[i + 1]
  local node = redis.call('HGET', P .. ':s:' .. sid, 'node')
  if not node then
    redis.call('HDEL', room_key, sid)
  elseif not seen[user] and alive(node) then
    seen[user] = true
    out[#out + 1] = user
    if #out >= limit then break end
  end
end
return out
"#;

/// ARGV: prefix, node, ttl ms, most dead nodes to report. Extends the node's deadline and
/// answers {1 if it had lapsed (or was unknown), the ids of up to that many expired nodes}.
const BEAT: &str = r#"
local node, ttl, most = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local key = P .. ':nodes'
local t = now_ms()
local old = redis.call('ZSCORE', key, node)
redis.call('ZADD', key, t + ttl, node)
local lapsed = 0
if (not old) or tonumber(old) <= t then lapsed = 1 end
local dead = redis.call('ZRANGEBYSCORE', key, '-inf', t, 'LIMIT', 0, most)
return {lapsed, dead}
"#;

/// ARGV: prefix, node, batch, force. Removes up to `batch` sessions of the node and answers
/// {how many, the users of those sessions left with no session on a live node}; the node
/// itself is forgotten once none is left. Without `force` ("1") it does nothing
/// to a node that is alive again; with it (a clean stop) the node is marked expired first, so
/// its remaining sessions stop counting at once and, should the stop fail half way, the other
/// nodes sweep the rest.
const SWEEP: &str = r#"
local node, batch = ARGV[2], tonumber(ARGV[3])
local key = P .. ':nodes'
if ARGV[4] == '1' then
  redis.call('ZADD', key, 0, node)
elseif alive(node) then
  return 0
end
local ns = P .. ':ns:' .. node
local sids = redis.call('SPOP', ns, batch)
local users, gone = {}, {}
for _, sid in ipairs(sids) do
  local user = close_session(sid)
  if user and user ~= '' then users[user] = true end
end
for user in pairs(users) do
  if not user_online(user, nil) then gone[#gone + 1] = user end
end
if redis.call('SCARD', ns) == 0 and not alive(node) then redis.call('ZREM', key, node) end
return {#sids, gone}
"#;

/// ARGV: prefix, node, then per session: id, user, room count, rooms…. Makes each session's
/// record exactly this (rooms not listed are removed), after Redis lost or dropped it.
const REPUBLISH: &str = r#"
local node = ARGV[2]
local i = 3
while i <= #ARGV do
  local sid, user, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local wanted = {}
  for j = 1, n do wanted[ARGV[i + 2 + j]] = true end
  local fields = redis.call('HGETALL', P .. ':s:' .. sid)
  for f = 1, #fields, 2 do
    local name = fields[f]
    if string.sub(name, 1, 5) == 'room:' and not wanted[string.sub(name, 6)] then
      remove_room(sid, string.sub(name, 6))
    end
  end
  add_session(sid, user, node)
  for room in pairs(wanted) do add_room(sid, user, room) end
  i = i + 3 + n
end
return 1
"#;

/// The loaded scripts (Redis caches them by hash; the client loads them on first use).
pub(crate) struct Scripts {
    pub open: Script,
    pub join: Script,
    pub leave: Script,
    pub close: Script,
    pub claim_typing: Script,
    pub online: Script,
    pub in_room: Script,
    pub beat: Script,
    pub sweep: Script,
    pub republish: Script,
    pub take_token: Script,
}

impl Scripts {
    pub fn new() -> Self {
        let s = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Scripts {
            open: s(OPEN),
            join: s(JOIN),
            leave: s(LEAVE),
            close: s(CLOSE),
            claim_typing: s(CLAIM_TYPING),
            online: s(ONLINE),
            in_room: s(IN_ROOM),
            beat: s(BEAT),
            sweep: s(SWEEP),
            republish: s(REPUBLISH),
            take_token: s(TAKE_TOKEN),
        }
    }
}

/// Takes a token from rate bucket `ARGV[2]` (GCRA): one every `ARGV[3]` µs, `ARGV[4]` at once.
/// Returns 0 when taken, else the µs until one is. Judged by Redis's clock, one for all nodes.
const TAKE_TOKEN: &str = r#"
local key = P .. ':rl:' .. ARGV[2]
local interval = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', key) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_from = next_tat - interval * burst
if allowed_from > now then
  return math.ceil(allowed_from - now)
end
redis.call('SET', key, string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
"#;
