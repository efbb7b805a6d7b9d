/*
 * The sending media pipeline of the shell: a video source (camera, test pattern, Y4M file) into
 * the VP8 encoder and an audio source (ALSA, test tone, WAV file) into the Opus encoder, driven
 * by the event loop (device descriptors and timers), encoded frames handed to the session.
 */
#ifndef RTCPEER_CLI_MEDIAPIPE_H
#define RTCPEER_CLI_MEDIAPIPE_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
