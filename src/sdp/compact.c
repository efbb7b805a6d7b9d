#include "sdp/compact.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '-')
                return 62;
        if (c == '_')
                return 63;
        return -1;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int compact_encode(const char *sdp, size_t len, struct buf *out)
{
        uLongf zlen = compressBound((uLong)len);
        struct buf z = BUF_INIT;
        int rc = buf_reserve(&z, zlen);
        if (rc < 0)
                return rc;
        if (compress2(z.data, &zlen, (const Bytef *)sdp, (uLong)len, Z_BEST_COMPRESSION) != Z_OK) {
                buf_free(&z);
                return -EIO;
        }
        rc = buf_append_str(out, COMPACT_PREFIX);
        for (size_t i = 0; rc == 0 && i < zlen; i += 3) {
                uint32_t v = (uint32_t)z.data[i] << 16;
                size_t n = zlen - i < 3 ? zlen - i : 3;
                if (n > 1)
                        v |= (uint32_t)z.data[i + 1] << 8;
                if (n > 2)
                        v |= z.data[i + 2];
                char q[4] = {b64url[(v >> 18) & 63], b64url[(v >> 12) & 63], b64url[(v >> 6) & 63],
                             b64url[v & 63]};
                rc = buf_append(out, q, n + 1);
        }
        buf_free(&z);
        return rc;
}

bool compact_is_token(const char *text, size_t len)
{
        size_t i = 0;
        while (i < len && is_space(text[i]))
                i++;
        size_t plen = strlen(COMPACT_PREFIX);
        return len - i >= plen && memcmp(text + i, COMPACT_PREFIX, plen) == 0;
}

/* Unpadded base64url into raw bytes; whitespace skipped. */
static int b64_decode(const char *s, size_t len, struct buf *out)
{
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < len; i++) {
                if (is_space(s[i]))
                        continue;
                if (s[i] == '=')
                        break;
                int v = b64_value(s[i]);
                if (v < 0)
                        return -EBADMSG;
                acc = (acc << 6) | (uint32_t)v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        int rc = buf_append_u8(out, (uint8_t)(acc >> bits));
                        if (rc < 0)
                                return rc;
                }
        }
        return 0;
}

int compact_decode(const char *token, size_t len, struct buf *out)
{
        size_t i = 0;
        while (i < len && is_space(token[i]))
                i++;
        size_t plen = strlen(COMPACT_PREFIX);
        if (len - i < plen || memcmp(token + i, COMPACT_PREFIX, plen) != 0)
                return -EBADMSG;
        i += plen;

        struct buf raw = BUF_INIT;
        int rc = b64_decode(token + i, len - i, &raw);
        if (rc < 0 || raw.len == 0) {
                buf_free(&raw);
                return rc < 0 ? rc : -EAGAIN;
        }

        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        if (inflateInit(&zs) != Z_OK) {
                buf_free(&raw);
                return -ENOMEM;
        }
        size_t start = out->len;
        zs.next_in = raw.data;
        zs.avail_in = (uInt)raw.len;
        int zrc = Z_OK;
        while (zrc == Z_OK) {
                rc = buf_reserve(out, 4096);
                if (rc < 0)
                        break;
                zs.next_out = out->data + out->len;
                zs.avail_out = 4096;
                zrc = inflate(&zs, Z_NO_FLUSH);
                out->len += 4096 - zs.avail_out;
                if (out->len - start > COMPACT_MAX_DECODED) {
                        rc = -E2BIG;
                        break;
                }
                if (zrc == Z_BUF_ERROR && zs.avail_in == 0) {
                        rc = -EAGAIN; /* input ran out before the end of the stream */
                        break;
                }
        }
        if (rc == 0 && zrc != Z_STREAM_END)
                rc = -EBADMSG;
        /* Bytes after the end of the zlib stream mean a damaged or concatenated token. */
        if (rc == 0 && zs.avail_in != 0)
                rc = -EBADMSG;
        inflateEnd(&zs);
        buf_free(&raw);
        if (rc < 0)
                out->len = start;
        return rc;
}
