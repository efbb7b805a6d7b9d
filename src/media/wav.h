/* WAV file reader for --audio file.wav: 16-bit PCM at 48 kHz, mono or stereo, looped. */
#ifndef RTCPEER_MEDIA_WAV_H
#define RTCPEER_MEDIA_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"

struct wav_reader;

int wav_reader_new(const char *path, struct wav_reader **out, struct merr *err);
void wav_reader_free(struct wav_reader *r);
unsigned wav_reader_channels(const struct wav_reader *r);
/* Fills frames * channels samples, continuing from the start after the end. */
int wav_reader_read(struct wav_reader *r, int16_t *dst, size_t frames, struct merr *err);

#endif
