#include "rtp/rtp_receiver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "rtp/opus.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/vp8.h"

#define US_PER_SEC 1000000ll
/* Caller times are clamped here (142 years), so every sum below stays far from overflow. */
#define TIME_MAX ((uint64_t)1 << 52)
/* Sequence numbers remembered as received, to tell duplicates from late packets: more than the
 * 3000 a packet may lag behind the highest. */
#define HIST_SIZE 4096u
/* Timestamps further than this from the stream's first one restart the stream (months at
 * 90 kHz); it bounds the microsecond arithmetic. */
#define TS_RANGE ((int64_t)1 << 40)
/* A packet this far before the first one still counts as the start (reordered first packets). */
#define START_MISORDER 100
/* Sequence numbers per NACK packet: 256 scattered ones make 1 KiB of FCI. */
#define NACK_PER_PACKET 256u
#define WINDOW_US       1000000u
#define OUT_MAX         4096u

struct slot {
        bool used;
        bool padding; /* no payload: holds its sequence number only */
        bool marker;
        bool frame_start; /* VP8: S=1, partition 0 */
        bool keyframe;    /* VP8: first packet of a key frame */
        bool resent;      /* came by RTX or after a NACK */
        int64_t seq;
        int64_t ts;
        uint64_t arrival_us;
        uint8_t *data; /* the RTP payload (for VP8 with its descriptor) */
        size_t len;
        size_t desc_len;  /* VP8 */
        uint32_t samples; /* Opus, at 48 kHz */
};

struct nack_entry {
        int64_t seq;
        uint64_t detected_us;
        uint64_t sent_us;
        unsigned tries;
};

struct item {
        enum rtp_receiver_output_kind kind;
        struct buf data;
        struct buf fec;
        uint32_t rtp_ts;
        bool keyframe;
        uint64_t first_arrival_us;
        uint64_t playout_us;
        uint32_t samples;
        uint32_t frames_skipped;
};

struct queue {
        struct item *v;
        size_t head, len, cap;
};

/* A packet as it enters the buffer: a media packet or the one an RTX packet carried. */
struct in_pkt {
        uint16_t seq;
        uint32_t ts;
        bool marker;
        bool retransmission;
        const uint8_t *payload;
        size_t len;
        size_t header_len; /* bytes of the received packet that are not media payload */
        size_t desc_len;
        bool frame_start, keyframe;
        uint32_t samples;
};

struct rtp_receiver {
        struct rtp_receiver_config cfg;
        bool video;
        bool nack_on;
        uint32_t ssrc;
        size_t mem_cap;

        /* Stream state, reset by a sequence number jump. */
        bool started;
        bool t0_set;
        uint64_t t0; /* arrival of the very first packet: origin of relative times */
        int64_t ts_origin;
        int64_t ts_ref; /* timestamp of the highest packet: the unwrap reference */
        int64_t highest;
        int64_t cursor; /* next sequence number to play out; lower ones are gone */
        bool cursor_moved;
        bool at_boundary; /* the packet before the cursor ended a frame (false: unknown) */
        bool drop_ts_valid;
        int64_t drop_ts; /* the last frame counted as dropped */
        /* RFC 3550 A.1 probation: the packet after a jump, kept until the next one confirms a
         * restarted sender (it is often the start of a key frame). */
        bool probe_valid;
        struct in_pkt probe; /* its payload points at probe_data */
        uint8_t *probe_data;
        uint64_t probe_at;
        struct slot *slots;
        size_t buffered_bytes;
        int64_t *hist;
        struct vp8_rtp_payload *vp8_pk;

        /* Playout timing. */
        bool have_base;
        int64_t base_transit; /* us: smallest arrival (relative) minus RTP time */
        int64_t win_min;
        uint64_t win_start;
        bool have_jitter_ref;
        int64_t last_transit; /* RTP ticks */
        int64_t jitter_ts;
        int64_t jitter_q4; /* RFC 3550 A.8 jitter in ticks, times 16 */
        uint64_t sync_us;
        uint64_t rtt_us;
        uint64_t queue_us; /* recent delay of frames beyond the fastest (queueing) */
        bool loss_active;
        uint64_t loss_until;
        uint64_t target_us;

        /* Video. */
        bool need_key;
        bool seen_key;
        bool grace_fired;
        uint64_t grace_at;
        bool lost_active;
        uint32_t lost_frames;
        uint32_t lost_ts;
        uint64_t lost_due;
        bool kf_wanted;
        bool kf_sent;
        uint64_t kf_last_us;
        uint8_t fir_seq;

        /* Audio. */
        bool have_last_audio;
        int64_t last_audio_ts;
        uint32_t last_samples;

        struct nack_entry *nacks;
        size_t n_nacks;
        uint16_t *nack_seqs;

        /* Receiver reports (RFC 3550 A.3). */
        int64_t base_seq;
        int64_t received; /* in this stream segment, for expected - received */
        int64_t expected_prior, received_prior;
        int64_t lost_carry; /* from segments before a restart */
        bool rr_active;
        uint64_t next_rr;
        bool have_sr;
        uint64_t sr_ntp;
        uint32_t sr_rtp;
        uint64_t sr_arrival;

        struct queue out;
        struct item cur;
        struct rtp_receiver_stats st;
};

/* ---- small helpers ---- */

static uint64_t clamp_time(uint64_t t)
{
        return t > TIME_MAX ? TIME_MAX : t;
}

static uint64_t since(uint64_t now, uint64_t t)
{
        return now > t ? now - t : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
        return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

static int64_t ticks_to_us(int64_t ticks, uint32_t clock)
{
        return ticks / clock * US_PER_SEC + ticks % clock * US_PER_SEC / clock;
}

static int64_t us_to_ticks(int64_t us, uint32_t clock)
{
        return us / US_PER_SEC * clock + us % US_PER_SEC * clock / US_PER_SEC;
}

static int64_t rel(const struct rtp_receiver *r, uint64_t now)
{
        return (int64_t)since(now, r->t0);
}

/* A relative time back on the caller's clock (never before the origin). */
static uint64_t abs_time(const struct rtp_receiver *r, int64_t rel_us)
{
        return r->t0 + (rel_us > 0 ? (uint64_t)rel_us : 0);
}

static struct slot *slot_at(const struct rtp_receiver *r, int64_t seq)
{
        return &r->slots[(uint64_t)seq % RTP_RECEIVER_BUFFER_PACKETS];
}

static struct slot *slot_get(const struct rtp_receiver *r, int64_t seq)
{
        struct slot *s = slot_at(r, seq);
        return s->used && s->seq == seq ? s : NULL;
}

static void slot_free(struct rtp_receiver *r, struct slot *s)
{
        if (!s->used)
                return;
        r->buffered_bytes -= s->len;
        free(s->data);
        memset(s, 0, sizeof(*s));
}

static bool hist_has(const struct rtp_receiver *r, int64_t seq)
{
        return r->hist[(uint64_t)seq % HIST_SIZE] == seq;
}

static void hist_mark(struct rtp_receiver *r, int64_t seq)
{
        r->hist[(uint64_t)seq % HIST_SIZE] = seq;
}

static void hist_clear(struct rtp_receiver *r)
{
        for (size_t i = 0; i < HIST_SIZE; i++)
                r->hist[i] = INT64_MIN;
}

/* Nearest unwrapping against the highest packet, without moving any state. */
static int64_t seq_ext(const struct rtp_receiver *r, uint16_t seq)
{
        return r->highest + (int16_t)(uint16_t)(seq - (uint16_t)r->highest);
}

static int64_t ts_ext(const struct rtp_receiver *r, uint32_t ts)
{
        return r->ts_ref + (int32_t)(uint32_t)(ts - (uint32_t)r->ts_ref);
}

/* ---- output queue ---- */

static void item_free(struct item *it)
{
        buf_free(&it->data);
        buf_free(&it->fec);
}

static void push(struct rtp_receiver *r, struct item *it)
{
        struct queue *q = &r->out;
        if (q->len == OUT_MAX) {
                log_warn("rtp", "ssrc %08x: output queue full, output dropped", (unsigned)r->ssrc);
                item_free(it);
                return;
        }
        if (q->len == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 16;
                struct item *v = calloc(cap, sizeof(*v));
                if (!v) {
                        item_free(it);
                        return;
                }
                for (size_t i = 0; i < q->len; i++)
                        v[i] = q->v[(q->head + i) % q->cap];
                free(q->v);
                q->v = v;
                q->head = 0;
                q->cap = cap;
        }
        q->v[(q->head + q->len) % q->cap] = *it;
        q->len++;
        memset(it, 0, sizeof(*it));
}

/* ---- playout timing ---- */

static uint64_t jitter_us(const struct rtp_receiver *r)
{
        return (uint64_t)ticks_to_us(r->jitter_q4 / 16, r->cfg.clock_rate);
}

static void update_target(struct rtp_receiver *r, uint64_t now)
{
        if (r->loss_active && now >= r->loss_until)
                r->loss_active = false;
        uint64_t t = 3 * jitter_us(r);
        if (r->nack_on && r->loss_active)
                t += r->rtt_us * 3 / 2;
        if (t < r->cfg.min_delay_us)
                t = r->cfg.min_delay_us;
        if (t > r->cfg.max_delay_us)
                t = r->cfg.max_delay_us;
        r->target_us = t;
}

/* Where RTP time ts falls on our clock (relative), by the smallest transit. */
static int64_t map_rel(const struct rtp_receiver *r, int64_t ts)
{
        return ticks_to_us(ts - r->ts_origin, r->cfg.clock_rate) + r->base_transit;
}

static uint64_t due_of(const struct rtp_receiver *r, int64_t ts)
{
        return abs_time(r, map_rel(r, ts) + (int64_t)r->target_us + (int64_t)r->sync_us);
}

static void timing_update(struct rtp_receiver *r, uint64_t now, int64_t ts, bool in_order)
{
        int64_t transit = rel(r, now) - ticks_to_us(ts - r->ts_origin, r->cfg.clock_rate);
        if (!r->have_base) {
                r->have_base = true;
                r->base_transit = transit;
                r->win_min = INT64_MAX;
                r->win_start = now;
        }
        if (transit < r->base_transit)
                r->base_transit = transit; /* an earlier packet: re-anchor at once */
        if (transit < r->win_min)
                r->win_min = transit;
        if (since(now, r->win_start) >= WINDOW_US) {
                /* Every packet of the window came later than the map: follow a quarter of the
                 * way up, so a slower sender clock or a longer path stops adding delay. */
                if (r->win_min != INT64_MAX && r->win_min > r->base_transit)
                        r->base_transit += (r->win_min - r->base_transit + 3) / 4;
                r->win_min = INT64_MAX;
                r->win_start = now;
        }

        /* RFC 3550 A.8 over in-order packets with a new timestamp, as libwebrtc does: the packets
         * of one video frame leave together (their spread is not network jitter), and a late
         * packet must not inflate the playout delay of all the others. */
        if (!in_order)
                return;
        int64_t arrival = us_to_ticks(rel(r, now), r->cfg.clock_rate);
        int64_t tr = arrival - (ts - r->ts_origin);
        if (r->have_jitter_ref) {
                if (ts == r->jitter_ts)
                        return;
                int64_t d = tr - r->last_transit;
                if (d < 0)
                        d = -d;
                if (d > INT32_MAX)
                        d = INT32_MAX;
                r->jitter_q4 += d - ((r->jitter_q4 + 8) >> 4);
        }
        r->have_jitter_ref = true;
        r->last_transit = tr;
        r->jitter_ts = ts;
        /* How much later than the fastest a frame's first packet comes: a queue on the path
         * (or in the sender's pacer), which an answer to a NACK waits in too. Up at once, down
         * by an eighth a frame. */
        uint64_t excess = (uint64_t)(transit - r->base_transit);
        if (excess > r->queue_us)
                r->queue_us = excess;
        else
                r->queue_us -= (r->queue_us - excess) / 8;
        update_target(r, now);
}

/* ---- NACK list (sorted by sequence number) ---- */

static size_t nack_lower_bound(const struct rtp_receiver *r, int64_t seq)
{
        size_t lo = 0, hi = r->n_nacks;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (r->nacks[mid].seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void nack_add(struct rtp_receiver *r, int64_t seq, uint64_t now)
{
        size_t i = nack_lower_bound(r, seq);
        if (i < r->n_nacks && r->nacks[i].seq == seq)
                return;
        if (r->n_nacks == RTP_RECEIVER_BUFFER_PACKETS) {
                /* Cannot happen while entries stay inside the buffer window; drop the oldest. */
                if (i == 0)
                        return;
                memmove(r->nacks, r->nacks + 1, (r->n_nacks - 1) * sizeof(*r->nacks));
                r->n_nacks--;
                i--;
        }
        memmove(r->nacks + i + 1, r->nacks + i, (r->n_nacks - i) * sizeof(*r->nacks));
        r->nacks[i] = (struct nack_entry){.seq = seq, .detected_us = now};
        r->n_nacks++;
}

/* Removes seq; returns how often it was asked for (0 when not listed). */
static unsigned nack_remove(struct rtp_receiver *r, int64_t seq)
{
        size_t i = nack_lower_bound(r, seq);
        if (i >= r->n_nacks || r->nacks[i].seq != seq)
                return 0;
        unsigned tries = r->nacks[i].tries;
        memmove(r->nacks + i, r->nacks + i + 1, (r->n_nacks - i - 1) * sizeof(*r->nacks));
        r->n_nacks--;
        return tries;
}

static void nack_remove_below(struct rtp_receiver *r, int64_t seq)
{
        size_t i = nack_lower_bound(r, seq);
        memmove(r->nacks, r->nacks + i, (r->n_nacks - i) * sizeof(*r->nacks));
        r->n_nacks -= i;
}

/*
 * How long the answer to the tries-th request of a packet may take: a round trip plus the
 * queueing delay the media shows now, doubled for each request that went unanswered (up to 8x).
 * The round trip we know is often measured on an empty path (ICE consent checks); behind a
 * filling bottleneck the answer queues too, and asking again every RTT only adds duplicates to
 * the queue that delays it (congestion.sh: 200 NACKs a second, retransmissions at 60 % of the
 * media rate, the queue kept full).
 */
static uint64_t retry_interval(const struct rtp_receiver *r, unsigned tries)
{
        unsigned doublings = tries > 1 ? tries - 1 : 0;
        if (doublings > RTP_RECEIVER_NACK_MAX_BACKOFF)
                doublings = RTP_RECEIVER_NACK_MAX_BACKOFF;
        uint64_t q = min_u64(r->queue_us, RTP_RECEIVER_VIDEO_MAX_DELAY_US);
        return (r->rtt_us + q + RTP_RECEIVER_NACK_MARGIN_US) << doublings;
}

static uint64_t nack_due(const struct rtp_receiver *r, const struct nack_entry *e)
{
        if (e->tries == 0) {
                /* Reordering tolerance: two later packets, or a few milliseconds. */
                if (r->highest >= e->seq + RTP_RECEIVER_NACK_REORDER_PKTS)
                        return e->detected_us;
                return e->detected_us + RTP_RECEIVER_NACK_REORDER_US;
        }
        if (e->tries >= RTP_RECEIVER_NACK_MAX_TRIES)
                return UINT64_MAX;
        return e->sent_us + retry_interval(r, e->tries);
}

/* ---- buffer ---- */

/*
 * Frees [cursor, seq) and moves the cursor there. With count, the frames in the range are
 * counted as dropped: video frames by distinct timestamps, plus one for missing packets that
 * follow a frame's end (a lower bound: what never arrived cannot be told apart); audio packets.
 */
static uint32_t drop_until(struct rtp_receiver *r, int64_t seq, bool count)
{
        uint32_t frames = 0;
        bool any = false, prev_valid = false;
        bool leading_missing = !slot_get(r, r->cursor);
        bool boundary = r->at_boundary;
        int64_t prev_ts = 0;
        for (int64_t i = r->cursor; i < seq; i++) {
                struct slot *s = slot_get(r, i);
                if (!s) {
                        r->at_boundary = false;
                        continue;
                }
                if (!s->padding) {
                        if (!any && leading_missing && s->frame_start && boundary)
                                frames++;
                        /* The rest of a frame counted before (its tail came later) is not a
                         * new frame. */
                        bool again = r->video && r->drop_ts_valid && s->ts == r->drop_ts;
                        if (!again && (!r->video || !prev_valid || s->ts != prev_ts))
                                frames++;
                        prev_valid = true;
                        prev_ts = s->ts;
                        any = true;
                }
                r->at_boundary = s->marker || s->padding || !r->video;
                slot_free(r, s);
        }
        if (r->video && !any && leading_missing && seq > r->cursor && boundary)
                frames = 1;
        if (prev_valid && count) {
                r->drop_ts_valid = true;
                r->drop_ts = prev_ts;
        }
        if (seq > r->cursor) {
                r->cursor = seq;
                r->cursor_moved = true;
        }
        nack_remove_below(r, r->cursor);
        if (!count)
                return 0;
        r->st.frames_dropped += frames;
        if (r->lost_active)
                r->lost_frames += frames;
        return frames;
}

static bool key_start_buffered(const struct rtp_receiver *r)
{
        for (int64_t i = r->cursor; i <= r->highest; i++) {
                const struct slot *s = slot_get(r, i);
                if (s && s->keyframe)
                        return true;
        }
        return false;
}

static void want_keyframe(struct rtp_receiver *r)
{
        if (!key_start_buffered(r))
                r->kf_wanted = true;
}

/* The chain is broken: frames until the next key frame cannot be decoded. */
static void enter_need_key(struct rtp_receiver *r, int64_t ts)
{
        if (!r->need_key && !r->lost_active) {
                r->lost_active = true;
                r->lost_frames = 0;
                r->lost_ts = (uint32_t)ts;
                r->lost_due = due_of(r, ts);
        }
        r->need_key = true;
}

static void flush_lost(struct rtp_receiver *r)
{
        if (!r->lost_active)
                return;
        r->lost_active = false;
        if (r->lost_frames == 0) {
                /* Only the tail of a frame counted before was here: still a frame lost. */
                r->lost_frames = 1;
                r->st.frames_dropped++;
        }
        struct item it = {.kind = RTP_RECEIVER_OUT_LOST,
                          .rtp_ts = r->lost_ts,
                          .playout_us = r->lost_due,
                          .frames_skipped = r->lost_frames};
        log_debug("rtp", "ssrc %08x: %u frame(s) given up, waiting for a key frame",
                  (unsigned)r->ssrc, (unsigned)r->lost_frames);
        push(r, &it);
}

/* ---- video ---- */

enum vstate { VX_EMPTY, VX_PADDING, VX_COMPLETE, VX_BROKEN, VX_BLOCKED };

struct vexam {
        enum vstate state;
        int64_t end;        /* COMPLETE: the marker packet */
        int64_t ts;         /* COMPLETE, BROKEN, BLOCKED: the first buffered packet's */
        bool key;           /* the cursor packet starts a key frame */
        bool has_start;     /* the cursor packet starts a frame */
        int64_t next_start; /* BROKEN, BLOCKED: the next frame start, else highest + 1 */
        bool next_key;
        /* BLOCKED: every packet from the frame's start up to the highest is here and of this
         * frame (no hole, no later frame begun): nothing is known to be lost yet. */
        bool streaming;
        size_t frame_len; /* COMPLETE: bytes after the descriptors */
};

static void find_next_start(const struct rtp_receiver *r, struct vexam *x)
{
        x->next_start = r->highest + 1;
        for (int64_t i = r->cursor + 1; i <= r->highest; i++) {
                const struct slot *s = slot_get(r, i);
                if (s && s->frame_start) {
                        x->next_start = i;
                        x->next_key = s->keyframe;
                        return;
                }
        }
}

static void video_examine(const struct rtp_receiver *r, struct vexam *x)
{
        memset(x, 0, sizeof(*x));
        x->state = VX_EMPTY;
        if (r->cursor > r->highest)
                return;
        const struct slot *s = slot_get(r, r->cursor);
        if (s && s->padding) {
                x->state = VX_PADDING;
                return;
        }
        if (s && s->frame_start) {
                x->has_start = true;
                x->key = s->keyframe;
                x->ts = s->ts;
                size_t bytes = 0;
                x->state = VX_BLOCKED;
                int64_t i = r->cursor;
                for (; i <= r->highest; i++) {
                        const struct slot *p = slot_get(r, i);
                        if (!p)
                                break;
                        if (i > r->cursor && (p->frame_start || p->padding || p->ts != s->ts)) {
                                x->state = VX_BROKEN; /* a new frame before the marker */
                                break;
                        }
                        bytes += p->len - p->desc_len;
                        if (bytes > r->cfg.max_frame_size) {
                                x->state = VX_BROKEN;
                                break;
                        }
                        if (p->marker) {
                                x->state = VX_COMPLETE;
                                x->end = i;
                                x->frame_len = bytes;
                                return;
                        }
                }
                x->streaming = x->state == VX_BLOCKED && i > r->highest;
                find_next_start(r, x);
                return;
        }
        x->state = VX_BLOCKED;
        bool found = false;
        for (int64_t i = r->cursor; i <= r->highest && !found; i++) {
                const struct slot *p = slot_get(r, i);
                if (p && !p->padding) {
                        x->ts = p->ts;
                        found = true;
                }
        }
        if (!found) {
                /* Only padding and holes: nothing to play, nothing to wait for. */
                x->state = VX_EMPTY;
                return;
        }
        find_next_start(r, x);
}

/*
 * When a blocked frame is given up: never past map(ts) + max_delay + sync, and before that
 * only on a sign of loss. A frame that is merely still arriving (a pacer may spread one frame
 * over many times the target delay) waits for the cap. Once a hole or a later frame shows
 * loss: at its due time, but not while its packets are still coming (one target delay after
 * the last of them) or while NACK can still bring the missing ones (tries left, or an answer
 * to the last try still due).
 */
/* The latest arrival among the packets from the cursor up to (not including) end. */
static uint64_t last_arrival(const struct rtp_receiver *r, int64_t end)
{
        uint64_t last = 0;
        for (int64_t i = r->cursor; i < end; i++) {
                const struct slot *s = slot_get(r, i);
                if (s)
                        last = max_u64(last, s->arrival_us);
        }
        return last;
}

static uint64_t give_up_time(const struct rtp_receiver *r, const struct vexam *x)
{
        uint64_t due = due_of(r, x->ts);
        uint64_t cap =
            abs_time(r, map_rel(r, x->ts) + (int64_t)r->cfg.max_delay_us + (int64_t)r->sync_us);
        if (x->streaming) {
                uint64_t t = max_u64(due, cap);
                /*
                 * A key frame still arriving while we wait for one is what we wait for: giving
                 * it up asks for another, which a slow sender answers with a frame that meets
                 * the same fate (a sanitizer build coding 1 frame a second at 150 kbit/s: every
                 * frame a ~19 KB key frame that took longer than max_delay to pass its pacer,
                 * 3 frames decoded in 30 s and 147 PLIs). It is given up only once its packets
                 * stop coming for max_delay.
                 */
                if (r->need_key && x->key)
                        t = max_u64(t, last_arrival(r, r->highest + 1) + r->cfg.max_delay_us);
                return t;
        }
        uint64_t hope = last_arrival(r, x->next_start) + r->target_us;
        if (r->nack_on) {
                for (size_t i = nack_lower_bound(r, r->cursor);
                     i < r->n_nacks && r->nacks[i].seq < x->next_start; i++) {
                        const struct nack_entry *e = &r->nacks[i];
                        if (e->tries < RTP_RECEIVER_NACK_MAX_TRIES) {
                                hope = UINT64_MAX;
                                break;
                        }
                        hope = max_u64(hope, e->sent_us + retry_interval(r, e->tries));
                }
        }
        return max_u64(due, min_u64(hope, cap));
}

/* The first key frame start after the cursor, -1 when none is here. */
static int64_t later_key_start(const struct rtp_receiver *r)
{
        for (int64_t i = r->cursor + 1; i <= r->highest; i++) {
                const struct slot *s = slot_get(r, i);
                if (s && s->frame_start && s->keyframe)
                        return i;
        }
        return -1;
}

/* The frame starting at seq is all here, up to its marker. */
static bool complete_from(const struct rtp_receiver *r, int64_t seq)
{
        const struct slot *s = slot_get(r, seq);
        if (!s || !s->frame_start)
                return false;
        for (int64_t i = seq; i <= r->highest; i++) {
                const struct slot *p = slot_get(r, i);
                if (!p || (i > seq && (p->frame_start || p->padding || p->ts != s->ts)))
                        return false;
                if (p->marker)
                        return true;
        }
        return false;
}

/* When the cursor state needs action: 0 = at once, UINT64_MAX = nothing to do. */
static uint64_t video_action_time(const struct rtp_receiver *r, const struct vexam *x)
{
        switch (x->state) {
        case VX_EMPTY:
                return UINT64_MAX;
        case VX_PADDING:
        case VX_BROKEN:
                return 0;
        case VX_COMPLETE:
                if (r->need_key && !x->key)
                        return 0;
                return due_of(r, x->ts);
        case VX_BLOCKED: {
                /* Waiting for a key frame, a delta frame that shows loss waits for nothing:
                 * it would be dropped once complete (one still arriving may finish first). */
                if (r->need_key && x->has_start && !x->key && !x->streaming)
                        return 0;
                /* A later key frame beats an earlier frame that may never complete: at once
                 * while waiting for a key frame, else once the key frame is complete, as in
                 * libwebrtc's frame buffer. What the earlier one waits for (a retransmission,
                 * which a sender that answered a key frame request may not send) could only
                 * show older pictures. */
                int64_t k = x->next_key ? x->next_start : later_key_start(r);
                if (k >= 0 && (r->need_key || complete_from(r, k)))
                        return 0;
                return give_up_time(r, x);
        }
        }
        return UINT64_MAX;
}

static int emit_video(struct rtp_receiver *r, uint64_t now, const struct vexam *x)
{
        size_t n = 0;
        uint64_t first = UINT64_MAX;
        for (int64_t i = r->cursor; i <= x->end; i++) {
                const struct slot *s = slot_get(r, i);
                r->vp8_pk[n++] = (struct vp8_rtp_payload){
                    .data = s->data, .len = s->len, .seq = (uint16_t)i, .marker = s->marker};
                first = min_u64(first, s->arrival_us);
        }
        struct item it = {.kind = RTP_RECEIVER_OUT_FRAME};
        struct vp8_frame_info info;
        int rc = vp8_depacketize(&it.data, r->vp8_pk, n, &info);
        if (rc < 0) {
                buf_free(&it.data);
                return rc;
        }
        flush_lost(r);
        it.rtp_ts = (uint32_t)x->ts;
        it.keyframe = info.keyframe;
        it.first_arrival_us = first;
        it.playout_us = due_of(r, x->ts);
        r->st.frames_received++;
        if (info.keyframe)
                r->st.keyframes_received++;
        r->st.jitter_buffer_delay_s += (double)(now > first ? now - first : 0) / 1e6;
        r->st.jitter_buffer_emitted_count++;
        push(r, &it);
        drop_until(r, x->end + 1, false);
        r->need_key = false;
        return 0;
}

static void video_process(struct rtp_receiver *r, uint64_t now)
{
        if (!r->seen_key && !r->grace_fired && now >= r->grace_at) {
                r->grace_fired = true;
                log_debug("rtp", "ssrc %08x: no key frame yet, asking for one", (unsigned)r->ssrc);
                want_keyframe(r);
        }
        for (;;) {
                struct vexam x;
                video_examine(r, &x);
                if (video_action_time(r, &x) > now)
                        break;
                switch (x.state) {
                case VX_EMPTY:
                        break;
                case VX_PADDING:
                        drop_until(r, r->cursor + 1, false);
                        continue;
                case VX_COMPLETE:
                        if (r->need_key && !x.key) {
                                r->st.frames_received++; /* complete, but undecodable */
                                drop_until(r, x.end + 1, true);
                                continue;
                        }
                        if (emit_video(r, now, &x) == 0)
                                continue;
                        log_debug("rtp", "ssrc %08x: frame %u does not depacketize",
                                  (unsigned)r->ssrc, (unsigned)x.ts);
                        /* Treated like a broken frame. */
                        find_next_start(r, &x);
                        enter_need_key(r, x.ts);
                        drop_until(r, x.next_start, true);
                        want_keyframe(r);
                        continue;
                case VX_BROKEN:
                case VX_BLOCKED: {
                        /* Ask when the chain just broke or a key frame failed; otherwise the
                         * request running since the chain broke continues. */
                        bool ask = !r->need_key || x.key;
                        enter_need_key(r, x.ts);
                        drop_until(r, x.next_start, true);
                        if (ask)
                                want_keyframe(r);
                        continue;
                }
                }
                break;
        }
        flush_lost(r);
}

/* ---- audio ---- */

struct aexam {
        bool empty;
        struct slot *s; /* the cursor packet, or NULL when it is missing */
        int64_t ts;     /* its (estimated) timestamp */
        const struct slot *next;
};

static uint32_t samples_to_ticks(const struct rtp_receiver *r, uint32_t samples)
{
        return (uint32_t)((uint64_t)samples * r->cfg.clock_rate / OPUS_RTP_CLOCK_RATE);
}

static uint32_t lost_samples(const struct rtp_receiver *r)
{
        return r->have_last_audio && r->last_samples ? r->last_samples
                                                     : RTP_RECEIVER_AUDIO_LOST_SAMPLES;
}

static void audio_examine(const struct rtp_receiver *r, struct aexam *x)
{
        memset(x, 0, sizeof(*x));
        x->empty = true;
        if (r->cursor > r->highest)
                return;
        x->s = slot_get(r, r->cursor);
        if (x->s) {
                x->empty = false;
                x->ts = x->s->ts;
                return;
        }
        int64_t n = r->cursor + 1;
        for (; n <= r->highest; n++) {
                x->next = slot_get(r, n);
                if (x->next)
                        break;
        }
        if (!x->next)
                return;
        x->empty = false;
        /* The missing packet would have followed the last one played; never later than the
         * next packet (a DTX jump is not concealed). */
        int64_t step = samples_to_ticks(r, lost_samples(r));
        int64_t from_next = x->next->ts - (n - r->cursor) * step;
        x->ts = r->have_last_audio ? r->last_audio_ts + step : from_next;
        if (x->ts > x->next->ts)
                x->ts = x->next->ts;
}

static uint64_t audio_action_time(const struct rtp_receiver *r, const struct aexam *x)
{
        if (x->empty)
                return UINT64_MAX;
        if (x->s && x->s->padding)
                return 0;
        return due_of(r, x->ts);
}

static void audio_process(struct rtp_receiver *r, uint64_t now)
{
        for (;;) {
                struct aexam x;
                audio_examine(r, &x);
                if (audio_action_time(r, &x) > now)
                        break;
                if (x.s && x.s->padding) {
                        drop_until(r, r->cursor + 1, false);
                        continue;
                }
                struct item it = {.rtp_ts = (uint32_t)x.ts, .playout_us = due_of(r, x.ts)};
                if (x.s) {
                        it.kind = RTP_RECEIVER_OUT_FRAME;
                        it.first_arrival_us = x.s->arrival_us;
                        if (buf_append(&it.data, x.s->data, x.s->len) < 0) {
                                item_free(&it);
                                r->st.frames_dropped++;
                        } else {
                                r->st.frames_received++;
                                r->st.jitter_buffer_delay_s +=
                                    (double)(now > x.s->arrival_us ? now - x.s->arrival_us : 0) /
                                    1e6;
                                r->st.jitter_buffer_emitted_count++;
                                push(r, &it);
                        }
                        r->have_last_audio = true;
                        r->last_audio_ts = x.s->ts;
                        r->last_samples = x.s->samples;
                } else {
                        it.kind = RTP_RECEIVER_OUT_LOST;
                        it.samples = lost_samples(r);
                        const struct slot *n = slot_get(r, r->cursor + 1);
                        if (n && !n->padding && buf_append(&it.fec, n->data, n->len) < 0)
                                buf_free(&it.fec);
                        r->st.concealed_packets++;
                        push(r, &it);
                        r->have_last_audio = true;
                        r->last_audio_ts = x.ts;
                }
                drop_until(r, r->cursor + 1, false);
        }
}

/* ---- RTCP out ---- */

static void build_rr(struct rtp_receiver *r, uint64_t now, struct buf *b)
{
        struct rtcp_rr rr = {.ssrc = r->cfg.local_ssrc, .rb_count = 1};
        struct rtcp_report_block *rb = &rr.rb[0];
        rb->ssrc = r->ssrc;
        int64_t expected = r->highest - r->base_seq + 1;
        int64_t lost = expected - r->received + r->lost_carry;
        if (lost > 0x7fffff)
                lost = 0x7fffff;
        if (lost < -0x800000)
                lost = -0x800000;
        rb->cumulative_lost = (int32_t)lost;
        int64_t exp_int = expected - r->expected_prior;
        int64_t lost_int = exp_int - (r->received - r->received_prior);
        r->expected_prior = expected;
        r->received_prior = r->received;
        if (exp_int > 0 && lost_int > 0) {
                int64_t f = (lost_int << 8) / exp_int;
                rb->fraction_lost = (uint8_t)(f > 255 ? 255 : f);
        }
        rb->ext_highest_seq = (uint32_t)r->highest;
        int64_t j = r->jitter_q4 >> 4;
        rb->jitter = (uint32_t)(j > UINT32_MAX ? UINT32_MAX : j);
        if (r->have_sr) {
                rb->lsr = rtcp_ntp_mid32(r->sr_ntp);
                /* Capped before the multiplication; the field saturates at 18 hours anyway. */
                uint64_t dlsr = min_u64(since(now, r->sr_arrival), 1ull << 40) * 65536 / US_PER_SEC;
                rb->dlsr = (uint32_t)min_u64(dlsr, UINT32_MAX);
        }
        if (rtcp_build_rr(b, &rr) < 0)
                buf_reset(b);
}

static uint64_t keyframe_interval(const struct rtp_receiver *r)
{
        return max_u64(r->rtt_us, RTP_RECEIVER_KEYFRAME_REPEAT_US);
}

static bool keyframe_due(const struct rtp_receiver *r, uint64_t now)
{
        if (!r->video || !r->kf_wanted || !(r->cfg.pli || r->cfg.fir))
                return false;
        return !r->kf_sent || now >= r->kf_last_us + keyframe_interval(r);
}

/* Every RTCP packet we send is a compound starting with an RR; feedback rides along. */
static void send_feedback(struct rtp_receiver *r, uint64_t now)
{
        if (!r->started)
                return;
        size_t n = 0;
        for (size_t i = 0; i < r->n_nacks; i++) {
                struct nack_entry *e = &r->nacks[i];
                if (nack_due(r, e) > now)
                        continue;
                e->tries++;
                e->sent_us = now;
                r->nack_seqs[n++] = (uint16_t)e->seq;
        }
        bool kf = keyframe_due(r, now);
        bool rr = r->rr_active && now >= r->next_rr;
        if (!n && !kf && !rr)
                return;
        size_t off = 0;
        do {
                struct item it = {.kind = RTP_RECEIVER_OUT_RTCP};
                build_rr(r, now, &it.data);
                size_t take = n - off < NACK_PER_PACKET ? n - off : NACK_PER_PACKET;
                if (take && rtcp_build_nack(&it.data, r->cfg.local_ssrc, r->ssrc,
                                            r->nack_seqs + off, take) == 0) {
                        r->st.nack_count++;
                        r->st.nack_requested += take;
                }
                off += take;
                if (kf) {
                        kf = false;
                        r->kf_sent = true;
                        r->kf_last_us = now;
                        if (r->cfg.pli) {
                                if (rtcp_build_pli(&it.data, r->cfg.local_ssrc, r->ssrc) == 0)
                                        r->st.pli_count++;
                        } else {
                                struct rtcp_fir_entry e = {.ssrc = r->ssrc, .seq = r->fir_seq++};
                                if (rtcp_build_fir(&it.data, r->cfg.local_ssrc, &e, 1) == 0)
                                        r->st.fir_count++;
                        }
                }
                if (it.data.len)
                        push(r, &it);
                else
                        item_free(&it);
        } while (off < n);
        if (rr) {
                /* On schedule even when the caller's timer fires late. */
                r->next_rr += r->cfg.rr_interval_us;
                if (r->next_rr <= now)
                        r->next_rr = now + r->cfg.rr_interval_us;
        }
}

static void process(struct rtp_receiver *r, uint64_t now)
{
        if (!r->started)
                return;
        update_target(r, now);
        if (r->video)
                video_process(r, now);
        else
                audio_process(r, now);
        send_feedback(r, now);
}

/* ---- stream state ---- */

static void clear_stream(struct rtp_receiver *r)
{
        for (size_t i = 0; i < RTP_RECEIVER_BUFFER_PACKETS; i++)
                slot_free(r, &r->slots[i]);
        hist_clear(r);
        r->n_nacks = 0;
        r->lost_carry += r->highest - r->base_seq + 1 - r->received;
        r->started = false;
}

static void start_stream(struct rtp_receiver *r, uint64_t now, const struct in_pkt *in)
{
        if (!r->t0_set) {
                r->t0_set = true;
                r->t0 = now;
        }
        r->started = true;
        r->ts_origin = r->ts_ref = in->ts;
        r->highest = r->cursor = r->base_seq = in->seq;
        r->cursor_moved = false;
        r->at_boundary = true;
        r->drop_ts_valid = false;
        r->received = r->expected_prior = r->received_prior = 0;
        r->have_base = false;
        r->have_jitter_ref = false;
        r->need_key = r->video;
        r->seen_key = false;
        r->grace_fired = false;
        r->grace_at = now + RTP_RECEIVER_KEYFRAME_GRACE_US;
        r->lost_active = false;
        r->have_last_audio = false;
        if (!r->rr_active) {
                r->rr_active = true;
                r->next_rr = now + r->cfg.rr_interval_us;
        }
}

static void count_received(struct rtp_receiver *r, const struct in_pkt *in, int64_t seq)
{
        r->st.packets_received++;
        r->st.bytes_received += in->len;
        r->st.header_bytes_received += in->header_len;
        if (in->retransmission)
                r->st.retransmitted_packets_received++;
        r->received++;
        if (seq < r->base_seq)
                r->base_seq = seq;
        hist_mark(r, seq);
}

/* Room for seq in the window: older packets are given up (video) or dropped (audio). */
static void make_room(struct rtp_receiver *r, int64_t seq)
{
        int64_t lowest = seq - (int64_t)RTP_RECEIVER_BUFFER_PACKETS + 1;
        if (lowest <= r->cursor)
                return;
        log_debug("rtp", "ssrc %08x: packet buffer overflow", (unsigned)r->ssrc);
        if (r->video) {
                struct vexam x;
                video_examine(r, &x);
                enter_need_key(r, x.state == VX_EMPTY ? r->ts_ref : x.ts);
                drop_until(r, lowest, true);
                want_keyframe(r);
        } else {
                drop_until(r, lowest, true);
        }
}

static void probe_drop(struct rtp_receiver *r)
{
        free(r->probe_data);
        r->probe_data = NULL;
        r->probe_valid = false;
}

static void probe_keep(struct rtp_receiver *r, uint64_t now, const struct in_pkt *in)
{
        probe_drop(r);
        uint8_t *copy = NULL;
        if (in->len && !(copy = malloc(in->len)))
                return;
        if (copy)
                memcpy(copy, in->payload, in->len);
        r->probe = *in;
        r->probe.payload = copy;
        r->probe_data = copy;
        r->probe_at = now;
        r->probe_valid = true;
}

static void insert(struct rtp_receiver *r, uint64_t now, const struct in_pkt *in)
{
        if (!r->started)
                start_stream(r, now, in);
        int64_t seq = seq_ext(r, in->seq);
        int64_t ts = ts_ext(r, in->ts);
        int64_t d = seq - r->highest;
        bool jump = d > RTP_RECEIVER_MAX_DROPOUT || d < -RTP_RECEIVER_MAX_DROPOUT ||
                    ts - r->ts_origin > TS_RANGE || ts - r->ts_origin < -TS_RANGE;
        if (jump) {
                if (in->retransmission)
                        return; /* a stale or bogus retransmission never restarts a stream */
                /* RFC 3550 A.1: a restarted sender is believed when the next packet follows. */
                if (!r->probe_valid || in->seq != (uint16_t)(r->probe.seq + 1)) {
                        probe_keep(r, now, in);
                        log_debug("rtp", "ssrc %08x: sequence jump to %u held back",
                                  (unsigned)r->ssrc, (unsigned)in->seq);
                        return;
                }
                log_info("rtp", "ssrc %08x: sequence restarted at %u", (unsigned)r->ssrc,
                         (unsigned)r->probe.seq);
                struct in_pkt first = r->probe;
                uint8_t *first_data = r->probe_data;
                uint64_t at = r->probe_at;
                r->probe_valid = false;
                r->probe_data = NULL;
                clear_stream(r);
                start_stream(r, at, &first);
                insert(r, at, &first);
                free(first_data);
                seq = seq_ext(r, in->seq);
                ts = ts_ext(r, in->ts);
        }
        probe_drop(r);

        if (seq < r->cursor) {
                /* Before anything was played, a reordered earlier packet is the new start. */
                bool rewind = !r->cursor_moved && r->cursor - seq <= START_MISORDER &&
                              r->highest - seq < (int64_t)RTP_RECEIVER_BUFFER_PACKETS &&
                              !hist_has(r, seq);
                if (!rewind) {
                        if (hist_has(r, seq)) {
                                r->st.packets_duplicated++;
                        } else {
                                count_received(r, in, seq);
                                r->st.packets_discarded++;
                        }
                        return;
                }
                if (r->nack_on)
                        for (int64_t k = seq + 1; k < r->cursor; k++)
                                nack_add(r, k, now);
                r->cursor = seq;
        }
        struct slot *s = slot_at(r, seq);
        if (s->used && s->seq == seq) {
                r->st.packets_duplicated++;
                return;
        }
        if (r->buffered_bytes + in->len > r->mem_cap) {
                log_debug("rtp", "ssrc %08x: buffer full, packet %u dropped", (unsigned)r->ssrc,
                          (unsigned)in->seq);
                r->st.packets_discarded++;
                return;
        }
        uint8_t *copy = NULL;
        if (in->len) {
                copy = malloc(in->len);
                if (!copy)
                        return; /* lost like a dropped datagram */
                memcpy(copy, in->payload, in->len);
        }
        make_room(r, seq);
        s = slot_at(r, seq);
        slot_free(r, s); /* nothing should be there; never leak if something is */
        unsigned tries = nack_remove(r, seq);
        bool resent = in->retransmission || tries > 0;
        *s = (struct slot){.used = true,
                           .padding = in->len == 0,
                           .marker = in->marker,
                           .frame_start = in->frame_start,
                           .keyframe = in->keyframe,
                           .resent = resent,
                           .seq = seq,
                           .ts = ts,
                           .arrival_us = now,
                           .data = copy,
                           .len = in->len,
                           .desc_len = in->desc_len,
                           .samples = in->samples};
        r->buffered_bytes += in->len;
        struct in_pkt counted = *in;
        counted.retransmission = resent;
        count_received(r, &counted, seq);

        bool in_order = seq > r->highest || r->received == 1;
        if (seq > r->highest) {
                if (seq > r->highest + 1) {
                        r->loss_active = true;
                        r->loss_until = now + RTP_RECEIVER_LOSS_MEMORY_US;
                        if (r->nack_on)
                                for (int64_t k = r->highest + 1; k < seq; k++)
                                        if (k >= r->cursor)
                                                nack_add(r, k, now);
                }
                r->highest = seq;
                r->ts_ref = ts;
        }
        if (!resent || !r->have_base)
                timing_update(r, now, ts, in_order);
        if (in->keyframe) {
                r->seen_key = true;
                r->kf_wanted = false;
        }
}

/* ---- public API ---- */

struct rtp_receiver *rtp_receiver_new(const struct rtp_receiver_config *cfg)
{
        if (!cfg || (cfg->codec != RTP_RECEIVER_CODEC_VP8 && cfg->codec != RTP_RECEIVER_CODEC_OPUS))
                return NULL;
        if (cfg->pt > 127 || cfg->rtx_pt > 127 || (cfg->rtx_pt && cfg->rtx_pt == cfg->pt))
                return NULL;
        if (cfg->clock_rate && (cfg->clock_rate < 1000 || cfg->clock_rate > 1000000))
                return NULL;
        struct rtp_receiver *r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        r->cfg = *cfg;
        r->video = cfg->codec == RTP_RECEIVER_CODEC_VP8;
        r->nack_on = r->video && cfg->nack;
        if (!r->cfg.clock_rate)
                r->cfg.clock_rate = r->video ? 90000 : OPUS_RTP_CLOCK_RATE;
        if (!r->cfg.min_delay_us)
                r->cfg.min_delay_us =
                    r->video ? RTP_RECEIVER_VIDEO_MIN_DELAY_US : RTP_RECEIVER_AUDIO_MIN_DELAY_US;
        if (!r->cfg.max_delay_us)
                r->cfg.max_delay_us =
                    r->video ? RTP_RECEIVER_VIDEO_MAX_DELAY_US : RTP_RECEIVER_AUDIO_MAX_DELAY_US;
        if (r->cfg.min_delay_us > 60 * US_PER_SEC)
                r->cfg.min_delay_us = 60 * US_PER_SEC;
        if (r->cfg.max_delay_us > 60 * US_PER_SEC)
                r->cfg.max_delay_us = 60 * US_PER_SEC;
        if (r->cfg.max_delay_us < r->cfg.min_delay_us)
                r->cfg.max_delay_us = r->cfg.min_delay_us;
        if (!r->cfg.rr_interval_us)
                r->cfg.rr_interval_us = RTP_RECEIVER_DEFAULT_RR_US;
        if (!r->cfg.max_frame_size)
                r->cfg.max_frame_size = RTP_RECEIVER_DEFAULT_FRAME_SIZE;
        if (r->cfg.max_frame_size > (64u << 20))
                r->cfg.max_frame_size = 64u << 20;
        /* Two frames in flight and some slack bound what the buffer holds. */
        r->mem_cap = 2 * r->cfg.max_frame_size + (2u << 20);
        r->ssrc = cfg->ssrc;
        r->st.ssrc = cfg->ssrc;
        r->rtt_us = RTP_RECEIVER_DEFAULT_RTT_US;
        r->st.rtt_us = r->rtt_us;
        r->slots = calloc(RTP_RECEIVER_BUFFER_PACKETS, sizeof(*r->slots));
        r->hist = calloc(HIST_SIZE, sizeof(*r->hist));
        r->nacks = calloc(RTP_RECEIVER_BUFFER_PACKETS, sizeof(*r->nacks));
        r->nack_seqs = calloc(RTP_RECEIVER_BUFFER_PACKETS, sizeof(*r->nack_seqs));
        r->vp8_pk = calloc(RTP_RECEIVER_BUFFER_PACKETS, sizeof(*r->vp8_pk));
        if (!r->slots || !r->hist || !r->nacks || !r->nack_seqs || !r->vp8_pk) {
                rtp_receiver_free(r);
                return NULL;
        }
        hist_clear(r);
        update_target(r, 0);
        return r;
}

void rtp_receiver_free(struct rtp_receiver *r)
{
        if (!r)
                return;
        if (r->slots)
                for (size_t i = 0; i < RTP_RECEIVER_BUFFER_PACKETS; i++)
                        slot_free(r, &r->slots[i]);
        free(r->slots);
        free(r->hist);
        free(r->nacks);
        free(r->nack_seqs);
        free(r->vp8_pk);
        free(r->probe_data);
        item_free(&r->cur);
        while (r->out.len) {
                item_free(&r->out.v[r->out.head]);
                r->out.head = (r->out.head + 1) % r->out.cap;
                r->out.len--;
        }
        free(r->out.v);
        free(r);
}

/* Checks the codec payload and fills in what the buffer needs. */
static int classify(const struct rtp_receiver *r, struct in_pkt *in)
{
        if (in->len == 0)
                return 0; /* padding only: keeps its sequence number */
        if (r->video) {
                struct vp8_descriptor d;
                if (vp8_descriptor_parse(&d, in->payload, in->len) < 0 || d.len >= in->len)
                        return -EBADMSG;
                in->desc_len = d.len;
                in->frame_start = d.start && d.pid == 0;
                in->keyframe = vp8_payload_is_keyframe(in->payload, in->len);
                return 0;
        }
        int samples = opus_packet_samples(in->payload, in->len);
        if (samples < 0)
                return -EBADMSG;
        in->samples = (uint32_t)samples;
        return 0;
}

int rtp_receiver_handle_rtp(struct rtp_receiver *r, uint64_t now, const uint8_t *data, size_t len)
{
        now = clamp_time(now);
        struct rtp_packet p;
        if (!data || rtp_parse(&p, data, len) < 0)
                return -EBADMSG;
        struct in_pkt in = {.seq = p.h.seq,
                            .ts = p.h.ts,
                            .marker = p.h.marker,
                            .payload = p.payload,
                            .len = p.payload_len};
        if (r->cfg.rtx_pt && p.h.pt == r->cfg.rtx_pt) {
                if (r->cfg.rtx_ssrc && p.h.ssrc != r->cfg.rtx_ssrc)
                        return -ENOENT;
                if (p.payload_len == 1)
                        return -EBADMSG;
                /* Padding-only RTX packets (nothing after the OSN) are bandwidth probes. */
                if (p.payload_len <= 2)
                        return 0;
                if (!r->ssrc)
                        return -ENOENT; /* cannot tell whose retransmission it is yet */
                /* RFC 4588 section 4: the original sequence number, then the payload. */
                in.seq = (uint16_t)(p.payload[0] << 8 | p.payload[1]);
                in.payload = p.payload + 2;
                in.len = p.payload_len - 2;
                in.retransmission = true;
        } else {
                if (p.h.pt != r->cfg.pt)
                        return -ENOENT;
                if (r->ssrc && p.h.ssrc != r->ssrc)
                        return -ENOENT;
        }
        in.header_len = len - in.len;
        int rc = classify(r, &in);
        if (rc < 0)
                return rc;
        if (in.len > r->cfg.max_frame_size) {
                r->st.packets_discarded++;
                return 0;
        }
        if (!r->ssrc) {
                r->ssrc = p.h.ssrc;
                r->st.ssrc = r->ssrc;
        }
        insert(r, now, &in);
        process(r, now);
        return 0;
}

int rtp_receiver_handle_rtcp(struct rtp_receiver *r, uint64_t now, const uint8_t *data, size_t len)
{
        now = clamp_time(now);
        struct rtcp_iter it;
        if (!data || rtcp_iter_init(&it, data, len) < 0)
                return -EBADMSG;
        struct rtcp_packet *p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        while (rtcp_iter_next(&it, p) == 1) {
                if (!r->ssrc)
                        break;
                if (p->kind == RTCP_KIND_SR && p->u.sr.ssrc == r->ssrc) {
                        r->have_sr = true;
                        r->sr_ntp = p->u.sr.ntp;
                        r->sr_rtp = p->u.sr.rtp_ts;
                        r->sr_arrival = now;
                        r->st.have_sr = true;
                        r->st.sr_received++;
                } else if (p->kind == RTCP_KIND_BYE) {
                        for (unsigned i = 0; i < p->u.bye.count; i++) {
                                if (p->u.bye.ssrc[i] != r->ssrc)
                                        continue;
                                /* RFC 3550 6.3.7: the source left; report on it no more. */
                                log_debug("rtp", "ssrc %08x: BYE", (unsigned)r->ssrc);
                                r->rr_active = false;
                        }
                }
        }
        free(p);
        process(r, now);
        return 0;
}

void rtp_receiver_set_rtt(struct rtp_receiver *r, uint64_t rtt_us)
{
        r->rtt_us = min_u64(rtt_us, 60 * US_PER_SEC);
        r->st.rtt_us = r->rtt_us;
        uint64_t t = r->target_us;
        update_target(r, 0);
        if (t != r->target_us)
                log_debug("rtp", "ssrc %08x: playout target %llu us", (unsigned)r->ssrc,
                          (unsigned long long)r->target_us);
}

void rtp_receiver_set_sync_delay(struct rtp_receiver *r, uint64_t extra_us)
{
        r->sync_us = min_u64(extra_us, RTP_RECEIVER_MAX_SYNC_DELAY_US);
}

int rtp_receiver_ntp_time(const struct rtp_receiver *r, uint32_t rtp_ts, uint64_t *ntp_us)
{
        if (!r->have_sr)
                return -ENODATA;
        uint64_t sec = r->sr_ntp >> 32;
        uint64_t frac = r->sr_ntp & 0xffffffffu;
        int64_t base = (int64_t)(sec * US_PER_SEC + ((frac * US_PER_SEC) >> 32));
        int64_t diff = (int32_t)(rtp_ts - r->sr_rtp);
        int64_t t = base + ticks_to_us(diff, r->cfg.clock_rate);
        *ntp_us = t > 0 ? (uint64_t)t : 0;
        return 0;
}

void rtp_receiver_request_keyframe(struct rtp_receiver *r, uint64_t now)
{
        if (!r->video)
                return;
        r->kf_wanted = true;
        send_feedback(r, clamp_time(now));
}

uint64_t rtp_receiver_next_deadline(const struct rtp_receiver *r)
{
        if (!r->started)
                return UINT64_MAX;
        uint64_t d = UINT64_MAX;
        if (r->video) {
                struct vexam x;
                video_examine(r, &x);
                d = video_action_time(r, &x);
                if (!r->seen_key && !r->grace_fired)
                        d = min_u64(d, r->grace_at);
                if (r->kf_wanted && (r->cfg.pli || r->cfg.fir))
                        d = min_u64(d, r->kf_sent ? r->kf_last_us + keyframe_interval(r) : 0);
        } else {
                struct aexam x;
                audio_examine(r, &x);
                d = audio_action_time(r, &x);
        }
        for (size_t i = 0; i < r->n_nacks; i++)
                d = min_u64(d, nack_due(r, &r->nacks[i]));
        if (r->rr_active)
                d = min_u64(d, r->next_rr);
        if (r->loss_active && r->nack_on)
                d = min_u64(d, r->loss_until);
        return d;
}

void rtp_receiver_handle_timeout(struct rtp_receiver *r, uint64_t now)
{
        process(r, clamp_time(now));
}

int rtp_receiver_poll_output(struct rtp_receiver *r, struct rtp_receiver_output *out)
{
        item_free(&r->cur);
        if (!r->out.len)
                return 0;
        r->cur = r->out.v[r->out.head];
        r->out.head = (r->out.head + 1) % r->out.cap;
        r->out.len--;
        const struct item *it = &r->cur;
        memset(out, 0, sizeof(*out));
        out->kind = it->kind;
        out->data = it->data.data;
        out->len = it->data.len;
        out->rtp_ts = it->rtp_ts;
        out->keyframe = it->keyframe;
        out->first_arrival_us = it->first_arrival_us;
        out->playout_us = it->playout_us;
        out->samples = it->samples;
        out->fec_data = it->fec.len ? it->fec.data : NULL;
        out->fec_len = it->fec.len;
        out->frames_skipped = it->frames_skipped;
        return 1;
}

void rtp_receiver_get_stats(const struct rtp_receiver *r, struct rtp_receiver_stats *out)
{
        *out = r->st;
        out->packets_lost = r->lost_carry;
        if (r->started)
                out->packets_lost += r->highest - r->base_seq + 1 - r->received;
        out->jitter_s = (double)r->jitter_q4 / 16.0 / r->cfg.clock_rate;
        out->target_delay_us = r->target_us;
}

uint32_t rtp_receiver_ssrc(const struct rtp_receiver *r)
{
        return r->ssrc;
}
