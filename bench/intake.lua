-- wrk script for bench/intake: every request posts a new application (a unique address per thread and request)
-- to the job named by VIVIER_BENCH_JOB, with the token in VIVIER_BENCH_TOKEN.
local job = os.getenv("VIVIER_BENCH_JOB")
local token = os.getenv("VIVIER_BENCH_TOKEN")
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tag", tostring(threads) .. "-" .. tostring(math.random(1, 1000000000)))
end

local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"job_id":"%s","candidate":{"email":"bench-%s-%d@example.com","first_name":"Camille","last_name":"Bench %d",' ..
    '"language":"fr"},"source":"job_board","source_detail":"wrk","consents":["talent_pool"]}',
    job, tag, counter, counter)
  return wrk.format("POST", "/api/v1/applications",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
