-- wrk: GET PATH with "Authorization: Bearer" and a token from the file
-- $TOKENS, each wrk thread walking its own slice; with $BADSIG set, the
-- last 8 characters of the signature are replaced by a counter so that
-- every request carries a different, invalid signature.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local threads = 0
local path = os.getenv("URLPATH")
local badsig = os.getenv("BADSIG")
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args)
    local nthreads = tonumber(os.getenv("THREADS"))
    per = math.max(1, math.floor(#tokens / nthreads))
    first = (id * per) % #tokens
    i = 0
    n = 0
end
function request()
    if i >= per then i = 0; wrapped = true end
    local token = tokens[first + i + 1]
    i = i + 1
    n = n + 1
    if badsig then
        token = token:sub(1, #token - 8) .. string.format("%08d", (id * 10000000 + n) % 100000000)
    end
    return wrk.format("GET", path, { Authorization = "Bearer " .. token })
end
