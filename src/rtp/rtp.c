#include "rtp/rtp.h"

#include <errno.h>
#include <string.h>

static void add_parsed_ext(struct rtp_header *h, uint8_t id, const uint8_t *data, size_t len)
{
        if (h->ext_count >= RTP_MAX_EXT)
                return;
        struct rtp_ext *e = &h->ext[h->ext_count++];
        e->id = id;
        e->len = (uint8_t)len;
        e->data = data;
}

static int parse_one_byte(struct rtp_header *h, struct buf_rd *r)
{
        while (buf_rd_remaining(r) > 0) {
                uint8_t b = buf_rd_u8(r);
                uint8_t id = b >> 4;
                /* ID 0 is padding; its length nibble is meaningless, so one byte is skipped. */
                if (id == 0)
                        continue;
                if (id == 15)
                        break; /* reserved: stop, keep what came before */
                size_t n = (size_t)(b & 0x0f) + 1;
                const uint8_t *d = buf_rd_bytes(r, n);
                if (!d)
                        return -EPROTO;
                add_parsed_ext(h, id, d, n);
        }
        return 0;
}

static int parse_two_byte(struct rtp_header *h, struct buf_rd *r)
{
        while (buf_rd_remaining(r) > 0) {
                uint8_t id = buf_rd_u8(r);
                if (id == 0)
                        continue;
                size_t n = buf_rd_u8(r);
                const uint8_t *d = n ? buf_rd_bytes(r, n) : NULL;
                if (!buf_rd_ok(r))
                        return -EPROTO;
                add_parsed_ext(h, id, d, n);
        }
        return 0;
}

int rtp_parse(struct rtp_packet *p, const void *data, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        memset(p, 0, sizeof(*p));
        struct rtp_header *h = &p->h;
        uint8_t b0 = buf_rd_u8(&r);
        uint8_t b1 = buf_rd_u8(&r);
        h->seq = buf_rd_u16be(&r);
        h->ts = buf_rd_u32be(&r);
        h->ssrc = buf_rd_u32be(&r);
        if (!buf_rd_ok(&r) || (b0 >> 6) != RTP_VERSION)
                return -EPROTO;
        h->padding = b0 & 0x20;
        h->extension = b0 & 0x10;
        h->csrc_count = b0 & 0x0f;
        h->marker = b1 & 0x80;
        h->pt = b1 & 0x7f;
        for (unsigned i = 0; i < h->csrc_count; i++)
                h->csrc[i] = buf_rd_u32be(&r);
        if (h->extension) {
                h->ext_profile = buf_rd_u16be(&r);
                h->ext_body_len = (size_t)buf_rd_u16be(&r) * 4;
                h->ext_body = buf_rd_bytes(&r, h->ext_body_len);
                if (!buf_rd_ok(&r))
                        return -EPROTO;
                struct buf_rd er;
                buf_rd_init(&er, h->ext_body, h->ext_body_len);
                int rc = 0;
                if (h->ext_profile == RTP_EXT_PROFILE_ONE_BYTE)
                        rc = parse_one_byte(h, &er);
                else if ((h->ext_profile & 0xfff0) == RTP_EXT_PROFILE_TWO_BYTE)
                        rc = parse_two_byte(h, &er);
                if (rc < 0)
                        return rc;
        }
        if (!buf_rd_ok(&r))
                return -EPROTO;
        h->header_len = r.pos;
        size_t rest = buf_rd_remaining(&r);
        if (h->padding) {
                /* The count includes itself, so 0 is invalid; it may not reach into the header. */
                uint8_t pad = rest ? ((const uint8_t *)data)[len - 1] : 0;
                if (pad == 0 || pad > rest)
                        return -EPROTO;
                h->padding_len = pad;
                rest -= pad;
        }
        p->payload = buf_rd_bytes(&r, rest);
        p->payload_len = rest;
        return 0;
}

static bool ext_needs_two_byte(const struct rtp_header *h)
{
        for (size_t i = 0; i < h->ext_count; i++) {
                const struct rtp_ext *e = &h->ext[i];
                if (e->id > 14 || e->len == 0 || e->len > 16)
                        return true;
        }
        return false;
}

static size_t ext_body_size(const struct rtp_header *h, bool two_byte)
{
        size_t n = 0;
        for (size_t i = 0; i < h->ext_count; i++)
                n += (two_byte ? 2 : 1) + h->ext[i].len;
        return (n + 3) & ~(size_t)3;
}

size_t rtp_header_size(const struct rtp_header *h)
{
        size_t n = RTP_HEADER_MIN_LEN + 4 * (size_t)h->csrc_count;
        if (h->ext_count > 0)
                n += 4 + ext_body_size(h, ext_needs_two_byte(h));
        return n;
}

int rtp_build(struct buf *out, const struct rtp_header *h, const void *payload, size_t len,
              uint8_t pad_len)
{
        if (h->csrc_count > RTP_MAX_CSRC || h->pt > 127 || h->ext_count > RTP_MAX_EXT ||
            (len && !payload))
                return -EINVAL;
        for (size_t i = 0; i < h->ext_count; i++)
                if (h->ext[i].id == 0 ||
                    (h->ext[i].len > 0 && !h->ext[i].data && h->ext[i].len > sizeof(h->ext[i].val)))
                        return -EINVAL;
        bool two = ext_needs_two_byte(h);
        size_t body = h->ext_count ? ext_body_size(h, two) : 0;
        if (body / 4 > UINT16_MAX)
                return -EINVAL;
        int rc = buf_reserve(out, rtp_header_size(h) + len + pad_len);
        if (rc < 0)
                return rc;
        buf_append_u8(out, (uint8_t)(RTP_VERSION << 6 | (pad_len ? 0x20 : 0) |
                                     (h->ext_count ? 0x10 : 0) | h->csrc_count));
        buf_append_u8(out, (uint8_t)((h->marker ? 0x80 : 0) | h->pt));
        buf_append_u16be(out, h->seq);
        buf_append_u32be(out, h->ts);
        buf_append_u32be(out, h->ssrc);
        for (unsigned i = 0; i < h->csrc_count; i++)
                buf_append_u32be(out, h->csrc[i]);
        if (h->ext_count) {
                size_t start = out->len;
                buf_append_u16be(out, two ? RTP_EXT_PROFILE_TWO_BYTE : RTP_EXT_PROFILE_ONE_BYTE);
                buf_append_u16be(out, (uint16_t)(body / 4));
                for (size_t i = 0; i < h->ext_count; i++) {
                        const struct rtp_ext *e = &h->ext[i];
                        if (two) {
                                buf_append_u8(out, e->id);
                                buf_append_u8(out, e->len);
                        } else {
                                buf_append_u8(out, (uint8_t)(e->id << 4 | (e->len - 1)));
                        }
                        buf_append(out, e->data ? e->data : e->val, e->len);
                }
                while (out->len - start < 4 + body)
                        buf_append_u8(out, 0);
        }
        buf_append(out, payload, len);
        if (pad_len) {
                for (unsigned i = 1; i < pad_len; i++)
                        buf_append_u8(out, 0);
                buf_append_u8(out, pad_len);
        }
        return 0;
}

const struct rtp_ext *rtp_header_find_ext(const struct rtp_header *h, uint8_t id)
{
        for (size_t i = 0; i < h->ext_count; i++)
                if (h->ext[i].id == id)
                        return &h->ext[i];
        return NULL;
}

int rtp_header_add_ext(struct rtp_header *h, uint8_t id, const void *data, size_t len)
{
        if (id == 0 || len > 255 || (len && !data))
                return -EINVAL;
        if (h->ext_count >= RTP_MAX_EXT)
                return -ENOSPC;
        struct rtp_ext *e = &h->ext[h->ext_count++];
        memset(e, 0, sizeof(*e));
        e->id = id;
        e->len = (uint8_t)len;
        e->data = data;
        return 0;
}

int rtp_header_get_mid(const struct rtp_header *h, uint8_t id, char *out, size_t cap)
{
        const struct rtp_ext *e = rtp_header_find_ext(h, id);
        if (!e)
                return -ENOENT;
        if ((size_t)e->len + 1 > cap)
                return -ENOSPC;
        const uint8_t *d = e->data ? e->data : e->val;
        /* A NUL inside would silently shorten the MID and match another one. */
        if (e->len == 0 || memchr(d, 0, e->len))
                return -EPROTO;
        memcpy(out, d, e->len);
        out[e->len] = '\0';
        return 0;
}

int rtp_header_add_mid(struct rtp_header *h, uint8_t id, const char *mid)
{
        size_t n = strlen(mid);
        if (n == 0)
                return -EINVAL;
        return rtp_header_add_ext(h, id, mid, n);
}

int rtp_header_get_twcc_seq(const struct rtp_header *h, uint8_t id, uint16_t *seq)
{
        const struct rtp_ext *e = rtp_header_find_ext(h, id);
        if (!e)
                return -ENOENT;
        if (e->len != 2)
                return -EPROTO;
        const uint8_t *d = e->data ? e->data : e->val;
        *seq = (uint16_t)(d[0] << 8 | d[1]);
        return 0;
}

int rtp_header_add_twcc_seq(struct rtp_header *h, uint8_t id, uint16_t seq)
{
        int rc = rtp_header_add_ext(h, id, NULL, 0);
        if (rc < 0)
                return rc;
        struct rtp_ext *e = &h->ext[h->ext_count - 1];
        e->len = 2;
        e->val[0] = (uint8_t)(seq >> 8);
        e->val[1] = (uint8_t)seq;
        return 0;
}

int rtp_find_ext_value(const void *data, size_t len, uint8_t id, size_t *offset, size_t *value_len)
{
        struct rtp_packet p;
        if (rtp_parse(&p, data, len) < 0)
                return -EPROTO;
        const struct rtp_ext *e = rtp_header_find_ext(&p.h, id);
        if (!e)
                return -ENOENT;
        /* A zero-length two-byte element has no data pointer; its value is empty anyway. */
        *offset = e->data ? (size_t)(e->data - (const uint8_t *)data) : 0;
        *value_len = e->len;
        return 0;
}

bool rtp_seq_newer(uint16_t a, uint16_t b)
{
        uint16_t d = (uint16_t)(a - b);
        return d != 0 && d < 0x8000;
}

int64_t rtp_seq_unwrap(struct rtp_seq_unwrapper *u, uint16_t seq)
{
        if (!u->started) {
                u->started = true;
                u->last = seq;
                return seq;
        }
        int16_t d = (int16_t)(uint16_t)(seq - (uint16_t)u->last);
        u->last += d;
        return u->last;
}

int64_t rtp_ts_unwrap(struct rtp_ts_unwrapper *u, uint32_t ts)
{
        if (!u->started) {
                u->started = true;
                u->last = ts;
                return ts;
        }
        int32_t d = (int32_t)(uint32_t)(ts - (uint32_t)u->last);
        u->last += d;
        return u->last;
}
