/*
 * Compact description tokens: one line that survives chat clients. Format version 1 is the
 * prefix "rtcpeer1." followed by the zlib-compressed description in unpadded base64url.
 * Whitespace (including a line break a chat client inserted) is ignored when decoding.
 */
#ifndef RTCPEER_SDP_COMPACT_H
#define RTCPEER_SDP_COMPACT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define COMPACT_PREFIX "rtcpeer1."
/* Upper bound of a decoded description; a larger token is refused before inflating further. */
#define COMPACT_MAX_DECODED (256 * 1024)

/* Appends the token (no line break) for the given description text. */
int compact_encode(const char *sdp, size_t len, struct buf *out);

/*
 * Decodes a token (prefix included, whitespace anywhere ignored) into out.
 * Returns 0, -EAGAIN when the token is a valid but unfinished prefix of one (more lines may
 * follow), -E2BIG when it would decode to more than COMPACT_MAX_DECODED, -EBADMSG otherwise.
 */
int compact_decode(const char *token, size_t len, struct buf *out);

/* True when text (after leading whitespace) starts like a token of a version we know. */
bool compact_is_token(const char *text, size_t len);

#endif
