#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"

#define MS 1000ull
/* The reference time wraps after 2^24 * 64 ms: decoded times are compared modulo that. */
#define REF_PERIOD_US ((1ull << 24) * 64000ull)

/* One decoded status, with its absolute arrival time rebuilt as the spec says. */
struct got {
        uint16_t seq;
        bool received;
        uint64_t arrival; /* modulo REF_PERIOD_US */
        int32_t delta_us;
};

struct fb {
        uint16_t base, count;
        int32_t ref;
        uint8_t fb_count;
        size_t raw_len;
};

/*
 * Parses every packet of a batch with the existing parser, checks the framing (each a padded
 * TWCC packet within 1200 bytes, its padding count right), and appends the statuses to g.
 */
static size_t collect(const struct buf *out, struct got *g, size_t cap, struct fb *fbs,
                      size_t fb_cap, size_t *nfb)
{
        struct rtcp_iter it;
        assert_int_equal(rtcp_iter_init(&it, out->data, out->len), 0);
        struct rtcp_packet *p = malloc(sizeof(*p));
        struct rtcp_twcc_status *st = calloc(65536, sizeof(*st));
        size_t n = 0, k = 0;
        while (rtcp_iter_next(&it, p) == 1) {
                assert_int_equal(p->kind, RTCP_KIND_TWCC);
                assert_true(p->raw_len <= TWCC_MAX_PACKET_BYTES);
                assert_int_equal(p->raw_len % 4, 0);
                if (p->raw[0] & 0x20) {
                        uint8_t pad = p->raw[p->raw_len - 1];
                        assert_true(pad >= 1 && pad <= 3);
                        for (size_t j = p->raw_len - pad; j < p->raw_len - 1; j++)
                                assert_int_equal(p->raw[j], 0);
                }
                const struct rtcp_twcc *t = &p->u.twcc;
                assert_true(t->status_count > 0);
                assert_true(t->status_count <= TWCC_MAX_STATUS);
                assert_int_equal(rtcp_twcc_decode(t, st, 65536), t->status_count);
                if (fbs && k < fb_cap)
                        fbs[k] = (struct fb){t->base_seq, t->status_count, t->reference_time,
                                             t->fb_pkt_count, p->raw_len};
                k++;
                int64_t time = (int64_t)((uint32_t)t->reference_time & 0xffffff) * 64000;
                for (size_t i = 0; i < t->status_count; i++) {
                        assert_true(n < cap);
                        if (st[i].received)
                                time += st[i].delta_us;
                        g[n].seq = st[i].seq;
                        g[n].received = st[i].received;
                        g[n].delta_us = st[i].delta_us;
                        g[n].arrival =
                            (uint64_t)((time % (int64_t)REF_PERIOD_US + (int64_t)REF_PERIOD_US) %
                                       (int64_t)REF_PERIOD_US);
                        n++;
                }
        }
        free(st);
        free(p);
        if (nfb)
                *nfb = k;
        return n;
}

/* Decoded time is the fed time rounded down to 250 us. */
static void assert_time(const struct got *g, uint64_t fed)
{
        uint64_t diff = (fed % REF_PERIOD_US + REF_PERIOD_US - g->arrival) % REF_PERIOD_US;
        if (diff >= 250)
                fail_msg("seq %u: decoded %llu us, fed %llu us", g->seq,
                         (unsigned long long)g->arrival, (unsigned long long)fed);
}

static struct twcc_recv *new_recv(uint64_t interval)
{
        struct twcc_recv_config cfg = {
            .sender_ssrc = 0x11223344, .media_ssrc = 0x55667788, .interval_us = interval};
        struct twcc_recv *t = twcc_recv_new(&cfg);
        assert_non_null(t);
        return t;
}

/*
 * Byte for byte, computed by hand. The second packet holds the run-length example of the draft
 * (section 3.1.3: 221 packets not received, 0x00dd), the third its 1-bit status vector example
 * (section 3.1.4: 1 lost, 5 received, 3 lost, 3 received, 2 lost, 0x9f1c).
 */
static void test_hand_vectors(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;

        /* 1 s = tick 4000; reference 15 (960 ms); delta 160 ticks (40 ms). */
        twcc_recv_packet(t, 1000 * MS, 100);
        assert_int_equal(twcc_recv_poll(t, 1050 * MS, &b), 1);
        static const uint8_t p1[] = {0xaf, 0xcd, 0x00, 0x05, 0x11, 0x22, 0x33, 0x44,
                                     0x55, 0x66, 0x77, 0x88, 0x00, 0x64, 0x00, 0x01,
                                     0x00, 0x00, 0x0f, 0x00, 0x20, 0x01, 0xa0, 0x01};
        assert_int_equal(b.len, sizeof(p1));
        assert_memory_equal(b.data, p1, sizeof(p1));

        /* 101..321 lost, 322 at tick 4240: reference 16, delta 144. */
        buf_reset(&b);
        twcc_recv_packet(t, 1060 * MS, 322);
        assert_int_equal(twcc_recv_poll(t, 1110 * MS, &b), 1);
        static const uint8_t p2[] = {0xaf, 0xcd, 0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                     0x77, 0x88, 0x00, 0x65, 0x00, 0xde, 0x00, 0x00, 0x10, 0x01,
                                     0x00, 0xdd, 0x20, 0x01, 0x90, 0x00, 0x00, 0x03};
        assert_int_equal(b.len, sizeof(p2));
        assert_memory_equal(b.data, p2, sizeof(p2));

        /* 323..337: ticks 4480 + 4k, 4520 + 4k, 4560; reference 17 (tick 4352). */
        buf_reset(&b);
        for (unsigned k = 0; k < 5; k++)
                twcc_recv_packet(t, (1120 + k) * MS, (uint16_t)(324 + k));
        for (unsigned k = 0; k < 3; k++)
                twcc_recv_packet(t, (1130 + k) * MS, (uint16_t)(332 + k));
        twcc_recv_packet(t, 1140 * MS, 337);
        assert_int_equal(twcc_recv_poll(t, 1160 * MS, &b), 1);
        static const uint8_t p3[] = {0xaf, 0xcd, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, 0x55,
                                     0x66, 0x77, 0x88, 0x01, 0x43, 0x00, 0x0f, 0x00, 0x00,
                                     0x11, 0x02, 0x9f, 0x1c, 0x20, 0x01, 0x80, 0x04, 0x04,
                                     0x04, 0x04, 0x18, 0x04, 0x04, 0x20, 0x00, 0x00, 0x03};
        assert_int_equal(b.len, sizeof(p3));
        assert_memory_equal(b.data, p3, sizeof(p3));

        /*
         * A 2-bit vector (1|1|01 10 00 01 00 00 00 = 0xd840): 338 small, 339 70 ms later (large),
         * 340 lost, 341 small. At tick 4800 (1200 ms): reference 18 (tick 4608), deltas 192,
         * 280 (0x0118), 4; 26 bytes, padded to 28.
         */
        buf_reset(&b);
        twcc_recv_packet(t, 1200 * MS, 338);
        twcc_recv_packet(t, 1270 * MS, 339);
        twcc_recv_packet(t, 1271 * MS, 341);
        assert_int_equal(twcc_recv_poll(t, 1280 * MS, &b), 1);
        static const uint8_t p4[] = {0xaf, 0xcd, 0x00, 0x06, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                     0x77, 0x88, 0x01, 0x52, 0x00, 0x04, 0x00, 0x00, 0x12, 0x03,
                                     0xd8, 0x40, 0xc0, 0x01, 0x18, 0x04, 0x00, 0x02};
        assert_int_equal(b.len, sizeof(p4));
        assert_memory_equal(b.data, p4, sizeof(p4));

        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.feedback_sent, 4);
        assert_int_equal(s.lost_reported, 221 + 6 + 1);
        assert_int_equal(s.packets, 1 + 1 + 9 + 3);
        buf_free(&b);
        twcc_recv_free(t);
}

static uint32_t lcg(uint32_t *s)
{
        *s = *s * 1664525u + 1013904223u;
        return *s >> 8;
}

/* Every status and arrival time of a batch with losses, through rtcp_twcc_decode. */
static void test_round_trip_losses(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        enum { N = 600 };
        bool recv[N];
        uint64_t at[N];
        uint32_t rng = 7;
        uint64_t now = 5000 * MS + 123;
        unsigned lost = 0;
        for (unsigned i = 0; i < N; i++) {
                /* The first and last must arrive: a batch reports from its first to its last. */
                recv[i] = i == 0 || i == N - 1 || lcg(&rng) % 10 != 0;
                now += lcg(&rng) % 200; /* 0..199 us apart: many equal ticks, some not */
                at[i] = now;
                if (recv[i])
                        twcc_recv_packet(t, now, (uint16_t)(1000 + i));
                else
                        lost++;
        }
        assert_int_equal(twcc_recv_poll(t, now + 50 * MS, &b), 1);
        struct got *g = calloc(N, sizeof(*g));
        assert_int_equal(collect(&b, g, N, NULL, 0, NULL), N);
        for (unsigned i = 0; i < N; i++) {
                assert_int_equal(g[i].seq, 1000 + i);
                assert_int_equal(g[i].received, recv[i]);
                if (recv[i])
                        assert_time(&g[i], at[i]);
        }
        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.lost_reported, lost);
        assert_int_equal(s.reordered, 0);
        assert_int_equal(s.packets, N - lost);
        free(g);
        buf_free(&b);
        twcc_recv_free(t);
}

/* Late packets within the window are included (with negative deltas); older ones dropped. */
static void test_reorder(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        static const uint16_t order[] = {10, 12, 11, 14, 13, 13, 15};
        uint64_t at[16];
        uint64_t now = 100 * MS;
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++, now += 3 * MS) {
                if (i != 5)
                        at[order[i]] = now;
                twcc_recv_packet(t, now, order[i]);
        }
        assert_int_equal(twcc_recv_poll(t, 150 * MS, &b), 1);
        struct got g[8];
        assert_int_equal(collect(&b, g, 8, NULL, 0, NULL), 6);
        for (unsigned i = 0; i < 6; i++) {
                assert_int_equal(g[i].seq, 10 + i);
                assert_true(g[i].received);
                assert_time(&g[i], at[10 + i]);
        }
        assert_int_equal(g[2].delta_us, -3000); /* 12 came 3 ms before 11 */
        assert_int_equal(g[4].delta_us, -3000);
        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.reordered, 2);
        assert_int_equal(s.duplicates, 1);

        /* 9 (before the first batch) and 15 (in it) come too late; 16 and 17 swap. */
        buf_reset(&b);
        twcc_recv_packet(t, 160 * MS, 9);
        twcc_recv_packet(t, 161 * MS, 15);
        twcc_recv_packet(t, 162 * MS, 17);
        twcc_recv_packet(t, 163 * MS, 16);
        assert_int_equal(twcc_recv_poll(t, 200 * MS, &b), 1);
        struct fb fb[2];
        size_t nfb;
        assert_int_equal(collect(&b, g, 8, fb, 2, &nfb), 2);
        assert_int_equal(fb[0].base, 16);
        assert_true(g[0].received && g[1].received);
        assert_time(&g[0], 163 * MS);
        assert_time(&g[1], 162 * MS);
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.reordered, 2 + 2 + 1);
        assert_int_equal(s.dropped, 2);
        buf_free(&b);
        twcc_recv_free(t);
}

/* Sequence numbers wrap inside a batch and between batches; a gap across batches is lost. */
static void test_seq_wrap(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        uint64_t now = 0;
        for (uint16_t s = 65530; s != 4; s++) {
                if (s != 1)
                        twcc_recv_packet(t, now, s);
                now += 1 * MS;
        }
        assert_int_equal(twcc_recv_poll(t, 60 * MS, &b), 1);
        struct got g[32];
        struct fb fb[2];
        size_t nfb;
        assert_int_equal(collect(&b, g, 32, fb, 2, &nfb), 10);
        assert_int_equal(fb[0].base, 65530);
        for (unsigned i = 0; i < 10; i++) {
                assert_int_equal(g[i].seq, (uint16_t)(65530 + i));
                assert_int_equal(g[i].received, i != 7);
                if (i != 7)
                        assert_time(&g[i], i * MS);
        }

        /* 4 and 5 never come: the next batch starts at 4 and reports them lost. */
        buf_reset(&b);
        twcc_recv_packet(t, 70 * MS, 6);
        assert_int_equal(twcc_recv_poll(t, 110 * MS, &b), 1);
        assert_int_equal(collect(&b, g, 32, fb, 2, &nfb), 3);
        assert_int_equal(fb[0].base, 4);
        assert_false(g[0].received);
        assert_false(g[1].received);
        assert_true(g[2].received);

        /* A jump of more than half the number space is read forward, not as a late packet. */
        buf_reset(&b);
        twcc_recv_packet(t, 120 * MS, 40007);
        twcc_recv_packet(t, 121 * MS, 40008);
        assert_int_equal(twcc_recv_poll(t, 170 * MS, &b), 1);
        assert_int_equal(collect(&b, g, 32, fb, 2, &nfb), 2);
        assert_int_equal(fb[0].base, 40007);
        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.dropped, 0);
        buf_free(&b);
        twcc_recv_free(t);
}

/*
 * Deltas of 64 ms and more take 2 bytes; negative ones too; one beyond 16 bits (8.19 s) starts
 * a new packet with its own reference time.
 */
static void test_large_deltas(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(30 * 1000 * MS);
        struct buf b = BUF_INIT;
        uint64_t at[] = {1000 * MS, 1064 * MS, 1200 * MS + 250, 1199 * MS,
                         9390 * MS, 9392 * MS, 9390 * MS + 500, 1 * MS};
        for (uint16_t i = 0; i < 8; i++)
                twcc_recv_packet(t, at[i], i);
        assert_int_equal(twcc_recv_poll(t, 40 * 1000 * MS, &b), 2);
        struct got g[8];
        struct fb fb[2];
        size_t nfb;
        assert_int_equal(collect(&b, g, 8, fb, 2, &nfb), 8);
        for (unsigned i = 0; i < 8; i++) {
                assert_true(g[i].received);
                assert_time(&g[i], at[i]);
        }
        assert_int_equal(g[1].delta_us, 64000);
        assert_int_equal(g[3].delta_us, -1250);
        assert_int_equal(g[4].delta_us, 8191000); /* 32764 ticks: still fits 16 bits */
        assert_int_equal(g[6].delta_us, -1500);
        /* 9390.5 s -> 1 ms is -37558 ticks: a new packet with its own reference time. */
        assert_int_equal(fb[0].base, 0);
        assert_int_equal(fb[0].count, 7);
        assert_int_equal(fb[0].ref, 15);
        assert_int_equal(fb[1].base, 7);
        assert_int_equal(fb[1].ref, 0);
        assert_int_equal(g[7].delta_us, 1000);
        assert_int_equal(nfb, 2);
        buf_free(&b);
        twcc_recv_free(t);
}

/* The 8-bit feedback packet count increments per RTCP packet and wraps. */
static void test_fb_count_wrap(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        uint64_t now = 0;
        for (unsigned i = 0; i < 600; i++) {
                twcc_recv_packet(t, now, (uint16_t)i);
                now += 50 * MS;
                buf_reset(&b);
                assert_int_equal(twcc_recv_poll(t, now, &b), 1);
                struct got g[2];
                struct fb fb[1];
                size_t nfb;
                assert_int_equal(collect(&b, g, 2, fb, 1, &nfb), 1);
                assert_int_equal(fb[0].fb_count, i & 0xff);
                assert_int_equal(fb[0].base, i);
        }
        buf_free(&b);
        twcc_recv_free(t);
}

/* Nothing before the interval, exactly one batch at it, nothing when nothing arrived. */
static void test_interval(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        assert_int_equal(twcc_recv_next_deadline(t), UINT64_MAX);
        assert_int_equal(twcc_recv_poll(t, 10 * 1000 * MS, &b), 0);
        assert_int_equal(b.len, 0);

        uint64_t t0 = 10 * 1000 * MS + 7;
        twcc_recv_packet(t, t0, 1);
        assert_int_equal(twcc_recv_next_deadline(t), t0 + 50 * MS);
        twcc_recv_packet(t, t0 + 20 * MS, 2);
        assert_int_equal(twcc_recv_poll(t, t0 + 50 * MS - 1, &b), 0);
        assert_int_equal(b.len, 0);
        assert_int_equal(twcc_recv_poll(t, t0 + 50 * MS, &b), 1);
        size_t len = b.len;
        assert_true(len > 0);
        assert_int_equal(twcc_recv_poll(t, t0 + 50 * MS, &b), 0);
        assert_int_equal(twcc_recv_poll(t, t0 + 55 * MS, &b), 0);
        assert_int_equal(b.len, len);
        assert_int_equal(twcc_recv_next_deadline(t), UINT64_MAX);

        /* The next interval counts from the last feedback. */
        twcc_recv_packet(t, t0 + 60 * MS, 3);
        assert_int_equal(twcc_recv_next_deadline(t), t0 + 100 * MS);
        assert_int_equal(twcc_recv_poll(t, t0 + 99 * MS, &b), 0);
        assert_int_equal(twcc_recv_poll(t, t0 + 100 * MS, &b), 1);
        /* After a silence, a packet is due at once (the interval has long passed). */
        twcc_recv_packet(t, t0 + 5000 * MS, 4);
        assert_int_equal(twcc_recv_poll(t, t0 + 5000 * MS, &b), 1);

        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.feedback_sent, 3);
        assert_int_equal(s.packets, 4);

        /* A custom interval. */
        twcc_recv_free(t);
        t = new_recv(20 * MS);
        twcc_recv_packet(t, 0, 1);
        assert_int_equal(twcc_recv_next_deadline(t), 20 * MS);
        assert_int_equal(twcc_recv_poll(t, 19 * MS, &b), 0);
        assert_int_equal(twcc_recv_poll(t, 20 * MS, &b), 1);
        buf_free(&b);
        twcc_recv_free(t);
}

/* More packets than one RTCP packet holds: several, each within 1200 bytes, back to back. */
static void test_split_many(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        enum { N = 3000 };
        uint64_t at[N];
        bool recv[N];
        uint64_t now = 777 * MS;
        for (unsigned i = 0; i < N; i++) {
                recv[i] = i % 9 != 4;
                at[i] = now + i * 300;
        }
        /* Every tenth pair arrives swapped: negative deltas, so 2-bit chunks and 2-byte deltas. */
        for (unsigned i = 0; i + 1 < N; i += 10) {
                uint64_t tmp = at[i];
                at[i] = at[i + 1];
                at[i + 1] = tmp;
        }
        for (unsigned i = 0; i < N; i++) {
                unsigned s = i % 10 == 0 ? i + 1 : i % 10 == 1 ? i - 1 : i; /* arrival order */
                if (recv[s])
                        twcc_recv_packet(t, at[s], (uint16_t)(65000 + s));
        }
        int n = twcc_recv_poll(t, now + N * 300 + 50 * MS, &b);
        assert_true(n >= 3);
        struct got *g = calloc(N, sizeof(*g));
        struct fb fb[16];
        size_t nfb;
        assert_int_equal(collect(&b, g, N, fb, 16, &nfb), N);
        assert_int_equal(nfb, (size_t)n);
        for (size_t k = 1; k < nfb; k++)
                assert_int_equal(fb[k].base, (uint16_t)(fb[k - 1].base + fb[k - 1].count));
        for (size_t k = 0; k < nfb; k++) {
                assert_true(fb[k].raw_len <= TWCC_MAX_PACKET_BYTES);
                assert_int_equal(fb[k].fb_count, k);
        }
        for (unsigned i = 0; i < N; i++) {
                assert_int_equal(g[i].seq, (uint16_t)(65000 + i));
                assert_int_equal(g[i].received, recv[i]);
                if (recv[i])
                        assert_time(&g[i], at[i]);
        }
        free(g);
        buf_free(&b);
        twcc_recv_free(t);
}

/* A gap too long to report is skipped: the next packet starts at the next received one. */
static void test_huge_gap(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        struct got *g = calloc(8192, sizeof(*g));
        struct fb fb[4];
        size_t nfb;
        for (unsigned i = 0; i < 10; i++)
                twcc_recv_packet(t, i * MS, (uint16_t)i);
        for (unsigned i = 0; i < 10; i++)
                twcc_recv_packet(t, (10 + i) * MS, (uint16_t)(20000 + i));
        assert_int_equal(twcc_recv_poll(t, 50 * MS, &b), 2);
        assert_int_equal(collect(&b, g, 8192, fb, 4, &nfb), 20);
        assert_int_equal(fb[0].base, 0);
        assert_int_equal(fb[1].base, 20000);
        assert_time(&g[10], 10 * MS);

        /* A long but reportable gap is reported, in one packet. */
        buf_reset(&b);
        twcc_recv_packet(t, 60 * MS, 23010);
        assert_int_equal(twcc_recv_poll(t, 100 * MS, &b), 1);
        assert_int_equal(collect(&b, g, 8192, fb, 4, &nfb), 3001);
        assert_int_equal(fb[0].base, 20010);
        assert_true(fb[0].raw_len < 40);
        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.lost_reported, 3000);

        /* Across batches too. */
        buf_reset(&b);
        twcc_recv_packet(t, 110 * MS, 33000);
        assert_int_equal(twcc_recv_poll(t, 150 * MS, &b), 1);
        assert_int_equal(collect(&b, g, 8192, fb, 4, &nfb), 1);
        assert_int_equal(fb[0].base, 33000);
        free(g);
        buf_free(&b);
        twcc_recv_free(t);
}

/* Memory is bounded: feedback is due early when the buffer fills; beyond it, packets drop. */
static void test_bounded(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        uint64_t now = 1000 * MS;
        unsigned i;
        for (i = 0; i < TWCC_MAX_PENDING / 2 - 1; i++)
                twcc_recv_packet(t, now + i, (uint16_t)i);
        assert_int_equal(twcc_recv_next_deadline(t), now + 50 * MS);
        twcc_recv_packet(t, now + i, (uint16_t)i);
        i++;
        assert_true(twcc_recv_next_deadline(t) <= now + i);
        for (; i < TWCC_MAX_PENDING + 100; i++)
                twcc_recv_packet(t, now + i, (uint16_t)i);
        struct twcc_recv_stats s;
        twcc_recv_get_stats(t, &s);
        assert_int_equal(s.dropped, 100);
        int n = twcc_recv_poll(t, now + i, &b);
        assert_true(n > 1);
        struct got *g = calloc(TWCC_MAX_PENDING, sizeof(*g));
        assert_int_equal(collect(&b, g, TWCC_MAX_PENDING, NULL, 0, NULL), TWCC_MAX_PENDING);
        free(g);
        buf_free(&b);
        twcc_recv_free(t);
}

/* The 24-bit reference time wraps (12.4 days) and the times still decode modulo that. */
static void test_ref_time_wrap(void **state)
{
        (void)state;
        struct twcc_recv *t = new_recv(0);
        struct buf b = BUF_INIT;
        uint64_t base = REF_PERIOD_US - 100 * MS;
        uint64_t at[] = {base, base + 60 * MS, base + 99 * MS, base + 130 * MS};
        for (uint16_t i = 0; i < 4; i++)
                twcc_recv_packet(t, at[i], i);
        assert_int_equal(twcc_recv_poll(t, base + 150 * MS, &b), 1);
        struct got g[4];
        struct fb fb[1];
        size_t nfb;
        assert_int_equal(collect(&b, g, 4, fb, 1, &nfb), 4);
        assert_int_equal(fb[0].ref, -2); /* 0xfffffe: the sender reads it modulo 2^24 */
        for (unsigned i = 0; i < 4; i++)
                assert_time(&g[i], at[i]);
        buf_reset(&b);
        twcc_recv_packet(t, REF_PERIOD_US + 200 * MS, 4);
        assert_int_equal(twcc_recv_poll(t, REF_PERIOD_US + 250 * MS, &b), 1);
        assert_int_equal(collect(&b, g, 4, fb, 1, &nfb), 1);
        assert_int_equal(fb[0].ref, 3);
        assert_time(&g[0], REF_PERIOD_US + 200 * MS);
        buf_free(&b);
        twcc_recv_free(t);
}

static void test_api_edges(void **state)
{
        (void)state;
        assert_null(twcc_recv_new(NULL));
        twcc_recv_free(NULL);
        struct buf b = BUF_INIT;
        assert_int_equal(twcc_recv_poll(NULL, 0, &b), -EINVAL);
        struct twcc_recv *t = new_recv(0);
        assert_int_equal(twcc_recv_poll(t, 0, NULL), -EINVAL);
        twcc_recv_set_media_ssrc(t, 0xcafebabe);
        twcc_recv_packet(t, 0, 5);
        assert_int_equal(twcc_recv_poll(t, 50 * MS, &b), 1);
        assert_int_equal(b.data[8], 0xca);
        assert_int_equal(b.data[11], 0xbe);
        buf_free(&b);
        twcc_recv_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hand_vectors),  cmocka_unit_test(test_round_trip_losses),
            cmocka_unit_test(test_reorder),       cmocka_unit_test(test_seq_wrap),
            cmocka_unit_test(test_large_deltas),  cmocka_unit_test(test_fb_count_wrap),
            cmocka_unit_test(test_interval),      cmocka_unit_test(test_split_many),
            cmocka_unit_test(test_huge_gap),      cmocka_unit_test(test_bounded),
            cmocka_unit_test(test_ref_time_wrap), cmocka_unit_test(test_api_edges),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
