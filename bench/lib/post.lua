-- wrk: POST a form ($BODY) to the URL, with $AUTH as the Authorization header
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTH")
