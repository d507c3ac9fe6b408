-- wrk script: replays pre-built requests from a pool file written by bench/_support.py.
--
-- Usage: wrk -s bench/pool.lua URL -- POOL_FILE THREADS
-- Each pool line is METHOD \t PATH \t "Header: value" ... \t BODY. Thread k of n takes lines
-- k, k+n, k+2n, ... so no two threads send the same body (order ids and sessions stay unique),
-- and the requests are formatted once, in init, so the hot path only picks the next string.
-- `done` prints one BENCH_RESULT JSON line (and BENCH_SAMPLE lines with the first non-2xx
-- answer of each thread) for the harness to parse.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local function split(line)
   local fields, start = {}, 1
   while true do
      local tab = string.find(line, "\t", start, true)
      if not tab then
         table.insert(fields, string.sub(line, start))
         return fields
      end
      table.insert(fields, string.sub(line, start, tab - 1))
      start = tab + 1
   end
end

function init(args)
   local pool_path, stride = args[1], tonumber(args[2])
   reqs = {}
   local line_no = 0
   for line in io.lines(pool_path) do
      if line_no % stride == tid then
         local fields = split(line)
         local headers = {}
         for k = 3, #fields - 1 do
            local colon = string.find(fields[k], ": ", 1, true)
            headers[string.sub(fields[k], 1, colon - 1)] = string.sub(fields[k], colon + 2)
         end
         local body = fields[#fields]
         if body == "" then body = nil end
         table.insert(reqs, wrk.format(fields[1], fields[2], headers, body))
      end
      line_no = line_no + 1
   end
   pooled = #reqs
   if pooled == 0 then error("empty pool for thread " .. tid .. ": " .. pool_path) end
   sent = 0
   non2xx = 0
   sample = ""
end

function request()
   sent = sent + 1
   return reqs[(sent - 1) % pooled + 1]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if sample == "" then
         sample = status .. " " .. string.sub(body or "", 1, 400)
      end
   end
end

function done(summary, latency, requests)
   local non2xx_total, repeats = 0, 0
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      local extra = (thread:get("sent") or 0) - (thread:get("pooled") or 0)
      if extra > 0 then repeats = repeats + extra end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
      '"non2xx":%d,"repeats":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), non2xx_total, repeats))
   for _, thread in ipairs(threads) do
      local s = thread:get("sample")
      if s and s ~= "" then
         io.write("BENCH_SAMPLE " .. string.gsub(s, "[\r\n]", " ") .. "\n")
      end
   end
end
