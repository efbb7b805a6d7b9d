/* Compact token decoding: any input, whole or cut, must decode, ask for more, or be refused. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/compact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct buf out = BUF_INIT;
        int rc = compact_decode((const char *)data, size, &out);
        if (rc == 0) {
                /* What decodes must encode and decode back to the same text. */
                struct buf tok = BUF_INIT, again = BUF_INIT;
                if (compact_encode((const char *)out.data, out.len, &tok) == 0 &&
                    compact_decode((const char *)tok.data, tok.len, &again) == 0 &&
                    (again.len != out.len || memcmp(again.data, out.data, out.len) != 0))
                        abort();
                buf_free(&tok);
                buf_free(&again);
        } else if (rc != -EAGAIN && rc != -EBADMSG && rc != -E2BIG && rc != -ENOMEM) {
                abort();
        }
        if (rc != 0 && out.len != 0)
                abort();
        buf_free(&out);
        return 0;
}
