/*
 * Framing of session descriptions on a byte stream (stdin, a FIFO, an ssh channel), sans-IO.
 *
 * A description ends at the first empty line, at EOF, or, for a compact token, at the end of
 * the line that completes the token (a token broken over several lines by a chat client is
 * joined until it decodes). Empty lines before the description are skipped. Bytes after the
 * end are left unconsumed: with --data they are the start of the data stream.
 */
#ifndef RTCPEER_SDP_FRAME_H
#define RTCPEER_SDP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Larger input is refused while reading, so a hostile stream cannot grow memory without bound. */
#define FRAME_MAX_TEXT (1024 * 1024)

struct frame_reader {
        struct buf text; /* the raw description so far */
        struct buf sdp;  /* the finished description (token decoded) */
        struct buf line; /* the line being read */
        bool started;
        bool token;
        bool done;
        int error;
};

void frame_reader_init(struct frame_reader *fr);
void frame_reader_free(struct frame_reader *fr);

/*
 * Consumes bytes up to the end of the description. *consumed tells how many were used.
 * Returns 1 when the description is complete, 0 when more input is needed, or a negative
 * code: -E2BIG (too large), -EBADMSG (a damaged compact token).
 */
int frame_reader_feed(struct frame_reader *fr, const uint8_t *data, size_t len, size_t *consumed);

/* The input ended. Returns 1 when a description is complete, -ENODATA when nothing came. */
int frame_reader_eof(struct frame_reader *fr);

/* The finished description as text (valid after a return of 1). */
const char *frame_reader_text(const struct frame_reader *fr, size_t *len);
bool frame_reader_was_token(const struct frame_reader *fr);

/* Appends a description for writing: plain text then one empty line, or a token line then one. */
int frame_write(const char *sdp, size_t len, bool compact, struct buf *out);

#endif
