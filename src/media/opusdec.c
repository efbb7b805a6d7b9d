#include "media/opusdec.h"

#include <errno.h>
#include <stdlib.h>

#include <opus/opus.h>

#include "core/log.h"

struct opusdec {
        OpusDecoder *dec;
};

int opusdec_new(unsigned channels, struct opusdec **out, struct merr *err)
{
        *out = NULL;
        if (channels != 1 && channels != 2)
                return merr_set(err, -EINVAL, "opus: %u channels (1 or 2)", channels);
        struct opusdec *d = calloc(1, sizeof(*d));
        if (!d)
                return merr_set(err, -ENOMEM, "opus: out of memory");
        int oe;
        d->dec = opus_decoder_create(PCM_RATE, (int)channels, &oe);
        if (!d->dec) {
                free(d);
                return merr_set(err, -EINVAL, "opus: decoder init failed: %s", opus_strerror(oe));
        }
        *out = d;
        return 0;
}

void opusdec_free(struct opusdec *d)
{
        if (!d)
                return;
        opus_decoder_destroy(d->dec);
        free(d);
}

static int decode(struct opusdec *d, const uint8_t *data, size_t len, int16_t *pcm,
                  unsigned max_samples, unsigned samples, int fec)
{
        if (len > INT32_MAX || max_samples < samples)
                return -EINVAL;
        int n = opus_decode(d->dec, data, (opus_int32)len, pcm, (int)samples, fec);
        if (n < 0) {
                log_debug("media", "opus: decode failed: %s", opus_strerror(n));
                return -EBADMSG;
        }
        return n;
}

int opusdec_decode(struct opusdec *d, const uint8_t *data, size_t len, int16_t *pcm,
                   unsigned max_samples)
{
        if (!data)
                return decode(d, NULL, 0, pcm, max_samples, PCM_FRAME_SAMPLES, 0);
        /* Up to 120 ms fit in one packet; decode what it holds. */
        return decode(d, data, len, pcm, max_samples, max_samples > 5760 ? 5760 : max_samples, 0);
}

int opusdec_decode_fec(struct opusdec *d, const uint8_t *data, size_t len, int16_t *pcm,
                       unsigned max_samples)
{
        return decode(d, data, len, pcm, max_samples, PCM_FRAME_SAMPLES, 1);
}

/*
 * libopus 1.3 has no opus_packet_has_lbrr(). SILK's first header bits are coded with even odds,
 * so they are the top bits of the first frame's first byte (RFC 6716 section 4.2.3): a VAD flag
 * per 20 ms SILK frame, then the LBRR flag, per channel.
 */
int opusdec_packet_has_fec(const uint8_t *data, size_t len)
{
        if (!data || !len || len > INT32_MAX)
                return 0;
        if ((data[0] >> 3) >= 16)
                return 0; /* CELT only: no SILK layer, no LBRR */
        const unsigned char *frames[48];
        opus_int16 size[48];
        if (opus_packet_parse(data, (opus_int32)len, NULL, frames, size, NULL) <= 0 || size[0] == 0)
                return 0;
        int spf = opus_packet_get_samples_per_frame(data, PCM_RATE);
        int silk_frames = spf > 960 ? spf / 960 : 1;
        int lbrr = frames[0][0] >> (7 - silk_frames) & 1;
        if (opus_packet_get_nb_channels(data) == 2)
                lbrr |= frames[0][0] >> (6 - 2 * silk_frames) & 1;
        return lbrr;
}
