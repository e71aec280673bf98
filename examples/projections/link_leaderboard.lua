-- The link leaderboard: the 10 most clicked links of each day (UTC), from the
-- link domain's ClickRecorded events (read through their JSON view:
-- {"link_id", "country", "device", "clicked_at_us"}).
--
--   strata projections define examples/projections/link_leaderboard.lua \
--       --name leaderboard --partition-by function --stream-prefix clicks- --wait
--   strata projections get leaderboard top 2026-11-20
--
-- One partition per day: its state counts the day's clicks per link; each
-- click re-ranks the day and emits the row ["top", day] = the top 10.

-- "YYYY-MM-DD" of microseconds since the Unix epoch (civil from days, integers only:
-- the sandbox has no os.date).
local function day_of(us)
  local z = us // 86400000000 + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format("%04d-%02d-%02d", y, m, d)
end

function partition(event) return day_of(event.data.clicked_at_us) end

function init() return {} end  -- link id -> clicks that day

on = {}

function on.ClickRecorded(clicks, event)
  local link = event.data.link_id
  clicks[link] = (clicks[link] or 0) + 1
  local ranked = {}
  for id, n in pairs(clicks) do ranked[#ranked + 1] = {link = id, clicks = n} end
  table.sort(ranked, function(a, b)
    if a.clicks ~= b.clicks then return a.clicks > b.clicks end
    return a.link < b.link
  end)
  for i = #ranked, 11, -1 do ranked[i] = nil end
  emit({"top", day_of(event.data.clicked_at_us)}, ranked)
end
