/* Opus decoder (libopus) to 48 kHz S16, with loss concealment and in-band FEC recovery. */
#ifndef RTCPEER_MEDIA_OPUSDEC_H
#define RTCPEER_MEDIA_OPUSDEC_H

#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"
#include "media/pcm.h"

struct opusdec;

int opusdec_new(unsigned channels, struct opusdec **out, struct merr *err);
void opusdec_free(struct opusdec *d);
/*
 * Decodes a packet into pcm (max_samples per channel, interleaved). data NULL: conceal one lost
 * 20 ms frame. Returns the samples per channel or a negative code.
 */
int opusdec_decode(struct opusdec *d, const uint8_t *data, size_t len, int16_t *pcm,
                   unsigned max_samples);
/*
 * Recovers the frame lost just before `data` from the FEC it carries (20 ms); when the packet
 * has none this conceals like opusdec_decode(NULL). Then decode `data` itself as usual.
 */
int opusdec_decode_fec(struct opusdec *d, const uint8_t *data, size_t len, int16_t *pcm,
                       unsigned max_samples);
/* Whether a packet carries FEC for the previous frame (in its first frame). */
int opusdec_packet_has_fec(const uint8_t *data, size_t len);

#endif
