/*
 * Audio sources for sending, in 20 ms frames of 48 kHz S16, behind one interface:
 *   "test" or "test:FREQ"   a sine tone (default 440 Hz), timer-driven
 *   a .wav file              16-bit PCM at 48 kHz, mono or stereo, looped, timer-driven
 *   anything else            an ALSA capture PCM name, driven by its poll descriptors
 * Call audiosrc_read() when a descriptor is readable and at audiosrc_next_deadline(), until it
 * returns 0.
 */
#ifndef RTCPEER_MEDIA_AUDIOSRC_H
#define RTCPEER_MEDIA_AUDIOSRC_H

#include <poll.h>
#include <stdint.h>

#include "media/merr.h"
#include "media/pcm.h"

struct audiosrc_config {
        const char *spec;
        unsigned channels; /* 1 or 2; 0: the file's count, mono otherwise */
};

enum audiosrc_kind {
        AUDIOSRC_TEST,
        AUDIOSRC_WAV,
        AUDIOSRC_ALSA,
};

struct audiosrc;

int audiosrc_new(const struct audiosrc_config *cfg, struct audiosrc **out, struct merr *err);
void audiosrc_free(struct audiosrc *s);
enum audiosrc_kind audiosrc_kind(const struct audiosrc *s);
unsigned audiosrc_channels(const struct audiosrc *s);
/* Descriptors to watch for readability; 0 for the timer-driven sources. */
int audiosrc_pollfds(const struct audiosrc *s, struct pollfd *fds, unsigned max);
/* When read is due without descriptor activity; UINT64_MAX for ALSA. */
uint64_t audiosrc_next_deadline(const struct audiosrc *s);
/* 1 with *out (valid until the next call), 0 when nothing is due, or a negative code. */
int audiosrc_read(struct audiosrc *s, uint64_t now_us, const struct pcm_frame **out);
const char *audiosrc_error(const struct audiosrc *s);

#endif
