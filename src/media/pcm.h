/* Audio frames as the sources deliver them and Opus takes them: 20 ms of 48 kHz S16. */
#ifndef RTCPEER_MEDIA_PCM_H
#define RTCPEER_MEDIA_PCM_H

#include <stdint.h>

#define PCM_RATE          48000
#define PCM_FRAME_MS      20
#define PCM_FRAME_SAMPLES (PCM_RATE / 1000 * PCM_FRAME_MS) /* per channel */
#define PCM_MAX_CHANNELS  2

struct pcm_frame {
        int16_t *samples;    /* interleaved, PCM_FRAME_SAMPLES * channels */
        unsigned channels;   /* 1 or 2 */
        uint64_t capture_us; /* CLOCK_MONOTONIC time of the first sample */
        uint64_t seq;        /* frame number; gaps mean lost audio */
};

#endif
