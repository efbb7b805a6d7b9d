/*
 * Opus encoder (libopus) for 20 ms frames at 48 kHz, VoIP mode: bitrate changeable at run time,
 * in-band FEC and DTX optional. With DTX, silent frames give no packet at all.
 */
#ifndef RTCPEER_MEDIA_OPUSENC_H
#define RTCPEER_MEDIA_OPUSENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"
#include "media/pcm.h"

#define OPUSENC_DEFAULT_BPS 32000
#define OPUSENC_MAX_PACKET  1275 /* RFC 6716's largest single frame */

struct opusenc_config {
        unsigned channels;     /* 1 or 2 */
        unsigned bitrate_bps;  /* 0: OPUSENC_DEFAULT_BPS */
        bool fec;              /* in-band forward error correction (LBRR) */
        unsigned loss_percent; /* expected loss, tunes the FEC; 0 with fec: 10 */
        bool dtx;              /* discontinuous transmission in silence */
        int complexity;        /* 0..10; -1: 9 */
};

struct opusenc_packet {
        const uint8_t *data; /* valid until the next encode */
        size_t len;
        uint64_t capture_us;
};

struct opusenc;

int opusenc_new(const struct opusenc_config *cfg, struct opusenc **out, struct merr *err);
void opusenc_free(struct opusenc *e);
int opusenc_set_bitrate(struct opusenc *e, unsigned bps);
int opusenc_set_fec(struct opusenc *e, bool on, unsigned loss_percent);
int opusenc_set_dtx(struct opusenc *e, bool on);
/* 1 with *out, 0 when DTX suppressed the frame, or a negative code. */
int opusenc_encode(struct opusenc *e, const struct pcm_frame *in, struct opusenc_packet *out);

#endif
