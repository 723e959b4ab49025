//! Presence as Lua scripts, so every check-and-change is one atomic step in
//! Redis, whichever instance runs it.
//!
//! Keys (all under the configured prefix `P`):
//! - `P m:{room}`: sorted set of the room's members, scored by arrival
//!   (microseconds of Redis time), so the first is the longest present;
//! - `P p:{room}\t{user}`: set of instances holding a connection of that
//!   member; empty (absent) while the member is in their leave grace;
//! - `P inst:{instance}`: set of `{room}\t{user}` the instance holds, so a
//!   dead instance's connections can be found;
//! - `P instances` and `P lease:{instance}` (expires unless renewed);
//! - `P leaving`: `{room}\t{user}` scored by when their grace ends;
//! - `P empty`: rooms scored by when their empty grace ends.
//!
//! Scripts read the clock with `TIME`, so instances' clocks never matter.
//! They build key names from their arguments, which standalone Redis and
//! Sentinel allow; Redis Cluster does not.

use redis::Script;

const NOW: &str = r"
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
";

/// An instance's sockets are gone (it stopped, or its lease ran out): it
/// leaves every member it held, and members left with no socket anywhere
/// start their leave grace, which ends at `grace_ends`.
const DROP_INSTANCE: &str = r"
local function drop_instance(P, iid, grace_ends)
  redis.call('SREM', P .. 'instances', iid)
  for _, entry in ipairs(redis.call('SMEMBERS', P .. 'inst:' .. iid)) do
    local p = P .. 'p:' .. entry
    redis.call('SREM', p, iid)
    if redis.call('SCARD', p) == 0 then
      redis.call('ZADD', P .. 'leaving', grace_ends, entry)
    end
  end
  redis.call('DEL', P .. 'inst:' .. iid)
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{NOW}{DROP_INSTANCE}{body}"))
}

/// ARGV: prefix, room, user, capacity, instance.
/// Returns `{new (1|0), member_count}`, or `{-1, member_count}` when full.
pub fn join() -> Script {
    script(
        r"
local P, room, user, cap, iid = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local m = P .. 'm:' .. room
local entry = room .. '\t' .. user
local new = 0
if not redis.call('ZSCORE', m, user) then
  local n = redis.call('ZCARD', m)
  if n >= cap then return {-1, n} end
  redis.call('ZADD', m, now_us, user)
  redis.call('ZREM', P .. 'empty', room)
  new = 1
end
redis.call('SADD', P .. 'p:' .. entry, iid)
redis.call('SADD', P .. 'inst:' .. iid, entry)
redis.call('ZREM', P .. 'leaving', entry)
return {new, redis.call('ZCARD', m)}
",
    )
}

/// The user's last connection to the room on this instance went.
/// ARGV: prefix, room, user, instance, leave grace in ms.
/// Returns 1 when that was their last connection anywhere: the grace starts.
pub fn leave() -> Script {
    script(
        r"
local P, room, user, iid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local entry = room .. '\t' .. user
local p = P .. 'p:' .. entry
redis.call('SREM', p, iid)
redis.call('SREM', P .. 'inst:' .. iid, entry)
if redis.call('SCARD', p) == 0 and redis.call('ZSCORE', P .. 'm:' .. room, user) then
  redis.call('ZADD', P .. 'leaving', now_ms + tonumber(ARGV[5]), entry)
  return 1
end
return 0
",
    )
}

/// Registers the instance, takes its lease and (re)asserts the presence of
/// every member it holds connections for: after Redis restarted empty, or
/// after the lease ran out while the instance was cut off.
/// ARGV: prefix, instance, lease in ms, then room, user pairs.
pub fn restore() -> Script {
    script(
        r"
local P, iid = ARGV[1], ARGV[2]
redis.call('SADD', P .. 'instances', iid)
redis.call('SET', P .. 'lease:' .. iid, '1', 'PX', ARGV[3])
for i = 4, #ARGV - 1, 2 do
  local room, user = ARGV[i], ARGV[i + 1]
  local entry = room .. '\t' .. user
  redis.call('ZADD', P .. 'm:' .. room, 'NX', now_us + i, user)
  redis.call('SADD', P .. 'p:' .. entry, iid)
  redis.call('SADD', P .. 'inst:' .. iid, entry)
  redis.call('ZREM', P .. 'leaving', entry)
  redis.call('ZREM', P .. 'empty', room)
end
return 1
",
    )
}

/// Renews the lease. ARGV: prefix, instance, lease in ms.
/// Returns 0 when the lease had already run out (the caller restores).
pub fn renew() -> Script {
    script(
        r"
local P, iid = ARGV[1], ARGV[2]
if redis.call('SISMEMBER', P .. 'instances', iid) == 0 then return 0 end
if not redis.call('SET', P .. 'lease:' .. iid, '1', 'PX', ARGV[3], 'XX') then return 0 end
return 1
",
    )
}

/// An instance stopping cleanly: its members start their grace at once,
/// so they can reconnect elsewhere without being announced as gone.
/// ARGV: prefix, instance, leave grace in ms.
pub fn release() -> Script {
    script(
        r"
local P, iid = ARGV[1], ARGV[2]
redis.call('DEL', P .. 'lease:' .. iid)
drop_instance(P, iid, now_ms + tonumber(ARGV[3]))
return 1
",
    )
}

/// Removes a member at once (kick). ARGV: prefix, room, user, empty grace in ms.
/// Returns the new member count, or -1 if they were not a member.
pub fn kick() -> Script {
    script(
        r"
local P, room, user = ARGV[1], ARGV[2], ARGV[3]
local entry = room .. '\t' .. user
local m = P .. 'm:' .. room
redis.call('DEL', P .. 'p:' .. entry)
redis.call('ZREM', P .. 'leaving', entry)
if redis.call('ZREM', m, user) == 0 then return -1 end
local n = redis.call('ZCARD', m)
if n == 0 then redis.call('ZADD', P .. 'empty', now_ms + tonumber(ARGV[4]), room) end
return n
",
    )
}

/// Forgets a deleted room. ARGV: prefix, room.
pub fn forget_room() -> Script {
    script(
        r"
local P, room = ARGV[1], ARGV[2]
local m = P .. 'm:' .. room
for _, user in ipairs(redis.call('ZRANGE', m, 0, -1)) do
  local entry = room .. '\t' .. user
  redis.call('DEL', P .. 'p:' .. entry)
  redis.call('ZREM', P .. 'leaving', entry)
end
redis.call('DEL', m)
redis.call('ZREM', P .. 'empty', room)
return 1
",
    )
}

/// The periodic sweep, run by every instance; each finding goes to exactly
/// one of them. ARGV: prefix, leave grace ms, empty grace ms, batch limit.
/// 1. Instances whose lease ran out lose their connections; members left
///    with none start their leave grace.
/// 2. Members whose grace ran out without a connection leave; a room left
///    empty starts its empty grace.
/// 3. Rooms still empty when their grace runs out are handed to the caller
///    to delete.
///
/// Returns `{ {room, user, member_count, …}, {room, …} }`.
pub fn sweep() -> Script {
    script(
        r"
local P = ARGV[1]
local limit = tonumber(ARGV[4])
for _, iid in ipairs(redis.call('SMEMBERS', P .. 'instances')) do
  if redis.call('EXISTS', P .. 'lease:' .. iid) == 0 then
    drop_instance(P, iid, now_ms + tonumber(ARGV[2]))
  end
end
local left = {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leaving', '-inf', now_ms, 'LIMIT', 0, limit)) do
  redis.call('ZREM', P .. 'leaving', entry)
  local tab = string.find(entry, '\t', 1, true)
  local room, user = string.sub(entry, 1, tab - 1), string.sub(entry, tab + 1)
  local m = P .. 'm:' .. room
  if redis.call('SCARD', P .. 'p:' .. entry) == 0 and redis.call('ZREM', m, user) == 1 then
    local n = redis.call('ZCARD', m)
    if n == 0 then redis.call('ZADD', P .. 'empty', now_ms + tonumber(ARGV[3]), room) end
    table.insert(left, room)
    table.insert(left, user)
    table.insert(left, tostring(n))
  end
end
local empty = {}
for _, room in ipairs(redis.call('ZRANGEBYSCORE', P .. 'empty', '-inf', now_ms, 'LIMIT', 0, limit)) do
  redis.call('ZREM', P .. 'empty', room)
  if redis.call('ZCARD', P .. 'm:' .. room) == 0 then table.insert(empty, room) end
end
return {left, empty}
",
    )
}
