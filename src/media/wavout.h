/*
 * WAV writer for received audio (--audio-out file.wav, or "-" for a player on stdout): 16-bit PCM,
 * mono or stereo. The sizes in the header are unknown while writing, so they start as 0xFFFFFFFF
 * (the streaming convention: a pipe keeps them, and a file cut short by a crash still plays) and
 * are patched at close when the output can seek.
 *
 * Writes block like any file write; a closed pipe gives -EPIPE, never a SIGPIPE death.
 */
#ifndef RTCPEER_MEDIA_WAVOUT_H
#define RTCPEER_MEDIA_WAVOUT_H

#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"

#define WAVOUT_HEADER_LEN 44

struct wavout;

/* path "-" is stdout. rate 8000..192000, channels 1 or 2. The header is written here. */
int wavout_new(const char *path, unsigned rate, unsigned channels, struct wavout **out,
               struct merr *err);
/* frames * channels interleaved samples. After a write error every later call fails the same. */
int wavout_write(struct wavout *w, const int16_t *pcm, size_t frames, struct merr *err);
/* Frames written so far. */
uint64_t wavout_frames(const struct wavout *w);
/* Patches the RIFF and data sizes when seekable (capped at 0xFFFFFFFF past 4 GB), then closes. */
int wavout_close(struct wavout *w, struct merr *err);
/* Closes first if wavout_close was not called (errors then go to the debug log). */
void wavout_free(struct wavout *w);

#endif
