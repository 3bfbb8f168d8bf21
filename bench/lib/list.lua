-- wrk: GET PATH with "Authorization: Bearer" and a token from the file
-- $TOKENS, each wrk thread walking its own slice; with $BADSIG set, 8
-- characters of the signature (not its last two, whose unused low bits a
-- strict base64url decoder checks) are replaced by a counter, so that
-- every request carries a different signature that decodes and must be
-- verified, and fails.  When a thread has used up its slice it starts
-- again, and a reply comes from a token cache: done() then says how many
-- requests repeated a token ("repeated: N"), for the caller to report.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local threads = {}
local path = os.getenv("URLPATH")
local badsig = os.getenv("BADSIG")
function setup(thread) thread:set("id", #threads); threads[#threads + 1] = thread end
function init(args)
    local nthreads = tonumber(os.getenv("THREADS"))
    per = math.max(1, math.floor(#tokens / nthreads))
    first = (id * per) % #tokens
    i = 0
    n = 0
    repeated = 0
end
function request()
    if i >= per then i = 0; wrapped = true end
    local token = tokens[first + i + 1]
    i = i + 1
    n = n + 1
    if wrapped then repeated = repeated + 1 end
    if badsig then
        token = token:sub(1, #token - 10) .. string.format("%08d", (id * 10000000 + n) % 100000000) .. token:sub(-2)
    end
    return wrk.format("GET", path, { Authorization = "Bearer " .. token })
end
function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do total = total + (thread:get("repeated") or 0) end
    io.write(string.format("repeated: %d\n", total))
end
