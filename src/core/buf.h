/* Growable byte buffer and a bounds-checked reader for network input. */
#ifndef RTCPEER_CORE_BUF_H
#define RTCPEER_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
        uint8_t *data;
        size_t len;
        size_t cap;
};

#define BUF_INIT                                                                                   \
        {                                                                                          \
                NULL, 0, 0                                                                         \
        }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_u8(struct buf *b, uint8_t v);
int buf_append_u16be(struct buf *b, uint16_t v);
int buf_append_u32be(struct buf *b, uint32_t v);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drops the first n bytes (for consumers that read from the front). */
void buf_consume(struct buf *b, size_t n);
/* Keeps a NUL after the data without counting it in len, so text can be used as a C string. */
int buf_terminate(struct buf *b);

/*
 * Reader over untrusted bytes. Every read past the end sets a sticky error and returns zeros, so
 * parsers read a whole structure and check buf_rd_ok() once.
 */
struct buf_rd {
        const uint8_t *data;
        size_t len;
        size_t pos;
        bool err;
};

void buf_rd_init(struct buf_rd *r, const void *data, size_t len);
uint8_t buf_rd_u8(struct buf_rd *r);
uint16_t buf_rd_u16be(struct buf_rd *r);
uint32_t buf_rd_u24be(struct buf_rd *r);
uint32_t buf_rd_u32be(struct buf_rd *r);
uint64_t buf_rd_u64be(struct buf_rd *r);
/* Returns a pointer to n bytes inside the input, or NULL (and the error flag) if fewer remain. */
const uint8_t *buf_rd_bytes(struct buf_rd *r, size_t n);
int buf_rd_copy(struct buf_rd *r, void *dst, size_t n);
void buf_rd_skip(struct buf_rd *r, size_t n);
/* A sub-reader over the next n bytes; the parent advances past them. */
struct buf_rd buf_rd_sub(struct buf_rd *r, size_t n);
size_t buf_rd_remaining(const struct buf_rd *r);
bool buf_rd_ok(const struct buf_rd *r);

#endif
