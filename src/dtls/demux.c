#include "dtls/demux.h"

#include "core/buf.h"

enum demux_kind demux_classify(const void *data, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        uint8_t b0 = buf_rd_u8(&r);
        if (!buf_rd_ok(&r))
                return DEMUX_UNKNOWN;
        if (b0 <= 3)
                return DEMUX_STUN;
        if (b0 >= 16 && b0 <= 19)
                return DEMUX_ZRTP;
        if (b0 >= 20 && b0 <= 63)
                return DEMUX_DTLS;
        if (b0 >= 64 && b0 <= 79)
                return DEMUX_TURN_CHANNEL;
        if (b0 < 128 || b0 > 191)
                return DEMUX_UNKNOWN;
        /*
         * RFC 5761 section 4: RTCP packet types 192..223 occupy the RTP marker bit plus payload
         * types 64..95, which RTP must therefore never use; masking the marker leaves one test.
         */
        uint8_t b1 = buf_rd_u8(&r);
        if (!buf_rd_ok(&r))
                return DEMUX_UNKNOWN;
        uint8_t pt = b1 & 0x7f;
        return pt >= 64 && pt <= 95 ? DEMUX_RTCP : DEMUX_RTP;
}

const char *demux_kind_name(enum demux_kind kind)
{
        switch (kind) {
        case DEMUX_STUN:
                return "stun";
        case DEMUX_ZRTP:
                return "zrtp";
        case DEMUX_DTLS:
                return "dtls";
        case DEMUX_TURN_CHANNEL:
                return "turn-channel";
        case DEMUX_RTP:
                return "rtp";
        case DEMUX_RTCP:
                return "rtcp";
        case DEMUX_UNKNOWN:
                break;
        }
        return "unknown";
}
