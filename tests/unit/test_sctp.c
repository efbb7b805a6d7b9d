/*
 * Two SCTP associations in one process over a simulated link: a virtual clock, per-packet delay
 * and jitter (which reorders), random loss, and a switch that cuts the link. No DTLS: the
 * packets one side transmits are the other side's input, as they would be after decryption.
 *
 * usrsctp runs its timers on the time we give it, but also reads gettimeofday() to measure RTTs
 * and to decide which chunks have waited a full RTO when a retransmission timer fires. So this
 * file defines gettimeofday() itself, and the library (which links to it dynamically) sees the
 * virtual clock too; without that a timeout would retransmit nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/time.h>
#include <time.h>

#include <cmocka.h>
#include <usrsctp.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "core/log.h"
#include "sctp/datachannel.h"
#include "sctp/dcep.h"
#include "sctp/sctp.h"
#include "sctp/sctp_priv.h"

#define MAX_EVENTS 64

struct msg {
        uint16_t id;
        bool binary;
        size_t len;
        uint8_t *data;
};

struct side {
        struct sctp_assoc *a;
        int up, down, failed, fail_error;
        int opened;
        uint16_t open_id[MAX_EVENTS];
        char open_label[MAX_EVENTS][80];
        char open_protocol[MAX_EVENTS][80];
        struct dc_options open_opt[MAX_EVENTS];
        int closed;
        uint16_t closed_id[MAX_EVENTS];
        uint64_t closed_at[MAX_EVENTS];
        int low;
        /* Messages are kept unless a bulk or counting receiver takes them. */
        struct msg *msgs;
        size_t nmsgs, cap;
        size_t max_packet;
        uint64_t packets;

        /* Bulk transfer: send total bytes on bulk_id; hash what is sent and received. */
        bool bulk;
        uint16_t bulk_id;
        uint64_t bulk_total, bulk_sent, bulk_rcvd;
        gnutls_hash_hd_t tx_hash, rx_hash;
        uint64_t rx_msgs;

        /* Sequence-numbered lossy receiver. */
        bool seq_mode;
        uint8_t *seen;
        uint32_t seq_count, seq_max;
        uint32_t seq_inversions, last_seq;
};

struct pkt {
        struct pkt *next;
        uint64_t at;
        int to;
        size_t len;
        uint8_t data[];
};

struct sim {
        struct side s[2];
        uint64_t now;
        struct pkt *q;
        double loss;
        uint64_t delay_us, jitter_us;
        bool cut;
        uint64_t rng;
        unsigned mtu;
        uint64_t lost;
        void (*app)(struct sim *sim);
};

/* The running simulation's clock, or NULL for the real one. Virtual time never goes back. */
static const uint64_t *g_virtual_now;
static uint64_t g_virtual_end = 1000000;
#define VIRTUAL_EPOCH_US 1700000000000000ull

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
        (void)tz;
        uint64_t us;
        if (g_virtual_now) {
                us = VIRTUAL_EPOCH_US + *g_virtual_now;
        } else {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        }
        tv->tv_sec = (time_t)(us / 1000000u);
        tv->tv_usec = (suseconds_t)(us % 1000000u);
        return 0;
}

static uint64_t rnd(struct sim *sim)
{
        /* xorshift64*: deterministic runs for a given seed. */
        sim->rng ^= sim->rng >> 12;
        sim->rng ^= sim->rng << 25;
        sim->rng ^= sim->rng >> 27;
        return sim->rng * 2685821657736338717ull;
}

static double rnd01(struct sim *sim)
{
        return (double)(rnd(sim) >> 11) / (double)(1ull << 53);
}

static void enqueue(struct sim *sim, int to, const uint8_t *data, size_t len)
{
        if (sim->cut || (sim->loss > 0 && rnd01(sim) < sim->loss)) {
                sim->lost++;
                return;
        }
        struct pkt *p = malloc(sizeof(*p) + len);
        assert_non_null(p);
        p->at = sim->now + sim->delay_us + (sim->jitter_us ? rnd(sim) % sim->jitter_us : 0);
        p->to = to;
        p->len = len;
        memcpy(p->data, data, len);
        struct pkt **pp = &sim->q;
        while (*pp && (*pp)->at <= p->at)
                pp = &(*pp)->next;
        p->next = *pp;
        *pp = p;
}

static void on_message(struct side *s, const struct sctp_output *o)
{
        if (s->bulk && o->id == s->bulk_id) {
                gnutls_hash(s->rx_hash, o->data, o->len);
                s->bulk_rcvd += o->len;
                s->rx_msgs++;
                return;
        }
        if (s->seq_mode) {
                assert_true(o->len >= 4);
                uint32_t seq = (uint32_t)o->data[0] << 24 | (uint32_t)o->data[1] << 16 |
                               (uint32_t)o->data[2] << 8 | o->data[3];
                assert_true(seq < s->seq_max);
                assert_false(s->seen[seq]); /* never duplicated */
                s->seen[seq] = 1;
                if (s->seq_count && seq < s->last_seq)
                        s->seq_inversions++;
                s->last_seq = seq;
                s->seq_count++;
                return;
        }
        if (s->nmsgs == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 16;
                s->msgs = realloc(s->msgs, s->cap * sizeof(*s->msgs));
                assert_non_null(s->msgs);
        }
        struct msg *m = &s->msgs[s->nmsgs++];
        m->id = o->id;
        m->binary = o->binary;
        m->len = o->len;
        m->data = malloc(o->len + 1);
        assert_non_null(m->data);
        if (o->len)
                memcpy(m->data, o->data, o->len);
}

static int pump(struct sim *sim)
{
        int moved = 0;
        for (int i = 0; i < 2; i++) {
                struct side *s = &sim->s[i];
                struct sctp_output o;
                while (s->a && sctp_assoc_poll_output(s->a, &o) == 1) {
                        moved++;
                        switch (o.kind) {
                        case SCTP_OUTPUT_TRANSMIT:
                                assert_true(o.len > 0);
                                if (o.len > s->max_packet)
                                        s->max_packet = o.len;
                                s->packets++;
                                enqueue(sim, 1 - i, o.data, o.len);
                                break;
                        case SCTP_OUTPUT_ASSOC_UP:
                                s->up++;
                                break;
                        case SCTP_OUTPUT_ASSOC_DOWN:
                                s->down++;
                                break;
                        case SCTP_OUTPUT_ASSOC_FAILED:
                                s->failed++;
                                s->fail_error = o.error;
                                assert_true(o.reason[0] != 0);
                                break;
                        case SCTP_OUTPUT_CHANNEL_OPEN:
                                assert_true(s->opened < MAX_EVENTS);
                                assert_int_equal(strlen(o.label), o.label_len);
                                assert_int_equal(strlen(o.protocol), o.protocol_len);
                                s->open_id[s->opened] = o.id;
                                snprintf(s->open_label[s->opened], 80, "%s", o.label);
                                snprintf(s->open_protocol[s->opened], 80, "%s", o.protocol);
                                s->open_opt[s->opened] = o.options;
                                s->opened++;
                                break;
                        case SCTP_OUTPUT_CHANNEL_MESSAGE:
                                on_message(s, &o);
                                break;
                        case SCTP_OUTPUT_CHANNEL_CLOSED:
                                assert_true(s->closed < MAX_EVENTS);
                                s->closed_at[s->closed] = sim->now;
                                s->closed_id[s->closed++] = o.id;
                                break;
                        case SCTP_OUTPUT_BUFFERED_LOW:
                                s->low++;
                                break;
                        }
                }
        }
        return moved;
}

static bool step(struct sim *sim)
{
        uint64_t t = sim->q ? sim->q->at : UINT64_MAX;
        for (int i = 0; i < 2; i++) {
                if (sim->s[i].a) {
                        uint64_t d = sctp_assoc_next_deadline(sim->s[i].a);
                        if (d < t)
                                t = d;
                }
        }
        if (t == UINT64_MAX)
                return false;
        if (t > sim->now)
                sim->now = t;
        while (sim->q && sim->q->at <= sim->now) {
                struct pkt *p = sim->q;
                sim->q = p->next;
                if (sim->s[p->to].a)
                        assert_int_equal(
                            sctp_assoc_handle_input(sim->s[p->to].a, sim->now, p->data, p->len), 0);
                free(p);
                pump(sim);
        }
        for (int i = 0; i < 2; i++)
                if (sim->s[i].a && sctp_assoc_next_deadline(sim->s[i].a) <= sim->now)
                        sctp_assoc_handle_timeout(sim->s[i].a, sim->now);
        pump(sim);
        if (sim->app)
                sim->app(sim);
        pump(sim);
        return true;
}

/* Runs the simulation until done() holds or max_us of virtual time have passed. */
static bool run_until(struct sim *sim, bool (*done)(struct sim *), uint64_t max_us)
{
        uint64_t end = sim->now + max_us;
        while (!(done && done(sim)) && sim->now < end)
                if (!step(sim))
                        break;
        return done ? done(sim) : true;
}

static void run_for(struct sim *sim, uint64_t us)
{
        uint64_t end = sim->now + us;
        while (sim->now < end)
                if (!step(sim))
                        break;
}

static bool both_up(struct sim *sim)
{
        return sim->s[0].up && sim->s[1].up;
}

static struct sctp_config default_cfg(bool client)
{
        struct sctp_config c = {0};
        c.dtls_client = client;
        c.mtu = 1200;
        return c;
}

static void sim_start(struct sim *sim, const struct sctp_config *ca, const struct sctp_config *cb)
{
        memset(sim, 0, sizeof(*sim));
        sim->rng = 0x9e3779b97f4a7c15ull;
        sim->delay_us = 10000;
        sim->now = g_virtual_end + 1000000;
        g_virtual_now = &sim->now;
        sim->mtu = ca->mtu ? ca->mtu : SCTP_DEFAULT_MTU;
        assert_int_equal(sctp_assoc_new(ca, &sim->s[0].a), 0);
        assert_int_equal(sctp_assoc_new(cb, &sim->s[1].a), 0);
        assert_int_equal(sctp_assoc_next_deadline(sim->s[0].a), UINT64_MAX);
        assert_int_equal(sctp_assoc_start(sim->s[0].a, sim->now), 0);
        assert_int_equal(sctp_assoc_start(sim->s[1].a, sim->now), 0);
        assert_true(sctp_assoc_next_deadline(sim->s[0].a) < UINT64_MAX);
        pump(sim);
}

static void sim_connect(struct sim *sim)
{
        struct sctp_config ca = default_cfg(true), cb = default_cfg(false);
        sim_start(sim, &ca, &cb);
        assert_true(run_until(sim, both_up, 5000000));
}

static void sim_free(struct sim *sim)
{
        g_virtual_end = sim->now;
        g_virtual_now = NULL;
        for (int i = 0; i < 2; i++) {
                struct side *s = &sim->s[i];
                sctp_assoc_free(s->a);
                s->a = NULL;
                for (size_t k = 0; k < s->nmsgs; k++)
                        free(s->msgs[k].data);
                free(s->msgs);
                free(s->seen);
                if (s->bulk) {
                        gnutls_hash_deinit(s->tx_hash, NULL);
                        gnutls_hash_deinit(s->rx_hash, NULL);
                }
        }
        while (sim->q) {
                struct pkt *p = sim->q;
                sim->q = p->next;
                free(p);
        }
}

static void test_connect(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        assert_int_equal(sim.s[0].up, 1);
        assert_int_equal(sim.s[1].up, 1);
        assert_true(sctp_assoc_is_up(sim.s[0].a));
        assert_int_equal(sctp_assoc_max_message_size(sim.s[0].a), SCTP_DEFAULT_MAX_MESSAGE_SIZE);
        /* Idle associations keep ticking, slower once nothing happens. */
        run_for(&sim, 5000000);
        uint64_t d = sctp_assoc_next_deadline(sim.s[0].a);
        assert_true(d > sim.now && d <= sim.now + 1000000);
        assert_true(sim.s[0].max_packet <= 1200);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static void test_ports_and_lossy_setup(void **state)
{
        (void)state;
        struct sim sim;
        struct sctp_config ca = default_cfg(true), cb = default_cfg(false);
        ca.local_port = 5001;
        ca.remote_port = 6002;
        cb.local_port = 6002;
        cb.remote_port = 5001;
        sim_start(&sim, &ca, &cb);
        sim.loss = 0.3;
        assert_true(run_until(&sim, both_up, 60000000));
        sim_free(&sim);
}

static bool a_failed(struct sim *sim)
{
        return sim->s[0].failed > 0;
}

static void test_port_mismatch_fails(void **state)
{
        (void)state;
        struct sim sim;
        struct sctp_config ca = default_cfg(true), cb = default_cfg(false);
        ca.remote_port = 5999; /* nobody listens there */
        sim_start(&sim, &ca, &cb);
        assert_true(run_until(&sim, a_failed, 600000000));
        assert_int_equal(sim.s[0].up, 0);
        assert_true(sim.s[0].fail_error == -ECONNREFUSED || sim.s[0].fail_error == -ECONNRESET);
        assert_int_equal(sctp_assoc_next_deadline(sim.s[0].a), UINT64_MAX);
        sim_free(&sim);
}

static bool opened_on_b(struct sim *sim)
{
        return sim->s[1].opened > 0;
}

static bool opened_on_a(struct sim *sim)
{
        return sim->s[0].opened > 0;
}

static size_t want_msgs;
static bool b_has_msgs(struct sim *sim)
{
        return sim->s[1].nmsgs >= want_msgs;
}
static bool a_has_msgs(struct sim *sim)
{
        return sim->s[0].nmsgs >= want_msgs;
}

static void test_open_both_sides(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        uint16_t id_a, id_b, id_a2;
        struct sctp_assoc *a = sim.s[0].a, *b = sim.s[1].a;
        assert_int_equal(sctp_channel_open(a, "chat", "json", NULL, &id_a), 0);
        assert_int_equal(id_a, 0); /* DTLS client: even */
        struct dc_options lossy = {.unordered = true,
                                   .reliability = DC_MAX_LIFETIME,
                                   .reliability_param = 1500,
                                   .priority = 512};
        assert_int_equal(sctp_channel_open(b, "b\xc3\xafn", "", &lossy, &id_b), 0);
        assert_int_equal(id_b, 1); /* DTLS server: odd */
        struct dc_options rtx = {.reliability = DC_MAX_RETRANSMITS, .reliability_param = 4};
        assert_int_equal(sctp_channel_open(a, NULL, NULL, &rtx, &id_a2), 0);
        assert_int_equal(id_a2, 2);
        pump(&sim);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        assert_true(run_until(&sim, opened_on_a, 2000000));
        run_for(&sim, 200000);
        assert_int_equal(sim.s[1].opened, 2);
        assert_int_equal(sim.s[1].open_id[0], 0);
        assert_string_equal(sim.s[1].open_label[0], "chat");
        assert_string_equal(sim.s[1].open_protocol[0], "json");
        assert_false(sim.s[1].open_opt[0].unordered);
        assert_int_equal(sim.s[1].open_opt[0].reliability, DC_RELIABLE);
        assert_int_equal(sim.s[1].open_opt[0].priority, 256);
        assert_int_equal(sim.s[1].open_id[1], 2);
        assert_string_equal(sim.s[1].open_label[1], "");
        assert_int_equal(sim.s[1].open_opt[1].reliability, DC_MAX_RETRANSMITS);
        assert_int_equal(sim.s[1].open_opt[1].reliability_param, 4);
        assert_int_equal(sim.s[0].opened, 1);
        assert_int_equal(sim.s[0].open_id[0], 1);
        assert_string_equal(sim.s[0].open_label[0], "b\xc3\xafn");
        assert_true(sim.s[0].open_opt[0].unordered);
        assert_int_equal(sim.s[0].open_opt[0].reliability, DC_MAX_LIFETIME);
        assert_int_equal(sim.s[0].open_opt[0].reliability_param, 1500);
        assert_int_equal(sim.s[0].open_opt[0].priority, 512);
        assert_true(sctp_channel_is_open(a, 1) && sctp_channel_is_open(b, 0));
        assert_false(sctp_channel_is_open(a, 3));

        /* Bad arguments are refused without touching the association. */
        struct dc_options bad = {.reliability = 7};
        uint16_t x;
        assert_int_equal(sctp_channel_open(a, "x", NULL, &bad, &x), -EINVAL);
        assert_int_equal(sctp_channel_open(a, "\xff", NULL, NULL, &x), -EINVAL);
        assert_int_equal(sctp_channel_send(a, 9, false, "x", 1), -ENOENT);
        sim_free(&sim);
}

static void check_msg(const struct msg *m, uint16_t id, bool binary, const void *data, size_t len)
{
        assert_int_equal(m->id, id);
        assert_int_equal(m->binary, binary);
        assert_int_equal(m->len, len);
        if (len)
                assert_memory_equal(m->data, data, len);
}

static void test_messages_both_ways(void **state)
{
        (void)state;
        struct sim sim;
        struct sctp_config ca = default_cfg(true), cb = default_cfg(false);
        ca.peer_max_message_size = 1 << 20;
        cb.peer_max_message_size = 1 << 20;
        ca.receive_limit = 1 << 20;
        cb.receive_limit = 1 << 20;
        sim_start(&sim, &ca, &cb);
        assert_true(run_until(&sim, both_up, 5000000));
        sim.jitter_us = 3000; /* reorders packets */
        struct sctp_assoc *a = sim.s[0].a, *b = sim.s[1].a;
        uint16_t id;
        assert_int_equal(sctp_channel_open(a, "m", "", NULL, &id), 0);
        /* Sending before the peer's ACK is allowed. */
        static const size_t sizes[] = {1, 2, 1000, 1135, 1200, 5000, 65536, 200000, 1 << 20};
        size_t n = sizeof(sizes) / sizeof(sizes[0]);
        uint8_t *big = malloc((1 << 20) + 16);
        assert_non_null(big);
        for (size_t i = 0; i < (1 << 20) + 16; i++)
                big[i] = (uint8_t)(i * 7 + (i >> 9));
        assert_int_equal(sctp_channel_send(a, id, false, "hello", 5), 0);
        assert_int_equal(sctp_channel_send(a, id, false, "", 0), 0);
        assert_int_equal(sctp_channel_send(a, id, true, "", 0), 0);
        assert_int_equal(sctp_channel_send(a, id, true, "\0\x01\xff", 3), 0);
        for (size_t i = 0; i < n; i++) {
                int rc;
                while ((rc = sctp_channel_send(a, id, true, big + i, sizes[i])) == -EAGAIN)
                        step(&sim);
                assert_int_equal(rc, 0);
        }
        want_msgs = 4 + n;
        assert_true(run_until(&sim, b_has_msgs, 30000000));
        struct side *sb = &sim.s[1];
        assert_int_equal(sb->nmsgs, 4 + n);
        check_msg(&sb->msgs[0], id, false, "hello", 5);
        check_msg(&sb->msgs[1], id, false, "", 0);
        check_msg(&sb->msgs[2], id, true, "", 0);
        check_msg(&sb->msgs[3], id, true, "\0\x01\xff", 3);
        for (size_t i = 0; i < n; i++)
                check_msg(&sb->msgs[4 + i], id, true, big + i, sizes[i]);

        /* And back on the same channel. */
        assert_int_equal(sctp_channel_send(b, id, false, "w\xc3\xb6rld", 6), 0);
        assert_int_equal(sctp_channel_send(b, id, true, "", 0), 0);
        assert_int_equal(sctp_channel_send(b, id, false, "", 0), 0);
        assert_int_equal(sctp_channel_send(b, id, true, big, 70000), 0);
        want_msgs = 4;
        assert_true(run_until(&sim, a_has_msgs, 30000000));
        struct side *sa = &sim.s[0];
        check_msg(&sa->msgs[0], id, false, "w\xc3\xb6rld", 6);
        check_msg(&sa->msgs[1], id, true, "", 0);
        check_msg(&sa->msgs[2], id, false, "", 0);
        check_msg(&sa->msgs[3], id, true, big, 70000);
        print_message("largest packets: %zu and %zu bytes\n", sa->max_packet, sb->max_packet);
        assert_true(sa->max_packet <= 1200 && sb->max_packet <= 1200);
        assert_true(sa->max_packet > 1100); /* bulk data fills packets */
        free(big);
        sim_free(&sim);
}

static void test_max_message_size(void **state)
{
        (void)state;
        struct sim sim;
        struct sctp_config ca = default_cfg(true), cb = default_cfg(false);
        ca.peer_max_message_size = 4096; /* what B announced */
        ca.receive_limit = 16384;        /* what A announced, but B ignores it */
        cb.peer_max_message_size = 65536;
        sim_start(&sim, &ca, &cb);
        assert_true(run_until(&sim, both_up, 5000000));
        struct sctp_assoc *a = sim.s[0].a, *b = sim.s[1].a;
        assert_int_equal(sctp_assoc_max_message_size(a), 4096);
        uint16_t id;
        assert_int_equal(sctp_channel_open(a, "", "", NULL, &id), 0);
        static uint8_t data[20000];
        memset(data, 'q', sizeof(data));
        assert_int_equal(sctp_channel_send(a, id, true, data, 4097), -EMSGSIZE);
        assert_int_equal(sctp_channel_send(a, id, true, data, 4096), 0);
        want_msgs = 1;
        assert_true(run_until(&sim, b_has_msgs, 5000000));
        assert_int_equal(sim.s[1].msgs[0].len, 4096);

        /* A drops what exceeds its own limit and carries on. */
        assert_int_equal(sctp_channel_send(b, id, true, data, 20000), 0);
        assert_int_equal(sctp_channel_send(b, id, true, data, 16384), 0);
        assert_int_equal(sctp_channel_send(b, id, false, "after", 5), 0);
        want_msgs = 2;
        assert_true(run_until(&sim, a_has_msgs, 5000000));
        run_for(&sim, 500000);
        assert_int_equal(sim.s[0].nmsgs, 2);
        assert_int_equal(sim.s[0].msgs[0].len, 16384);
        check_msg(&sim.s[0].msgs[1], id, false, "after", 5);
        assert_true(sctp_assoc_is_up(a) && sctp_assoc_is_up(b));

        /* "No limit" from the SDP still stops at the send buffer. */
        sim_free(&sim);
        ca.peer_max_message_size = SIZE_MAX;
        ca.send_buffer = 300000;
        sim_start(&sim, &ca, &cb);
        assert_int_equal(sctp_assoc_max_message_size(sim.s[0].a), 300000);
        sim_free(&sim);
}

static bool closed_both(struct sim *sim)
{
        return sim->s[0].closed > 0 && sim->s[1].closed > 0;
}

static void test_close(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct sctp_assoc *a = sim.s[0].a, *b = sim.s[1].a;
        uint16_t id, keep;
        assert_int_equal(sctp_channel_open(a, "first", "", NULL, &id), 0);
        assert_int_equal(sctp_channel_open(a, "other", "", NULL, &keep), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        for (int i = 0; i < 5; i++)
                assert_int_equal(sctp_channel_send(a, id, false, "last words", 10), 0);
        assert_int_equal(sctp_channel_close(a, id), 0);
        assert_int_equal(sctp_channel_close(a, id), 0); /* idempotent */
        assert_int_equal(sctp_channel_send(a, id, false, "x", 1), -EPIPE);
        assert_false(sctp_channel_is_open(a, id));
        assert_true(run_until(&sim, closed_both, 5000000));
        /* Everything sent before the close arrived first. */
        assert_int_equal(sim.s[1].nmsgs, 5);
        assert_int_equal(sim.s[1].closed, 1);
        assert_int_equal(sim.s[1].closed_id[0], id);
        assert_int_equal(sim.s[0].closed, 1);
        assert_int_equal(sim.s[0].closed_id[0], id);
        /* CLOSED means both directions are reset: the id is free on both sides. */
        assert_int_equal(sctp_channel_send(b, id, false, "x", 1), -ENOENT);
        /* The other channel is untouched. */
        assert_int_equal(sctp_channel_send(b, keep, false, "still", 5), 0);
        want_msgs = 1;
        assert_true(run_until(&sim, a_has_msgs, 2000000));
        /* Both resets are done: the id can be used again. */
        uint16_t again;
        assert_int_equal(sctp_channel_open(a, "second", "p", NULL, &again), 0);
        assert_int_equal(again, id);
        run_for(&sim, 500000);
        assert_int_equal(sim.s[1].opened, 3);
        assert_string_equal(sim.s[1].open_label[2], "second");
        assert_int_equal(sctp_channel_send(a, again, false, "new", 3), 0);
        want_msgs = 6;
        assert_true(run_until(&sim, b_has_msgs, 2000000));
        check_msg(&sim.s[1].msgs[5], again, false, "new", 3);

        /* The side that did not open a channel may close it too. */
        assert_int_equal(sctp_channel_close(b, keep), 0);
        assert_true(run_until(&sim, closed_both, 5000000));
        run_for(&sim, 500000);
        assert_int_equal(sim.s[0].closed, 2);
        assert_int_equal(sim.s[0].closed_id[1], keep);
        assert_int_equal(sim.s[1].closed, 2);
        assert_int_equal(sctp_channel_send(a, keep, false, "x", 1), -ENOENT);
        sim_free(&sim);
}

/*
 * Open, send and close at once: the message arrives before the reset, which waits for the ACK
 * and half a second more (Chromium drops messages of a channel closed before its page has it),
 * and the side that answers the close reports CLOSED after the side that started it.
 */
static void test_close_right_after_open(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct sctp_assoc *a = sim.s[0].a;
        uint16_t id;
        uint64_t t0 = sim.now;
        assert_int_equal(sctp_channel_open(a, "quick", "", NULL, &id), 0);
        assert_int_equal(sctp_channel_send(a, id, true, "only", 4), 0);
        assert_int_equal(sctp_channel_close(a, id), 0);
        assert_true(run_until(&sim, closed_both, 5000000));
        assert_int_equal(sim.s[1].opened, 1);
        assert_int_equal(sim.s[1].nmsgs, 1);
        check_msg(&sim.s[1].msgs[0], id, true, "only", 4);
        /* The ACK takes one 10 ms link delay; the close waited 500 ms more. */
        assert_true(sim.s[0].closed_at[0] - t0 >= 510000);
        assert_true(sim.s[0].closed_at[0] - t0 < 1000000);
        assert_true(sim.s[1].closed_at[0] > sim.s[0].closed_at[0]);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static uint16_t half_id;
static bool b_peer_finished(struct sim *sim)
{
        return sctp_channel_peer_finished(sim->s[1].a, half_id);
}

/*
 * The last answer of a close lost for good (the side that finished first hung up): A has its
 * CLOSED, B never gets one, but B can tell that every message of A's channel has arrived, and A
 * could tell before its CLOSED that everything it sent was acknowledged.
 */
static void test_close_last_answer_lost(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct sctp_assoc *a = sim.s[0].a, *b = sim.s[1].a;
        assert_int_equal(sctp_channel_open(a, "half", "", NULL, &half_id), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        run_for(&sim, 600000);                           /* past the ACK and the grace after it */
        assert_false(sctp_channel_sent_all(a, half_id)); /* not closed yet */
        assert_int_equal(sctp_channel_send(a, half_id, false, "all of it", 9), 0);
        assert_int_equal(sctp_channel_close(a, half_id), 0);
        assert_false(sctp_channel_peer_finished(b, half_id));
        assert_true(run_until(&sim, b_peer_finished, 2000000));
        assert_int_equal(sim.s[1].nmsgs, 1);
        assert_true(sctp_channel_sent_all(a, half_id) || sim.s[0].closed == 1);
        sim.cut = true; /* what B sends from now on is lost, as after a hang-up */
        run_for(&sim, 3000000);
        assert_int_equal(sim.s[0].closed, 1);
        assert_int_equal(sim.s[1].closed, 0);
        assert_true(sctp_channel_peer_finished(b, half_id));
        sim_free(&sim);
}

/* Bulk transfer: deterministic content derived from the side and the offset. */
static void fill(uint8_t *p, size_t n, int side, uint64_t off)
{
        for (size_t i = 0; i < n; i++) {
                uint64_t x = (off + i) * 0x9e3779b97f4a7c15ull + (uint64_t)side * 77;
                p[i] = (uint8_t)(x >> 37);
        }
}

#define BULK_CHUNK 16384

static void bulk_app(struct sim *sim)
{
        static uint8_t chunk[BULK_CHUNK];
        for (int i = 0; i < 2; i++) {
                struct side *s = &sim->s[i];
                if (!s->bulk)
                        continue;
                while (s->bulk_sent < s->bulk_total) {
                        size_t n = s->bulk_total - s->bulk_sent < BULK_CHUNK
                                       ? (size_t)(s->bulk_total - s->bulk_sent)
                                       : BULK_CHUNK;
                        fill(chunk, n, i, s->bulk_sent);
                        int rc = sctp_channel_send(s->a, s->bulk_id, true, chunk, n);
                        if (rc == -EAGAIN)
                                break;
                        assert_int_equal(rc, 0);
                        gnutls_hash(s->tx_hash, chunk, n);
                        s->bulk_sent += n;
                }
        }
}

static bool bulk_done(struct sim *sim)
{
        return sim->s[0].bulk_rcvd == sim->s[1].bulk_total &&
               sim->s[1].bulk_rcvd == sim->s[0].bulk_total;
}

static void test_bulk_lossy_both_ways(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        uint16_t id;
        assert_int_equal(sctp_channel_open(sim.s[0].a, "bulk", "", NULL, &id), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        sim.loss = 0.05;
        sim.jitter_us = 4000;
        for (int i = 0; i < 2; i++) {
                struct side *s = &sim.s[i];
                s->bulk = true;
                s->bulk_id = id;
                s->bulk_total = 10 * 1024 * 1024;
                assert_int_equal(gnutls_hash_init(&s->tx_hash, GNUTLS_DIG_SHA256), 0);
                assert_int_equal(gnutls_hash_init(&s->rx_hash, GNUTLS_DIG_SHA256), 0);
        }
        sim.app = bulk_app;
        uint64_t t0 = sim.now;
        assert_true(run_until(&sim, bulk_done, 1200000000ull));
        double secs = (double)(sim.now - t0) / 1e6;
        print_message("10 MiB each way under 5%% loss: %.1f s virtual, %llu packets lost\n", secs,
                      (unsigned long long)sim.lost);
        for (int i = 0; i < 2; i++) {
                uint8_t tx[32], rx[32];
                gnutls_hash_output(sim.s[i].tx_hash, tx);
                gnutls_hash_output(sim.s[1 - i].rx_hash, rx);
                assert_memory_equal(tx, rx, 32);
                assert_int_equal(sim.s[1 - i].rx_msgs, 640);
        }
        assert_true(sim.lost > 500);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static uint32_t seq_next;
static uint64_t seq_last_send;
#define SEQ_TOTAL 2000

static void seq_app(struct sim *sim)
{
        /* One 200-byte message every 5 ms of virtual time. */
        while (seq_next < SEQ_TOTAL && sim->now >= seq_last_send + 5000) {
                uint8_t m[200];
                memset(m, 0xa5, sizeof(m));
                m[0] = (uint8_t)(seq_next >> 24);
                m[1] = (uint8_t)(seq_next >> 16);
                m[2] = (uint8_t)(seq_next >> 8);
                m[3] = (uint8_t)seq_next;
                int rc = sctp_channel_send(sim->s[0].a, 0, true, m, sizeof(m));
                assert_int_equal(rc, 0);
                seq_next++;
                seq_last_send = seq_last_send ? seq_last_send + 5000 : sim->now;
        }
}

static void test_unordered_unreliable_under_loss(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct dc_options o = {
            .unordered = true, .reliability = DC_MAX_RETRANSMITS, .reliability_param = 0};
        uint16_t id;
        assert_int_equal(sctp_channel_open(sim.s[0].a, "lossy", "", &o, &id), 0);
        assert_int_equal(id, 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        assert_true(sim.s[1].open_opt[0].unordered);
        assert_int_equal(sim.s[1].open_opt[0].reliability, DC_MAX_RETRANSMITS);
        assert_int_equal(sim.s[1].open_opt[0].reliability_param, 0);
        run_for(&sim, 300000); /* let the ACK arrive so messages go unordered */
        struct side *sb = &sim.s[1];
        sb->seq_mode = true;
        sb->seq_max = SEQ_TOTAL;
        sb->seen = calloc(SEQ_TOTAL, 1);
        sim.loss = 0.10;
        sim.jitter_us = 8000;
        seq_next = 0;
        seq_last_send = 0;
        sim.app = seq_app;
        run_for(&sim, (uint64_t)SEQ_TOTAL * 5000 + 3000000);
        assert_int_equal(seq_next, SEQ_TOTAL);
        uint32_t got = sb->seq_count;
        print_message("unordered, 0 retransmits, 10%% loss: %u of %u delivered, %u out of order\n",
                      got, SEQ_TOTAL, sb->seq_inversions);
        /* Roughly 10% lost, never retransmitted, and no stall behind the holes. */
        assert_true(got < SEQ_TOTAL * 97 / 100);
        assert_true(got > SEQ_TOTAL * 80 / 100);
        uint32_t late = 0;
        for (uint32_t s = SEQ_TOTAL - 100; s < SEQ_TOTAL; s++)
                late += sb->seen[s];
        assert_true(late > 70);
        assert_true(sb->seq_inversions > 0); /* jitter reorders and nothing waits */
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

/*
 * B opens a channel of its own every 250 ms and closes it 100 ms later, while A streams to B
 * unordered with no retransmissions under loss. Each close makes A reset its outgoing stream in
 * answer, and that request names A's last TSN, which B often has not received in full yet: B
 * must hold the reset until then, while unordered messages keep arriving.
 */
static uint64_t churn_next;
static uint16_t churn_id;
static bool churn_open;
static int churn_cycles, churn_opens;

static void churn_app(struct sim *sim)
{
        seq_app(sim);
        struct sctp_assoc *b = sim->s[1].a;
        if (sim->now < churn_next || seq_next >= SEQ_TOTAL)
                return;
        if (!churn_open) {
                assert_int_equal(sctp_channel_open(b, "churn", "", NULL, &churn_id), 0);
                assert_int_equal(sctp_channel_send(b, churn_id, false, "hi", 2), 0);
                churn_open = true;
                churn_opens++;
                churn_next = sim->now + 100000;
        } else {
                assert_int_equal(sctp_channel_close(b, churn_id), 0);
                churn_open = false;
                churn_cycles++;
                churn_next = sim->now + 150000;
        }
}

static void test_reset_during_unordered_loss(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct dc_options o = {
            .unordered = true, .reliability = DC_MAX_RETRANSMITS, .reliability_param = 0};
        uint16_t id;
        assert_int_equal(sctp_channel_open(sim.s[0].a, "lossy", "", &o, &id), 0);
        assert_int_equal(id, 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        run_for(&sim, 300000);
        struct side *sb = &sim.s[1];
        sb->seq_mode = true;
        sb->seq_max = SEQ_TOTAL;
        sb->seen = calloc(SEQ_TOTAL, 1);
        sim.loss = 0.10;
        sim.jitter_us = 8000;
        seq_next = 0;
        seq_last_send = 0;
        churn_next = sim.now;
        churn_open = false;
        churn_cycles = churn_opens = 0;
        sim.app = churn_app;
        run_for(&sim, (uint64_t)SEQ_TOTAL * 5000 + 3000000);
        assert_int_equal(seq_next, SEQ_TOTAL);
        sim.loss = 0;
        run_for(&sim, 3000000);
        uint32_t got = sb->seq_count;
        print_message("unordered, 0 retransmits, 10%% loss, %d channel closes meanwhile: %u of %u "
                      "delivered\n",
                      churn_cycles, got, SEQ_TOTAL);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        assert_true(churn_cycles >= 30);
        /* Every close completed on both sides, and every reopened id worked (its "hi" came). */
        assert_int_equal(sim.s[1].closed, churn_cycles);
        assert_int_equal(sim.s[0].closed, churn_cycles);
        assert_int_equal(sim.s[0].nmsgs, (size_t)churn_opens);
        /* About 10% lost: none held back behind a reset or misfiled as ordered data. */
        assert_true(got > SEQ_TOTAL * 85 / 100);
        sim_free(&sim);
}

/*
 * The shell's warm-up (two associations in memory, a channel and a message) completes, leaves
 * nothing behind, and a real association connects after it as before.
 */
static void test_lib_prepare(void **state)
{
        (void)state;
        sctp_lib_prepare();
        sctp_lib_prepare();
        struct sim sim;
        sim_connect(&sim);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

/*
 * The handshake's first packets are lost, so usrsctp takes its first RTT sample across a
 * resent INIT (about a second) and its RTO starts in seconds. A partially reliable stream
 * under loss then abandons the chunk timed for RTT, which stops usrsctp's RTT sampling for
 * good: without the glue's heartbeat probes the RTO stayed in seconds and every loss that a
 * small window could not fast-retransmit stalled the sender for that long.
 */
static void test_rto_recovers_after_lossy_handshake(void **state)
{
        (void)state;
        struct sim sim;
        struct sctp_config ca = default_cfg(true), cb = default_cfg(false);
        sim_start(&sim, &ca, &cb);
        while (sim.q) { /* both INITs lost */
                struct pkt *p = sim.q;
                sim.q = p->next;
                free(p);
        }
        assert_true(run_until(&sim, both_up, 5000000));
        uint32_t rto0 = sctp_assoc_rto_ms(sim.s[0].a);
        assert_true(rto0 >= 1000); /* the bad first sample */
        struct dc_options o = {
            .unordered = true, .reliability = DC_MAX_RETRANSMITS, .reliability_param = 0};
        uint16_t id;
        assert_int_equal(sctp_channel_open(sim.s[0].a, "lossy", "", &o, &id), 0);
        assert_true(run_until(&sim, opened_on_b, 5000000));
        struct side *sb = &sim.s[1];
        sb->seq_mode = true;
        sb->seq_max = SEQ_TOTAL;
        sb->seen = calloc(SEQ_TOTAL, 1);
        sim.loss = 0.10;
        seq_next = 0;
        seq_last_send = 0;
        sim.app = seq_app;
        /* 2000 messages take 10 s to send; give the sender 2 s more. */
        run_for(&sim, (uint64_t)SEQ_TOTAL * 5000 + 2000000);
        uint32_t rto1 = sctp_assoc_rto_ms(sim.s[0].a), got = sb->seq_count;
        print_message("RTO %u ms after the handshake, %u ms after 12 s of loss; %u of %u "
                      "delivered\n",
                      rto0, rto1, got, SEQ_TOTAL);
        assert_true(rto1 <= 400); /* 20 ms round trips: the 220 ms minimum, some backoff */
        assert_true(got > SEQ_TOTAL * 85 / 100);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static size_t fill_until_blocked(struct sim *sim, uint16_t id, int max_steps)
{
        static uint8_t chunk[BULK_CHUNK];
        size_t sent = 0;
        for (int i = 0; i < max_steps; i++) {
                int rc;
                while ((rc = sctp_channel_send(sim->s[0].a, id, true, chunk, sizeof(chunk))) == 0)
                        sent += sizeof(chunk);
                assert_int_equal(rc, -EAGAIN);
                step(sim);
        }
        return sent;
}

static bool a_drained(struct sim *sim)
{
        return sctp_assoc_buffered(sim->s[0].a, -1) == 0;
}

static void test_backpressure_link_cut(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct sctp_assoc *a = sim.s[0].a;
        uint16_t id;
        assert_int_equal(sctp_channel_open(a, "bp", "", NULL, &id), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        assert_int_equal(sctp_assoc_buffered(a, id), 0);
        sim.cut = true;
        size_t sent = fill_until_blocked(&sim, id, 50);
        size_t buffered = sctp_assoc_buffered(a, id);
        print_message("link cut: %zu bytes accepted, %zu buffered\n", sent, buffered);
        assert_true(buffered >= 900 * 1024);
        assert_true(buffered <= sent);
        /* The association total counts a little chunk overhead on top. */
        size_t total = sctp_assoc_buffered(a, -1);
        assert_true(total >= buffered && total < buffered + 4096);
        run_for(&sim, 2000000);
        assert_int_equal(sctp_assoc_buffered(a, id), buffered);
        assert_int_equal(sim.s[0].low, 0);
        sim.cut = false;
        assert_true(run_until(&sim, a_drained, 60000000));
        assert_true(sim.s[0].low >= 1);
        size_t rcvd = 0;
        for (size_t i = 0; i < sim.s[1].nmsgs; i++)
                rcvd += sim.s[1].msgs[i].len;
        assert_int_equal(rcvd, sent);
        assert_int_equal(sim.s[0].failed, 0);
        sim_free(&sim);
}

static void test_backpressure_reader_paused(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct sctp_assoc *a = sim.s[0].a, *b = sim.s[1].a;
        uint16_t id;
        assert_int_equal(sctp_channel_open(a, "bp", "", NULL, &id), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        sctp_assoc_set_receive_paused(b, true);
        size_t sent = fill_until_blocked(&sim, id, 300);
        run_for(&sim, 2000000);
        size_t buffered = sctp_assoc_buffered(a, id);
        print_message("reader paused: %zu bytes accepted, %zu buffered, %zu delivered\n", sent,
                      buffered, sim.s[1].nmsgs * (size_t)BULK_CHUNK);
        assert_int_equal(sim.s[1].nmsgs, 0);
        assert_true(buffered >= 900 * 1024);
        assert_true(sent > buffered + 512 * 1024); /* the rest sits in B's receive buffer */
        /* Still blocked: only what the last acks freed fits, then a trickle of window probes
         * (one packet each, RTO apart), far below the 1 MiB a moving reader would take. */
        size_t more = fill_until_blocked(&sim, id, 1);
        assert_true(more <= SCTP_DEFAULT_BUFFER - buffered + BULK_CHUNK);
        run_for(&sim, 2000000);
        size_t later = fill_until_blocked(&sim, id, 1);
        assert_true(later <= 4 * BULK_CHUNK);
        sent += more + later;
        sctp_assoc_set_receive_paused(b, false);
        pump(&sim);
        assert_true(run_until(&sim, a_drained, 60000000));
        assert_true(sim.s[0].low >= 1);
        assert_int_equal(sim.s[1].nmsgs * (size_t)BULK_CHUNK, sent);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static void test_malformed_dcep(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        struct sctp_assoc *a = sim.s[0].a;
        static const uint8_t truncated[] = {0x03, 0x00, 0x01};
        static const uint8_t bad_type[] = {0x03, 0x07, 0x01, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 'x'};
        static const uint8_t overflow[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
        static const uint8_t bad_utf8[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 0xc0};
        static const uint8_t trailing[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        static const uint8_t unknown_msg[] = {0x09, 1, 2, 3};
        static const uint8_t ack_junk[] = {0x02, 0x00};
        struct {
                uint16_t sid;
                uint32_t ppid;
                const uint8_t *p;
                size_t n;
        } junk[] = {
            {0, DCEP_PPID_CONTROL, truncated, sizeof(truncated)},
            {2, DCEP_PPID_CONTROL, bad_type, sizeof(bad_type)},
            {4, DCEP_PPID_CONTROL, overflow, sizeof(overflow)},
            {6, DCEP_PPID_CONTROL, bad_utf8, sizeof(bad_utf8)},
            {8, DCEP_PPID_CONTROL, trailing, sizeof(trailing)},
            {10, DCEP_PPID_CONTROL, unknown_msg, sizeof(unknown_msg)},
            {12, DCEP_PPID_CONTROL, ack_junk, sizeof(ack_junk)},
            {14, 99, (const uint8_t *)"who", 3},                  /* unknown PPID */
            {16, DCEP_PPID_STRING, (const uint8_t *)"orphan", 6}, /* no channel */
        };
        for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
                assert_int_equal(sctp_assoc_send_raw(a, junk[i].sid, junk[i].ppid, false, NULL,
                                                     junk[i].p, junk[i].n),
                                 0);
        run_for(&sim, 500000);
        assert_int_equal(sim.s[1].opened, 0);
        assert_int_equal(sim.s[1].nmsgs, 0);

        /* A good OPEN and messages still work afterwards, including one sent raw. */
        uint16_t id;
        assert_int_equal(sctp_channel_open(a, "good", "", NULL, &id), 0);
        assert_int_equal(id, 0);
        /* A second OPEN on the same stream is ignored, as is data with an unknown PPID there. */
        static const uint8_t dup[] = {0x03, 0x00, 0x01, 0x00, 0,   0,   0,  0,
                                      0,    3,    0,    0,    'd', 'u', 'p'};
        assert_int_equal(
            sctp_assoc_send_raw(a, id, DCEP_PPID_CONTROL, false, NULL, dup, sizeof(dup)), 0);
        assert_int_equal(sctp_assoc_send_raw(a, id, 77, false, NULL, "zz", 2), 0);
        assert_int_equal(sctp_channel_send(a, id, false, "fine", 4), 0);
        /* Deprecated partial PPIDs are joined with the final part. */
        assert_int_equal(sctp_assoc_send_raw(a, id, DCEP_PPID_STRING_PARTIAL, false, NULL, "ab", 2),
                         0);
        assert_int_equal(sctp_assoc_send_raw(a, id, DCEP_PPID_STRING_PARTIAL, false, NULL, "cd", 2),
                         0);
        assert_int_equal(sctp_assoc_send_raw(a, id, DCEP_PPID_STRING, false, NULL, "e", 1), 0);
        want_msgs = 2;
        assert_true(run_until(&sim, b_has_msgs, 2000000));
        run_for(&sim, 300000);
        assert_int_equal(sim.s[1].opened, 1);
        assert_string_equal(sim.s[1].open_label[0], "good");
        assert_int_equal(sim.s[1].nmsgs, 2);
        check_msg(&sim.s[1].msgs[0], id, false, "fine", 4);
        check_msg(&sim.s[1].msgs[1], id, false, "abcde", 5);
        assert_true(sctp_assoc_is_up(sim.s[1].a));
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static bool both_down(struct sim *sim)
{
        return sim->s[0].down && sim->s[1].down;
}

static void test_shutdown(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        uint16_t id;
        assert_int_equal(sctp_channel_open(sim.s[0].a, "s", "", NULL, &id), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        assert_int_equal(sctp_channel_send(sim.s[0].a, id, false, "bye", 3), 0);
        assert_int_equal(sctp_assoc_shutdown(sim.s[0].a), 0);
        assert_true(run_until(&sim, both_down, 5000000));
        assert_int_equal(sim.s[1].nmsgs, 1);
        /* Open channels end with the association. */
        assert_int_equal(sim.s[0].closed, 1);
        assert_int_equal(sim.s[1].closed, 1);
        assert_int_equal(sctp_channel_send(sim.s[0].a, id, false, "x", 1), -ENOTCONN);
        assert_int_equal(sim.s[0].failed + sim.s[1].failed, 0);
        sim_free(&sim);
}

static void test_peer_vanishes(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim);
        uint16_t id;
        assert_int_equal(sctp_channel_open(sim.s[0].a, "v", "", NULL, &id), 0);
        assert_true(run_until(&sim, opened_on_b, 2000000));
        sim.cut = true;
        assert_int_equal(sctp_channel_send(sim.s[0].a, id, false, "lost", 4), 0);
        assert_true(run_until(&sim, a_failed, 600000000ull));
        assert_int_equal(sim.s[0].fail_error, -ETIMEDOUT);
        assert_int_equal(sim.s[0].closed, 1);
        assert_int_equal(sctp_assoc_next_deadline(sim.s[0].a), UINT64_MAX);
        sim_free(&sim);
}

/* Our CRC32c (the CPU instruction when there is one) matches usrsctp's, every length. */
static void test_crc32c(void **state)
{
        (void)state;
        struct sim sim;
        sim_connect(&sim); /* initialises the library and picks the implementation */
        uint8_t buf[1300];
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (uint8_t)(rnd(&sim) >> 24);
        for (size_t n = 0; n <= sizeof(buf); n += n < 80 ? 1 : 97)
                assert_int_equal(sctp_crc32c(buf, n), usrsctp_crc32c(buf, n));
        /* RFC 3720 B.4: 32 bytes of zeros give the bytes aa 36 91 8a. */
        memset(buf, 0, 32);
        uint32_t crc = sctp_crc32c(buf, 32);
        assert_memory_equal(&crc, "\xaa\x36\x91\x8a", 4);
        sim_free(&sim);
}

static void test_free_null_and_bad_args(void **state)
{
        (void)state;
        sctp_assoc_free(NULL);
        struct sctp_assoc *a;
        assert_int_equal(sctp_assoc_new(NULL, &a), -EINVAL);
        struct sctp_config c = {.mtu = 100};
        assert_int_equal(sctp_assoc_new(&c, &a), -EINVAL);
        c.mtu = 0;
        assert_int_equal(sctp_assoc_new(&c, &a), 0);
        uint16_t id;
        assert_int_equal(sctp_channel_open(a, "x", "", NULL, &id), -ENOTCONN);
        assert_int_equal(sctp_channel_send(a, 0, false, "x", 1), -ENOTCONN);
        assert_int_equal(sctp_assoc_handle_input(a, 0, NULL, 5), -EINVAL);
        /* Garbage as input neither crashes nor brings anything up. */
        static const uint8_t garbage[64] = {0x13, 0x88, 0x13, 0x88};
        assert_int_equal(sctp_assoc_handle_input(a, 1000, garbage, sizeof(garbage)), 0);
        assert_false(sctp_assoc_is_up(a));
        struct sctp_output o;
        while (sctp_assoc_poll_output(a, &o) == 1)
                assert_int_equal(o.kind, SCTP_OUTPUT_TRANSMIT); /* our INIT */
        sctp_assoc_free(a);
}

int main(void)
{
        log_set_level(LOG_LEVEL_ERROR);
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lib_prepare),
            cmocka_unit_test(test_connect),
            cmocka_unit_test(test_ports_and_lossy_setup),
            cmocka_unit_test(test_port_mismatch_fails),
            cmocka_unit_test(test_open_both_sides),
            cmocka_unit_test(test_messages_both_ways),
            cmocka_unit_test(test_max_message_size),
            cmocka_unit_test(test_close),
            cmocka_unit_test(test_close_right_after_open),
            cmocka_unit_test(test_close_last_answer_lost),
            cmocka_unit_test(test_bulk_lossy_both_ways),
            cmocka_unit_test(test_unordered_unreliable_under_loss),
            cmocka_unit_test(test_reset_during_unordered_loss),
            cmocka_unit_test(test_rto_recovers_after_lossy_handshake),
            cmocka_unit_test(test_backpressure_link_cut),
            cmocka_unit_test(test_backpressure_reader_paused),
            cmocka_unit_test(test_malformed_dcep),
            cmocka_unit_test(test_shutdown),
            cmocka_unit_test(test_peer_vanishes),
            cmocka_unit_test(test_crc32c),
            cmocka_unit_test(test_free_null_and_bad_args),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
