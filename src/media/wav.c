#include "media/wav.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/pcm.h"

#define WAVE_FORMAT_PCM        1
#define WAVE_FORMAT_EXTENSIBLE 0xfffe

struct wav_reader {
        FILE *f;
        char *path;
        unsigned channels;
        long data_start;
        uint64_t data_frames, pos; /* in frames */
};

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static int parse(struct wav_reader *r, struct merr *err)
{
        uint8_t h[12];
        if (fread(h, 1, 12, r->f) != 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4))
                return merr_set(err, -EINVAL, "%s: not a WAV file", r->path);
        int have_fmt = 0;
        for (;;) {
                uint8_t c[8];
                if (fread(c, 1, 8, r->f) != 8)
                        return merr_set(err, -EINVAL, "%s: no data chunk", r->path);
                uint32_t size = le32(c + 4);
                if (memcmp(c, "fmt ", 4) == 0) {
                        uint8_t f[40] = {0};
                        if (size < 16 ||
                            fread(f, 1, size < 40 ? size : 40, r->f) != (size < 40 ? size : 40))
                                return merr_set(err, -EINVAL, "%s: bad fmt chunk", r->path);
                        if (size > 40 && fseek(r->f, (long)(size - 40), SEEK_CUR) < 0)
                                return merr_set(err, -EIO, "%s: seek failed", r->path);
                        unsigned tag = le16(f), ch = le16(f + 2), bits = le16(f + 14);
                        uint32_t rate = le32(f + 4);
                        /* Extensible: the real format is the first two bytes of the GUID. */
                        if (tag == WAVE_FORMAT_EXTENSIBLE && size >= 40)
                                tag = le16(f + 24);
                        if (tag != WAVE_FORMAT_PCM || bits != 16)
                                return merr_set(err, -ENOTSUP,
                                                "%s: format %u with %u-bit samples is not "
                                                "supported (16-bit PCM only)",
                                                r->path, tag, bits);
                        if (rate != PCM_RATE)
                                return merr_set(err, -ENOTSUP,
                                                "%s: %u Hz is not supported (48000 Hz only)",
                                                r->path, rate);
                        if (ch < 1 || ch > 2)
                                return merr_set(err, -ENOTSUP,
                                                "%s: %u channels are not supported (mono or "
                                                "stereo only)",
                                                r->path, ch);
                        r->channels = ch;
                        have_fmt = 1;
                } else if (memcmp(c, "data", 4) == 0) {
                        if (!have_fmt)
                                return merr_set(err, -EINVAL, "%s: data before fmt", r->path);
                        r->data_start = ftell(r->f);
                        /* Streamed WAVs leave the size at 0 or ~0: trust the file's length. */
                        if (fseek(r->f, 0, SEEK_END) < 0)
                                return merr_set(err, -EIO, "%s: seek failed", r->path);
                        uint64_t avail = (uint64_t)(ftell(r->f) - r->data_start);
                        if (size == 0 || size > avail)
                                size = (uint32_t)(avail > UINT32_MAX ? UINT32_MAX : avail);
                        if (fseek(r->f, r->data_start, SEEK_SET) < 0)
                                return merr_set(err, -EIO, "%s: seek failed", r->path);
                        r->data_frames = size / (2 * r->channels);
                        if (r->data_frames == 0)
                                return merr_set(err, -EINVAL, "%s: no samples", r->path);
                        return 0;
                } else if (fseek(r->f, (long)(size + (size & 1)), SEEK_CUR) < 0) {
                        return merr_set(err, -EINVAL, "%s: truncated", r->path);
                }
        }
}

int wav_reader_new(const char *path, struct wav_reader **out, struct merr *err)
{
        *out = NULL;
        struct wav_reader *r = calloc(1, sizeof(*r));
        if (!r || !(r->path = strdup(path))) {
                free(r);
                return merr_set(err, -ENOMEM, "%s: out of memory", path);
        }
        int rc;
        if (!(r->f = fopen(path, "rb")))
                rc = merr_set(err, -errno, "%s: %s", path, strerror(errno));
        else
                rc = parse(r, err);
        if (rc < 0) {
                wav_reader_free(r);
                return rc;
        }
        *out = r;
        return 0;
}

void wav_reader_free(struct wav_reader *r)
{
        if (!r)
                return;
        if (r->f)
                fclose(r->f);
        free(r->path);
        free(r);
}

unsigned wav_reader_channels(const struct wav_reader *r)
{
        return r->channels;
}

int wav_reader_read(struct wav_reader *r, int16_t *dst, size_t frames, struct merr *err)
{
        while (frames) {
                if (r->pos == r->data_frames) {
                        if (fseek(r->f, r->data_start, SEEK_SET) < 0)
                                return merr_set(err, -errno, "%s: %s", r->path, strerror(errno));
                        r->pos = 0;
                }
                size_t n = frames;
                if (n > r->data_frames - r->pos)
                        n = (size_t)(r->data_frames - r->pos);
                uint8_t raw[4 * 960];
                if (n > sizeof(raw) / (2 * r->channels))
                        n = sizeof(raw) / (2 * r->channels);
                if (fread(raw, 2 * r->channels, n, r->f) != n)
                        return merr_set(err, -EIO, "%s: read error or truncated data", r->path);
                for (size_t i = 0; i < n * r->channels; i++)
                        *dst++ = (int16_t)le16(raw + 2 * i);
                r->pos += n;
                frames -= n;
        }
        return 0;
}
