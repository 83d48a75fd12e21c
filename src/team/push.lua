-- ccbreaker's team push (see src/team/mod.rs and the README's "Team budgets"): one atomic step that records each
-- response pushed and adds its cost to the team's counters, then reads the totals the hook judges.
--
-- ARGV: prefix, member, today, this month, n, then n times: id, cost, day, month, day keys' expiry, keep-until.
-- Costs are integer pico-dollars, kept as strings: INCRBY adds them as 64-bit integers.
--
-- A response is pushed with its whole cost (the costliest reading its pusher has seen), never a difference: a
-- response already recorded is left alone unless the new cost is higher, and then its old cost is taken back out
-- of the counters it went into and the new one added. Pushing the same response again (a retry, another machine
-- with the same transcript, a re-sync after an outage, a rebuilt ledger) therefore never counts it twice.
local p, member, today, month = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n = tonumber(ARGV[5])

local function add(day, mon, who, amount, day_expiry, keep_until)
  local d, m, w = p .. 'day:' .. day, p .. 'month:' .. mon, p .. 'members:' .. day
  redis.call('INCRBY', d, amount)
  redis.call('EXPIREAT', d, day_expiry)
  redis.call('INCRBY', m, amount)
  redis.call('EXPIREAT', m, keep_until)
  redis.call('HINCRBY', w, who, amount)
  redis.call('EXPIREAT', w, day_expiry)
end

local counted = 0
for i = 0, n - 1 do
  local a = 6 + i * 6
  local id, cost, day, mon, day_expiry, keep_until = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local key = p .. 'r:' .. id
  local old = redis.call('HMGET', key, 'cost', 'day', 'month', 'member', 'day_expiry', 'keep_until')
  if not old[1] then
    redis.call('HSET', key, 'cost', cost, 'day', day, 'month', mon, 'member', member, 'day_expiry', day_expiry,
      'keep_until', keep_until)
    redis.call('EXPIREAT', key, keep_until)
    add(day, mon, member, cost, day_expiry, keep_until)
    counted = counted + 1
  elseif tonumber(cost) > tonumber(old[1]) then
    add(old[2], old[3], old[4], '-' .. old[1], old[5], old[6])
    add(day, mon, old[4], cost, day_expiry, keep_until)
    redis.call('HSET', key, 'cost', cost, 'day', day, 'month', mon, 'day_expiry', day_expiry, 'keep_until', keep_until)
    redis.call('EXPIREAT', key, keep_until)
  end
end

return {
  redis.call('GET', p .. 'day:' .. today) or '0',
  redis.call('GET', p .. 'month:' .. month) or '0',
  redis.call('HGETALL', p .. 'members:' .. today),
  counted,
}
