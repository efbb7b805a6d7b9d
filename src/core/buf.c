#include "core/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
}

void buf_free(struct buf *b)
{
        if (!b)
                return;
        free(b->data);
        buf_init(b);
}

void buf_reset(struct buf *b)
{
        b->len = 0;
}

int buf_reserve(struct buf *b, size_t extra)
{
        if (extra > SIZE_MAX / 2 - b->len)
                return -ENOMEM;
        size_t need = b->len + extra + 1; /* room for buf_terminate */
        if (need <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
        if (len == 0)
                return 0;
        int rc = buf_reserve(b, len);
        if (rc < 0)
                return rc;
        memcpy(b->data + b->len, data, len);
        b->len += len;
        return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_append_u8(struct buf *b, uint8_t v)
{
        return buf_append(b, &v, 1);
}

int buf_append_u16be(struct buf *b, uint16_t v)
{
        uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        return buf_append(b, x, 2);
}

int buf_append_u32be(struct buf *b, uint32_t v)
{
        uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        return buf_append(b, x, 4);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        va_list ap2;
        va_copy(ap2, ap);
        int n = vsnprintf(NULL, 0, fmt, ap2);
        va_end(ap2);
        if (n < 0)
                return -EINVAL;
        int rc = buf_reserve(b, (size_t)n + 1);
        if (rc < 0)
                return rc;
        vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int rc = buf_vprintf(b, fmt, ap);
        va_end(ap);
        return rc;
}

void buf_consume(struct buf *b, size_t n)
{
        if (n >= b->len) {
                b->len = 0;
                return;
        }
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
}

int buf_terminate(struct buf *b)
{
        int rc = buf_reserve(b, 0);
        if (rc < 0)
                return rc;
        b->data[b->len] = 0;
        return 0;
}

void buf_rd_init(struct buf_rd *r, const void *data, size_t len)
{
        r->data = data;
        r->len = data ? len : 0;
        r->pos = 0;
        r->err = false;
}

static const uint8_t *take(struct buf_rd *r, size_t n)
{
        if (r->err || n > r->len - r->pos) {
                r->err = true;
                return NULL;
        }
        const uint8_t *p = r->data + r->pos;
        r->pos += n;
        return p;
}

uint8_t buf_rd_u8(struct buf_rd *r)
{
        const uint8_t *p = take(r, 1);
        return p ? p[0] : 0;
}

uint16_t buf_rd_u16be(struct buf_rd *r)
{
        const uint8_t *p = take(r, 2);
        return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t buf_rd_u24be(struct buf_rd *r)
{
        const uint8_t *p = take(r, 3);
        return p ? ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2] : 0;
}

uint32_t buf_rd_u32be(struct buf_rd *r)
{
        const uint8_t *p = take(r, 4);
        return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
                 : 0;
}

uint64_t buf_rd_u64be(struct buf_rd *r)
{
        uint64_t hi = buf_rd_u32be(r);
        uint64_t lo = buf_rd_u32be(r);
        return (hi << 32) | lo;
}

const uint8_t *buf_rd_bytes(struct buf_rd *r, size_t n)
{
        return take(r, n);
}

int buf_rd_copy(struct buf_rd *r, void *dst, size_t n)
{
        const uint8_t *p = take(r, n);
        if (!p)
                return -EBADMSG;
        if (n)
                memcpy(dst, p, n);
        return 0;
}

void buf_rd_skip(struct buf_rd *r, size_t n)
{
        take(r, n);
}

struct buf_rd buf_rd_sub(struct buf_rd *r, size_t n)
{
        struct buf_rd sub;
        const uint8_t *p = take(r, n);
        buf_rd_init(&sub, p, p ? n : 0);
        if (!p)
                sub.err = true;
        return sub;
}

size_t buf_rd_remaining(const struct buf_rd *r)
{
        return r->err ? 0 : r->len - r->pos;
}

bool buf_rd_ok(const struct buf_rd *r)
{
        return !r->err;
}
