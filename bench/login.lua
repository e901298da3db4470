-- wrk script for ci/bench: logs in over and over with a valid password, so
-- every request runs argon2id.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
