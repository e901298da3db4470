-- wrk script for ci/bench's login flood (item 6): logins as fast as the
-- connections allow, three in four for unknown e-mails (a new one each time)
-- and one in four for BENCH_FLOOD_EMAIL with a wrong password, so that each
-- login the service admits costs an argon2id hash. It counts the answers by
-- status, and the 503s that lack Retry-After or a problem body, and prints
-- them as one JSON line when done.
local wrong = "not the right password"
local existing = string.format('{"email":"%s","password":"%s"}', os.getenv("BENCH_FLOOD_EMAIL"), wrong)
local sent = 0
local threads = {}

-- Globals of each thread's state, which done() reads with thread:get.
statuses = {}
unlabelled = 0

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

function request()
  sent = sent + 1
  local body = existing
  if sent % 4 ~= 0 then
    body = string.format('{"email":"nobody-%d-%d@example.com","password":"%s"}', id, sent, wrong)
  end
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 then
    local kind = headers["content-type"] or headers["Content-Type"] or ""
    if not (headers["retry-after"] or headers["Retry-After"]) or not kind:find("problem+json", 1, true) then
      unlabelled = unlabelled + 1
    end
  end
end

function done(summary, latency, requests)
  local totals, missing = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
    missing = missing + thread:get("unlabelled")
  end
  local parts = { string.format('"503 unlabelled": %d', missing) }
  for status, count in pairs(totals) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  io.write("flood: {" .. table.concat(parts, ", ") .. "}\n")
end
