-- wrk script: POST /api/event with a pageview, as the tracker sends it. Each request varies the
-- client address (X-Forwarded-For; the benchmark's server trusts 127.0.0.1) and the page, so
-- the events belong to many visitors. Whether they were stored is counted in the database by
-- scripts/bench-wrk, not here (a response callback would slow wrk down).
local counter = 0
local agent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

request = function()
  counter = counter + 1
  local ip = string.format("10.%d.%d.%d", counter % 251, math.floor(counter / 251) % 251, 1 + math.floor(counter / 63001) % 250)
  local body = string.format('{"n":"pageview","u":"https://bench.example/page/%d","d":"bench.example","r":"https://www.google.com/"}', counter % 200)
  return wrk.format("POST", "/api/event", {
    ["Content-Type"] = "text/plain",
    ["User-Agent"] = agent,
    ["X-Forwarded-For"] = ip,
  }, body)
end
