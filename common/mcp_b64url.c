/* base64url without padding (RFC 4648 §5), strict in what it accepts. */
#include "mcp_common.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *mcp_b64url_encode(apr_pool_t *pool, const unsigned char *data,
                        apr_size_t len)
{
    char *out = apr_palloc(pool, (len + 2) / 3 * 4 + 1);
    char *pos = out;
    apr_size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *pos++ = b64url_alphabet[data[i] >> 2];
        *pos++ = b64url_alphabet[((data[i] & 0x03) << 4) | (data[i + 1] >> 4)];
        *pos++ = b64url_alphabet[((data[i + 1] & 0x0f) << 2) | (data[i + 2] >> 6)];
        *pos++ = b64url_alphabet[data[i + 2] & 0x3f];
    }
    if (len - i == 1) {
        *pos++ = b64url_alphabet[data[i] >> 2];
        *pos++ = b64url_alphabet[(data[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        *pos++ = b64url_alphabet[data[i] >> 2];
        *pos++ = b64url_alphabet[((data[i] & 0x03) << 4) | (data[i + 1] >> 4)];
        *pos++ = b64url_alphabet[(data[i + 1] & 0x0f) << 2];
    }
    *pos = '\0';
    return out;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int mcp_b64url_decode(apr_pool_t *pool, const char *in, apr_size_t in_len,
                      unsigned char **out, apr_size_t *out_len)
{
    apr_size_t rest = in_len % 4, i, n = 0;
    unsigned char *buf;
    apr_uint32_t acc = 0;
    int bits = 0;

    if (rest == 1) {
        return MCP_ERROR;               /* no byte string encodes to this */
    }
    buf = apr_palloc(pool, in_len / 4 * 3 + 3);
    for (i = 0; i < in_len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0) {
            return MCP_ERROR;
        }
        acc = (acc << 6) | (apr_uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return MCP_ERROR;               /* non-canonical: stray low bits */
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return MCP_OK;
}
