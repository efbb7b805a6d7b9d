#include "rtp/rtp_sender.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "rtp/opus.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/vp8.h"

#define US_PER_SEC 1000000ull
/* Without an RTT estimate, a packet is resent at most once in this long. */
#define RTX_MIN_INTERVAL_US 10000u
/*
 * Key frame requests (PLI, FIR) that only repeat one being answered are not passed on. A
 * receiver repeats its request until a key frame reaches it (every 200 ms or an RTT); on a slow
 * path the key frame takes longer than that to get through the pacer, and each repeat honoured
 * made another large key frame: after a 5 s outage a starved sender coded key frames only
 * (libvpx's rate control dropped the frames between them), ~1 frame a second. A request is the
 * same one while the encoder has not coded the key frame yet (up to KEYFRAME_REASK_US, in case
 * the request went astray), while that key frame is in the pacer, and for a round trip after its
 * last packet left (KEYFRAME_RTT_US without an RTT): what the receiver sent before it could see
 * the key frame.
 */
#define KEYFRAME_REASK_US 1000000u
#define KEYFRAME_RTT_US   100000u
/*
 * Retransmissions go ahead of media, but within a budget: the target bitrate, with a bucket of
 * this much time at it. A repair after ordinary loss fits at once; a flood of NACKs (hundreds
 * of packets asked for after an outage, asked again by each retry) delays the media by 100 ms
 * at most (the bucket drains at the pacing rate less what refills it: 1.5x the target) and
 * cannot starve the key frame the receiver waits for.
 */
#define RTX_BURST_US 150000u

/* A queued output: an RTP or RTCP packet (owned bytes) or an event. */
struct item {
        enum rtp_sender_output_kind kind;
        struct buf data;
        uint16_t seq;          /* RTP: the original sequence number */
        size_t payload_len;    /* RTP: media payload bytes (without the RTX OSN) */
        uint64_t orig_sent_us; /* RTP retransmission: when the original went out */
        bool retransmission;
        bool marker;
        size_t twcc_offset;
        uint64_t release_us;
        bool fir;
        uint32_t nack_requested, nack_resent, nack_missing;
        uint64_t remb_bps;
};

/* A ring of items; items move in and out by value, so their buffers change owner. */
struct queue {
        struct item *v;
        size_t head, len, cap;
};

struct history_slot {
        struct buf pkt;
        bool used;
        uint16_t seq;
        size_t payload_len;
        uint64_t sent_us;
        bool resent;
        uint64_t last_resent_us; /* when its last retransmission left the pacer */
        bool pending;            /* a retransmission of it waits in the RTX queue */
};

struct rtp_sender {
        struct rtp_sender_config cfg;
        char *cname;
        char *mid;
        size_t max_payload;
        bool stopped;

        uint16_t seq;
        uint16_t rtx_seq;
        struct vp8_packetizer vp8;
        struct vp8_fragment *frags;
        size_t frags_cap;

        /* Timestamp state: the last frame's RTP time and capture time, for SRs and Opus. */
        bool have_last;
        uint32_t last_ts;
        uint64_t last_capture_us;
        uint32_t last_samples; /* Opus: RTP ticks the last packet covers */

        /* Pacer: a leaky bucket kept in byte-microseconds so no fraction of a byte is lost. */
        uint64_t pacing_Bps;
        int64_t budget;
        uint64_t pacer_last_us;
        bool pacer_started;
        struct queue media_q;
        struct queue rtx_q;
        size_t queued_bytes;
        size_t rtx_bytes;   /* of queued_bytes, in the RTX queue */
        int64_t rtx_budget; /* byte-microseconds, refilled at the target bitrate */

        struct queue out_q;
        struct item cur; /* the item last handed out, whose bytes the caller is reading */
        /* A PLI or FIR came since the last key frame was queued: the receiver cannot use the
         * packets before the next key frame any more. Once it is queued, their queued
         * retransmissions go, and NACKs for packets before nack_floor (its first) are ignored. */
        bool keyframe_asked;
        uint64_t keyframe_asked_us;
        /* The key frame that answered the last request: queued up to kf_last_seq, then sent. */
        bool kf_queued;
        uint16_t kf_last_seq;
        bool kf_sent;
        uint64_t kf_sent_us;
        bool have_floor;
        uint16_t nack_floor;

        struct history_slot *hist;
        size_t hist_size;

        bool sr_started;
        uint64_t next_sr_us;
        uint32_t sr_packets;
        uint32_t sr_octets;

        bool fir_seen;
        uint32_t fir_sender;
        uint8_t fir_seq;

        struct rtp_sender_stats st;
};

/* ---- queue ---- */

static int queue_push(struct queue *q, struct item *it)
{
        if (q->len == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 16;
                struct item *v = calloc(cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
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
        return 0;
}

static void queue_pop(struct queue *q, struct item *out)
{
        *out = q->v[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
}

static void queue_clear(struct queue *q)
{
        struct item it;
        while (q->len) {
                queue_pop(q, &it);
                buf_free(&it.data);
        }
}

static void queue_free(struct queue *q)
{
        queue_clear(q);
        free(q->v);
        memset(q, 0, sizeof(*q));
}

/* ---- helpers ---- */

/* capture_us * clock / 1e6 without overflowing for any realistic clock value. */
static uint64_t us_to_ticks(uint64_t us, uint32_t clock)
{
        return (us / US_PER_SEC) * clock + (us % US_PER_SEC) * clock / US_PER_SEC;
}

static int64_t signed_us_to_ticks(int64_t us, uint32_t clock)
{
        return us >= 0 ? (int64_t)us_to_ticks((uint64_t)us, clock)
                       : -(int64_t)us_to_ticks((uint64_t)-us, clock);
}

static void header_init(const struct rtp_sender *s, struct rtp_header *h)
{
        memset(h, 0, sizeof(*h));
        h->pt = s->cfg.pt;
        h->ssrc = s->cfg.ssrc;
        if (s->cfg.mid_ext_id && s->mid)
                rtp_header_add_mid(h, s->cfg.mid_ext_id, s->mid);
        if (s->cfg.twcc_ext_id)
                rtp_header_add_twcc_seq(h, s->cfg.twcc_ext_id, 0);
}

static size_t twcc_offset_of(const struct rtp_sender *s, const struct buf *pkt)
{
        size_t off, n;
        if (!s->cfg.twcc_ext_id ||
            rtp_find_ext_value(pkt->data, pkt->len, s->cfg.twcc_ext_id, &off, &n) < 0 || n != 2)
                return 0;
        return off;
}

/* ---- pacer ---- */

static uint64_t effective_rate(const struct rtp_sender *s)
{
        uint64_t rate = s->pacing_Bps;
        /* A media backlog that would take longer than the bound drains faster instead of
         * growing (retransmissions keep to their own budget). */
        uint64_t drain = (s->queued_bytes - s->rtx_bytes) * US_PER_SEC / RTP_SENDER_MAX_QUEUE_US;
        return drain > rate ? drain : rate;
}

static int64_t burst_budget(const struct rtp_sender *s)
{
        uint64_t b = effective_rate(s) * s->cfg.burst_us;
        return b > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)b;
}

/* The target bitrate in bytes per second, which retransmissions may use. */
static uint64_t rtx_rate(const struct rtp_sender *s)
{
        return s->pacing_Bps * RTP_SENDER_PACING_DEN / RTP_SENDER_PACING_NUM;
}

static int64_t rtx_burst(const struct rtp_sender *s)
{
        uint64_t b = rtx_rate(s) * RTX_BURST_US;
        return b > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)b;
}

static void pacer_refill(struct rtp_sender *s, uint64_t now)
{
        if (!s->pacer_started) {
                s->pacer_started = true;
                s->pacer_last_us = now;
                s->budget = burst_budget(s);
                s->rtx_budget = rtx_burst(s);
                return;
        }
        if (now <= s->pacer_last_us)
                return;
        uint64_t dt = now - s->pacer_last_us;
        /* Past a second the bucket is full anyway; the cap also keeps the product in range. */
        if (dt > US_PER_SEC)
                dt = US_PER_SEC;
        s->budget += (int64_t)(dt * effective_rate(s));
        if (s->budget > burst_budget(s))
                s->budget = burst_budget(s);
        s->rtx_budget += (int64_t)(dt * rtx_rate(s));
        if (s->rtx_budget > rtx_burst(s))
                s->rtx_budget = rtx_burst(s);
        s->pacer_last_us = now;
}

/* The history slot of a queued retransmission, NULL once the original was evicted. */
static struct history_slot *rtx_slot(struct rtp_sender *s, const struct item *it)
{
        struct history_slot *slot = &s->hist[it->seq % s->hist_size];
        return slot->used && slot->seq == it->seq ? slot : NULL;
}

/* Takes a queued retransmission back without sending it. */
static void rtx_discard(struct rtp_sender *s, struct item *it)
{
        struct history_slot *slot = rtx_slot(s, it);
        if (slot)
                slot->pending = false;
        s->queued_bytes -= it->data.len;
        s->rtx_bytes -= it->data.len;
        buf_free(&it->data);
}

static void rtx_flush(struct rtp_sender *s)
{
        struct item it;
        while (s->rtx_q.len) {
                queue_pop(&s->rtx_q, &it);
                rtx_discard(s, &it);
        }
}

static void release(struct rtp_sender *s, struct item *it, uint64_t now)
{
        it->release_us = now;
        if (it->retransmission) {
                struct history_slot *slot = rtx_slot(s, it);
                if (slot) {
                        slot->pending = false;
                        slot->resent = true;
                        slot->last_resent_us = now;
                }
                /*
                 * The RTX sequence number is given as the packet leaves, not when it was
                 * queued: bandwidth-probe padding shares the RTX stream and is sent at once,
                 * and a retransmission numbered behind more than the SRTP replay window (128)
                 * would be refused by srtp_protect ("replay_old") and never reach the peer.
                 */
                if (s->cfg.rtx && it->data.len >= 4) {
                        it->data.data[2] = (uint8_t)(s->rtx_seq >> 8);
                        it->data.data[3] = (uint8_t)s->rtx_seq;
                        s->rtx_seq++;
                }
        }
        if (!it->retransmission && s->kf_queued && it->seq == s->kf_last_seq) {
                s->kf_queued = false;
                s->kf_sent = true;
                s->kf_sent_us = now;
        }
        s->st.packets_sent++;
        s->st.bytes_sent += it->payload_len;
        s->st.header_bytes_sent += it->data.len - it->payload_len;
        if (it->retransmission) {
                s->st.retransmitted_packets_sent++;
                s->st.retransmitted_bytes_sent += it->payload_len;
        } else {
                s->sr_packets++;
                s->sr_octets += (uint32_t)it->payload_len;
                if (it->marker && s->cfg.codec == RTP_SENDER_CODEC_VP8)
                        s->st.frames_sent++;
                if (!s->sr_started) {
                        /* A first SR right away lets the receiver synchronise early. */
                        s->sr_started = true;
                        s->next_sr_us = now;
                }
        }
        s->queued_bytes -= it->data.len;
        if (it->retransmission)
                s->rtx_bytes -= it->data.len;
        if (queue_push(&s->out_q, it) < 0)
                buf_free(&it->data); /* lost like a dropped datagram */
}

static void pacer_process(struct rtp_sender *s, uint64_t now)
{
        pacer_refill(s, now);
        for (;;) {
                /* A retransmission the receiver can no longer use (its original is older than
                 * the history keeps) is not worth the bandwidth. */
                struct item it;
                while (s->rtx_q.len &&
                       now - s->rtx_q.v[s->rtx_q.head].orig_sent_us > s->cfg.history_max_age_us) {
                        queue_pop(&s->rtx_q, &it);
                        rtx_discard(s, &it);
                }
                bool rtx = s->rtx_q.len && (!rtx_rate(s) || s->rtx_budget >= 0);
                struct queue *q = rtx ? &s->rtx_q : &s->media_q;
                if (!q->len)
                        break;
                if (s->pacing_Bps && s->budget < 0)
                        break;
                queue_pop(q, &it);
                if (s->pacing_Bps) {
                        s->budget -= (int64_t)(it.data.len * US_PER_SEC);
                        if (rtx)
                                s->rtx_budget -= (int64_t)(it.data.len * US_PER_SEC);
                }
                release(s, &it, now);
        }
}

/* ---- sender reports ---- */

static uint32_t rtp_time_at(const struct rtp_sender *s, uint64_t now)
{
        if (!s->have_last)
                return (uint32_t)(s->cfg.ts_offset + us_to_ticks(now, s->cfg.clock_rate));
        int64_t d = (int64_t)(now - s->last_capture_us);
        return (uint32_t)(s->last_ts + (uint32_t)signed_us_to_ticks(d, s->cfg.clock_rate));
}

static int queue_rtcp(struct rtp_sender *s, struct buf *b)
{
        struct item it = {.kind = RTP_SENDER_OUT_RTCP, .data = *b};
        buf_init(b);
        int rc = queue_push(&s->out_q, &it);
        if (rc < 0)
                buf_free(&it.data);
        return rc;
}

static int build_report(struct rtp_sender *s, uint64_t now, struct buf *b)
{
        int rc;
        if (s->sr_started) {
                struct rtcp_sr sr = {
                    .ssrc = s->cfg.ssrc,
                    .ntp = rtcp_ntp_from_us(s->cfg.ntp_offset_us + now),
                    .rtp_ts = rtp_time_at(s, now),
                    .packet_count = s->sr_packets,
                    .octet_count = s->sr_octets,
                };
                rc = rtcp_build_sr(b, &sr);
                s->st.sr_sent++;
        } else {
                struct rtcp_rr rr = {.ssrc = s->cfg.ssrc};
                rc = rtcp_build_rr(b, &rr);
        }
        if (rc < 0)
                return rc;
        uint32_t ssrc = s->cfg.ssrc;
        const char *cname = s->cname;
        return rtcp_build_sdes_cname(b, &ssrc, &cname, 1);
}

static void maybe_send_sr(struct rtp_sender *s, uint64_t now)
{
        if (!s->sr_started || s->stopped || now < s->next_sr_us)
                return;
        struct buf b = BUF_INIT;
        if (build_report(s, now, &b) == 0)
                queue_rtcp(s, &b);
        buf_free(&b);
        s->next_sr_us = now + s->cfg.sr_interval_us;
}

/* ---- lifecycle ---- */

static size_t ext_overhead(const struct rtp_sender *s)
{
        struct rtp_header h;
        header_init(s, &h);
        return rtp_header_size(&h);
}

struct rtp_sender *rtp_sender_new(const struct rtp_sender_config *cfg)
{
        if (!cfg || !cfg->cname || strlen(cfg->cname) > 255 || cfg->pt > 127 ||
            (cfg->rtx && cfg->rtx_pt > 127) ||
            (cfg->codec != RTP_SENDER_CODEC_VP8 && cfg->codec != RTP_SENDER_CODEC_OPUS) ||
            (cfg->mid_ext_id && (!cfg->mid || !cfg->mid[0] || strlen(cfg->mid) > 255)) ||
            (cfg->mid_ext_id && cfg->mid_ext_id == cfg->twcc_ext_id))
                return NULL;
        struct rtp_sender *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        s->cfg = *cfg;
        s->cname = strdup(cfg->cname);
        s->mid = cfg->mid ? strdup(cfg->mid) : NULL;
        s->cfg.cname = s->cname;
        s->cfg.mid = s->mid;
        if (!s->cfg.clock_rate)
                s->cfg.clock_rate =
                    cfg->codec == RTP_SENDER_CODEC_VP8 ? 90000 : OPUS_RTP_CLOCK_RATE;
        if (!s->cfg.packet_size)
                s->cfg.packet_size = RTP_SENDER_DEFAULT_PACKET_SIZE;
        if (!s->cfg.burst_us)
                s->cfg.burst_us = RTP_SENDER_DEFAULT_BURST_US;
        if (!s->cfg.history_max_age_us)
                s->cfg.history_max_age_us = RTP_SENDER_DEFAULT_MAX_AGE_US;
        if (!s->cfg.sr_interval_us)
                s->cfg.sr_interval_us = RTP_SENDER_DEFAULT_SR_US;
        size_t want = s->cfg.history_size ? s->cfg.history_size : RTP_SENDER_DEFAULT_HISTORY;
        if (want > 32768)
                want = 32768;
        /* A power of two divides 65536, so seq % size stays consistent across wrap-around. */
        s->hist_size = 1;
        while (s->hist_size < want)
                s->hist_size *= 2;
        s->hist = calloc(s->hist_size, sizeof(*s->hist));
        if (!s->cname || (cfg->mid && !s->mid) || !s->hist) {
                rtp_sender_free(s);
                return NULL;
        }
        size_t overhead = ext_overhead(s) + RTP_SENDER_SRTP_OVERHEAD + (cfg->rtx ? 2 : 0);
        s->max_payload = cfg->max_payload;
        if (!s->max_payload)
                s->max_payload = s->cfg.packet_size > overhead ? s->cfg.packet_size - overhead : 0;
        if (s->max_payload <= VP8_DESC_LEN) {
                rtp_sender_free(s);
                return NULL;
        }
        s->seq = cfg->first_seq;
        s->rtx_seq = cfg->rtx_first_seq;
        vp8_packetizer_init(&s->vp8, cfg->first_picture_id);
        s->pacing_Bps =
            (uint64_t)cfg->target_bitrate_bps * RTP_SENDER_PACING_NUM / RTP_SENDER_PACING_DEN / 8;
        return s;
}

void rtp_sender_free(struct rtp_sender *s)
{
        if (!s)
                return;
        queue_free(&s->media_q);
        queue_free(&s->rtx_q);
        queue_free(&s->out_q);
        buf_free(&s->cur.data);
        if (s->hist)
                for (size_t i = 0; i < s->hist_size; i++)
                        buf_free(&s->hist[i].pkt);
        free(s->hist);
        free(s->frags);
        free(s->cname);
        free(s->mid);
        free(s);
}

size_t rtp_sender_max_payload(const struct rtp_sender *s)
{
        return s->max_payload;
}

void rtp_sender_set_target_bitrate(struct rtp_sender *s, uint64_t now_us, uint32_t bps)
{
        pacer_refill(s, now_us);
        s->pacing_Bps = (uint64_t)bps * RTP_SENDER_PACING_NUM / RTP_SENDER_PACING_DEN / 8;
        if (s->budget > burst_budget(s))
                s->budget = burst_budget(s);
        pacer_process(s, now_us);
}

/* ---- sending ---- */

static int queue_media(struct rtp_sender *s, struct rtp_header *h, const uint8_t *prefix,
                       size_t prefix_len, const uint8_t *payload, size_t len)
{
        struct item it = {.kind = RTP_SENDER_OUT_RTP, .seq = h->seq, .marker = h->marker};
        int rc = rtp_build(&it.data, h, NULL, 0, 0);
        if (rc == 0)
                rc = buf_append(&it.data, prefix, prefix_len);
        if (rc == 0)
                rc = buf_append(&it.data, payload, len);
        if (rc < 0) {
                buf_free(&it.data);
                return rc;
        }
        it.payload_len = prefix_len + len;
        it.twcc_offset = twcc_offset_of(s, &it.data);
        s->queued_bytes += it.data.len;
        size_t n = it.data.len;
        rc = queue_push(&s->media_q, &it);
        if (rc < 0) {
                s->queued_bytes -= n;
                buf_free(&it.data);
        }
        return rc;
}

/* The RTP timestamp of an Opus packet: continuous unless the capture clock jumped ahead. */
static uint32_t opus_timestamp(struct rtp_sender *s, uint32_t from_capture, bool *gap)
{
        *gap = !s->have_last;
        if (!s->have_last)
                return from_capture;
        uint32_t expected = s->last_ts + s->last_samples;
        int32_t ahead = (int32_t)(from_capture - expected);
        uint32_t slack = s->last_samples > 960 ? s->last_samples : 960;
        if (ahead > (int32_t)slack) {
                *gap = true; /* after DTX silence: a new talkspurt */
                return from_capture;
        }
        return expected;
}

int rtp_sender_send_frame(struct rtp_sender *s, uint64_t now_us, uint64_t capture_us,
                          const void *frame, size_t len)
{
        if (s->stopped)
                return -EPIPE;
        if (!frame || len == 0)
                return -EINVAL;
        uint32_t ts = (uint32_t)(s->cfg.ts_offset + us_to_ticks(capture_us, s->cfg.clock_rate));
        struct rtp_header h;
        header_init(s, &h);
        int rc;
        if (s->cfg.codec == RTP_SENDER_CODEC_OPUS) {
                int samples = opus_packet_samples(frame, len);
                if (samples < 0 || len > s->max_payload)
                        return -EINVAL;
                if (s->media_q.len + 1 > RTP_SENDER_MAX_QUEUE_PACKETS)
                        return -ENOBUFS;
                bool gap;
                ts = opus_timestamp(s, ts, &gap);
                h.seq = s->seq;
                h.ts = ts;
                h.marker = gap; /* RFC 7587 section 4.1: first packet of a talkspurt */
                rc = queue_media(s, &h, NULL, 0, frame, len);
                if (rc < 0)
                        return rc;
                s->seq++;
                s->last_samples =
                    (uint32_t)((uint64_t)samples * s->cfg.clock_rate / OPUS_RTP_CLOCK_RATE);
        } else {
                size_t need = vp8_fragment_count_max(len, s->max_payload);
                if (s->media_q.len + need > RTP_SENDER_MAX_QUEUE_PACKETS)
                        return -ENOBUFS;
                if (need > s->frags_cap) {
                        struct vp8_fragment *f = realloc(s->frags, need * sizeof(*f));
                        if (!f)
                                return -ENOMEM;
                        s->frags = f;
                        s->frags_cap = need;
                }
                size_t n;
                rc = vp8_packetize(&s->vp8, frame, len, s->max_payload, s->frags, s->frags_cap, &n);
                if (rc < 0)
                        return rc;
                const uint8_t *bytes = frame;
                /*
                 * The key frame a PLI or FIR asked for: the receiver drops everything before
                 * it, so retransmissions still queued would only delay it (after an outage,
                 * hundreds of them: seconds of frozen video).
                 */
                if (!(bytes[0] & 0x01) && s->keyframe_asked) {
                        s->keyframe_asked = false;
                        rtx_flush(s);
                        s->have_floor = true;
                        s->nack_floor = s->seq;
                        s->kf_queued = true;
                        s->kf_sent = false;
                        s->kf_last_seq = (uint16_t)(s->seq + n - 1);
                } else if (s->have_floor && (uint16_t)(s->seq - s->nack_floor) >= s->hist_size) {
                        s->have_floor = false; /* all before it left the history anyway */
                }
                for (size_t i = 0; i < n; i++) {
                        h.seq = s->seq;
                        h.ts = ts;
                        h.marker = s->frags[i].marker;
                        rc = queue_media(s, &h, s->frags[i].desc, VP8_DESC_LEN,
                                         bytes + s->frags[i].offset, s->frags[i].len);
                        if (rc < 0) {
                                s->kf_queued = false; /* its last packet will never leave */
                                return rc; /* the frame is incomplete; the receiver NACKs or
                                              asks for a key frame as after a loss */
                        }
                        s->seq++;
                }
        }
        s->have_last = true;
        s->last_ts = ts;
        s->last_capture_us = capture_us;
        pacer_process(s, now_us);
        return 0;
}

/* ---- history and retransmission ---- */

static void remember(struct rtp_sender *s, struct item *it)
{
        /* The slot of the packet hist_size sequence numbers back: it is evicted. */
        struct history_slot *slot = &s->hist[it->seq % s->hist_size];
        buf_free(&slot->pkt);
        slot->pkt = it->data;
        buf_init(&it->data);
        slot->used = true;
        slot->seq = it->seq;
        slot->payload_len = it->payload_len;
        slot->sent_us = it->release_us;
        slot->resent = false;
        slot->pending = false;
}

/* Queues a retransmission of seq. Returns 1 when queued, 0 when skipped, -1 when unknown. */
static int resend(struct rtp_sender *s, uint64_t now, uint16_t seq)
{
        struct history_slot *slot = &s->hist[seq % s->hist_size];
        if (!slot->used || slot->seq != seq || now - slot->sent_us > s->cfg.history_max_age_us)
                return -1;
        /* Still queued: a repeated NACK (the receiver retries every RTT, which does not see
         * our queue) must not queue it again. */
        if (slot->pending)
                return 0;
        uint64_t min_gap = s->st.rtt_valid ? s->st.rtt_us : RTX_MIN_INTERVAL_US;
        if (slot->resent && now - slot->last_resent_us < min_gap)
                return 0;
        if (s->rtx_q.len >= RTP_SENDER_MAX_QUEUE_PACKETS)
                return 0;
        struct item it = {.kind = RTP_SENDER_OUT_RTP,
                          .seq = seq,
                          .payload_len = slot->payload_len,
                          .orig_sent_us = slot->sent_us,
                          .retransmission = true};
        if (s->cfg.rtx) {
                /* RFC 4588 section 4: same header on the RTX SSRC and PT with our own sequence
                 * number, the original sequence number (OSN) first in the payload. */
                struct rtp_packet p;
                if (rtp_parse(&p, slot->pkt.data, slot->pkt.len) < 0)
                        return -1;
                p.h.pt = s->cfg.rtx_pt;
                p.h.ssrc = s->cfg.rtx_ssrc;
                p.h.seq = 0; /* numbered when it leaves the pacer (release) */
                int rc = rtp_build(&it.data, &p.h, NULL, 0, 0);
                if (rc == 0)
                        rc = buf_append_u16be(&it.data, seq);
                if (rc == 0)
                        rc = buf_append(&it.data, p.payload, p.payload_len);
                if (rc < 0) {
                        buf_free(&it.data);
                        return 0;
                }
        } else if (buf_append(&it.data, slot->pkt.data, slot->pkt.len) < 0) {
                buf_free(&it.data);
                return 0;
        }
        it.twcc_offset = twcc_offset_of(s, &it.data);
        size_t n = it.data.len;
        s->queued_bytes += n;
        s->rtx_bytes += n;
        if (queue_push(&s->rtx_q, &it) < 0) {
                s->queued_bytes -= n;
                s->rtx_bytes -= n;
                buf_free(&it.data);
                return 0;
        }
        slot->pending = true;
        return 1;
}

/* ---- RTCP in ---- */

static void push_event(struct rtp_sender *s, struct item *it)
{
        if (queue_push(&s->out_q, it) < 0)
                log_warn("rtp", "ssrc %08x: event dropped, out of memory", (unsigned)s->cfg.ssrc);
}

static void keyframe_request(struct rtp_sender *s, uint64_t now, bool fir)
{
        /* See KEYFRAME_REASK_US. */
        if (s->keyframe_asked && now - s->keyframe_asked_us < KEYFRAME_REASK_US)
                return;
        if (s->kf_queued)
                return;
        uint64_t rtt = s->st.rtt_valid ? s->st.rtt_us : KEYFRAME_RTT_US;
        if (s->kf_sent && now - s->kf_sent_us < rtt)
                return;
        s->keyframe_asked = true;
        s->keyframe_asked_us = now;
        struct item it = {.kind = RTP_SENDER_OUT_KEYFRAME_REQUEST, .fir = fir};
        push_event(s, &it);
}

static void handle_report_blocks(struct rtp_sender *s, uint64_t now,
                                 const struct rtcp_report_block *rb, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                if (rb[i].ssrc != s->cfg.ssrc)
                        continue;
                s->st.have_report = true;
                s->st.fraction_lost = rb[i].fraction_lost;
                s->st.packets_lost = rb[i].cumulative_lost;
                s->st.jitter = rb[i].jitter;
                if (rb[i].lsr == 0)
                        continue;
                /* RFC 3550 section 6.4.1: RTT = arrival - LSR - DLSR, in 1/65536 s. */
                uint32_t arrival = rtcp_ntp_mid32(rtcp_ntp_from_us(s->cfg.ntp_offset_us + now));
                uint32_t rtt = arrival - rb[i].lsr - rb[i].dlsr;
                if (rtt < 0x80000000u) {
                        s->st.rtt_valid = true;
                        s->st.rtt_us = (uint64_t)rtt * US_PER_SEC >> 16;
                }
        }
}

static void handle_nack(struct rtp_sender *s, uint64_t now, const struct rtcp_nack *n)
{
        if (n->media_ssrc != s->cfg.ssrc)
                return;
        s->st.nack_count++;
        struct item ev = {.kind = RTP_SENDER_OUT_NACK};
        for (size_t i = 0; i < n->count; i++) {
                uint16_t pid, blp;
                rtcp_nack_item(n, i, &pid, &blp);
                for (unsigned b = 0; b <= 16; b++) {
                        if (b > 0 && !(blp & (1u << (b - 1))))
                                continue;
                        ev.nack_requested++;
                        uint16_t seq = (uint16_t)(pid + b);
                        /* Before the key frame a PLI or FIR asked for (the receiver may not
                         * know it yet): of no use to it. */
                        if (s->have_floor &&
                            (uint16_t)(s->seq - seq) > (uint16_t)(s->seq - s->nack_floor))
                                continue;
                        int rc = resend(s, now, seq);
                        if (rc > 0)
                                ev.nack_resent++;
                        else if (rc < 0)
                                ev.nack_missing++;
                }
        }
        push_event(s, &ev);
}

static void handle_fir(struct rtp_sender *s, uint64_t now, const struct rtcp_fir *f)
{
        for (size_t i = 0; i < f->count; i++) {
                struct rtcp_fir_entry e;
                rtcp_fir_get(f, i, &e);
                if (e.ssrc != s->cfg.ssrc)
                        continue;
                s->st.fir_count++;
                /* RFC 5104 section 4.3.1.2: a repeated sequence number is a retransmission of
                 * a request already acted on. */
                if (s->fir_seen && s->fir_sender == f->sender_ssrc && s->fir_seq == e.seq)
                        continue;
                s->fir_seen = true;
                s->fir_sender = f->sender_ssrc;
                s->fir_seq = e.seq;
                keyframe_request(s, now, true);
        }
}

int rtp_sender_handle_rtcp(struct rtp_sender *s, uint64_t now_us, const void *data, size_t len)
{
        struct rtcp_iter it;
        if (rtcp_iter_init(&it, data, len) < 0) {
                log_debug("rtp", "ssrc %08x: malformed RTCP (%zu bytes) dropped",
                          (unsigned)s->cfg.ssrc, len);
                return -EPROTO;
        }
        struct rtcp_packet *p = malloc(sizeof(*p));
        if (!p)
                return -ENOMEM;
        while (rtcp_iter_next(&it, p) == 1) {
                switch (p->kind) {
                case RTCP_KIND_SR:
                        handle_report_blocks(s, now_us, p->u.sr.rb, p->u.sr.rb_count);
                        break;
                case RTCP_KIND_RR:
                        handle_report_blocks(s, now_us, p->u.rr.rb, p->u.rr.rb_count);
                        break;
                case RTCP_KIND_NACK:
                        handle_nack(s, now_us, &p->u.nack);
                        break;
                case RTCP_KIND_PLI:
                        if (p->u.pli.media_ssrc == s->cfg.ssrc) {
                                s->st.pli_count++;
                                keyframe_request(s, now_us, false);
                        }
                        break;
                case RTCP_KIND_FIR:
                        handle_fir(s, now_us, &p->u.fir);
                        break;
                case RTCP_KIND_REMB:
                        for (unsigned i = 0; i < p->u.remb.ssrc_count; i++) {
                                if (p->u.remb.ssrc[i] != s->cfg.ssrc)
                                        continue;
                                s->st.remb_bps = p->u.remb.bitrate_bps;
                                struct item ev = {.kind = RTP_SENDER_OUT_REMB,
                                                  .remb_bps = p->u.remb.bitrate_bps};
                                push_event(s, &ev);
                                break;
                        }
                        break;
                default:
                        break;
                }
        }
        free(p);
        if (!s->stopped)
                pacer_process(s, now_us);
        return 0;
}

/* ---- output and timers ---- */

int rtp_sender_poll_output(struct rtp_sender *s, struct rtp_sender_output *out)
{
        buf_free(&s->cur.data);
        if (!s->out_q.len)
                return 0;
        queue_pop(&s->out_q, &s->cur);
        struct item *it = &s->cur;
        memset(out, 0, sizeof(*out));
        out->kind = it->kind;
        switch (it->kind) {
        case RTP_SENDER_OUT_RTP:
                if (!it->retransmission) {
                        remember(s, it);
                        struct history_slot *slot = &s->hist[it->seq % s->hist_size];
                        out->data = slot->pkt.data;
                        out->len = slot->pkt.len;
                } else {
                        out->data = it->data.data;
                        out->len = it->data.len;
                }
                out->retransmission = it->retransmission;
                out->twcc_offset = it->twcc_offset;
                break;
        case RTP_SENDER_OUT_RTCP:
                out->data = it->data.data;
                out->len = it->data.len;
                break;
        case RTP_SENDER_OUT_KEYFRAME_REQUEST:
                out->fir = it->fir;
                break;
        case RTP_SENDER_OUT_NACK:
                out->nack_requested = it->nack_requested;
                out->nack_resent = it->nack_resent;
                out->nack_missing = it->nack_missing;
                break;
        case RTP_SENDER_OUT_REMB:
                out->remb_bps = it->remb_bps;
                break;
        }
        return 1;
}

uint64_t rtp_sender_next_deadline(const struct rtp_sender *s)
{
        uint64_t d = UINT64_MAX;
        if (s->sr_started && !s->stopped)
                d = s->next_sr_us;
        /* A stopped sender sends nothing more: what it still queued must not keep a deadline. */
        if ((s->media_q.len || s->rtx_q.len) && s->pacing_Bps && !s->stopped) {
                uint64_t t = s->pacer_last_us;
                if (s->budget < 0) {
                        uint64_t rate = effective_rate(s);
                        t += ((uint64_t)-s->budget + rate - 1) / rate;
                }
                /* Only retransmissions waiting, and over their budget: until it refills. */
                uint64_t rr = rtx_rate(s);
                if (!s->media_q.len && s->rtx_budget < 0 && rr) {
                        uint64_t tr = s->pacer_last_us + ((uint64_t)-s->rtx_budget + rr - 1) / rr;
                        if (tr > t)
                                t = tr;
                }
                if (t < d)
                        d = t;
        }
        return d;
}

void rtp_sender_handle_timeout(struct rtp_sender *s, uint64_t now_us)
{
        if (!s->stopped)
                pacer_process(s, now_us);
        maybe_send_sr(s, now_us);
}

int rtp_sender_stop(struct rtp_sender *s, uint64_t now_us)
{
        if (s->stopped)
                return 0;
        s->stopped = true;
        s->kf_queued = false;
        queue_clear(&s->media_q);
        queue_clear(&s->rtx_q);
        s->queued_bytes = 0;
        s->rtx_bytes = 0;
        struct buf b = BUF_INIT;
        uint32_t ssrcs[2] = {s->cfg.ssrc, s->cfg.rtx_ssrc};
        int rc = build_report(s, now_us, &b);
        if (rc == 0)
                rc = rtcp_build_bye(&b, ssrcs, s->cfg.rtx ? 2 : 1, NULL);
        if (rc == 0)
                rc = queue_rtcp(s, &b);
        buf_free(&b);
        return rc;
}

void rtp_sender_get_stats(const struct rtp_sender *s, struct rtp_sender_stats *st)
{
        *st = s->st;
        st->queued_packets = s->media_q.len + s->rtx_q.len;
        st->queued_bytes = s->queued_bytes;
}

int rtp_sender_build_padding(struct rtp_sender *s, size_t size, struct buf *out,
                             size_t *twcc_offset)
{
        if (!s->cfg.rtx || s->stopped)
                return -ENOTSUP;
        struct rtp_header h;
        header_init(s, &h);
        h.pt = s->cfg.rtx_pt;
        h.ssrc = s->cfg.rtx_ssrc;
        h.seq = s->rtx_seq;
        h.ts = s->have_last ? s->last_ts : s->cfg.ts_offset;
        size_t head = rtp_header_size(&h);
        size_t pad = size > head + 255 ? 255 : size > head ? size - head : 1;
        int rc = rtp_build(out, &h, NULL, 0, pad);
        if (rc < 0)
                return rc;
        s->rtx_seq++;
        *twcc_offset = twcc_offset_of(s, out);
        s->st.padding_packets_sent++;
        return 0;
}
