/*
 * Opus RTP payload (RFC 7587): one Opus packet per RTP packet, unchanged, with a 48 kHz RTP
 * clock whatever the codec's internal rate. The only work is reading the TOC byte (RFC 6716
 * section 3.1) to learn how much audio a packet holds, so the sender advances the RTP timestamp
 * by exactly that.
 *
 * TOC byte: | config (5 bits) | s | c (2 bits) |
 *   config: mode, bandwidth and frame duration; s: stereo;
 *   c: 0 = one frame, 1 = two equal frames, 2 = two frames of different sizes,
 *      3 = an arbitrary number of frames, counted in the next byte's low 6 bits.
 */
#ifndef RTCPEER_RTP_OPUS_H
#define RTCPEER_RTP_OPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPUS_RTP_CLOCK_RATE 48000
/* RFC 6716 section 3.2.5: a packet carries at most 120 ms. */
#define OPUS_MAX_PACKET_SAMPLES 5760

struct opus_toc {
        uint8_t config;
        bool stereo;
        uint8_t code;
        uint32_t frame_samples; /* per frame, at 48 kHz: 120 (2.5 ms) .. 2880 (60 ms) */
        unsigned frame_count;
        uint32_t packet_samples; /* frame_samples * frame_count */
};

/*
 * Reads the TOC (and the frame count byte of code 3). 0 or -EPROTO: empty packet, code 3
 * without its count byte or with 0 frames, or more than 120 ms of audio.
 */
int opus_toc_parse(struct opus_toc *t, const void *packet, size_t len);
/* Samples at 48 kHz in the packet, or a negative errno code. */
int opus_packet_samples(const void *packet, size_t len);

#endif
