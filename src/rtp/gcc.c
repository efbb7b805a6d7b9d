#include "rtp/gcc.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RING_MASK ((int64_t)GCC_HISTORY - 1)
#define NO_SEQ    INT64_MIN

/* Acknowledged bitrate: bytes whose arrival falls in the last 500 ms of remote time. */
#define ACK_RING      4096u
#define ACK_WINDOW_US 500000
#define ACK_MIN_US    150000 /* no estimate from less history than this */
/* Other traffic's send rate (gcc_on_other_sent): bytes per 10 ms of send time, over 500 ms. */
#define OTHER_SLOT_US 10000
#define OTHER_SLOTS   64 /* more than ACK_WINDOW_US / OTHER_SLOT_US */

/* Inter-arrival grouping, as libwebrtc's InterArrival. */
#define GROUP_US          5000
#define BURST_US          5000
#define MAX_BURST_US      100000
#define OFFSET_RESET_US   3000000
#define REORDER_RESET     3
#define STREAM_TIMEOUT_US 2000000

/*
 * Trendline and overuse detector, as libwebrtc's TrendlineEstimator, with the draft's threshold
 * adaptation: gamma rises fast (K_u = 0.01, the draft's) when |m| is outside it, so a competing
 * TCP flow's queue swings lift it and we stop yielding to them; it falls slowly. The draft's
 * K_d = 0.00018 keeps gamma up for ~5 s after our own drain swings, which let the next
 * overshoot build 75-120 ms of queue in the 1 Mbit/s simulation; 0.0005 (~2 s) keeps that
 * under 25 ms and the TCP share the same (libwebrtc's 0.039 starves us against TCP: ~17%).
 */
#define TREND_WINDOW    20
#define TREND_SMOOTHING 0.9
#define TREND_GAIN      4.0
#define MIN_DELTAS      60
#define MAX_DELTAS      1000
#define OVERUSE_MS      10.0
#define THRESH_INIT     12.5
#define THRESH_MIN      6.0
#define THRESH_MAX      600.0
#define THRESH_K_UP     0.01
#define THRESH_K_DOWN   0.0005
#define THRESH_MAX_JUMP 15.0

/* AIMD, as libwebrtc's AimdRateControl. */
#define BETA 0.85
/*
 * After a decrease at a known capacity, the estimate climbs back towards RECOVER_SHARE of that
 * capacity at least RECOVER_RATE-fold a second. The additive increase (a packet per response
 * time) is a smaller share of a higher rate: ~3.5% a second at 2.5 Mbit/s, ~1.5% at 5, so the
 * sawtooth spent most of its period well below rates the path had just carried (test_gcc's
 * 3 Mbit/s shaper: mean 91% of the capacity, 95% with this). Above that share the additive
 * increase finds the edge as before. Not while the queue of the overuse is still there:
 * climbing back then keeps it standing (a 2 -> 1 Mbit/s drop held 100-160 ms for seconds).
 * Faster rates (1.1, 1.25) cross the capacity while the detector's threshold is still raised
 * from the drain and overshoot it.
 */
#define RECOVER_SHARE  0.95
#define RECOVER_RATE   1.05
#define RECOVER_QUEUE  10000 /* us; only once the queue of the overuse has drained */
#define DEFAULT_RTT_US 200000

/* Loss-based controller (draft section 6). */
#define LOSS_MIN_PACKETS 20
#define LOSS_LOW         0.02
#define LOSS_HIGH        0.10
#define LOSS_DECREASE_US 300000
#define TWCC_RECENT_US   1000000 /* receiver-report loss counts when no feedback this recent */
/*
 * Without feedback for this long (or 3 RTTs) the estimate backs off by OUTAGE_DECREASE a step,
 * once a second. Gently: a path that is briefly cut (a Wi-Fi handover, a firewall hiccup)
 * comes back with the capacity it had, and the estimate from before the outage is restored
 * (OUTAGE_RESTORE of it) when feedback resumes; real congestion then shows in the delay.
 */
#define FEEDBACK_TIMEOUT 2000000
#define OUTAGE_DECREASE  0.8
#define OUTAGE_STEP_US   1000000
/*
 * A peer that negotiated transport-wide feedback but never sends it (or a session where it was
 * not negotiated) leaves only receiver-report loss and REMB: then the configured maximum is the
 * starting point and loss (and REMB) bring it down, rather than crawling up from the start rate
 * at 5% a report.
 */
#define NO_TWCC_US     2000000
#define OUTAGE_RESTORE 0.8
/* Loss while packets wait this much longer than the path's minimum: a full drop-tail queue. */
#define QUEUE_CONGESTED_US 40000
/* The path's minimum one-way delay: the lowest of the last 30 to 60 s. */
#define OWD_BUCKET_US 30000000

/* Probing, as libwebrtc's ProbeController and ProbeBitrateEstimator. */
#define PROBE_DURATION_US 15000
#define TARGET_RAMP       2.0 /* the most the target grows in a second */
#define TARGET_RAMP_START 4.0 /* the same before the first overuse */
#define PROBE_MIN_PACKETS 5
#define PROBE_WAIT_US     1000000
#define PROBE_FURTHER     0.7
#define PROBE_MAX_RATIO   2.0
#define PROBE_SATURATED   0.9
#define PROBE_BACKOFF     0.95
#define PERIODIC_PROBE_US 5000000
#define PROBE_MAX_SPAN_US 1000000
#define MAX_CLUSTERS      8
#define PROBE_QUEUE       2

enum { PKT_SENT = 1, PKT_LOST, PKT_ACKED };
enum { RC_HOLD, RC_INCREASE, RC_DECREASE };
enum { PROBE_INIT, PROBE_WAIT, PROBE_DONE };

struct sent {
        int64_t seq; /* unwrapped; NO_SEQ when the slot is empty */
        uint64_t send_us;
        uint32_t size;
        uint16_t probe; /* cluster id, 0: none */
        uint8_t state;
};

/* A packet newly reported received by the feedback being processed. */
struct result {
        int64_t seq;
        uint64_t send_us;
        int64_t arrival_us; /* remote clock, unwrapped */
        uint32_t size;
        uint16_t probe;
};

struct group {
        uint64_t first_send, send; /* send is the latest send time in the group */
        int64_t first_arrival, complete;
        uint64_t system; /* local time the group's last packet was reported */
};

struct trend {
        unsigned num_deltas;
        bool have_first;
        double first_ms;
        double acc, smoothed;
        double x[TREND_WINDOW], y[TREND_WINDOW];
        unsigned n, head;
        double trend, prev_trend, modified;
        double threshold;
        bool have_update;
        double last_update_ms;
        bool over_active;
        double over_ms;
        unsigned over_count;
        int usage;
};

struct aimd {
        double bps;
        int state;
        bool have_change;
        uint64_t last_change;
        double throughput; /* the last acknowledged rate, the start rate before any */
        bool have_cap;     /* link capacity: where the last overuses happened */
        double cap_kbps, dev_kbps;
};

struct cluster {
        uint16_t id; /* 0: free */
        uint32_t bps;
        size_t bytes;
        uint32_t min_packets;
        uint32_t count;
        uint64_t total;
        uint64_t first_send, last_send;
        int64_t first_recv, last_recv;
        uint32_t size_last_send, size_first_recv;
};

struct gcc {
        double min, max, start;

        struct sent ring[GCC_HISTORY];
        bool have_sent;
        uint64_t first_sent;
        bool no_twcc; /* sent for NO_TWCC_US without any transport feedback: loss and REMB only */
        int64_t last_seq; /* highest unwrapped sequence number sent */

        /* Feedback scratch, sized to the ring: statuses past it cannot match a sent packet. */
        struct rtcp_twcc_status status[GCC_HISTORY];
        struct result res[GCC_HISTORY];
        struct gcc_packet_report rep[GCC_HISTORY];
        enum gcc_feedback fb_kind; /* the kind of the last feedback */
        bool have_ref;
        int64_t ref; /* reference time, unwrapped, 64 ms units */
        uint32_t ref_raw;
        bool have_fb;
        uint64_t last_fb;
        bool unfed; /* sent since the last feedback */
        uint64_t first_unfed;
        uint64_t last_timeout;
        double outage_bps; /* the estimate when feedback stopped; 0 when it flows */
        /* Packets sent before this (send time) went into the last outage: their loss is the
         * cut path's, not congestion, and stays out of the loss windows. 0: none yet. */
        uint64_t outage_end;

        int64_t ack_t[ACK_RING];
        uint32_t ack_size[ACK_RING];
        size_t ack_head, ack_n;
        uint64_t ack_sum;
        bool ack_started;
        int64_t ack_floor, ack_last;
        double acked_bps; /* 0: not known yet */

        /* Other traffic per slot: its number (send time / OTHER_SLOT_US + 1; 0: empty), bytes. */
        uint64_t other_slot[OTHER_SLOTS];
        uint32_t other_bytes[OTHER_SLOTS];
        bool have_other;
        uint64_t other_first, other_last; /* first and latest gcc_on_other_sent */

        bool cur_valid, prev_valid;
        struct group cur, prev;
        unsigned reordered;
        bool have_seen;
        uint64_t last_seen;
        struct trend tr;
        struct aimd rc;

        double loss_bps;
        unsigned win_expected, win_lost;
        bool have_owd;
        int64_t owd_cur, owd_prev; /* minima of arrival - send in this bucket and the last */
        uint64_t owd_bucket;
        int64_t queue_us;
        bool have_congestion;
        uint64_t last_congestion;
        bool have_loss_decrease;
        uint64_t last_loss_decrease;
        double loss_ratio;

        bool have_remb;
        double remb;
        uint64_t rtt_us;
        bool rtt_from_rr;

        int probe_state;
        uint64_t last_overuse; /* the delay-based part's last decrease */
        uint64_t probe_started;
        double probe_further;
        uint16_t next_cluster;
        struct cluster clusters[MAX_CLUSTERS];
        size_t cluster_next;
        struct gcc_probe queue[PROBE_QUEUE];
        size_t queue_n;

        uint32_t target;
        uint64_t target_at; /* when the target was last set; 0: never */
        struct gcc_stats st;
};

static double clampd(double v, double lo, double hi)
{
        return v < lo ? lo : v > hi ? hi : v;
}

/* The unwrapped value nearest to ref whose low 16 bits are v. */
static int64_t unwrap16(int64_t ref, uint16_t v)
{
        int64_t d = (int64_t)(uint16_t)(v - (uint16_t)ref);
        if (d >= 0x8000)
                d -= 0x10000;
        return ref + d;
}

/* ---- acknowledged bitrate ---- */

static void ack_add(struct gcc *g, int64_t arrival, uint32_t size)
{
        if (!g->ack_started) {
                g->ack_started = true;
                g->ack_floor = arrival;
                g->ack_last = arrival;
        }
        /* Keep the window ordered; a packet reordered across feedback counts as arriving now. */
        if (arrival < g->ack_last)
                arrival = g->ack_last;
        g->ack_last = arrival;
        if (g->ack_n == ACK_RING) {
                /* Full: the window shrinks to what the ring still holds. */
                g->ack_floor = g->ack_t[g->ack_head];
                g->ack_sum -= g->ack_size[g->ack_head];
                g->ack_head = (g->ack_head + 1) % ACK_RING;
                g->ack_n--;
        }
        size_t i = (g->ack_head + g->ack_n) % ACK_RING;
        g->ack_t[i] = arrival;
        g->ack_size[i] = size;
        g->ack_sum += size;
        g->ack_n++;
}

static void ack_compute(struct gcc *g)
{
        if (!g->ack_started)
                return;
        while (g->ack_n > 0 && g->ack_t[g->ack_head] <= g->ack_last - ACK_WINDOW_US) {
                g->ack_sum -= g->ack_size[g->ack_head];
                g->ack_head = (g->ack_head + 1) % ACK_RING;
                g->ack_n--;
        }
        int64_t span = g->ack_last - g->ack_floor;
        if (span > ACK_WINDOW_US)
                span = ACK_WINDOW_US;
        if (span >= ACK_MIN_US)
                g->acked_bps = (double)g->ack_sum * 8e6 / (double)span;
}

/* Send rate of other traffic over the last ACK_WINDOW_US before now (less at its start). */
static double other_rate(const struct gcc *g, uint64_t now)
{
        if (!g->have_other || now < g->other_first || now - g->other_last >= ACK_WINDOW_US)
                return 0;
        uint64_t cur = now / OTHER_SLOT_US + 1, n = ACK_WINDOW_US / OTHER_SLOT_US;
        uint64_t sum = 0;
        for (size_t i = 0; i < OTHER_SLOTS; i++)
                if (g->other_slot[i] && g->other_slot[i] <= cur && g->other_slot[i] + n > cur)
                        sum += g->other_bytes[i];
        uint64_t span = now - g->other_first;
        if (span > ACK_WINDOW_US)
                span = ACK_WINDOW_US;
        if (span < ACK_MIN_US)
                span = ACK_MIN_US;
        return (double)sum * 8e6 / (double)span;
}

/* ---- trendline and overuse detector ---- */

static void trend_reset(struct trend *t)
{
        memset(t, 0, sizeof(*t));
        t->threshold = THRESH_INIT;
        t->usage = GCC_NORMAL;
}

static void threshold_update(struct trend *t, double modified, double now_ms)
{
        if (!t->have_update) {
                t->have_update = true;
                t->last_update_ms = now_ms;
        }
        /* A big spike (a sudden capacity drop) should not drag the threshold up with it. */
        if (fabs(modified) > t->threshold + THRESH_MAX_JUMP) {
                t->last_update_ms = now_ms;
                return;
        }
        double k = fabs(modified) < t->threshold ? THRESH_K_DOWN : THRESH_K_UP;
        double dt = clampd(now_ms - t->last_update_ms, 0, 100);
        t->threshold += k * (fabs(modified) - t->threshold) * dt;
        t->threshold = clampd(t->threshold, THRESH_MIN, THRESH_MAX);
        t->last_update_ms = now_ms;
}

static void trend_detect(struct trend *t, double trend, double send_delta_ms, double now_ms)
{
        if (t->num_deltas < 2) {
                t->usage = GCC_NORMAL;
                return;
        }
        double n = t->num_deltas < MIN_DELTAS ? t->num_deltas : MIN_DELTAS;
        double modified = n * trend * TREND_GAIN;
        t->modified = modified;
        if (modified > t->threshold) {
                /* Assume the overuse started halfway since the previous group. */
                if (!t->over_active) {
                        t->over_active = true;
                        t->over_ms = send_delta_ms / 2;
                } else {
                        t->over_ms += send_delta_ms;
                }
                t->over_count++;
                if (t->over_ms > OVERUSE_MS && t->over_count > 1 && trend >= t->prev_trend) {
                        t->over_ms = 0;
                        t->over_count = 0;
                        t->usage = GCC_OVERUSE;
                }
        } else if (modified < -t->threshold) {
                t->over_active = false;
                t->over_count = 0;
                t->usage = GCC_UNDERUSE;
        } else {
                t->over_active = false;
                t->over_count = 0;
                t->usage = GCC_NORMAL;
        }
        t->prev_trend = trend;
        threshold_update(t, modified, now_ms);
}

static void trend_update(struct trend *t, double recv_delta_ms, double send_delta_ms,
                         double arrival_ms)
{
        if (t->num_deltas < MAX_DELTAS)
                t->num_deltas++;
        if (!t->have_first) {
                t->have_first = true;
                t->first_ms = arrival_ms;
        }
        t->acc += recv_delta_ms - send_delta_ms;
        t->smoothed = TREND_SMOOTHING * t->smoothed + (1 - TREND_SMOOTHING) * t->acc;
        t->x[t->head] = arrival_ms - t->first_ms;
        t->y[t->head] = t->smoothed;
        t->head = (t->head + 1) % TREND_WINDOW;
        if (t->n < TREND_WINDOW)
                t->n++;
        double trend = t->prev_trend;
        if (t->n == TREND_WINDOW) {
                /* Least-squares slope of smoothed delay over arrival time: roughly
                 * (send rate - capacity) / capacity while a queue builds. */
                double mx = 0, my = 0;
                for (unsigned i = 0; i < TREND_WINDOW; i++) {
                        mx += t->x[i];
                        my += t->y[i];
                }
                mx /= TREND_WINDOW;
                my /= TREND_WINDOW;
                double num = 0, den = 0;
                for (unsigned i = 0; i < TREND_WINDOW; i++) {
                        num += (t->x[i] - mx) * (t->y[i] - my);
                        den += (t->x[i] - mx) * (t->x[i] - mx);
                }
                if (den != 0)
                        trend = num / den;
        }
        t->trend = trend;
        trend_detect(t, trend, send_delta_ms, arrival_ms);
}

/* ---- inter-arrival groups ---- */

static void delay_reset(struct gcc *g)
{
        if (g->cur_valid)
                g->st.delay_resets++;
        g->cur_valid = g->prev_valid = false;
        g->reordered = 0;
        trend_reset(&g->tr);
}

static bool new_group(const struct gcc *g, const struct result *r)
{
        int64_t ad = r->arrival_us - g->cur.complete;
        int64_t sd = (int64_t)(r->send_us - g->cur.send);
        if (sd == 0)
                return false;
        /* A burst queued behind something arrives faster than it was sent: one group. */
        if (ad - sd < 0 && ad <= BURST_US && r->arrival_us - g->cur.first_arrival < MAX_BURST_US)
                return false;
        return (int64_t)(r->send_us - g->cur.first_send) > GROUP_US;
}

static void delay_packet(struct gcc *g, uint64_t now, const struct result *r)
{
        if (!g->cur_valid) {
                g->cur_valid = true;
                g->cur = (struct group){r->send_us, r->send_us, r->arrival_us, r->arrival_us, now};
                return;
        }
        if (r->send_us < g->cur.first_send)
                return; /* sent before the current group: too late to use */
        if (new_group(g, r)) {
                if (g->prev_valid) {
                        int64_t sd = (int64_t)(g->cur.send - g->prev.send);
                        int64_t ad = g->cur.complete - g->prev.complete;
                        int64_t sys = (int64_t)(g->cur.system - g->prev.system);
                        if (ad - sys >= OFFSET_RESET_US) {
                                delay_reset(g); /* the remote clock jumped */
                                return;
                        }
                        if (ad < 0) {
                                if (++g->reordered >= REORDER_RESET)
                                        delay_reset(g);
                                return;
                        }
                        g->reordered = 0;
                        trend_update(&g->tr, (double)ad / 1000, (double)sd / 1000,
                                     (double)r->arrival_us / 1000);
                }
                g->prev = g->cur;
                g->prev_valid = true;
                g->cur.first_send = g->cur.send = r->send_us;
                g->cur.first_arrival = r->arrival_us;
        } else if (r->send_us > g->cur.send) {
                g->cur.send = r->send_us;
        }
        g->cur.complete = r->arrival_us;
        g->cur.system = now;
}

/* ---- AIMD rate controller ---- */

static void cap_update(struct aimd *a, double sample_bps, double alpha)
{
        double s = sample_bps / 1000;
        if (!a->have_cap) {
                a->have_cap = true;
                a->cap_kbps = s;
        } else {
                a->cap_kbps = (1 - alpha) * a->cap_kbps + alpha * s;
        }
        /* Variance normalised by the estimate, bounded as libwebrtc: ~14..35 kbit/s at 500k. */
        double norm = a->cap_kbps > 1 ? a->cap_kbps : 1;
        double err = a->cap_kbps - s;
        a->dev_kbps = (1 - alpha) * a->dev_kbps + alpha * err * err / norm;
        a->dev_kbps = clampd(a->dev_kbps, 0.4, 2.5);
}

static double cap_dev_bps(const struct aimd *a)
{
        return sqrt(a->dev_kbps * a->cap_kbps) * 1000;
}

/* Near the link capacity: about one packet per response time (RTT + 100 ms of detection). */
static double additive_bps_per_s(const struct gcc *g)
{
        double frame_bytes = g->rc.bps / 8 / 30;
        double packets = ceil(frame_bytes / 1200);
        if (packets < 1)
                packets = 1;
        double response_s = (double)(g->rtt_us + 100000) / 1e6;
        double r = frame_bytes / packets * 8 / response_s;
        return r > 4000 ? r : 4000;
}

static void aimd_update(struct gcc *g, int usage, uint64_t now)
{
        struct aimd *a = &g->rc;
        double thr = g->acked_bps > 0 ? g->acked_bps : a->throughput;
        if (g->acked_bps > 0)
                a->throughput = g->acked_bps;
        /* The path carries our data channels too: the estimate is of media and data together. */
        thr += other_rate(g, now);
        switch (usage) {
        case GCC_NORMAL:
                if (a->state == RC_HOLD) {
                        a->have_change = true;
                        a->last_change = now;
                        a->state = RC_INCREASE;
                }
                break;
        case GCC_OVERUSE:
                a->state = RC_DECREASE;
                break;
        default:
                a->state = RC_HOLD;
                break;
        }
        double nb = a->bps;
        /* Not beyond what the path has been shown to carry: no growth while app-limited. */
        double limit = 1.5 * thr + 10000;
        double dt = a->have_change ? (double)(now - a->last_change) / 1e6 : 0;
        if (a->state == RC_INCREASE) {
                if (a->have_cap && thr > a->cap_kbps * 1000 + 3 * cap_dev_bps(a))
                        a->have_cap = false; /* far above the old capacity: search again */
                if (a->bps < limit) {
                        double inc;
                        if (a->have_cap) {
                                inc = additive_bps_per_s(g) * dt;
                                double floor = RECOVER_SHARE * a->cap_kbps * 1000;
                                if (a->bps < floor && g->queue_us < RECOVER_QUEUE) {
                                        double fast =
                                            a->bps * (pow(RECOVER_RATE, dt < 1 ? dt : 1) - 1);
                                        if (a->bps + fast > floor)
                                                fast = floor - a->bps;
                                        if (fast > inc)
                                                inc = fast;
                                }
                        } else {
                                double alpha = pow(1.08, dt < 1 ? dt : 1);
                                inc = a->bps * (alpha - 1);
                                if (inc < 1000)
                                        inc = 1000;
                        }
                        nb = a->bps + inc < limit ? a->bps + inc : limit;
                }
                a->have_change = true;
                a->last_change = now;
        } else if (a->state == RC_DECREASE) {
                /* Just below what got through, to drain the queue we built. */
                double d = thr * BETA;
                if (d > a->bps && a->have_cap)
                        d = BETA * a->cap_kbps * 1000;
                if (d < a->bps)
                        nb = d;
                if (a->have_cap && thr < a->cap_kbps * 1000 - 3 * cap_dev_bps(a))
                        a->have_cap = false;
                cap_update(a, thr, 0.05);
                a->state = RC_HOLD; /* until the queue has drained */
                a->have_change = true;
                a->last_change = now;
                g->st.overuses++;
                g->last_overuse = now;
        }
        a->bps = clampd(nb, g->min, g->max);
}

static void delay_estimate(struct gcc *g, uint64_t now, double probe_bps, bool congested)
{
        struct aimd *a = &g->rc;
        int usage = g->tr.usage;
        if (congested && g->acked_bps > 0) {
                aimd_update(g, GCC_OVERUSE, now);
        } else if (usage == GCC_OVERUSE) {
                /* Once per RTT at most, unless the rate fell far below the estimate. */
                uint64_t interval = (uint64_t)clampd((double)g->rtt_us, 10000, 200000);
                bool time = !a->have_change || now - a->last_change >= interval;
                if (g->acked_bps > 0) {
                        if (time || g->acked_bps + other_rate(g, now) < 0.5 * a->bps)
                                aimd_update(g, GCC_OVERUSE, now);
                } else if (time) {
                        a->bps = clampd(a->bps / 2, g->min, g->max);
                        a->have_change = true;
                        a->last_change = now;
                }
        } else if (probe_bps > a->bps) {
                a->bps = clampd(probe_bps, g->min, g->max);
                /* The path carries more than the capacity remembered: search anew. */
                a->have_cap = false;
                a->have_change = true;
                a->last_change = now;
        } else {
                aimd_update(g, usage, now);
        }
}

/*
 * Queueing delay: the newest one-way delay (remote arrival minus local send, offset unknown)
 * above its recent minimum. The minimum forgets after 30 to 60 s, so a longer path or a clock
 * step stops counting as queue by then; a competing flow can hold a queue for that long.
 */
static void owd_update(struct gcc *g, uint64_t now, int64_t fb_min)
{
        if (!g->have_owd) {
                g->have_owd = true;
                g->owd_cur = g->owd_prev = fb_min;
                g->owd_bucket = now;
        } else if (now - g->owd_bucket >= OWD_BUCKET_US) {
                g->owd_prev = g->owd_cur;
                g->owd_cur = fb_min;
                g->owd_bucket = now;
        }
        if (fb_min < g->owd_cur)
                g->owd_cur = fb_min;
        int64_t base = g->owd_cur < g->owd_prev ? g->owd_cur : g->owd_prev;
        g->queue_us = fb_min - base;
}

/* ---- target ---- */

static bool twcc_flows(const struct gcc *g)
{
        return g->st.feedback_count > 0;
}

/* What the estimates allow, before the configured clamps. */
static double combined(const struct gcc *g)
{
        double t = g->loss_bps;
        if (twcc_flows(g) && g->rc.bps < t)
                t = g->rc.bps;
        if (g->have_remb && g->remb < t)
                t = g->remb;
        return t;
}

/*
 * The target follows the estimates down at once, and up at most TARGET_RAMP-fold a second. The
 * estimates jump up after a probe, and a probe that a shaper's burst allowance let through (tc
 * tbf: what the bucket holds passes at the probe's rate, and 15 ms of probe fit in it) reports
 * its own rate: sending that at once overflowed the queue within a second (1.6 Mbit/s at the
 * start through 1 Mbit/s, 5 through 3). Climbing, the queue grows slowly enough for the delay
 * detector to stop it; a real gain is taken in a second or two. At the start, before the first
 * overuse, twice as fast: the climb from the 300 kbit/s start to 3 Mbit/s took 3.3 s at 2-fold
 * (t90 through 3 Mbit/s: 5.5 s against Chromium's 1.6), and the first overshoot meets an empty
 * queue. Later it stays 2-fold: the periodic probes' overshoots at 4-fold cost the steady state
 * 1-3% of the link (5 calls through 1, then 3 Mbit/s).
 */
static void update_target(struct gcc *g, uint64_t now)
{
        double t = clampd(combined(g), g->min, g->max);
        if (g->target_at && t > g->target) {
                double dt = now > g->target_at ? (double)(now - g->target_at) / 1e6 : 0;
                double ramp = g->st.overuses ? TARGET_RAMP : TARGET_RAMP_START;
                double lim = g->target * pow(ramp, dt < 1 ? dt : 1);
                if (t > lim)
                        t = lim;
        }
        g->target = (uint32_t)t;
        if (now > g->target_at)
                g->target_at = now;
}

/* One loss window (draft section 6), with libwebrtc's pacing of decreases. */
static void loss_update(struct gcc *g, uint64_t now, double p)
{
        g->loss_ratio = p;
        double cur = clampd(combined(g), g->min, g->max);
        if (p < LOSS_LOW) {
                /* Grow, but only a step above the other limits: a runaway loss-based estimate
                 * would make a later decrease take effect late. */
                double ref = g->max;
                if (twcc_flows(g) && g->rc.bps < ref)
                        ref = g->rc.bps;
                if (g->have_remb && g->remb < ref)
                        ref = g->remb;
                double ceiling = 1.05 * ref;
                if (g->loss_bps < ceiling) {
                        double up = g->loss_bps * 1.05 + 1000;
                        g->loss_bps = up < ceiling ? up : ceiling;
                } else {
                        g->loss_bps = ceiling;
                }
        } else if (p > LOSS_HIGH && (!g->have_loss_decrease ||
                                     now - g->last_loss_decrease >= LOSS_DECREASE_US + g->rtt_us)) {
                g->loss_bps = cur * (1 - 0.5 * p);
                g->have_loss_decrease = true;
                g->last_loss_decrease = now;
        } else if (g->loss_bps > cur) {
                g->loss_bps = cur; /* hold where we are */
        }
        g->loss_bps = clampd(g->loss_bps, g->min, g->max);
}

/* ---- probing ---- */

static struct cluster *cluster_find(struct gcc *g, uint16_t id)
{
        if (id == 0)
                return NULL;
        for (size_t i = 0; i < MAX_CLUSTERS; i++)
                if (g->clusters[i].id == id)
                        return &g->clusters[i];
        return NULL;
}

static void probe_initiate(struct gcc *g, uint64_t now, const double *rates, size_t n)
{
        double limit = g->max;
        if (g->have_remb && g->remb < limit)
                limit = g->remb;
        bool further = true;
        double last = 0;
        for (size_t i = 0; i < n; i++) {
                double bps = rates[i];
                if (bps >= limit) {
                        bps = limit;
                        further = false;
                }
                if (bps <= g->target || g->queue_n == PROBE_QUEUE)
                        continue;
                if (++g->next_cluster == 0)
                        g->next_cluster = 1;
                struct cluster *c = &g->clusters[g->cluster_next];
                g->cluster_next = (g->cluster_next + 1) % MAX_CLUSTERS;
                memset(c, 0, sizeof(*c));
                c->id = g->next_cluster;
                c->bps = (uint32_t)bps;
                c->bytes = (size_t)(bps * PROBE_DURATION_US / 8e6);
                c->min_packets = PROBE_MIN_PACKETS;
                g->queue[g->queue_n++] =
                    (struct gcc_probe){c->id, c->bps, c->bytes, c->min_packets};
                last = bps;
        }
        if (last == 0)
                further = false;
        g->probe_started = now;
        g->probe_further = PROBE_FURTHER * last;
        g->probe_state = further ? PROBE_WAIT : PROBE_DONE;
}

static void cluster_add(struct cluster *c, const struct result *r)
{
        if (c->count == 0) {
                c->first_send = c->last_send = r->send_us;
                c->first_recv = c->last_recv = r->arrival_us;
                c->size_last_send = c->size_first_recv = r->size;
        } else {
                if (r->send_us < c->first_send)
                        c->first_send = r->send_us;
                if (r->send_us > c->last_send) {
                        c->last_send = r->send_us;
                        c->size_last_send = r->size;
                }
                if (r->arrival_us < c->first_recv) {
                        c->first_recv = r->arrival_us;
                        c->size_first_recv = r->size;
                }
                if (r->arrival_us > c->last_recv)
                        c->last_recv = r->arrival_us;
        }
        c->count++;
        c->total += r->size;
}

/* The rate a cluster shows, 0 when it cannot tell yet or makes no sense. */
static double cluster_estimate(const struct cluster *c)
{
        if (c->count < 0.8 * c->min_packets || (double)c->total < 0.8 * (double)c->bytes)
                return 0;
        int64_t si = (int64_t)(c->last_send - c->first_send);
        int64_t ri = c->last_recv - c->first_recv;
        if (si <= 0 || si > PROBE_MAX_SPAN_US || ri <= 0 || ri > PROBE_MAX_SPAN_US)
                return 0;
        /* n packets span n-1 intervals: leave out the last sent and the first received. */
        double send = (double)(c->total - c->size_last_send) * 8e6 / (double)si;
        double recv = (double)(c->total - c->size_first_recv) * 8e6 / (double)ri;
        if (recv > PROBE_MAX_RATIO * send)
                return 0;
        double r = send < recv ? send : recv;
        /* Received clearly slower than sent: the path is full; stay a little below it. */
        if (recv < PROBE_SATURATED * send)
                r = PROBE_BACKOFF * recv;
        return r;
}

/*
 * At the start (before the first overuse) a probe that got through at its full rate asks for
 * the next one at twice that, at once, as libwebrtc's ProbeController does with its estimate:
 * waiting for the target to climb there (TARGET_RAMP) let PROBE_WAIT_US pass, and the link's
 * rate was then found only by the periodic probe 5 s later (t90 through 3 Mbit/s: 5.5 s,
 * Chromium 1.6). Later, the target: a periodic probe's chain stays as careful as before.
 */
static void probe_continue(struct gcc *g, uint64_t now)
{
        if (g->probe_state != PROBE_WAIT)
                return;
        if (now - g->probe_started > PROBE_WAIT_US) {
                g->probe_state = PROBE_DONE;
                return;
        }
        double est = g->target;
        if (!g->st.overuses && g->rc.bps > est)
                est = g->rc.bps; /* the start: see above */
        if (est > g->probe_further) {
                double r = 2.0 * est;
                probe_initiate(g, now, &r, 1);
        }
}

/*
 * A link can get faster during a call (another flow ends, a better route): additive increase
 * alone takes tens of seconds to find it. So every PERIODIC_PROBE_US, while the estimate is
 * below what we may send, nothing is congested and loss is low, a probe at twice the estimate
 * asks the path directly; a successful one lifts the estimate to what got through.
 */
static void probe_periodic(struct gcc *g, uint64_t now)
{
        /* A link in use at capacity shows an overuse every few seconds: then nothing to find. */
        if (g->probe_state != PROBE_DONE || now - g->probe_started < PERIODIC_PROBE_US ||
            now - g->last_overuse < PERIODIC_PROBE_US || g->tr.usage != GCC_NORMAL ||
            g->loss_ratio >= LOSS_LOW || g->outage_bps > 0)
                return;
        double limit = g->max;
        if (g->have_remb && g->remb < limit)
                limit = g->remb;
        if (g->target >= 0.9 * limit)
                return;
        double r = 2.0 * g->target;
        probe_initiate(g, now, &r, 1);
        g->probe_started = now; /* the next one waits a full period even if none was queued */
}

/* ---- public ---- */

struct gcc *gcc_new(const struct gcc_config *cfg)
{
        struct gcc *g = calloc(1, sizeof(*g));
        if (!g)
                return NULL;
        struct gcc_config c = cfg ? *cfg : (struct gcc_config){0};
        g->min = c.min_bps ? c.min_bps : GCC_DEFAULT_MIN_BPS;
        g->max = c.max_bps ? c.max_bps : GCC_DEFAULT_MAX_BPS;
        if (g->max < g->min)
                g->max = g->min;
        g->start = clampd(c.start_bps ? c.start_bps : GCC_DEFAULT_START_BPS, g->min, g->max);
        for (size_t i = 0; i < GCC_HISTORY; i++)
                g->ring[i].seq = NO_SEQ;
        trend_reset(&g->tr);
        g->rc.bps = g->start;
        g->rc.throughput = g->start;
        g->rc.state = RC_INCREASE;
        g->rc.dev_kbps = 0.4;
        g->loss_bps = g->start;
        g->rtt_us = DEFAULT_RTT_US;
        g->probe_state = PROBE_INIT;
        update_target(g, 0);
        return g;
}

void gcc_free(struct gcc *g)
{
        free(g);
}

void gcc_on_packet_sent(struct gcc *g, uint64_t now, uint16_t twcc_seq, size_t size)
{
        if (!g)
                return;
        int64_t seq = g->have_sent ? unwrap16(g->last_seq, twcc_seq) : twcc_seq;
        if (!g->have_sent || seq > g->last_seq)
                g->last_seq = seq;
        if (!g->have_sent)
                g->first_sent = now;
        g->have_sent = true;
        struct sent *p = &g->ring[seq & RING_MASK];
        p->seq = seq;
        p->send_us = now;
        p->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
        p->probe = 0;
        p->state = PKT_SENT;
        if (!g->unfed) {
                g->unfed = true;
                g->first_unfed = now;
        }
}

void gcc_on_other_sent(struct gcc *g, uint64_t now, size_t size)
{
        if (!g)
                return;
        if (!g->have_other || now - g->other_last >= ACK_WINDOW_US) {
                /* Idle for a window: the rate starts over, not diluted by the idle time. */
                g->have_other = true;
                g->other_first = now;
                memset(g->other_slot, 0, sizeof(g->other_slot));
        }
        if (now > g->other_last)
                g->other_last = now;
        uint64_t slot = now / OTHER_SLOT_US + 1;
        size_t i = (size_t)(slot % OTHER_SLOTS);
        if (g->other_slot[i] != slot) {
                g->other_slot[i] = slot;
                g->other_bytes[i] = 0;
        }
        uint64_t b = (uint64_t)g->other_bytes[i] + size;
        g->other_bytes[i] = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

int gcc_probe_sent(struct gcc *g, uint16_t twcc_seq, uint16_t id)
{
        if (!g || !cluster_find(g, id))
                return -EINVAL;
        if (!g->have_sent)
                return -ENOENT;
        int64_t seq = unwrap16(g->last_seq, twcc_seq);
        struct sent *p = &g->ring[seq & RING_MASK];
        if (p->seq != seq)
                return -ENOENT;
        p->probe = id;
        return 0;
}

static int result_cmp(const void *a, const void *b)
{
        const struct result *x = a, *y = b;
        if (x->arrival_us != y->arrival_us)
                return x->arrival_us < y->arrival_us ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Feedback of another kind than before: its arrival times are on another clock, so the delay
 * filters, the acknowledged-rate window and the minimum one-way delay start over.
 */
static void switch_kind(struct gcc *g, enum gcc_feedback kind)
{
        if (g->fb_kind != GCC_FEEDBACK_NONE && g->fb_kind != kind) {
                delay_reset(g);
                g->have_owd = false;
                g->ack_started = false;
                g->ack_head = g->ack_n = 0;
                g->ack_sum = 0;
                g->have_seen = false;
        }
        g->fb_kind = kind;
}

void gcc_on_feedback(struct gcc *g, uint64_t now, enum gcc_feedback kind,
                     const struct gcc_packet_report *reports, size_t n)
{
        if (!g || (!reports && n > 0))
                return;
        switch_kind(g, kind);
        g->st.feedback_count++;
        g->have_fb = true;
        g->last_fb = now;
        g->unfed = false;
        /*
         * The first probes wait for the first feedback: packets sent before the peer had its
         * SRTP keys (the DTLS server finishes a flight later) are dropped there, and a probe
         * lost that way would teach nothing.
         */
        if (g->probe_state == PROBE_INIT) {
                double rates[2] = {3.0 * g->start, 6.0 * g->start};
                probe_initiate(g, now, rates, 2);
        }
        if (g->outage_bps > 0) {
                /* Feedback again after an outage: start from what the path carried before. */
                double back = clampd(g->outage_bps * OUTAGE_RESTORE, g->min, g->max);
                if (g->rc.bps < back)
                        g->rc.bps = back;
                g->outage_bps = 0;
                g->rc.last_change = now;
                g->outage_end = now;
                g->target_at = 0; /* a rate the path carried: back to it at once, no climb */
        }
        if (!g->have_sent)
                return;

        size_t nres = 0;
        uint64_t newest_send = 0;
        for (size_t i = 0; i < n; i++) {
                const struct gcc_packet_report *s = &reports[i];
                int64_t seq = unwrap16(g->last_seq, s->seq);
                struct sent *p = &g->ring[seq & RING_MASK];
                if (seq > g->last_seq || p->seq != seq) {
                        g->st.unknown++;
                        continue;
                }
                /* Sent into the cut of an outage: counted in the stats, not as congestion
                 * (that feedback reports it lost would otherwise halve the restored estimate). */
                bool cut = p->send_us < g->outage_end;
                if (!s->received) {
                        if (p->state == PKT_SENT) {
                                p->state = PKT_LOST;
                                g->st.lost++;
                                if (!cut) {
                                        g->win_lost++;
                                        g->win_expected++;
                                }
                        }
                        continue;
                }
                if (p->state == PKT_ACKED) {
                        g->st.duplicates++;
                        continue;
                }
                if (p->state == PKT_LOST) {
                        /* Late after all: undo the loss it was counted as. */
                        g->st.lost--;
                        if (!cut && g->win_lost > 0)
                                g->win_lost--;
                } else if (!cut) {
                        g->win_expected++;
                }
                p->state = PKT_ACKED;
                g->st.acked++;
                /* Received at an unknown time (RFC 8888 allows it): counts against loss only. */
                if (!s->has_arrival || nres == GCC_HISTORY)
                        continue;
                g->res[nres++] = (struct result){seq, p->send_us, s->arrival_us, p->size, p->probe};
                if (p->send_us > newest_send)
                        newest_send = p->send_us;
        }

        /* Loss with a standing queue is congestion, even below the 10% the loss-based part
         * waits for: the delay gradient is flat once a drop-tail queue is full, and holding
         * there would starve loss-based flows (TCP) sharing it. */
        bool window = g->win_expected >= LOSS_MIN_PACKETS;
        double p = window ? (double)g->win_lost / g->win_expected : 0;
        bool congested =
            nres > 0 && window && p >= LOSS_LOW && g->queue_us > QUEUE_CONGESTED_US &&
            (!g->have_congestion || now - g->last_congestion >= LOSS_DECREASE_US + g->rtt_us);
        if (congested) {
                g->have_congestion = true;
                g->last_congestion = now;
        }
        if (nres > 0) {
                if (!g->rtt_from_rr && now > newest_send) {
                        /* No RTCP RTT yet: the feedback delay of the newest packet is close. */
                        g->rtt_us = (7 * g->rtt_us + (now - newest_send)) / 8;
                }
                qsort(g->res, nres, sizeof(g->res[0]), result_cmp);
                double probe_bps = 0;
                for (size_t i = 0; i < nres; i++) {
                        const struct result *r = &g->res[i];
                        ack_add(g, r->arrival_us, r->size);
                        struct cluster *c = cluster_find(g, r->probe);
                        if (c) {
                                cluster_add(c, r);
                                double e = cluster_estimate(c);
                                if (e > 0)
                                        g->st.last_probe_bps = (uint32_t)e;
                                if (e > probe_bps)
                                        probe_bps = e;
                        }
                }
                ack_compute(g);
                int64_t fb_min = INT64_MAX;
                for (size_t i = 0; i < nres; i++) {
                        int64_t d = g->res[i].arrival_us - (int64_t)g->res[i].send_us;
                        if (d < fb_min)
                                fb_min = d;
                }
                owd_update(g, now, fb_min);
                if (g->have_seen && now - g->last_seen > STREAM_TIMEOUT_US)
                        delay_reset(g);
                g->have_seen = true;
                g->last_seen = now;
                for (size_t i = 0; i < nres; i++)
                        delay_packet(g, now, &g->res[i]);
                double before = g->rc.bps;
                delay_estimate(g, now, probe_bps, congested);
                if (probe_bps > before && g->rc.bps > before) {
                        g->st.probe_results++;
                        if (g->loss_bps < g->rc.bps)
                                g->loss_bps = g->rc.bps;
                }
        }
        if (window) {
                loss_update(g, now, p);
                g->win_expected = g->win_lost = 0;
        }
        update_target(g, now);
        probe_continue(g, now);
        probe_periodic(g, now);
}

void gcc_on_twcc(struct gcc *g, uint64_t now, const struct rtcp_twcc *fb)
{
        if (!g || !fb)
                return;
        int n = rtcp_twcc_decode(fb, g->status, GCC_HISTORY);
        if (n < 0) {
                g->st.malformed++;
                return;
        }
        if (n > (int)GCC_HISTORY)
                n = GCC_HISTORY;
        /* The 24-bit reference time wraps every 12.4 days: unwrap it like a sequence number. */
        uint32_t raw = (uint32_t)fb->reference_time & 0xffffff;
        if (!g->have_ref) {
                g->have_ref = true;
                g->ref = raw;
        } else {
                int64_t d = (int64_t)((raw - g->ref_raw) & 0xffffff);
                if (d >= 0x800000)
                        d -= 0x1000000;
                g->ref += d;
        }
        g->ref_raw = raw;
        int64_t t = g->ref * 64000;
        for (int i = 0; i < n; i++) {
                const struct rtcp_twcc_status *s = &g->status[i];
                if (s->received)
                        t += s->delta_us;
                g->rep[i] = (struct gcc_packet_report){.seq = s->seq,
                                                       .received = s->received,
                                                       .has_arrival = s->received,
                                                       .arrival_us = t};
        }
        gcc_on_feedback(g, now, GCC_FEEDBACK_TWCC, g->rep, (size_t)n);
}

void gcc_on_remb(struct gcc *g, uint64_t now, uint64_t bps)
{
        (void)now;
        if (!g)
                return;
        g->have_remb = true;
        g->remb = (double)bps;
        update_target(g, now);
}

void gcc_on_receiver_report(struct gcc *g, uint64_t now, uint8_t fraction_lost, uint64_t rtt_us)
{
        if (!g)
                return;
        if (rtt_us > 0) {
                g->rtt_us = rtt_us;
                g->rtt_from_rr = true;
        }
        /* In an outage a report's loss is the cut path's (the feedback timeout handles it). */
        if ((!g->have_fb || now - g->last_fb > TWCC_RECENT_US) && g->outage_bps <= 0)
                loss_update(g, now, fraction_lost / 256.0);
        update_target(g, now);
}

static uint64_t feedback_timeout(const struct gcc *g)
{
        uint64_t t = 3 * g->rtt_us;
        return t > FEEDBACK_TIMEOUT ? t : FEEDBACK_TIMEOUT;
}

uint64_t gcc_next_deadline(const struct gcc *g)
{
        if (g && !g->have_fb && g->have_sent && !g->no_twcc)
                return g->first_sent + NO_TWCC_US;
        if (!g || !g->have_fb || !g->unfed)
                return UINT64_MAX;
        uint64_t from = g->last_fb > g->first_unfed ? g->last_fb : g->first_unfed;
        /* Within an outage, one step a second after the first. */
        if (g->last_timeout > from)
                return g->last_timeout + OUTAGE_STEP_US;
        return from + feedback_timeout(g);
}

void gcc_handle_timeout(struct gcc *g, uint64_t now)
{
        if (!g || now < gcc_next_deadline(g))
                return;
        if (!g->have_fb) {
                g->no_twcc = true;
                if (g->loss_bps < g->max)
                        g->loss_bps = g->max;
                update_target(g, now);
                return;
        }
        /* Sent packets and no word: the path may be gone or badly congested. */
        if (g->outage_bps <= 0)
                g->outage_bps = g->rc.bps;
        g->rc.bps = clampd(g->rc.bps * OUTAGE_DECREASE, g->min, g->max);
        g->rc.state = RC_HOLD;
        g->rc.have_cap = false;
        g->rc.have_change = true;
        g->rc.last_change = now;
        g->last_timeout = now;
        g->st.timeouts++;
        update_target(g, now);
}

void gcc_set_max_bps(struct gcc *g, uint32_t max_bps)
{
        if (!g)
                return;
        g->max = max_bps ? max_bps : GCC_DEFAULT_MAX_BPS;
        if (g->max < g->min)
                g->max = g->min;
        g->rc.bps = clampd(g->rc.bps, g->min, g->max);
        g->loss_bps = clampd(g->loss_bps, g->min, g->max);
        update_target(g, g->target_at);
}

uint32_t gcc_target_bps(const struct gcc *g)
{
        return g ? g->target : 0;
}

int gcc_poll_probe(struct gcc *g, uint64_t now, struct gcc_probe *out)
{
        (void)now;
        if (!g || !out || g->queue_n == 0)
                return 0;
        *out = g->queue[0];
        memmove(&g->queue[0], &g->queue[1], (g->queue_n - 1) * sizeof(g->queue[0]));
        g->queue_n--;
        g->st.probes++;
        return 1;
}

void gcc_get_stats(const struct gcc *g, struct gcc_stats *out)
{
        if (!g || !out)
                return;
        *out = g->st;
        out->target_bps = g->target;
        out->delay_bps = (uint32_t)g->rc.bps;
        out->loss_bps = (uint32_t)g->loss_bps;
        out->acked_bps = (uint32_t)g->acked_bps;
        /* As of the latest news: a data flow that stopped reads 0 once feedback has moved on. */
        out->other_bps =
            (uint32_t)other_rate(g, g->last_fb > g->other_last ? g->last_fb : g->other_last);
        out->remb_bps = g->have_remb ? (uint64_t)g->remb : 0;
        out->trend = g->tr.trend;
        out->modified_trend = g->tr.modified;
        out->threshold = g->tr.threshold;
        out->state = g->tr.usage;
        out->loss_ratio = g->loss_ratio;
        out->rtt_us = g->rtt_us;
        out->queue_us = g->queue_us > 0 ? (uint64_t)g->queue_us : 0;
        out->feedback = g->fb_kind;
}
