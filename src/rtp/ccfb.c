#include "rtp/ccfb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtcp.h"

#define HIST_MASK  ((int64_t)CCFB_HISTORY - 1)
#define SEND_MASK  (CCFB_SEND_HISTORY - 1u)
#define FIXED      12 /* RTCP header, sender SSRC, Report Timestamp */
#define BLOCK_HEAD 8  /* SSRC, begin_seq, num_reports */
#define ATO_MAX    0x1ffd

_Static_assert((CCFB_HISTORY & (CCFB_HISTORY - 1)) == 0, "CCFB_HISTORY is a power of two");
_Static_assert((CCFB_SEND_HISTORY & SEND_MASK) == 0, "CCFB_SEND_HISTORY is a power of two");
_Static_assert(CCFB_HISTORY <= CCFB_MAX_REPORTS, "a stream's reports fit one block");
_Static_assert(CCFB_REORDER < CCFB_HISTORY / 2, "the reorder window is inside the history");

/* ---- receiving side ---- */

struct slot {
        int64_t seq; /* unwrapped; the slot holds this packet's arrival when it matches */
        uint64_t at;
};

struct stream {
        uint32_t ssrc;
        int64_t next;    /* first number not reported yet */
        int64_t highest; /* highest number received */
        uint64_t heard;  /* latest arrival, to pick the stream to replace */
        struct slot ring[CCFB_HISTORY];
};

struct ccfb_recv {
        struct ccfb_recv_config cfg;
        struct stream *streams[CCFB_MAX_SSRCS];
        bool started;
        uint64_t interval_start; /* last feedback, or the first packet before any */
        uint64_t last_arrival;
        struct ccfb_recv_stats stats;
};

struct ccfb_recv *ccfb_recv_new(const struct ccfb_recv_config *cfg)
{
        if (!cfg)
                return NULL;
        struct ccfb_recv *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->cfg = *cfg;
        if (c->cfg.interval_us == 0)
                c->cfg.interval_us = CCFB_DEFAULT_INTERVAL_US;
        return c;
}

void ccfb_recv_free(struct ccfb_recv *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < CCFB_MAX_SSRCS; i++)
                free(c->streams[i]);
        free(c);
}

static int64_t pending(const struct stream *st)
{
        return st->highest - st->next + 1;
}

/* Starts (or restarts) a stream at seq; what it had waiting is given up. */
static void stream_start(struct ccfb_recv *c, struct stream *st, uint32_t ssrc, int64_t seq)
{
        if (pending(st) > 0)
                c->stats.dropped += (uint64_t)pending(st);
        st->ssrc = ssrc;
        st->next = st->highest = seq;
        for (size_t i = 0; i < CCFB_HISTORY; i++)
                st->ring[i].seq = INT64_MIN;
}

/* The stream for ssrc: an existing one, a free slot, or the one heard least recently. */
static struct stream *stream_get(struct ccfb_recv *c, uint32_t ssrc, bool *fresh)
{
        size_t victim = 0;
        for (size_t i = 0; i < CCFB_MAX_SSRCS; i++) {
                struct stream *st = c->streams[i];
                if (st && st->ssrc == ssrc) {
                        *fresh = false;
                        return st;
                }
                if (!st) {
                        victim = i;
                        break;
                }
                if (st->heard < c->streams[victim]->heard)
                        victim = i;
        }
        if (!c->streams[victim]) {
                c->streams[victim] = malloc(sizeof(struct stream));
                if (!c->streams[victim])
                        return NULL;
                c->streams[victim]->next = 1; /* nothing waits */
                c->streams[victim]->highest = 0;
        }
        *fresh = true;
        return c->streams[victim];
}

void ccfb_recv_packet(struct ccfb_recv *c, uint64_t now, uint32_t ssrc, uint16_t seq)
{
        if (!c)
                return;
        c->stats.packets++;
        bool fresh;
        struct stream *st = stream_get(c, ssrc, &fresh);
        if (!st) {
                c->stats.dropped++;
                return;
        }
        /* Unwrapped to the number nearest the highest so far. */
        int64_t s = seq;
        if (fresh)
                stream_start(c, st, ssrc, s);
        else
                s = st->highest + (int16_t)(uint16_t)(seq - (uint16_t)st->highest);
        if (!c->started) {
                c->started = true;
                c->interval_start = now;
        }
        if (s - st->highest >= CCFB_HISTORY) {
                /* Far ahead (a sender restart, a long outage): the reports cannot span it. */
                stream_start(c, st, ssrc, s);
        } else if (s > st->highest) {
                st->highest = s;
                if (pending(st) > CCFB_HISTORY) {
                        int64_t keep = st->highest - CCFB_HISTORY + 1;
                        c->stats.dropped += (uint64_t)(keep - st->next);
                        st->next = keep;
                }
        } else if (s < st->highest) {
                struct slot *old = &st->ring[s & HIST_MASK];
                if (old->seq == s) {
                        c->stats.duplicates++;
                        return;
                }
                c->stats.reordered++;
                if (s <= st->highest - CCFB_HISTORY || s < st->next - CCFB_REORDER) {
                        c->stats.dropped++;
                        return;
                }
                /* Reported lost already: the next batch starts again here. */
                if (s < st->next)
                        st->next = s;
        } else if (st->ring[s & HIST_MASK].seq == s) {
                c->stats.duplicates++;
                return;
        }
        st->ring[s & HIST_MASK] = (struct slot){.seq = s, .at = now};
        st->heard = now;
        c->last_arrival = now;
}

uint64_t ccfb_recv_next_deadline(const struct ccfb_recv *c)
{
        if (!c)
                return UINT64_MAX;
        bool any = false;
        for (size_t i = 0; i < CCFB_MAX_SSRCS; i++) {
                const struct stream *st = c->streams[i];
                if (!st || pending(st) <= 0)
                        continue;
                if (pending(st) >= CCFB_HISTORY / 2)
                        return c->last_arrival;
                any = true;
        }
        if (!any)
                return UINT64_MAX;
        if (c->interval_start > UINT64_MAX - c->cfg.interval_us)
                return UINT64_MAX - 1;
        return c->interval_start + c->cfg.interval_us;
}

static void put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
        put16(p, (uint16_t)(v >> 16));
        put16(p + 2, (uint16_t)v);
}

/* The 13-bit arrival time offset of a packet that arrived at `at`, reported at `now`. */
static uint16_t ato_of(uint64_t now, uint64_t at)
{
        if (at > now)
                return CCFB_ATO_UNKNOWN;
        uint64_t d = now - at;
        if (d > 10000000) /* beyond the range; also keeps d * 1024 small */
                return CCFB_ATO_OVER;
        uint64_t ato = (d * 1024 + 500000) / 1000000;
        return ato > ATO_MAX ? CCFB_ATO_OVER : (uint16_t)ato;
}

/* One RTCP packet being filled. */
struct pkt {
        uint8_t b[CCFB_MAX_PACKET_BYTES];
        size_t len; /* without the Report Timestamp */
};

static int pkt_flush(struct pkt *p, uint32_t sender, uint32_t rts, struct buf *out)
{
        size_t total = p->len + 4;
        p->b[0] = 0x80 | CCFB_FMT;
        p->b[1] = RTCP_PT_RTPFB;
        put16(p->b + 2, (uint16_t)(total / 4 - 1));
        put32(p->b + 4, sender);
        put32(p->b + p->len, rts);
        p->len = 8;
        return buf_append(out, p->b, total);
}

int ccfb_recv_poll(struct ccfb_recv *c, uint64_t now, struct buf *out)
{
        if (!c || !out)
                return -EINVAL;
        if (now < ccfb_recv_next_deadline(c))
                return 0;
        uint32_t rts = rtcp_ntp_mid32(rtcp_ntp_from_us(now + c->cfg.ntp_offset_us));
        size_t out_len = out->len;
        struct pkt *p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->len = 8;
        int built = 0, rc = 0;
        uint64_t reports = 0, lost = 0;
        for (size_t i = 0; i < CCFB_MAX_SSRCS && rc == 0; i++) {
                const struct stream *st = c->streams[i];
                if (!st || pending(st) <= 0)
                        continue;
                int64_t pos = st->next;
                while (pos <= st->highest && rc == 0) {
                        size_t room = CCFB_MAX_PACKET_BYTES - 4 - p->len;
                        size_t fit =
                            room >= BLOCK_HEAD + 4 ? ((room - BLOCK_HEAD) / 2) & ~(size_t)1 : 0;
                        if (fit == 0) {
                                rc = pkt_flush(p, c->cfg.sender_ssrc, rts, out);
                                built++;
                                continue;
                        }
                        size_t n = (size_t)(st->highest - pos + 1);
                        if (n > fit)
                                n = fit;
                        uint8_t *w = p->b + p->len;
                        put32(w, st->ssrc);
                        put16(w + 4, (uint16_t)pos);
                        put16(w + 6, (uint16_t)n);
                        w += BLOCK_HEAD;
                        for (size_t k = 0; k < n; k++, pos++, w += 2) {
                                const struct slot *sl = &st->ring[pos & HIST_MASK];
                                /* ECN is not known here: Not-ECT (00). */
                                uint16_t v = sl->seq == pos ? 0x8000 | ato_of(now, sl->at) : 0;
                                lost += v == 0;
                                put16(w, v);
                        }
                        if (n % 2)
                                put16(w, 0);
                        p->len += BLOCK_HEAD + 2 * (n + n % 2);
                        reports += n;
                }
        }
        if (rc == 0 && p->len > 8) {
                rc = pkt_flush(p, c->cfg.sender_ssrc, rts, out);
                built++;
        }
        free(p);
        if (rc < 0) {
                out->len = out_len;
                return rc;
        }
        for (size_t i = 0; i < CCFB_MAX_SSRCS; i++)
                if (c->streams[i] && pending(c->streams[i]) > 0)
                        c->streams[i]->next = c->streams[i]->highest + 1;
        c->interval_start = now;
        c->stats.feedback_sent += (uint64_t)built;
        c->stats.reports += reports;
        c->stats.lost_reported += lost;
        return built;
}

void ccfb_recv_get_stats(const struct ccfb_recv *c, struct ccfb_recv_stats *out)
{
        if (!out)
                return;
        memset(out, 0, sizeof(*out));
        if (c)
                *out = c->stats;
}

/* ---- the wire format ---- */

int ccfb_parse(struct ccfb_packet *out, const void *data, size_t len)
{
        if (!out)
                return -EINVAL;
        memset(out, 0, sizeof(*out));
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        uint8_t b0 = buf_rd_u8(&r);
        uint8_t pt = buf_rd_u8(&r);
        uint16_t words = buf_rd_u16be(&r);
        if (!buf_rd_ok(&r) || b0 >> 6 != 2 || (b0 & 0x1f) != CCFB_FMT || pt != RTCP_PT_RTPFB ||
            ((size_t)words + 1) * 4 != len)
                return -EPROTO;
        size_t body = len - 4;
        if (b0 & 0x20) {
                /* Padding: its count is the last byte (RFC 3550 section 6.4.1). */
                struct buf_rd last = r;
                buf_rd_skip(&last, body - 1);
                uint8_t pad = buf_rd_u8(&last);
                if (!buf_rd_ok(&last) || pad == 0 || pad > body)
                        return -EPROTO;
                body -= pad;
        }
        struct buf_rd b = buf_rd_sub(&r, body);
        out->sender_ssrc = buf_rd_u32be(&b);
        if (!buf_rd_ok(&b) || buf_rd_remaining(&b) < 4)
                return -EPROTO;
        size_t blocks_len = buf_rd_remaining(&b) - 4;
        struct buf_rd blocks = buf_rd_sub(&b, blocks_len);
        out->report_timestamp = buf_rd_u32be(&b);
        out->blocks = blocks.data;
        out->blocks_len = blocks_len;
        while (buf_rd_ok(&blocks) && buf_rd_remaining(&blocks) > 0) {
                buf_rd_skip(&blocks, 6); /* SSRC, begin_seq */
                uint16_t n = buf_rd_u16be(&blocks);
                if (n > CCFB_MAX_REPORTS)
                        return -EPROTO;
                buf_rd_skip(&blocks, 2 * ((size_t)n + n % 2));
                out->n_blocks++;
                out->n_reports += n;
        }
        if (!buf_rd_ok(&blocks) || !buf_rd_ok(&b) || buf_rd_remaining(&b) != 0)
                return -EPROTO;
        return 0;
}

size_t ccfb_decode(const struct ccfb_packet *p, struct ccfb_report *out, size_t cap)
{
        if (!p)
                return 0;
        struct buf_rd r;
        buf_rd_init(&r, p->blocks, p->blocks_len);
        size_t i = 0;
        while (buf_rd_ok(&r) && buf_rd_remaining(&r) > 0) {
                uint32_t ssrc = buf_rd_u32be(&r);
                uint16_t begin = buf_rd_u16be(&r);
                uint16_t n = buf_rd_u16be(&r);
                for (uint16_t k = 0; k < n; k++, i++) {
                        uint16_t v = buf_rd_u16be(&r);
                        if (!out || i >= cap)
                                continue;
                        bool received = v & 0x8000;
                        out[i] = (struct ccfb_report){
                            .ssrc = ssrc,
                            .seq = (uint16_t)(begin + k),
                            .received = received,
                            .ecn = received ? (uint8_t)((v >> 13) & 3) : 0,
                            .ato = received ? (uint16_t)(v & 0x1fff) : 0,
                        };
                }
                if (n % 2)
                        buf_rd_skip(&r, 2);
        }
        return i < p->n_reports ? i : p->n_reports;
}

/* ---- sending side ---- */

struct sent_entry {
        uint32_t tseq; /* unwrapped transport-wide number, low 32 bits */
        uint16_t seq;  /* RTP sequence number; the entry is valid when it matches */
        uint16_t valid;
};

struct send_stream {
        uint32_t ssrc;
        uint64_t used; /* last packet, in packets sent overall */
        struct sent_entry e[CCFB_SEND_HISTORY];
};

struct ccfb_send {
        struct send_stream *streams[CCFB_MAX_SSRCS];
        bool have_tseq;
        int64_t tseq; /* latest transport-wide number, unwrapped */
        uint64_t sent;
        bool have_rts;
        uint32_t rts_raw;
        int64_t rts; /* unwrapped, relative to the first, 1/65536 s */
        struct ccfb_report *decoded;
        struct gcc_packet_report *rep;
        size_t cap;
        struct ccfb_send_stats stats;
};

struct ccfb_send *ccfb_send_new(void)
{
        return calloc(1, sizeof(struct ccfb_send));
}

void ccfb_send_free(struct ccfb_send *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < CCFB_MAX_SSRCS; i++)
                free(c->streams[i]);
        free(c->decoded);
        free(c->rep);
        free(c);
}

static struct send_stream *send_stream_find(const struct ccfb_send *c, uint32_t ssrc)
{
        for (size_t i = 0; i < CCFB_MAX_SSRCS; i++)
                if (c->streams[i] && c->streams[i]->ssrc == ssrc)
                        return c->streams[i];
        return NULL;
}

void ccfb_send_packet(struct ccfb_send *c, uint32_t ssrc, uint16_t seq, uint16_t transport_seq)
{
        if (!c)
                return;
        if (!c->have_tseq)
                c->tseq = transport_seq;
        else
                c->tseq += (int16_t)(uint16_t)(transport_seq - (uint16_t)c->tseq);
        c->have_tseq = true;
        c->sent++;
        struct send_stream *st = send_stream_find(c, ssrc);
        if (!st) {
                size_t victim = 0;
                for (size_t i = 0; i < CCFB_MAX_SSRCS; i++) {
                        if (!c->streams[i]) {
                                victim = i;
                                break;
                        }
                        if (c->streams[i]->used < c->streams[victim]->used)
                                victim = i;
                }
                if (!c->streams[victim]) {
                        c->streams[victim] = malloc(sizeof(struct send_stream));
                        if (!c->streams[victim])
                                return;
                }
                st = c->streams[victim];
                memset(st, 0, sizeof(*st));
                st->ssrc = ssrc;
        }
        st->used = c->sent;
        st->e[seq & SEND_MASK] = (struct sent_entry){(uint32_t)c->tseq, seq, 1};
}

/* The transport-wide number of (ssrc, seq), if sent recently enough for gcc to know it. */
static bool lookup(const struct ccfb_send *c, uint32_t ssrc, uint16_t seq, uint16_t *tseq)
{
        const struct send_stream *st = send_stream_find(c, ssrc);
        if (!st)
                return false;
        const struct sent_entry *e = &st->e[seq & SEND_MASK];
        if (!e->valid || e->seq != seq || (uint32_t)c->tseq - e->tseq >= GCC_HISTORY)
                return false;
        *tseq = (uint16_t)e->tseq;
        return true;
}

int ccfb_send_feedback(struct ccfb_send *c, const void *data, size_t len,
                       const struct gcc_packet_report **out)
{
        if (!c || !out)
                return -EINVAL;
        struct ccfb_packet p;
        if (ccfb_parse(&p, data, len) < 0) {
                c->stats.malformed++;
                return -EPROTO;
        }
        if (p.n_reports > c->cap) {
                size_t cap = p.n_reports;
                struct ccfb_report *d = realloc(c->decoded, cap * sizeof(*d));
                if (d)
                        c->decoded = d;
                struct gcc_packet_report *r = realloc(c->rep, cap * sizeof(*r));
                if (r)
                        c->rep = r;
                if (!d || !r)
                        return -ENOMEM;
                c->cap = cap;
        }
        c->stats.feedback++;
        /* The Report Timestamp wraps every 18.2 hours: unwrap it like a sequence number. */
        if (!c->have_rts) {
                c->have_rts = true;
                c->rts = 0;
        } else {
                c->rts += (int32_t)(p.report_timestamp - c->rts_raw);
        }
        c->rts_raw = p.report_timestamp;
        size_t n = ccfb_decode(&p, c->decoded, c->cap);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const struct ccfb_report *d = &c->decoded[i];
                uint16_t tseq;
                if (!c->have_tseq || !lookup(c, d->ssrc, d->seq, &tseq)) {
                        c->stats.unknown++;
                        continue;
                }
                struct gcc_packet_report *r = &c->rep[k++];
                *r = (struct gcc_packet_report){.seq = tseq, .received = d->received};
                if (d->received && d->ato <= ATO_MAX) {
                        /* 1/1024 s is 64/65536 s; 1/65536 s is 15625/1024 µs. */
                        int64_t t = c->rts - 64 * (int64_t)d->ato;
                        r->has_arrival = true;
                        r->arrival_us = t / 1024 * 15625 + t % 1024 * 15625 / 1024;
                }
        }
        c->stats.reports += k;
        *out = c->rep;
        return (int)k;
}

void ccfb_send_get_stats(const struct ccfb_send *c, struct ccfb_send_stats *out)
{
        if (!out)
                return;
        memset(out, 0, sizeof(*out));
        if (c)
                *out = c->stats;
}
