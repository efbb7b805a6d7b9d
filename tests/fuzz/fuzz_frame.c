/*
 * Description framing over a byte stream: the input is split at a point taken from its first
 * byte; the result must not depend on how the bytes arrive.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const uint8_t *data, size_t size, size_t step, struct buf *text, size_t *used_total)
{
        struct frame_reader fr;
        frame_reader_init(&fr);
        int rc = 0;
        size_t pos = 0;
        while (pos < size && rc == 0) {
                size_t n = size - pos < step ? size - pos : step, used;
                rc = frame_reader_feed(&fr, data + pos, n, &used);
                if (used > n)
                        abort();
                pos += used;
        }
        if (rc == 0)
                rc = frame_reader_eof(&fr);
        *used_total = pos;
        if (rc == 1) {
                size_t len;
                const char *t = frame_reader_text(&fr, &len);
                if (!t || t[len] != 0)
                        abort();
                buf_append(text, t, len);
        }
        frame_reader_free(&fr);
        return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        size_t step = (size_t)data[0] % 17 + 1;
        struct buf a = BUF_INIT, b = BUF_INIT;
        size_t ua, ub;
        int ra = run(data + 1, size - 1, step, &a, &ua);
        int rb = run(data + 1, size - 1, size, &b, &ub);
        if (ra != rb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
                abort();
        if (ra == 1 && ua != ub)
                abort();
        buf_free(&a);
        buf_free(&b);
        return 0;
}
