/*
 * The sending media pipeline of the shell: a video source (camera, test pattern, Y4M file) into
 * the VP8 encoder and an audio source (ALSA, test tone, WAV file) into the Opus encoder, driven
 * by the event loop (device descriptors and timers), encoded frames handed to the session.
 */
#ifndef RTCPEER_CLI_MEDIAPIPE_H
#define RTCPEER_CLI_MEDIAPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct loop;
struct mediapipe;

struct mediapipe_config {
        const char *video; /* --video SRC or NULL */
        const char *audio; /* --audio SRC or NULL */
        unsigned width, height, fps;
        unsigned video_kbps; /* 0: the encoder default */
        unsigned audio_bps;  /* 0: the encoder default */
        bool fec, dtx;
        /* After frames went into the session: the caller sends what it produced. */
        void (*after)(void *arg);
        /* A source failed (the message names the device): the caller ends with EXIT_DEVICE. */
        void (*failed)(void *arg, const char *msg);
        void *arg;
};

/*
 * Opens the sources and encoders (before signaling, so that a missing device is reported
 * before an offer is written). err gets one line naming the device on failure.
 */
int mediapipe_open(const struct mediapipe_config *cfg, struct loop *loop, struct mediapipe **out,
                   char *err, size_t errlen);
void mediapipe_free(struct mediapipe *m);
/* The session can send media now: start reading the sources. */
void mediapipe_start(struct mediapipe *m, struct session *session);
void mediapipe_keyframe(struct mediapipe *m);
/* Congestion control's bitrate for one kind (and the loss it sees, for Opus FEC). */
void mediapipe_set_bitrate(struct mediapipe *m, enum session_media media, uint32_t bps,
                           unsigned loss_percent);
uint32_t mediapipe_video_bitrate(const struct mediapipe *m);
/* What the sources deliver, for the log. */
const char *mediapipe_describe(const struct mediapipe *m);
uint64_t mediapipe_frames(const struct mediapipe *m, enum session_media media);
/* The size video is coded at now (the capture size scaled by congestion control); 0x0: none. */
void mediapipe_video_size(const struct mediapipe *m, unsigned *width, unsigned *height);

/*
 * Adapting video to the bitrate, as browsers do: when the rate leaves too few bits per pixel
 * the picture is coded smaller (level 1, 2, 3: 3/4, 1/2, 1/4 of each dimension, down to about
 * 160x90), and below the smallest size every second or third frame only; back up one step at a
 * time when the rate recovers. Exposed for the tests; the thresholds are explained in
 * mediapipe.c.
 */
#define MEDIAPIPE_LEVELS      4
#define MEDIAPIPE_DOWN_BPP    0.025
#define MEDIAPIPE_UP_BPP      0.06
#define MEDIAPIPE_UP_GAP_US   2000000u
#define MEDIAPIPE_MIN_WIDTH   160 /* the larger dimension, whichever way up */
#define MEDIAPIPE_MIN_HEIGHT  90  /* the smaller one */
#define MEDIAPIPE_MAX_FPS_DIV 3

struct mediapipe_adapt {
        unsigned level;   /* 0: the capture size; 1..3: 3/4, 1/2, 1/4 of it */
        unsigned fps_div; /* every fps_div-th captured picture is coded: 1..3 */
};

/* The coded size at a level: the capture size scaled, rounded down to even numbers. */
void mediapipe_level_size(unsigned level, unsigned width, unsigned height, unsigned *out_w,
                          unsigned *out_h);
/* The smallest size allowed for a capture size: the highest level at or above the floor. */
unsigned mediapipe_max_level(unsigned width, unsigned height);
/*
 * The next state for a target bitrate bps, the lowest rate of the last MEDIAPIPE_UP_GAP_US
 * (held_bps; 0 if unknown), a capture size and rate, and the time since the last change: down
 * at once (as far as bps needs), up one step when held_bps allows it and the last change is
 * MEDIAPIPE_UP_GAP_US old.
 */
struct mediapipe_adapt mediapipe_adapt_video(struct mediapipe_adapt cur, uint32_t bps,
                                             uint32_t held_bps, unsigned width, unsigned height,
                                             unsigned fps, uint64_t since_change_us);

#endif
