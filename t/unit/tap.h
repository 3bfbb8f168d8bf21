/* A minimal TAP producer for the C unit tests (read by automake's tap-driver). */
#ifndef MCP_TAP_H
#define MCP_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

#define ok(cond, ...) do { \
        int ok_cond_ = (cond) ? 1 : 0; \
        tap_count++; \
        if (!ok_cond_) tap_failed++; \
        printf("%sok %d - ", ok_cond_ ? "" : "not ", tap_count); \
        printf(__VA_ARGS__); \
        printf("\n"); \
        if (!ok_cond_) printf("#   failed at %s line %d\n", __FILE__, __LINE__); \
    } while (0)

#define is_str(got, want, name) do { \
        const char *got_ = (got), *want_ = (want); \
        ok(got_ != NULL && want_ != NULL ? strcmp(got_, want_) == 0 : got_ == want_, \
           "%s", name); \
        if (!(got_ != NULL && want_ != NULL ? strcmp(got_, want_) == 0 : got_ == want_)) \
            printf("#   got '%s', expected '%s'\n", got_ ? got_ : "(null)", \
                   want_ ? want_ : "(null)"); \
    } while (0)

static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif /* MCP_TAP_H */
