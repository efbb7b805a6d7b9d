#include "rtp/opus.h"

#include <errno.h>
#include <string.h>

#include "core/buf.h"

/* Frame length in 48 kHz samples for each of the 32 configurations (RFC 6716 table 2). */
static uint32_t config_frame_samples(uint8_t config)
{
        static const uint32_t silk[4] = {480, 960, 1920, 2880}; /* 10, 20, 40, 60 ms */
        static const uint32_t hybrid[2] = {480, 960};           /* 10, 20 ms */
        static const uint32_t celt[4] = {120, 240, 480, 960};   /* 2.5, 5, 10, 20 ms */
        if (config < 12)
                return silk[config & 3];
        if (config < 16)
                return hybrid[config & 1];
        return celt[config & 3];
}

int opus_toc_parse(struct opus_toc *t, const void *packet, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, packet, len);
        memset(t, 0, sizeof(*t));
        uint8_t toc = buf_rd_u8(&r);
        if (!buf_rd_ok(&r))
                return -EPROTO;
        t->config = toc >> 3;
        t->stereo = toc & 0x04;
        t->code = toc & 0x03;
        t->frame_samples = config_frame_samples(t->config);
        switch (t->code) {
        case 0:
                t->frame_count = 1;
                break;
        case 1:
        case 2:
                t->frame_count = 2;
                break;
        default: {
                uint8_t fc = buf_rd_u8(&r);
                if (!buf_rd_ok(&r))
                        return -EPROTO;
                t->frame_count = fc & 0x3f;
                if (t->frame_count == 0)
                        return -EPROTO;
                break;
        }
        }
        t->packet_samples = t->frame_samples * t->frame_count;
        return t->packet_samples <= OPUS_MAX_PACKET_SAMPLES ? 0 : -EPROTO;
}

int opus_packet_samples(const void *packet, size_t len)
{
        struct opus_toc t;
        int rc = opus_toc_parse(&t, packet, len);
        return rc < 0 ? rc : (int)t.packet_samples;
}
