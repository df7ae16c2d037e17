-- wrk script for bench/checkpoints_bench.py: POST a distinct passage (3 persons, valid ID numbers) per request.
-- Environment: BENCH_PATH (the passages URL path), BENCH_TOKEN (an API token), BENCH_RUN (a run tag),
-- BENCH_KNOWN (a file of ID numbers with person files: every passage's third person is one of them half the
-- time, so linking to existing files and the watch list are part of the load, not only new files).

local threads = {}
local counter = 0
ok, failed = 0, 0  -- globals: done() reads them from each thread
local tag = os.getenv("BENCH_RUN") or "run"
local path = os.getenv("BENCH_PATH")
local auth = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
local areas = {"620102", "620103", "420106", "110105", "440106", "510107"}
local weights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local checks = "10X98765432"
local provinces = {"甘", "鄂", "京", "川"}
local origins = {"兰州", "武汉", "西安", "天水"}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local known = {}

function init(_args)
  math.randomseed(7 + id)
  local path = os.getenv("BENCH_KNOWN")
  if path then
    for line in io.lines(path) do
      if #line > 0 then table.insert(known, line) end
    end
  end
end

local function id_number()
  local body = areas[math.random(#areas)] .. string.format("19%02d0%d1%d%03d", math.random(50, 99),
    math.random(1, 9), math.random(0, 9), math.random(100, 999))
  local sum = 0
  for i = 1, 17 do
    sum = sum + tonumber(body:sub(i, i)) * weights[i]
  end
  local k = sum % 11 + 1
  return body .. checks:sub(k, k)
end

local function person(n, k)
  local t = 36.0 + math.random(0, 16) / 10
  local number = (k == 2 and #known > 0 and math.random() < 0.5) and known[math.random(#known)] or id_number()
  return string.format('{"name":"人员%d-%d","id_number":"%s","temperature_c":%.1f,"disposition":"passed",'
    .. '"role":"%s"}', n, k, number, t, k == 0 and "driver" or "passenger")
end

function request()
  counter = counter + 1
  local n = id * 10000000 + counter
  local body = string.format('{"client_id":"wrk-%s-%d-%d","plate":"%sA%05d","origin":"%s",'
    .. '"destination":"兰州市城关区","reason":"返兰","people":[%s,%s,%s]}', tag, id, counter,
    provinces[math.random(#provinces)], n % 100000, origins[math.random(#origins)],
    person(n, 0), person(n, 1), person(n, 2))
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end

function response(status, _headers, _body)
  if status == 201 then ok = ok + 1 else failed = failed + 1 end
end

function done(summary, latency, _requests)
  local created, errors = 0, 0
  for _, thread in ipairs(threads) do
    created = created + thread:get("ok")
    errors = errors + thread:get("failed")
  end
  -- one line for the Python side to read
  io.write(string.format("RESULT created=%d errors=%d socket_errors=%d duration_us=%d p50_us=%d p90_us=%d "
    .. "p99_us=%d max_us=%d\n", created, errors,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
