# bench/run's table: reads "name median" lines, prints the figures and targets
function max(a, b) { return a > b ? a : b }
function ratio(a, b) { return b > 0 ? a / b : 0 }
function r(x) { return sprintf("%.2f", x) }
function head(title, rel) {
    printf "%-46s %9s %-8s %7s %8s  %-52s %s\n", title, "median", "", rel, "CPU/req", "target", ""
}
function row(what, key, unit, rel, target, ok) {
    printf "%-46s %9.0f %-8s %7s %8s  %-52s %s\n", what, v[key], unit, rel,
        (key ".us" in v) ? sprintf("%.0fus", v[key ".us"]) : "", target, (target == "" ? "" : (ok ? "met" : "MISSED"))
}
{ v[$1] = $2 }
END {
    if (only != "as") {
        u = v["unprotected"]
        head("resource server (GET, same mcp-echo reply)", "/unprot")
        row("unprotected", "unprotected", "req/s", "1.00", "", 0)
        row("unprotected, same request with ES256 token", "unprotected.es", "req/s", r(v["unprotected.es"] / u), "", 0)
        row("unprotected, same request with RS256 token", "unprotected.rs", "req/s", r(v["unprotected.rs"] / u), "", 0)
        for (g = 1; g <= 3; g++) {
            guard = (g == 1) ? "mcp" : (g == 2) ? "oidc" : "oauth2"
            label = (g == 1) ? "mod_mcp_rs" : (g == 2) ? "mod_auth_openidc" : "mod_oauth2"
            if (g == 1) {
                best_es = max(v["oidc.es"], v["oauth2.es"]); best_rs = max(v["oidc.rs"], v["oauth2.rs"])
                row(label ", reused token, ES256", "mcp.es", "req/s", r(v["mcp.es"] / u), ">= 0.95 x unprot; " r(ratio(v["mcp.es"], best_es)) " x peer; " r(ratio(v["mcp.es"], v["unprotected.es"])) " x same req.", v["mcp.es"] >= 0.95 * u && v["mcp.es"] >= 2 * best_es)
                row(label ", reused token, RS256", "mcp.rs", "req/s", r(v["mcp.rs"] / u), ">= 0.95 x unprot; " r(ratio(v["mcp.rs"], best_rs)) " x peer; " r(ratio(v["mcp.rs"], v["unprotected.rs"])) " x same req.", v["mcp.rs"] >= 0.95 * u && v["mcp.rs"] >= 2 * best_rs)
                # a never-seen token costs an unprotected request plus one
                # signature verification: what OpenSSL's raw speed allows is
                # bound = 1 / (1/u + 1/(cpus x verify/s)) requests/s; measured
                # in CPU time, which load disturbs less, the extra CPU per
                # request must stay within 1/0.8 of one raw verification
                bes = 1 / (1 / u + 1 / (cpus * ecv)); brs = 1 / (1 / u + 1 / (cpus * rsav))
                xes = v["mcp.cold_es.us"] - v["unprotected.us"]; xrs = v["mcp.cold_rs.us"] - v["unprotected.us"]
                row(label ", never-seen tokens, ES256", "mcp.cold_es", "req/s", r(v["mcp.cold_es"] / u), sprintf("%.2f x bound %.0f; +%.0fus/%.0fus", v["mcp.cold_es"] / bes, bes, xes, 1e6 / ecv), v["mcp.cold_es"] >= 0.8 * bes || xes <= 1.25e6 / ecv)
                row(label ", never-seen tokens, RS256", "mcp.cold_rs", "req/s", r(v["mcp.cold_rs"] / u), sprintf("%.2f x bound %.0f; +%.0fus/%.0fus", v["mcp.cold_rs"] / brs, brs, xrs, 1e6 / rsav), v["mcp.cold_rs"] >= 0.8 * brs || xrs <= 1.25e6 / rsav)
            } else {
                row(label ", reused token, ES256", guard ".es", "req/s", r(v[guard ".es"] / u), "", 0)
                row(label ", reused token, RS256", guard ".rs", "req/s", r(v[guard ".rs"] / u), "", 0)
            }
            row(label ", 401 no token", guard ".none", "req/s", r(v[guard ".none"] / u), "", 0)
            row(label ", 401 bad signature", guard ".badsig", "req/s", r(v[guard ".badsig"] / u), g == 1 ? ">= 0.5 x unprotected" : "", v[guard ".badsig"] >= 0.5 * u)
            fetches = v["fetches." guard ".kid"]
            if (g == 1) {
                allowed = children * (int(span / 30) + 1)
                row(label ", 401 unknown kid (" fetches " fetches)", guard ".kid", "req/s", r(v[guard ".kid"] / u), ">= 0.5 x; <= " allowed " fetches", v[guard ".kid"] >= 0.5 * u && fetches <= allowed)
            } else {
                row(label ", 401 unknown kid (" fetches " fetches)", guard ".kid", "req/s", r(v[guard ".kid"] / u), "", 0)
            }
        }
        printf "JWKS fetches: totals over the %d unknown-kid floods of %ds each, within %ds; mod_mcp_rs refetches at most once per 30 s per child (%d children)\n", rounds, dur, span, children
        printf "openssl speed (one core): RSA-2048 verify %.0f/s, ECDSA P-256 verify %.0f/s\n", rsav, ecv
        n = split(rssb, b, " "); split(rssa, a, " "); grow = 0; line = ""
        for (i = 1; i <= n; i++) { d = a[i] - b[i]; grow = max(grow, d); line = line sprintf(" %d->%d", b[i], a[i]) }
        printf "memory per httpd child (KiB, before->after 10,000 requests, the same mix run once before):%s; max growth %d KiB, target <= 1024: %s\n", line, grow, grow <= 1024 ? "met" : "MISSED"
        if (v["mcp.es.non2xx"] + v["mcp.rs.non2xx"] > 0) printf "warning: non-2xx answers in the reused-token runs\n"
        if (v["mcp.cold_es.repeated"] + v["mcp.cold_rs.repeated"] > 0) printf "warning: never-seen-token runs ran out of tokens and repeated %d (ES256) and %d (RS256) of them (median per run): raise COLD_TOKENS\n", v["mcp.cold_es.repeated"], v["mcp.cold_rs.repeated"]
        printf "\n"
    }
    if (only != "rs") {
        head("authorization server (POST /token)", "x peer")
        bcc = max(v["op.cc"], v["op2.cc"])
        row("mod_mcp_as (SQLite), client_credentials", "as.cc", "tokens/s", r(ratio(v["as.cc"], bcc)), ">= 3 x oidc-provider", v["as.cc"] >= 3 * bcc)
        row("oidc-provider, client_credentials, 1 process", "op.cc", "tokens/s", "", "", 0)
        row("oidc-provider, client_credentials, 2 workers", "op2.cc", "tokens/s", "", "", 0)
        row("mod_mcp_as (SQLite), code exchange", "as.code", "tokens/s", r(ratio(v["as.code"], v["op.code"])), ">= 3 x oidc-provider", v["as.code"] >= 3 * v["op.code"])
        row("oidc-provider, code exchange, 1 process", "op.code", "tokens/s", "", "", 0)
        if (v["store.rows"] > 0)
            printf "mod_mcp_as's store held %d rows in each token table before its rounds (STORE_ROWS)\n", v["store.rows"]
        if (v["as.code.failed"] + v["op.code.failed"] + v["as.cc.non2xx"] + v["op.cc.non2xx"] + v["op2.cc.non2xx"] > 0)
            printf "warning: failed exchanges: mod_mcp_as %d, oidc-provider %d; non-2xx client_credentials: %d, %d, %d\n", v["as.code.failed"], v["op.code.failed"], v["as.cc.non2xx"], v["op.cc.non2xx"], v["op2.cc.non2xx"]
    }
}
