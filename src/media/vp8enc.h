/*
 * VP8 encoder for real-time sending (libvpx): CBR, error resilient, no lag, frame dropping
 * allowed, bitrate changeable at run time (for congestion control) and keyframes on request
 * (for PLI/FIR). One picture in, at most one encoded frame out.
 */
#ifndef RTCPEER_MEDIA_VP8ENC_H
#define RTCPEER_MEDIA_VP8ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"
#include "media/picture.h"

#define VP8ENC_DEFAULT_KBPS     1000
#define VP8ENC_DEFAULT_CPU_USED 8
#define VP8ENC_DEFAULT_KEY_DIST 3000 /* frames; 100 s at 30 fps */

struct vp8enc_config {
        unsigned width, height;
        unsigned fps;          /* nominal rate for rate control; 0: 30 */
        unsigned bitrate_kbps; /* 0: VP8ENC_DEFAULT_KBPS */
        int cpu_used;          /* speed, 4..16 for real time; 0: VP8ENC_DEFAULT_CPU_USED */
        unsigned keyframe_max; /* frames between forced keyframes; 0: VP8ENC_DEFAULT_KEY_DIST */
        unsigned threads;      /* 0: 2 from 640x480 up, else 1 */
};

struct vp8enc_frame {
        const uint8_t *data; /* valid until the next encode */
        size_t len;
        bool keyframe;
        uint64_t capture_us; /* of the picture it came from */
};

struct vp8enc;

int vp8enc_new(const struct vp8enc_config *cfg, struct vp8enc **out, struct merr *err);
void vp8enc_free(struct vp8enc *e);
int vp8enc_set_bitrate(struct vp8enc *e, unsigned kbps);
unsigned vp8enc_bitrate(const struct vp8enc *e);
/* The next encoded frame will be a keyframe. */
void vp8enc_request_keyframe(struct vp8enc *e);
/*
 * Encodes p (timed by p->capture_us). 1 with *out set, 0 when rate control dropped the frame,
 * or a negative code. A picture of another size is coded from then on, starting with a
 * keyframe: a smaller one (congestion control's scaling) reconfigures the encoder in place, a
 * larger one than it was created for restarts it.
 */
int vp8enc_encode(struct vp8enc *e, const struct picture *p, struct vp8enc_frame *out);

#endif
