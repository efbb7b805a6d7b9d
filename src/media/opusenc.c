#include "media/opusenc.h"

#include <errno.h>
#include <stdlib.h>

#include <opus/opus.h>

#include "core/log.h"

struct opusenc {
        OpusEncoder *enc;
        unsigned channels;
        uint8_t packet[OPUSENC_MAX_PACKET];
};

int opusenc_new(const struct opusenc_config *cfg, struct opusenc **out, struct merr *err)
{
        *out = NULL;
        if (cfg->channels != 1 && cfg->channels != 2)
                return merr_set(err, -EINVAL, "opus: %u channels (1 or 2)", cfg->channels);
        struct opusenc *e = calloc(1, sizeof(*e));
        if (!e)
                return merr_set(err, -ENOMEM, "opus: out of memory");
        int oe;
        e->channels = cfg->channels;
        e->enc = opus_encoder_create(PCM_RATE, (int)cfg->channels, OPUS_APPLICATION_VOIP, &oe);
        if (!e->enc) {
                free(e);
                return merr_set(err, -EINVAL, "opus: encoder init failed: %s", opus_strerror(oe));
        }
        int rc = opusenc_set_bitrate(e, cfg->bitrate_bps ? cfg->bitrate_bps : OPUSENC_DEFAULT_BPS);
        if (rc == 0)
                rc = opusenc_set_fec(e, cfg->fec, cfg->loss_percent);
        if (rc == 0)
                rc = opusenc_set_dtx(e, cfg->dtx);
        if (rc == 0 &&
            opus_encoder_ctl(
                e->enc, OPUS_SET_COMPLEXITY(cfg->complexity < 0 ? 9 : cfg->complexity)) != OPUS_OK)
                rc = -EINVAL;
        if (rc < 0) {
                opusenc_free(e);
                return merr_set(err, rc, "opus: bad encoder settings");
        }
        *out = e;
        return 0;
}

void opusenc_free(struct opusenc *e)
{
        if (!e)
                return;
        opus_encoder_destroy(e->enc);
        free(e);
}

int opusenc_set_bitrate(struct opusenc *e, unsigned bps)
{
        if (bps < 6000 || bps > 510000)
                return -EINVAL;
        return opus_encoder_ctl(e->enc, OPUS_SET_BITRATE((opus_int32)bps)) == OPUS_OK ? 0 : -EINVAL;
}

int opusenc_set_fec(struct opusenc *e, bool on, unsigned loss_percent)
{
        if (loss_percent > 100)
                return -EINVAL;
        /* The encoder only spends bits on FEC when told to expect loss. */
        if (on && loss_percent == 0)
                loss_percent = 10;
        /*
         * In-band FEC exists only in Opus' SILK layer: with FEC on, hint that the signal is
         * voice so that the encoder does not pick CELT-only frames (which carry none) for
         * tonal or music-like input.
         */
        if (opus_encoder_ctl(e->enc, OPUS_SET_INBAND_FEC(on ? 1 : 0)) != OPUS_OK ||
            opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC((int)loss_percent)) != OPUS_OK ||
            opus_encoder_ctl(e->enc, OPUS_SET_SIGNAL(on ? OPUS_SIGNAL_VOICE : OPUS_AUTO)) !=
                OPUS_OK)
                return -EINVAL;
        return 0;
}

int opusenc_set_dtx(struct opusenc *e, bool on)
{
        return opus_encoder_ctl(e->enc, OPUS_SET_DTX(on ? 1 : 0)) == OPUS_OK ? 0 : -EINVAL;
}

int opusenc_encode(struct opusenc *e, const struct pcm_frame *in, struct opusenc_packet *out)
{
        if (in->channels != e->channels)
                return -EINVAL;
        opus_int32 n = opus_encode(e->enc, in->samples, PCM_FRAME_SAMPLES, e->packet,
                                   (opus_int32)sizeof(e->packet));
        if (n < 0) {
                log_warn("media", "opus: encode failed: %s", opus_strerror(n));
                return -EIO;
        }
        /* With DTX, 1-2 byte packets mean "nothing to send" (RFC 7587 section 3.1.3). */
        if (n <= 2)
                return 0;
        out->data = e->packet;
        out->len = (size_t)n;
        out->capture_us = in->capture_us;
        return 1;
}
