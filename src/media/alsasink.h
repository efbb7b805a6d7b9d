/*
 * ALSA playback by PCM name for received audio (S16 interleaved), paced by the device's clock,
 * non-blocking and driven by the caller's event loop like alsasrc: watch alsasink_pollfds() and
 * call alsasink_service() when one is ready. alsasink_write() only queues, so decoded audio can
 * arrive in bursts.
 *
 * Latency is kept small and adaptive. The device holds about three 10 ms periods; the queue holds
 * the rest up to a target for the total (device delay + queue), 60 ms at first. When the queue
 * runs dry while playing (an underrun: audio arrived late) silence is played and the target grows
 * by 10 ms, up to 200 ms; after 10 s without one it shrinks by 10 ms. Audio well above the target
 * (a burst after a stall) is dropped from the front of the queue. After starting or an underrun,
 * playback waits for the queue to reach the target, playing silence meanwhile.
 *
 * PCMs of the built-in file and null types never block, so for them the module paces itself
 * with a timerfd, as alsasrc does.
 */
#ifndef RTCPEER_MEDIA_ALSASINK_H
#define RTCPEER_MEDIA_ALSASINK_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"

#define ALSASINK_MAX_FDS       8
#define ALSASINK_TARGET_US     60000  /* initial and smallest latency target */
#define ALSASINK_TARGET_MAX_US 200000 /* largest, unless the device alone needs more */
#define ALSASINK_QUEUE_US      1000000

struct alsasink_stats {
        uint64_t frames_played;  /* audio frames moved from the queue into the device */
        uint64_t silence_frames; /* frames of silence played instead (start, underruns) */
        uint64_t frames_dropped; /* audio discarded to bring the latency back to the target */
        unsigned underruns;      /* times the queue ran dry while playing */
        unsigned xruns;          /* device underruns (service came too late), recovered */
        unsigned target_us;      /* current latency target */
};

struct alsasink;

/* rate in Hz (the device must run at it: use plughw: or default otherwise); channels 1 or 2. */
int alsasink_open(const char *pcm_name, unsigned rate, unsigned channels, struct alsasink **out,
                  struct merr *err);
/* Drops what was not played yet and closes the device. NULL allowed. */
void alsasink_free(struct alsasink *s);
/*
 * The descriptors to watch, with their events as given (POLL* and EPOLL* values are equal on
 * Linux). Returns their number. Call alsasink_service() when one is ready.
 */
int alsasink_pollfds(const struct alsasink *s, struct pollfd *fds, unsigned max);
/* True when the module paces the PCM itself (file and null PCMs). */
int alsasink_self_paced(const struct alsasink *s);
/* Queues frames * channels samples; never blocks. A full queue (1 s) loses its oldest audio. */
int alsasink_write(struct alsasink *s, const int16_t *pcm, size_t frames);
/*
 * Moves queued audio (or silence) into the device as space allows and recovers from device
 * underruns. now: the caller's clock (clock_now_us()), which times the target's adaptation and
 * paces file PCMs. 0 or a negative code (alsasink_error() says why; the device is unusable).
 */
int alsasink_service(struct alsasink *s, uint64_t now);
/* Time until audio written now is heard: queued audio plus the device's delay (for lip sync). */
uint64_t alsasink_delay_us(const struct alsasink *s);
void alsasink_get_stats(const struct alsasink *s, struct alsasink_stats *st);
/* The one-line message of the last failure of alsasink_service(). */
const char *alsasink_error(const struct alsasink *s);

#endif
