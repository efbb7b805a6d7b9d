/*
 * ALSA capture by PCM name ("default", "hw:1,0", or any PCM a configuration defines), non-blocking
 * and driven by the PCM's poll descriptors, in 20 ms frames of 48 kHz S16.
 *
 * PCMs of the built-in file and null types are always ready (their descriptors never block and a
 * read of any size returns at once), so for them the module paces itself: its descriptor is then
 * a timerfd and reads follow CLOCK_MONOTONIC. Only those types: a real card's clock drifts
 * against ours, and pacing it by ours would cause overruns.
 */
#ifndef RTCPEER_MEDIA_ALSASRC_H
#define RTCPEER_MEDIA_ALSASRC_H

#include <poll.h>
#include <stdint.h>

#include "media/merr.h"
#include "media/pcm.h"

#define ALSASRC_MAX_FDS 8

struct alsasrc_config {
        const char *pcm;
        unsigned channels; /* 1 or 2, what the frames carry; the device may differ */
};

struct alsasrc;

int alsasrc_new(const struct alsasrc_config *cfg, struct alsasrc **out, struct merr *err);
void alsasrc_free(struct alsasrc *s);
/* The descriptors to watch (events as given); returns their number. */
int alsasrc_pollfds(const struct alsasrc *s, struct pollfd *fds, unsigned max);
/* 1 with *out (valid until the next call), 0 when no full frame is ready, or an error. */
int alsasrc_read(struct alsasrc *s, uint64_t now_us, const struct pcm_frame **out,
                 struct merr *err);
/* True when the module paces the PCM itself (file and null PCMs). */
int alsasrc_self_paced(const struct alsasrc *s);
/* Overruns recovered so far (audio lost because the loop did not read in time). */
unsigned alsasrc_overruns(const struct alsasrc *s);

#endif
