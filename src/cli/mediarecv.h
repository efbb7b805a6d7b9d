/*
 * The receiving media pipeline of the shell: frames the session releases at their playout time
 * go through the VP8 and Opus decoders to the outputs the user asked for (a Y4M stream, the
 * terminal preview, an ALSA playback device, a WAV file), and the received VP8 stream is stored
 * as IVF without re-encoding. It also keeps the two tracks in lip sync: four times a second it
 * compares when each track plays what the sender captured at the same moment (sender reports
 * give the capture clock) and delays the early one.
 */
#ifndef RTCPEER_CLI_MEDIARECV_H
#define RTCPEER_CLI_MEDIARECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct loop;
struct mediarecv;

struct mediarecv_config {
        const char *video_out;    /* --video-out FILE|-: decoded pictures as Y4M */
        const char *record_video; /* --record-video FILE.ivf: the VP8 stream as received */
        const char *audio_out;    /* --audio-out PCM: ALSA playback */
        const char *record_audio; /* --record-audio FILE.wav: decoded audio */
        bool preview;             /* --preview: the picture drawn in the terminal */
        unsigned fps;             /* frame rate written in the Y4M header */
        /* An output failed for good (the message names it): the caller ends with EXIT_DEVICE. */
        void (*failed)(void *arg, const char *msg);
        void *arg;
};

/* Names follow the W3C inbound-rtp statistics where one exists. */
struct mediarecv_stats {
        uint64_t frames_decoded, key_frames_decoded, decode_errors, frames_written;
        unsigned frame_width, frame_height;
        uint64_t freeze_count;
        double total_freezes_duration_s;
        uint64_t total_samples_received, concealed_samples, fec_packets_used;
        uint64_t concealment_events;
        bool sync_valid;
        double sync_offset_ms; /* video minus audio playout, before the last correction */
        uint64_t audio_sync_delay_us, video_sync_delay_us;
        /* Capture (drawn in rtcpeer's test pattern) to written picture, one machine only. */
        uint64_t g2g_frames;
        double g2g_median_ms, g2g_p95_ms;
        bool have_sink;
        uint64_t sink_underruns, sink_dropped_frames, sink_delay_us;
};

/* Opens every output (before signaling: a missing device or unwritable file fails early). */
int mediarecv_open(const struct mediarecv_config *cfg, struct loop *loop, struct mediarecv **out,
                   char *err, size_t errlen);
void mediarecv_free(struct mediarecv *m);
bool mediarecv_wants(const struct mediarecv *m, enum session_media media);
/* The session can receive media now. */
void mediarecv_start(struct mediarecv *m, struct session *session);
/* One SESSION_EV_MEDIA_FRAME event. */
void mediarecv_frame(struct mediarecv *m, uint64_t now, const struct session_output *o);
void mediarecv_get_stats(const struct mediarecv *m, struct mediarecv_stats *out);
/* Finishes the files (IVF and WAV headers); 0 or a negative code with err set. */
int mediarecv_finish(struct mediarecv *m, char *err, size_t errlen);
/* Where --preview draws (-1: nowhere). */
int mediarecv_preview_fd(const struct mediarecv *m);
/* What the outputs are, for the log. */
const char *mediarecv_describe(const struct mediarecv *m);

#endif
