/* VP8 decoder (libvpx) giving I420 pictures; for the receive path and for round-trip tests. */
#ifndef RTCPEER_MEDIA_VP8DEC_H
#define RTCPEER_MEDIA_VP8DEC_H

#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"
#include "media/picture.h"

struct vp8dec;

int vp8dec_new(struct vp8dec **out, struct merr *err);
void vp8dec_free(struct vp8dec *d);
/*
 * Decodes one complete VP8 frame. 1 with *out (planes owned by the decoder, valid until the next
 * call; capture_us and seq are left 0 for the caller), 0 when no picture came out, -EBADMSG for
 * a corrupt frame (ask the sender for a keyframe).
 */
int vp8dec_decode(struct vp8dec *d, const uint8_t *data, size_t len, struct picture *out);

#endif
