-- A supporter's whole visit, over and over: the campaign page (which starts a session and
-- carries the CSRF token, or in surge mode the shared form token), the signed form, the
-- thank-you page. One connection per thread, so each thread's steps follow each other.
-- Prints a JSON summary.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local run = os.getenv("BENCH_RUN") or "run"
local step, cookie, token, surge = "page", nil, nil, nil
local counter = 0
-- Globals, so that done() can read them from each thread.
flows, failures = 0, 0

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  if step == "page" then
    return wrk.format("GET", "/en/zhanaozen/", { ["Cookie"] = "lang=en" })
  elseif step == "sign" then
    counter = counter + 1
    local email = string.format("b%s-%d-%d@example.org", run, id, counter)
    local fields = "&name=Bench+Signer&email=" .. urlencode(email)
      .. "&country=KZ&city=Aktau&organisation=&comment=&display=initial"
    local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
    if surge then
      -- What a browser says about a form posted from a page of the same site.
      headers["Sec-Fetch-Site"] = "same-origin"
      headers["Cookie"] = "lang=en"
      return wrk.format("POST", "/en/zhanaozen/", headers, "surge_token=" .. urlencode(surge) .. fields)
    end
    headers["Cookie"] = "lang=en; " .. cookie
    return wrk.format("POST", "/en/zhanaozen/", headers, "csrf_token=" .. urlencode(token) .. fields)
  end
  return wrk.format("GET", "/en/zhanaozen/thanks", { ["Cookie"] = "lang=en" })
end

function response(status, headers, body)
  if step == "page" then
    token = body:match('name="csrf_token" type="hidden" value="([^"]+)"')
    surge = body:match('name="surge_token" value="([^"]+)"')
    local set = headers["Set-Cookie"]
    cookie = set and set:match("^([^;]+)")
    if status == 200 and (surge or (token and cookie)) then
      step = "sign"
    else
      failures = failures + 1
    end
  elseif step == "sign" then
    if status == 303 then
      step = "thanks"
    else
      failures = failures + 1
      step = "page"
    end
  else
    if status == 200 then flows = flows + 1 else failures = failures + 1 end
    step = "page"
  end
end

function done(summary, latency, requests)
  local all_flows, all_failures = 0, 0
  for _, thread in ipairs(threads) do
    all_flows = all_flows + thread:get("flows")
    all_failures = all_failures + thread:get("failures")
  end
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "errors": %d, "flows": %d, "failures": %d, '
      .. '"p50_ms": %.2f, "p99_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, errors, all_flows, all_failures,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
