-- wrk script for ci/bench: logs in over and over with valid passwords, so
-- every request runs argon2id. It takes the accounts in turn, one body per
-- line of BENCH_LOGIN_BODIES, as users would: the login jail refuses more
-- than a handful of logins to one account in flight at once.
local bodies = {}
for line in os.getenv("BENCH_LOGIN_BODIES"):gmatch("[^\n]+") do
  bodies[#bodies + 1] = line
end
local turn = 0

request = function()
  turn = turn % #bodies + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, bodies[turn])
end
