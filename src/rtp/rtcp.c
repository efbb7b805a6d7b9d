#include "rtp/rtcp.h"

#include <errno.h>
#include <string.h>

/* ---- parsing ---- */

static void parse_report_block(struct buf_rd *r, struct rtcp_report_block *b)
{
        b->ssrc = buf_rd_u32be(r);
        b->fraction_lost = buf_rd_u8(r);
        uint32_t lost = buf_rd_u24be(r);
        /* Sign-extend the 24-bit field: receivers report negative loss after duplicates. */
        b->cumulative_lost = (int32_t)(lost ^ 0x800000u) - 0x800000;
        b->ext_highest_seq = buf_rd_u32be(r);
        b->jitter = buf_rd_u32be(r);
        b->lsr = buf_rd_u32be(r);
        b->dlsr = buf_rd_u32be(r);
}

static int parse_sdes(struct buf_rd *r, struct rtcp_sdes *s, uint8_t count)
{
        s->count = count;
        for (unsigned i = 0; i < count; i++) {
                struct rtcp_sdes_chunk *c = &s->chunk[i];
                size_t start = r->pos;
                c->ssrc = buf_rd_u32be(r);
                for (;;) {
                        uint8_t type = buf_rd_u8(r);
                        if (!buf_rd_ok(r))
                                return -EPROTO;
                        if (type == RTCP_SDES_END)
                                break;
                        uint8_t n = buf_rd_u8(r);
                        const uint8_t *text = buf_rd_bytes(r, n);
                        if (!buf_rd_ok(r))
                                return -EPROTO;
                        if (type == RTCP_SDES_CNAME && !c->cname) {
                                c->cname = text;
                                c->cname_len = n;
                        }
                }
                /* The END item is followed by null octets up to the next 32-bit boundary. */
                while ((r->pos - start) % 4 != 0)
                        if (buf_rd_u8(r) != 0 || !buf_rd_ok(r))
                                return -EPROTO;
        }
        return buf_rd_remaining(r) == 0 ? 0 : -EPROTO;
}

static int parse_bye(struct buf_rd *r, struct rtcp_bye *b, uint8_t count)
{
        b->count = count;
        for (unsigned i = 0; i < count; i++)
                b->ssrc[i] = buf_rd_u32be(r);
        if (!buf_rd_ok(r))
                return -EPROTO;
        if (buf_rd_remaining(r) > 0) {
                b->reason_len = buf_rd_u8(r);
                b->reason = buf_rd_bytes(r, b->reason_len);
                if (!buf_rd_ok(r))
                        return -EPROTO;
                /* Only the padding to the 32-bit boundary may follow. */
                size_t rest = buf_rd_remaining(r);
                const uint8_t *pad = buf_rd_bytes(r, rest);
                if (rest > 3)
                        return -EPROTO;
                for (size_t i = 0; i < rest; i++)
                        if (pad[i] != 0)
                                return -EPROTO;
        }
        return 0;
}

/*
 * Walks the packet chunks of a TWCC body and the receive deltas after them. With out NULL it
 * only validates. Two passes: the deltas start where the chunks end, which is known only once
 * all status_count symbols have been read.
 */
static int twcc_walk(const struct rtcp_twcc *t, struct rtcp_twcc_status *out, size_t cap)
{
        struct buf_rd chunks;
        buf_rd_init(&chunks, t->body, t->body_len);
        size_t total = t->status_count;
        size_t got = 0;
        while (got < total) {
                uint16_t c = buf_rd_u16be(&chunks);
                if (!buf_rd_ok(&chunks))
                        return -EPROTO;
                if (!(c & 0x8000)) {
                        unsigned sym = (c >> 13) & 3;
                        size_t run = c & 0x1fff;
                        if (sym == 3 || run == 0)
                                return -EPROTO;
                        got += run;
                } else if (!(c & 0x4000)) {
                        got += 14;
                } else {
                        for (unsigned k = 0; k < 7; k++)
                                if (((c >> (12 - 2 * k)) & 3) == 3 && got + k < total)
                                        return -EPROTO;
                        got += 7;
                }
        }
        struct buf_rd deltas;
        buf_rd_init(&deltas, t->body, t->body_len);
        buf_rd_skip(&deltas, chunks.pos);

        /* Second pass: symbols in order, each received one taking its delta. */
        buf_rd_init(&chunks, t->body, t->body_len);
        size_t i = 0;
        while (i < total) {
                uint16_t c = buf_rd_u16be(&chunks);
                unsigned syms[14];
                size_t n;
                if (!(c & 0x8000)) {
                        size_t run = c & 0x1fff;
                        unsigned sym = (c >> 13) & 3;
                        /* Runs can be long: handle them without the symbol array. */
                        for (size_t k = 0; k < run && i < total; k++, i++) {
                                int32_t d = 0;
                                if (sym == 1)
                                        d = buf_rd_u8(&deltas);
                                else if (sym == 2)
                                        d = (int16_t)buf_rd_u16be(&deltas);
                                if (out && i < cap) {
                                        out[i].seq = (uint16_t)(t->base_seq + i);
                                        out[i].received = sym != 0;
                                        out[i].delta_us = d * 250;
                                }
                        }
                        continue;
                }
                if (!(c & 0x4000)) {
                        n = 14;
                        for (unsigned k = 0; k < 14; k++)
                                syms[k] = (c >> (13 - k)) & 1;
                } else {
                        n = 7;
                        for (unsigned k = 0; k < 7; k++)
                                syms[k] = (c >> (12 - 2 * k)) & 3;
                }
                for (size_t k = 0; k < n && i < total; k++, i++) {
                        int32_t d = 0;
                        if (syms[k] == 1)
                                d = buf_rd_u8(&deltas);
                        else if (syms[k] == 2)
                                d = (int16_t)buf_rd_u16be(&deltas);
                        if (out && i < cap) {
                                out[i].seq = (uint16_t)(t->base_seq + i);
                                out[i].received = syms[k] != 0;
                                out[i].delta_us = d * 250;
                        }
                }
        }
        if (!buf_rd_ok(&deltas) || buf_rd_remaining(&deltas) > 3)
                return -EPROTO;
        return (int)total;
}

int rtcp_twcc_decode(const struct rtcp_twcc *t, struct rtcp_twcc_status *out, size_t cap)
{
        return twcc_walk(t, out, cap);
}

static int parse_rtpfb(struct buf_rd *r, struct rtcp_packet *p)
{
        uint32_t sender = buf_rd_u32be(r);
        uint32_t media = buf_rd_u32be(r);
        if (!buf_rd_ok(r))
                return -EPROTO;
        size_t fci = buf_rd_remaining(r);
        switch (p->count) {
        case RTCP_RTPFB_NACK:
                if (fci == 0 || fci % 4 != 0)
                        return -EPROTO;
                p->kind = RTCP_KIND_NACK;
                p->u.nack.sender_ssrc = sender;
                p->u.nack.media_ssrc = media;
                p->u.nack.count = fci / 4;
                p->u.nack.items = buf_rd_bytes(r, fci);
                return 0;
        case RTCP_RTPFB_TWCC: {
                struct rtcp_twcc *t = &p->u.twcc;
                p->kind = RTCP_KIND_TWCC;
                t->sender_ssrc = sender;
                t->media_ssrc = media;
                t->base_seq = buf_rd_u16be(r);
                t->status_count = buf_rd_u16be(r);
                uint32_t ref = buf_rd_u24be(r);
                t->reference_time = (int32_t)(ref ^ 0x800000u) - 0x800000;
                t->fb_pkt_count = buf_rd_u8(r);
                t->body_len = buf_rd_remaining(r);
                t->body = buf_rd_bytes(r, t->body_len);
                if (!buf_rd_ok(r))
                        return -EPROTO;
                return twcc_walk(t, NULL, 0) < 0 ? -EPROTO : 0;
        }
        default:
                p->kind = RTCP_KIND_OTHER;
                return 0;
        }
}

static int parse_psfb(struct buf_rd *r, struct rtcp_packet *p)
{
        uint32_t sender = buf_rd_u32be(r);
        uint32_t media = buf_rd_u32be(r);
        if (!buf_rd_ok(r))
                return -EPROTO;
        size_t fci = buf_rd_remaining(r);
        switch (p->count) {
        case RTCP_PSFB_PLI:
                if (fci != 0)
                        return -EPROTO;
                p->kind = RTCP_KIND_PLI;
                p->u.pli.sender_ssrc = sender;
                p->u.pli.media_ssrc = media;
                return 0;
        case RTCP_PSFB_FIR:
                if (fci == 0 || fci % 8 != 0)
                        return -EPROTO;
                p->kind = RTCP_KIND_FIR;
                p->u.fir.sender_ssrc = sender;
                p->u.fir.count = fci / 8;
                p->u.fir.entries = buf_rd_bytes(r, fci);
                return 0;
        case RTCP_PSFB_AFB: {
                struct buf_rd peek = *r;
                const uint8_t *id = buf_rd_bytes(&peek, 4);
                if (!id || memcmp(id, "REMB", 4) != 0) {
                        p->kind = RTCP_KIND_OTHER;
                        return 0;
                }
                struct rtcp_remb *m = &p->u.remb;
                p->kind = RTCP_KIND_REMB;
                m->sender_ssrc = sender;
                buf_rd_skip(r, 4);
                m->ssrc_count = buf_rd_u8(r);
                uint32_t br = buf_rd_u24be(r);
                unsigned exp = br >> 18;
                uint64_t mant = br & 0x3ffff;
                /* 18-bit mantissa shifted by up to 63 can overflow 64 bits: saturate. */
                if (exp > 0 && mant > (UINT64_MAX >> exp))
                        m->bitrate_bps = UINT64_MAX;
                else
                        m->bitrate_bps = mant << exp;
                for (unsigned i = 0; i < m->ssrc_count; i++)
                        m->ssrc[i] = buf_rd_u32be(r);
                if (!buf_rd_ok(r) || buf_rd_remaining(r) != 0)
                        return -EPROTO;
                return 0;
        }
        default:
                p->kind = RTCP_KIND_OTHER;
                return 0;
        }
}

int rtcp_parse_packet(struct rtcp_packet *p, const void *data, size_t len)
{
        memset(p, 0, sizeof(*p));
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        uint8_t b0 = buf_rd_u8(&r);
        p->pt = buf_rd_u8(&r);
        uint16_t words = buf_rd_u16be(&r);
        if (!buf_rd_ok(&r) || (b0 >> 6) != 2 || ((size_t)words + 1) * 4 != len)
                return -EPROTO;
        p->count = b0 & 0x1f;
        p->raw = data;
        p->raw_len = len;
        size_t body = len - 4;
        if (b0 & 0x20) {
                uint8_t pad = ((const uint8_t *)data)[len - 1];
                if (pad == 0 || pad > body)
                        return -EPROTO;
                body -= pad;
        }
        struct buf_rd b = buf_rd_sub(&r, body);
        int rc = 0;
        switch (p->pt) {
        case RTCP_PT_SR: {
                struct rtcp_sr *sr = &p->u.sr;
                p->kind = RTCP_KIND_SR;
                sr->ssrc = buf_rd_u32be(&b);
                sr->ntp = buf_rd_u64be(&b);
                sr->rtp_ts = buf_rd_u32be(&b);
                sr->packet_count = buf_rd_u32be(&b);
                sr->octet_count = buf_rd_u32be(&b);
                sr->rb_count = p->count;
                for (unsigned i = 0; i < p->count; i++)
                        parse_report_block(&b, &sr->rb[i]);
                /* Profile-specific extensions may follow the report blocks: ignored. */
                break;
        }
        case RTCP_PT_RR:
                p->kind = RTCP_KIND_RR;
                p->u.rr.ssrc = buf_rd_u32be(&b);
                p->u.rr.rb_count = p->count;
                for (unsigned i = 0; i < p->count; i++)
                        parse_report_block(&b, &p->u.rr.rb[i]);
                break;
        case RTCP_PT_SDES:
                p->kind = RTCP_KIND_SDES;
                rc = parse_sdes(&b, &p->u.sdes, p->count);
                break;
        case RTCP_PT_BYE:
                p->kind = RTCP_KIND_BYE;
                rc = parse_bye(&b, &p->u.bye, p->count);
                break;
        case RTCP_PT_RTPFB:
                rc = parse_rtpfb(&b, p);
                break;
        case RTCP_PT_PSFB:
                rc = parse_psfb(&b, p);
                break;
        default:
                p->kind = RTCP_KIND_OTHER;
                break;
        }
        if (rc < 0 || !buf_rd_ok(&b))
                return -EPROTO;
        return 0;
}

/* Splits off the next packet by its length field. */
static int next_packet(struct buf_rd *r, const uint8_t **pkt, size_t *len)
{
        struct buf_rd peek = *r;
        buf_rd_skip(&peek, 2);
        uint16_t words = buf_rd_u16be(&peek);
        if (!buf_rd_ok(&peek))
                return -EPROTO;
        *len = ((size_t)words + 1) * 4;
        *pkt = buf_rd_bytes(r, *len);
        return *pkt ? 0 : -EPROTO;
}

int rtcp_validate(const void *data, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        if (len == 0)
                return -EPROTO;
        struct rtcp_packet p;
        while (buf_rd_remaining(&r) > 0) {
                const uint8_t *pkt;
                size_t n;
                if (next_packet(&r, &pkt, &n) < 0 || rtcp_parse_packet(&p, pkt, n) < 0)
                        return -EPROTO;
        }
        return 0;
}

int rtcp_iter_init(struct rtcp_iter *it, const void *data, size_t len)
{
        int rc = rtcp_validate(data, len);
        buf_rd_init(&it->rd, rc == 0 ? data : NULL, rc == 0 ? len : 0);
        return rc;
}

int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_packet *p)
{
        if (buf_rd_remaining(&it->rd) == 0)
                return 0;
        const uint8_t *pkt;
        size_t n;
        if (next_packet(&it->rd, &pkt, &n) < 0 || rtcp_parse_packet(p, pkt, n) < 0) {
                it->rd.err = true; /* only after a caller skipped rtcp_iter_init's check */
                return 0;
        }
        return 1;
}

void rtcp_nack_item(const struct rtcp_nack *n, size_t i, uint16_t *pid, uint16_t *blp)
{
        const uint8_t *d = n->items + 4 * i;
        *pid = (uint16_t)(d[0] << 8 | d[1]);
        *blp = (uint16_t)(d[2] << 8 | d[3]);
}

size_t rtcp_nack_lost(const struct rtcp_nack *n, uint16_t *seqs, size_t cap)
{
        size_t total = 0;
        for (size_t i = 0; i < n->count; i++) {
                uint16_t pid, blp;
                rtcp_nack_item(n, i, &pid, &blp);
                if (total < cap)
                        seqs[total] = pid;
                total++;
                for (unsigned b = 0; b < 16; b++) {
                        if (!(blp & (1u << b)))
                                continue;
                        if (total < cap)
                                seqs[total] = (uint16_t)(pid + b + 1);
                        total++;
                }
        }
        return total;
}

void rtcp_fir_get(const struct rtcp_fir *f, size_t i, struct rtcp_fir_entry *e)
{
        const uint8_t *d = f->entries + 8 * i;
        e->ssrc = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        e->seq = d[4];
}

/* ---- building ---- */

static int put_header(struct buf *out, uint8_t count, uint8_t pt, size_t total)
{
        if (count > RTCP_MAX_COUNT || total % 4 != 0 || total / 4 - 1 > UINT16_MAX)
                return -EINVAL;
        int rc = buf_reserve(out, total);
        if (rc < 0)
                return rc;
        buf_append_u8(out, (uint8_t)(0x80 | count));
        buf_append_u8(out, pt);
        buf_append_u16be(out, (uint16_t)(total / 4 - 1));
        return 0;
}

static void put_report_block(struct buf *out, const struct rtcp_report_block *b)
{
        buf_append_u32be(out, b->ssrc);
        buf_append_u8(out, b->fraction_lost);
        int32_t lost = b->cumulative_lost;
        /* Clamp to the 24-bit signed range rather than wrapping into nonsense. */
        if (lost > 0x7fffff)
                lost = 0x7fffff;
        if (lost < -0x800000)
                lost = -0x800000;
        uint32_t l = (uint32_t)lost & 0xffffff;
        buf_append_u8(out, (uint8_t)(l >> 16));
        buf_append_u16be(out, (uint16_t)l);
        buf_append_u32be(out, b->ext_highest_seq);
        buf_append_u32be(out, b->jitter);
        buf_append_u32be(out, b->lsr);
        buf_append_u32be(out, b->dlsr);
}

int rtcp_build_sr(struct buf *out, const struct rtcp_sr *sr)
{
        if (sr->rb_count > RTCP_MAX_COUNT)
                return -EINVAL;
        int rc = put_header(out, sr->rb_count, RTCP_PT_SR, 28 + 24 * (size_t)sr->rb_count);
        if (rc < 0)
                return rc;
        buf_append_u32be(out, sr->ssrc);
        buf_append_u32be(out, (uint32_t)(sr->ntp >> 32));
        buf_append_u32be(out, (uint32_t)sr->ntp);
        buf_append_u32be(out, sr->rtp_ts);
        buf_append_u32be(out, sr->packet_count);
        buf_append_u32be(out, sr->octet_count);
        for (unsigned i = 0; i < sr->rb_count; i++)
                put_report_block(out, &sr->rb[i]);
        return 0;
}

int rtcp_build_rr(struct buf *out, const struct rtcp_rr *rr)
{
        if (rr->rb_count > RTCP_MAX_COUNT)
                return -EINVAL;
        int rc = put_header(out, rr->rb_count, RTCP_PT_RR, 8 + 24 * (size_t)rr->rb_count);
        if (rc < 0)
                return rc;
        buf_append_u32be(out, rr->ssrc);
        for (unsigned i = 0; i < rr->rb_count; i++)
                put_report_block(out, &rr->rb[i]);
        return 0;
}

int rtcp_build_sdes_cname(struct buf *out, const uint32_t *ssrcs, const char *const *cnames,
                          size_t count)
{
        if (count > RTCP_MAX_COUNT)
                return -EINVAL;
        size_t total = 4;
        for (size_t i = 0; i < count; i++) {
                size_t n = strlen(cnames[i]);
                if (n > 255)
                        return -EINVAL;
                /* SSRC, type, length, text, then END and padding: 1..4 null octets. */
                total += (4 + 2 + n + 4) & ~(size_t)3;
        }
        int rc = put_header(out, (uint8_t)count, RTCP_PT_SDES, total);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < count; i++) {
                size_t n = strlen(cnames[i]);
                size_t chunk = (4 + 2 + n + 4) & ~(size_t)3;
                buf_append_u32be(out, ssrcs[i]);
                buf_append_u8(out, RTCP_SDES_CNAME);
                buf_append_u8(out, (uint8_t)n);
                buf_append(out, cnames[i], n);
                for (size_t k = 4 + 2 + n; k < chunk; k++)
                        buf_append_u8(out, 0);
        }
        return 0;
}

int rtcp_build_bye(struct buf *out, const uint32_t *ssrcs, size_t count, const char *reason)
{
        size_t rlen = reason ? strlen(reason) : 0;
        if (count > RTCP_MAX_COUNT || rlen > 255)
                return -EINVAL;
        size_t body = 4 * count + (reason ? (1 + rlen + 3) & ~(size_t)3 : 0);
        int rc = put_header(out, (uint8_t)count, RTCP_PT_BYE, 4 + body);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < count; i++)
                buf_append_u32be(out, ssrcs[i]);
        if (reason) {
                buf_append_u8(out, (uint8_t)rlen);
                buf_append(out, reason, rlen);
                for (size_t k = 1 + rlen; k % 4 != 0; k++)
                        buf_append_u8(out, 0);
        }
        return 0;
}

int rtcp_build_nack(struct buf *out, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t count)
{
        if (count == 0)
                return -EINVAL;
        /* First pass counts the entries so the length field can go out first. */
        size_t items = 0;
        uint16_t pid = 0;
        for (size_t i = 0; i < count; i++) {
                uint16_t d = (uint16_t)(seqs[i] - pid);
                if (items == 0 || d == 0 || d > 16) {
                        if (items > 0 && d == 0)
                                continue;
                        pid = seqs[i];
                        items++;
                }
        }
        int rc = put_header(out, RTCP_RTPFB_NACK, RTCP_PT_RTPFB, 12 + 4 * items);
        if (rc < 0)
                return rc;
        buf_append_u32be(out, sender_ssrc);
        buf_append_u32be(out, media_ssrc);
        uint16_t blp = 0;
        bool open = false;
        for (size_t i = 0; i < count; i++) {
                uint16_t d = (uint16_t)(seqs[i] - pid);
                if (open && d == 0)
                        continue;
                if (open && d <= 16) {
                        blp |= (uint16_t)(1u << (d - 1));
                        continue;
                }
                if (open) {
                        buf_append_u16be(out, pid);
                        buf_append_u16be(out, blp);
                }
                pid = seqs[i];
                blp = 0;
                open = true;
        }
        buf_append_u16be(out, pid);
        buf_append_u16be(out, blp);
        return 0;
}

int rtcp_build_pli(struct buf *out, uint32_t sender_ssrc, uint32_t media_ssrc)
{
        int rc = put_header(out, RTCP_PSFB_PLI, RTCP_PT_PSFB, 12);
        if (rc < 0)
                return rc;
        buf_append_u32be(out, sender_ssrc);
        buf_append_u32be(out, media_ssrc);
        return 0;
}

int rtcp_build_fir(struct buf *out, uint32_t sender_ssrc, const struct rtcp_fir_entry *entries,
                   size_t count)
{
        if (count == 0 || count > 8000)
                return -EINVAL;
        int rc = put_header(out, RTCP_PSFB_FIR, RTCP_PT_PSFB, 12 + 8 * count);
        if (rc < 0)
                return rc;
        buf_append_u32be(out, sender_ssrc);
        buf_append_u32be(out, 0); /* RFC 5104 4.3.1.2: media source SSRC is unused, zero */
        for (size_t i = 0; i < count; i++) {
                buf_append_u32be(out, entries[i].ssrc);
                buf_append_u8(out, entries[i].seq);
                buf_append_u8(out, 0);
                buf_append_u16be(out, 0);
        }
        return 0;
}

int rtcp_build_remb(struct buf *out, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, size_t count)
{
        if (count > 255)
                return -EINVAL;
        /* Smallest exponent that fits the mantissa in 18 bits; the rest rounds down. */
        unsigned exp = 0;
        while ((bitrate_bps >> exp) > 0x3ffff)
                exp++;
        uint32_t mant = (uint32_t)(bitrate_bps >> exp);
        int rc = put_header(out, RTCP_PSFB_AFB, RTCP_PT_PSFB, 20 + 4 * count);
        if (rc < 0)
                return rc;
        buf_append_u32be(out, sender_ssrc);
        buf_append_u32be(out, 0);
        buf_append(out, "REMB", 4);
        buf_append_u8(out, (uint8_t)count);
        uint32_t br = (uint32_t)exp << 18 | mant;
        buf_append_u8(out, (uint8_t)(br >> 16));
        buf_append_u16be(out, (uint16_t)br);
        for (size_t i = 0; i < count; i++)
                buf_append_u32be(out, ssrcs[i]);
        return 0;
}

uint64_t rtcp_ntp_from_us(uint64_t us)
{
        uint64_t sec = us / 1000000;
        uint64_t frac = ((us % 1000000) << 32) / 1000000;
        return sec << 32 | frac;
}

uint32_t rtcp_ntp_mid32(uint64_t ntp)
{
        return (uint32_t)(ntp >> 16);
}
