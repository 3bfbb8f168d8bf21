-- wrk: redeem each authorization code of $CODES_FILE ("code verifier
-- [client_id]" lines) once, POST $URLPATH, each wrk thread its own slice;
-- a thread stops when its slice is used up, so Requests/sec covers the
-- exchanges only ($AUTH: an Authorization header, for a confidential client).
local lines = {}
for line in io.lines(os.getenv("CODES_FILE")) do lines[#lines + 1] = line end
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args)
    local nthreads = tonumber(os.getenv("THREADS"))
    per = math.floor(#lines / nthreads)
    first = id * per
    i = 0
    path = os.getenv("URLPATH")
    auth = os.getenv("AUTH")
end
function request()
    if i >= per then
        wrk.thread:stop()
        return wrk.format("GET", "/")
    end
    local code, verifier, client_id = lines[first + i + 1]:match("^(%S+) (%S+) ?(%S*)")
    i = i + 1
    if client_id == "" then client_id = "bench-agent" end
    local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
    if auth and auth ~= "" then headers["Authorization"] = auth end
    return wrk.format("POST", path, headers,
        "grant_type=authorization_code&code=" .. code .. "&code_verifier=" .. verifier ..
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&client_id=" .. client_id)
end
