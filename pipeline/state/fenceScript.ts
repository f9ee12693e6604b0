/**
 * The fenced compare-and-set write, as one Lua script per call (atomic in Redis): for each key, read
 * the stored record's fence at its fixed offset and write the incoming record only when its fence is
 * newer (pipeline/state/record.ts `fenceAllows` is the same rule in TypeScript).
 *
 * Call: `KEYS` = the prefixed keys, `ARGV[1]` = idle TTL in ms (0 = none), `ARGV[i+1]` = record of `KEYS[i]`.
 * Returns one integer per key: 1 written, 0 fenced (the stored fence is at or past the incoming one).
 *
 * The fence is read with `string.byte` rather than `struct.unpack` so the script needs nothing beyond
 * Lua 5.1's string library (Redis, Valkey and KeyDB alike). The int64 offset is compared as (signed high
 * word, unsigned low word), each exact in a Lua double. A value that is not a record of this format
 * (another type, garbage, another version) has no fence and is overwritten: the prefix is rnnstream's
 * namespace, and refusing would leave the key stuck forever. Likewise a record of another model (another
 * fingerprint, bytes 24–31) holds no fence over this model's writes: it is refused on load, and a replay of
 * the topic by a new model into the same namespace must be able to replace it.
 */
export const FENCED_SET_LUA = `
local function fence(s)
  if type(s) ~= 'string' or #s < 20 or string.sub(s, 1, 5) ~= 'RNS1\\1' then return nil end
  local b = { string.byte(s, 9, 20) }
  local partition = b[1] + b[2] * 256 + b[3] * 65536 + b[4] * 16777216
  local lo = b[5] + b[6] * 256 + b[7] * 65536 + b[8] * 16777216
  local hi = b[9] + b[10] * 256 + b[11] * 65536 + b[12] * 16777216
  if hi >= 2147483648 then hi = hi - 4294967296 end
  return partition, hi, lo
end
local ttl = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local rec = ARGV[i + 1]
  local ok = 1
  local cur = redis.pcall('GET', key)
  local sp, shi, slo = fence(cur)
  -- A fence guards the states of one model: another model's record (refused on load) is replaced.
  if sp ~= nil and string.sub(cur, 25, 32) == string.sub(rec, 25, 32) then
    local ip, ihi, ilo = fence(rec)
    if ip == sp and (ihi < shi or (ihi == shi and ilo <= slo)) then ok = 0 end
  end
  if ok == 1 then
    if ttl > 0 then redis.call('SET', key, rec, 'PX', ttl) else redis.call('SET', key, rec) end
  end
  out[i] = ok
end
return out
`;

/** Name under which the script is defined on ioredis clients (`defineCommand`). */
export const FENCED_SET_COMMAND = 'rnnstreamFencedSet';
