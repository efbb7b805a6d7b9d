#include "rtp/twcc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtcp.h"

#define TICK_US      250 /* receive delta unit */
#define REF_TICKS    256 /* reference time unit, 64 ms */
#define HEADER_BYTES 20  /* RTCP header, two SSRCs, base, count, reference time, fb count */
#define VECTOR_MAX   14  /* symbols in a 1-bit vector chunk */
#define VECTOR2_MAX  7   /* symbols in a 2-bit vector chunk */
#define RUN_MAX      0x1fff

enum { SYM_LOST = 0, SYM_SMALL = 1, SYM_LARGE = 2 };

struct arrival {
        int64_t seq;  /* unwrapped */
        int64_t tick; /* arrival time in TICK_US units */
};

struct twcc_recv {
        struct twcc_recv_config cfg;
        struct arrival *pending; /* sorted by seq, no duplicates */
        size_t n, cap;
        bool have_last;
        int64_t last_seq; /* unwrapped number of the previous packet, the unwrapping reference */
        bool reported;
        int64_t next_seq; /* first number not reported yet (valid once reported) */
        bool started;
        uint64_t interval_start; /* last feedback, or the first packet before any */
        uint64_t last_arrival;
        uint8_t fb_count;
        struct twcc_recv_stats stats;
};

/*
 * One RTCP packet being built. The open chunk follows libwebrtc's LastChunk: symbols gather
 * while they still fit one chunk of some kind; when the next one does not, the chunk is emitted
 * as a run if all symbols are equal, else as a 1-bit vector (14 symbols) or a 2-bit vector of
 * the first 7, keeping the rest open.
 */
struct enc {
        int64_t base;
        uint32_t count;
        uint32_t lost;
        bool have_ref;
        int64_t ref;       /* reference time, REF_TICKS units, not wrapped */
        int64_t prev_tick; /* time the next delta is relative to */
        uint16_t chunks[TWCC_MAX_PACKET_BYTES / 2];
        size_t nchunks;
        uint8_t deltas[TWCC_MAX_PACKET_BYTES];
        size_t ndeltas;
        uint8_t syms[VECTOR_MAX]; /* the open chunk: its first symbols... */
        size_t open;              /* ...and how many it holds (up to RUN_MAX in a run) */
        bool all_same, has_large;
};

/* The part of struct enc that adding one status changes, for undoing an add that overflows. */
struct enc_mark {
        size_t nchunks, ndeltas, open;
        uint8_t syms[VECTOR_MAX];
        bool all_same, has_large;
};

static void enc_save(const struct enc *e, struct enc_mark *m)
{
        m->nchunks = e->nchunks;
        m->ndeltas = e->ndeltas;
        m->open = e->open;
        memcpy(m->syms, e->syms, sizeof(m->syms));
        m->all_same = e->all_same;
        m->has_large = e->has_large;
}

static void enc_restore(struct enc *e, const struct enc_mark *m)
{
        e->nchunks = m->nchunks;
        e->ndeltas = m->ndeltas;
        e->open = m->open;
        memcpy(e->syms, m->syms, sizeof(m->syms));
        e->all_same = m->all_same;
        e->has_large = m->has_large;
}

static void enc_init(struct enc *e, int64_t base)
{
        memset(e, 0, sizeof(*e));
        e->base = base;
}

/* Unpadded size of the RTCP packet as it stands; the open chunk always encodes as one chunk. */
static size_t enc_size(const struct enc *e)
{
        return HEADER_BYTES + 2 * (e->nchunks + (e->open > 0)) + e->ndeltas;
}

static size_t padded(size_t n)
{
        return (n + 3) & ~(size_t)3;
}

static bool open_can_add(const struct enc *e, unsigned sym)
{
        if (e->open < VECTOR2_MAX)
                return true;
        if (e->open < VECTOR_MAX && !e->has_large && sym != SYM_LARGE)
                return true;
        return e->open < RUN_MAX && e->all_same && e->syms[0] == sym;
}

static void open_add(struct enc *e, unsigned sym)
{
        if (e->open < VECTOR_MAX)
                e->syms[e->open] = (uint8_t)sym;
        e->all_same = e->open == 0 || (e->all_same && e->syms[0] == sym);
        e->has_large = (e->open > 0 && e->has_large) || sym == SYM_LARGE;
        e->open++;
}

static uint16_t chunk_run(const struct enc *e)
{
        return (uint16_t)(e->syms[0] << 13 | e->open);
}

/* Unused trailing symbols stay 0 ("not received"); the status count tells the reader to stop. */
static uint16_t chunk_vector1(const struct enc *e)
{
        uint16_t c = 0x8000;
        for (size_t k = 0; k < e->open && k < VECTOR_MAX; k++)
                c |= (uint16_t)((e->syms[k] != SYM_LOST) << (13 - k));
        return c;
}

static uint16_t chunk_vector2(const struct enc *e, size_t n)
{
        uint16_t c = 0xc000;
        for (size_t k = 0; k < n; k++)
                c |= (uint16_t)(e->syms[k] << (12 - 2 * k));
        return c;
}

/* Closes the open chunk because the next symbol does not fit it. */
static void open_emit(struct enc *e)
{
        if (e->all_same) {
                e->chunks[e->nchunks++] = chunk_run(e);
                e->open = 0;
                return;
        }
        if (e->open == VECTOR_MAX) {
                e->chunks[e->nchunks++] = chunk_vector1(e);
                e->open = 0;
                return;
        }
        /* 7..13 mixed symbols with a large delta among them: a 2-bit vector takes 7. */
        e->chunks[e->nchunks++] = chunk_vector2(e, VECTOR2_MAX);
        size_t rest = e->open - VECTOR2_MAX;
        memmove(e->syms, e->syms + VECTOR2_MAX, rest);
        e->open = 0;
        for (size_t k = 0; k < rest; k++)
                open_add(e, e->syms[k]);
}

/* The open chunk, once the packet is complete. */
static uint16_t open_final(const struct enc *e)
{
        if (e->all_same)
                return chunk_run(e);
        if (e->open <= VECTOR2_MAX)
                return chunk_vector2(e, e->open);
        return chunk_vector1(e); /* more than 7 mixed symbols: none is large (open_can_add) */
}

/* Adds one status; false (and nothing changed) when the packet has no room for it. */
static bool enc_add(struct enc *e, unsigned sym, int32_t delta)
{
        if (e->count >= TWCC_MAX_STATUS)
                return false;
        struct enc_mark m;
        enc_save(e, &m);
        if (!open_can_add(e, sym))
                open_emit(e);
        open_add(e, sym);
        if (sym == SYM_SMALL) {
                e->deltas[e->ndeltas++] = (uint8_t)delta;
        } else if (sym == SYM_LARGE) {
                e->deltas[e->ndeltas++] = (uint8_t)((uint16_t)delta >> 8);
                e->deltas[e->ndeltas++] = (uint8_t)delta;
        }
        if (padded(enc_size(e)) > TWCC_MAX_PACKET_BYTES) {
                enc_restore(e, &m);
                return false;
        }
        e->count++;
        if (sym == SYM_LOST)
                e->lost++;
        return true;
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

static int enc_write(const struct enc *e, const struct twcc_recv *t, uint8_t fb_count,
                     struct buf *out)
{
        uint8_t pkt[TWCC_MAX_PACKET_BYTES];
        size_t len = enc_size(e);
        size_t total = padded(len);
        size_t pad = total - len;
        pkt[0] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | RTCP_RTPFB_TWCC);
        pkt[1] = RTCP_PT_RTPFB;
        put16(pkt + 2, (uint16_t)(total / 4 - 1));
        put32(pkt + 4, t->cfg.sender_ssrc);
        put32(pkt + 8, t->cfg.media_ssrc);
        put16(pkt + 12, (uint16_t)e->base);
        put16(pkt + 14, (uint16_t)e->count);
        /* 24 bits: the sender unwraps it (2^24 * 64 ms is 12.4 days). */
        put32(pkt + 16, (uint32_t)((uint64_t)e->ref & 0xffffff) << 8 | fb_count);
        size_t pos = HEADER_BYTES;
        for (size_t i = 0; i < e->nchunks; i++, pos += 2)
                put16(pkt + pos, e->chunks[i]);
        if (e->open > 0) {
                put16(pkt + pos, open_final(e));
                pos += 2;
        }
        memcpy(pkt + pos, e->deltas, e->ndeltas);
        pos += e->ndeltas;
        if (pad) {
                memset(pkt + pos, 0, pad);
                pkt[total - 1] = (uint8_t)pad;
        }
        return buf_append(out, pkt, total);
}

struct twcc_recv *twcc_recv_new(const struct twcc_recv_config *cfg)
{
        if (!cfg)
                return NULL;
        struct twcc_recv *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->cfg = *cfg;
        if (t->cfg.interval_us == 0)
                t->cfg.interval_us = TWCC_DEFAULT_INTERVAL_US;
        return t;
}

void twcc_recv_free(struct twcc_recv *t)
{
        if (!t)
                return;
        free(t->pending);
        free(t);
}

void twcc_recv_set_media_ssrc(struct twcc_recv *t, uint32_t ssrc)
{
        if (t)
                t->cfg.media_ssrc = ssrc;
}

/* Index of the first pending entry with a number >= seq. */
static size_t pending_lower_bound(const struct twcc_recv *t, int64_t seq)
{
        size_t lo = 0, hi = t->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (t->pending[mid].seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

void twcc_recv_packet(struct twcc_recv *t, uint64_t now, uint16_t seq)
{
        if (!t)
                return;
        t->stats.packets++;
        int64_t s = seq;
        if (t->have_last) {
                s = t->last_seq + (int16_t)(uint16_t)(seq - (uint16_t)t->last_seq);
                /*
                 * Far behind what was reported is no reordering: the sender jumped ahead by more
                 * than half the number space. Read it forward so the stream is not lost for good.
                 */
                if (t->reported && s < t->next_seq - TWCC_MAX_STATUS)
                        s += 0x10000;
        }
        t->last_seq = s;
        t->have_last = true;
        if (!t->started) {
                t->started = true;
                t->interval_start = now;
        }
        bool in_order = t->n == 0 || s > t->pending[t->n - 1].seq;
        if (t->reported && s < t->next_seq) {
                t->stats.reordered++;
                t->stats.dropped++;
                return;
        }
        size_t at = t->n;
        if (!in_order) {
                at = pending_lower_bound(t, s);
                if (t->pending[at].seq == s) {
                        t->stats.duplicates++;
                        return;
                }
                t->stats.reordered++;
        }
        if (t->n == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 64;
                struct arrival *p = NULL;
                if (cap <= TWCC_MAX_PENDING)
                        p = realloc(t->pending, cap * sizeof(*p));
                if (!p) {
                        t->stats.dropped++;
                        return;
                }
                t->pending = p;
                t->cap = cap;
        }
        memmove(t->pending + at + 1, t->pending + at, (t->n - at) * sizeof(*t->pending));
        t->pending[at] = (struct arrival){.seq = s, .tick = (int64_t)(now / TICK_US)};
        t->n++;
        t->last_arrival = now;
}

uint64_t twcc_recv_next_deadline(const struct twcc_recv *t)
{
        if (!t || t->n == 0)
                return UINT64_MAX;
        if (t->n >= TWCC_MAX_PENDING / 2)
                return t->last_arrival;
        if (t->interval_start > UINT64_MAX - t->cfg.interval_us)
                return UINT64_MAX - 1;
        return t->interval_start + t->cfg.interval_us;
}

/* Where the next RTCP packet starts: pos, unless the gap up to the next received is too long. */
static int64_t next_base(int64_t pos, int64_t next_received)
{
        return next_received - pos >= TWCC_MAX_STATUS ? next_received : pos;
}

int twcc_recv_poll(struct twcc_recv *t, uint64_t now, struct buf *out)
{
        if (!t || !out)
                return -EINVAL;
        if (now < twcc_recv_next_deadline(t))
                return 0;
        struct enc enc;
        struct enc *e = &enc;
        size_t out_len = out->len;
        uint8_t fb_count = t->fb_count;
        uint64_t lost = 0;
        int built = 0;
        size_t i = 0;
        int64_t pos = next_base(t->reported ? t->next_seq : t->pending[0].seq, t->pending[0].seq);
        while (i < t->n) {
                enc_init(e, pos);
                while (i < t->n) {
                        const struct arrival *a = &t->pending[i];
                        /* Rather than fill this packet with losses, let next_base decide. */
                        if (e->count > 0 && a->seq - e->base >= TWCC_MAX_STATUS)
                                break;
                        while (pos < a->seq && enc_add(e, SYM_LOST, 0))
                                pos++;
                        if (pos < a->seq)
                                break;
                        int64_t ref = e->have_ref ? e->ref : a->tick / REF_TICKS;
                        int64_t d = a->tick - (e->have_ref ? e->prev_tick : ref * REF_TICKS);
                        unsigned sym = d >= 0 && d <= UINT8_MAX ? SYM_SMALL : SYM_LARGE;
                        if (d < INT16_MIN || d > INT16_MAX || !enc_add(e, sym, (int32_t)d))
                                break; /* the next packet takes it with a new reference time */
                        e->have_ref = true;
                        e->ref = ref;
                        e->prev_tick = a->tick;
                        pos++;
                        i++;
                }
                /* A fresh packet always takes its first status: no endless loop here. */
                if (e->count == 0 || !e->have_ref) {
                        out->len = out_len;
                        return -EINVAL;
                }
                int rc = enc_write(e, t, fb_count, out);
                if (rc < 0) {
                        out->len = out_len;
                        return rc;
                }
                fb_count++;
                built++;
                lost += e->lost;
                if (i < t->n)
                        pos = next_base(pos, t->pending[i].seq);
        }
        t->fb_count = fb_count;
        t->reported = true;
        t->next_seq = pos;
        t->n = 0;
        t->interval_start = now;
        t->stats.feedback_sent += (uint64_t)built;
        t->stats.lost_reported += lost;
        return built;
}

void twcc_recv_get_stats(const struct twcc_recv *t, struct twcc_recv_stats *out)
{
        if (!out)
                return;
        memset(out, 0, sizeof(*out));
        if (t)
                *out = t->stats;
}
