#include "sctp/dcep.h"

#include <errno.h>

bool dcep_channel_type_valid(uint8_t type)
{
        switch (type & (uint8_t)~DCEP_CHANNEL_UNORDERED_BIT) {
        case DCEP_CHANNEL_RELIABLE:
        case DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT:
        case DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED:
                return true;
        default:
                return false;
        }
}

enum dcep_payload dcep_payload_of_ppid(uint32_t ppid)
{
        switch (ppid) {
        case DCEP_PPID_CONTROL:
                return DCEP_PAYLOAD_CONTROL;
        case DCEP_PPID_STRING:
                return DCEP_PAYLOAD_STRING;
        case DCEP_PPID_BINARY:
                return DCEP_PAYLOAD_BINARY;
        case DCEP_PPID_STRING_PARTIAL:
                return DCEP_PAYLOAD_STRING_PARTIAL;
        case DCEP_PPID_BINARY_PARTIAL:
                return DCEP_PAYLOAD_BINARY_PARTIAL;
        case DCEP_PPID_STRING_EMPTY:
                return DCEP_PAYLOAD_STRING_EMPTY;
        case DCEP_PPID_BINARY_EMPTY:
                return DCEP_PAYLOAD_BINARY_EMPTY;
        default:
                return DCEP_PAYLOAD_UNKNOWN;
        }
}

bool dcep_utf8_valid(const uint8_t *s, size_t len)
{
        size_t i = 0;
        while (i < len) {
                uint8_t c = s[i];
                size_t n;
                uint32_t cp, min;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if ((c & 0xe0) == 0xc0) {
                        n = 1, cp = c & 0x1f, min = 0x80;
                } else if ((c & 0xf0) == 0xe0) {
                        n = 2, cp = c & 0x0f, min = 0x800;
                } else if ((c & 0xf8) == 0xf0) {
                        n = 3, cp = c & 0x07, min = 0x10000;
                } else {
                        return false;
                }
                if (len - i - 1 < n)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n + 1;
        }
        return true;
}

int dcep_parse(struct dcep_msg *m, const void *data, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        *m = (struct dcep_msg){0};
        m->type = buf_rd_u8(&r);
        if (!buf_rd_ok(&r))
                return -EPROTO;
        if (m->type == DCEP_MSG_ACK)
                /* RFC 8832 section 5.2: the ACK is the message type alone. */
                return buf_rd_remaining(&r) == 0 ? 0 : -EPROTO;
        if (m->type != DCEP_MSG_OPEN)
                return -ENOTSUP;
        struct dcep_open *o = &m->open;
        o->channel_type = buf_rd_u8(&r);
        o->priority = buf_rd_u16be(&r);
        o->reliability_param = buf_rd_u32be(&r);
        o->label_len = buf_rd_u16be(&r);
        o->protocol_len = buf_rd_u16be(&r);
        o->label = buf_rd_bytes(&r, o->label_len);
        o->protocol = buf_rd_bytes(&r, o->protocol_len);
        if (!buf_rd_ok(&r) || buf_rd_remaining(&r) != 0)
                return -EPROTO;
        if (!dcep_channel_type_valid(o->channel_type))
                return -EPROTO;
        if (!dcep_utf8_valid(o->label, o->label_len) ||
            !dcep_utf8_valid(o->protocol, o->protocol_len))
                return -EPROTO;
        /* The parameter means nothing on a reliable channel; the RFC says to ignore it. */
        if ((o->channel_type & (uint8_t)~DCEP_CHANNEL_UNORDERED_BIT) == DCEP_CHANNEL_RELIABLE)
                o->reliability_param = 0;
        return 0;
}

int dcep_build_open(struct buf *out, const struct dcep_open *o)
{
        if (!dcep_channel_type_valid(o->channel_type) || o->label_len > UINT16_MAX ||
            o->protocol_len > UINT16_MAX || (o->label_len && !o->label) ||
            (o->protocol_len && !o->protocol))
                return -EINVAL;
        if (!dcep_utf8_valid(o->label, o->label_len) ||
            !dcep_utf8_valid(o->protocol, o->protocol_len))
                return -EINVAL;
        bool reliable =
            (o->channel_type & (uint8_t)~DCEP_CHANNEL_UNORDERED_BIT) == DCEP_CHANNEL_RELIABLE;
        int rc = buf_reserve(out, DCEP_OPEN_HEADER_LEN + o->label_len + o->protocol_len);
        if (rc < 0)
                return rc;
        buf_append_u8(out, DCEP_MSG_OPEN);
        buf_append_u8(out, o->channel_type);
        buf_append_u16be(out, o->priority);
        buf_append_u32be(out, reliable ? 0 : o->reliability_param);
        buf_append_u16be(out, (uint16_t)o->label_len);
        buf_append_u16be(out, (uint16_t)o->protocol_len);
        buf_append(out, o->label, o->label_len);
        buf_append(out, o->protocol, o->protocol_len);
        return 0;
}

int dcep_build_ack(struct buf *out)
{
        return buf_append_u8(out, DCEP_MSG_ACK);
}
