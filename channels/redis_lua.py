"""The Lua scripts of the Redis backend (``channels/redis_backend.py``)."""

# The whole batch in one call. KEYS: the completeness marker, then the history stream and
# live channel of each publication. ARGV: maxlen, ttl ms, then the frame head and tail of
# each. Refuses (nil) while the marker is missing: the history must be refilled first.
# On a cluster the same with SPUBLISH, and every key in one slot.
PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local ids = {}
local newest = {}
for i = 2, #KEYS, 2 do
  local history = KEYS[i]
  local prev = newest[history]
  if prev == nil then
    local last = redis.call('XREVRANGE', history, '+', '-', 'COUNT', 1)
    prev = ''
    if last[1] then prev = last[1][1] end
  end
  local id = redis.call('XADD', history, 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 't', ARGV[i + 2])
  redis.call('PEXPIRE', history, ARGV[2])
  redis.call('PUBLISH', KEYS[i + 1], ARGV[i + 1] .. id .. ARGV[i + 2])
  newest[history] = id
  ids[#ids + 1] = id
end
return ids
"""
SPUBLISH = PUBLISH.replace("'PUBLISH'", "'SPUBLISH'")

# Whether the history is whole, and a stream's newest entry, read at once. KEYS: the
# marker, the stream.
NEWEST = """
return {redis.call('EXISTS', KEYS[1]), redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)}
"""
