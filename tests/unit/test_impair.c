#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/impair.h"

/* ---- parsing ---- */

static struct impair_config parse_ok(const char *spec)
{
        struct impair_config c;
        char err[128] = "unchanged";
        memset(&c, 0xab, sizeof(c));
        int rc = impair_parse(spec, &c, err, sizeof(err));
        if (rc != 0)
                fail_msg("%s: %s", spec, err);
        assert_string_equal(err, "");
        return c;
}

static void test_parse_ok(void **state)
{
        (void)state;
        struct impair_config c = parse_ok("loss=5%,delay=30ms,jitter=10ms,reorder=1%,rate=2mbit");
        assert_true(c.loss == 0.05);
        assert_true(c.reorder == 0.01);
        assert_true(c.duplicate == 0);
        assert_int_equal(c.delay_us, 30000);
        assert_int_equal(c.jitter_us, 10000);
        assert_int_equal(c.rate_bps, 2000000);
        assert_int_equal(c.queue_limit_bytes, 0);
        assert_true(impair_active(&c));

        c = parse_ok("loss=0.05,duplicate=1%,delay=1.5s,jitter=250us,rate=1.5kbit,limit=64kib");
        assert_true(c.loss == 0.05);
        assert_true(c.duplicate == 0.01);
        assert_int_equal(c.delay_us, 1500000);
        assert_int_equal(c.jitter_us, 250);
        assert_int_equal(c.rate_bps, 1500);
        assert_int_equal(c.queue_limit_bytes, 65536);

        c = parse_ok("rate=2Mbit,limit=1000,loss=100%,delay=0,reorder=0.5%");
        assert_int_equal(c.rate_bps, 2000000);
        assert_int_equal(c.queue_limit_bytes, 1000);
        assert_true(c.loss == 1.0);
        assert_int_equal(c.delay_us, 0);
        assert_true(c.reorder == 0.005);
        c = parse_ok("rate=1gbit,limit=2mb,delay=.5ms,jitter=3s");
        assert_int_equal(c.rate_bps, 1000000000);
        assert_int_equal(c.queue_limit_bytes, 2000000);
        assert_int_equal(c.delay_us, 500);
        assert_int_equal(c.jitter_us, 3000000);
        c = parse_ok("limit=1mib");
        assert_int_equal(c.queue_limit_bytes, 1048576);

        /* Empty: nothing impaired, and the config is cleared. */
        c = parse_ok("");
        assert_false(impair_active(&c));
        assert_int_equal(c.delay_us, 0);
        assert_true(c.loss == 0);
        c = parse_ok(NULL);
        assert_false(impair_active(&c));
        assert_int_equal(c.rate_bps, 0);
        /* A limit alone changes nothing on the wire. */
        c = parse_ok("limit=10kb");
        assert_false(impair_active(&c));
        const char *one[] = {"loss=1%",   "duplicate=1%", "reorder=1%",
                             "delay=1us", "jitter=1us",   "rate=1bit"};
        for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
                c = parse_ok(one[i]);
                assert_true(impair_active(&c));
        }
}

static void test_parse_errors(void **state)
{
        (void)state;
        static const struct {
                const char *spec, *item, *reason;
        } bad[] = {
            {"foo=1", "foo=1", "unknown item"},
            {"loss=5%,bogus=3", "bogus=3", "unknown item"},
            {"loss=abc", "loss=abc", "not a number"},
            {"delay=ms", "delay=ms", "not a number"},
            {"loss=-5%", "loss=-5%", "negative"},
            {"delay=-3ms", "delay=-3ms", "negative"},
            {"loss=150%", "loss=150%", "at most 100%"},
            {"duplicate=100.5%", "duplicate=100.5%", "at most 100%"},
            {"loss=5", "loss=5", "write 5% for a percentage"},
            {"loss=1e-3", "loss=1e-3", "bad value"},
            {"loss=5%%", "loss=5%%", "bad value"},
            {"delay=30", "delay=30", "missing unit (us, ms or s)"},
            {"jitter=10m", "jitter=10m", "unknown unit \"m\""},
            {"rate=2", "rate=2", "missing unit (bit, kbit, mbit or gbit)"},
            {"rate=2mbps", "rate=2mbps", "unknown unit \"mbps\""},
            {"rate=0.1bit", "rate=0.1bit", "too small"},
            {"delay=3601s", "delay=3601s", "too large"},
            {"limit=65mib", "limit=65mib", "too large"},
            {"limit=10kg", "limit=10kg", "unknown unit"},
            {"loss", "loss", "expected KEY=VALUE"},
            {"loss=", "loss=", "missing value"},
            {"loss=1%,loss=2%", "loss=2%", "given twice"},
            {"loss=1%,", "loss=1%,", "empty item"},
            {",loss=1%", ",loss=1%", "empty item"},
            {"Loss=1%", "Loss=1%", "unknown item"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct impair_config c, before;
                memset(&c, 0x5a, sizeof(c));
                before = c;
                char err[200] = "";
                int rc = impair_parse(bad[i].spec, &c, err, sizeof(err));
                if (rc != -EINVAL)
                        fail_msg("%s: rc %d", bad[i].spec, rc);
                /* One line that names the item and says why. */
                if (strncmp(err, bad[i].item, strlen(bad[i].item)) != 0 ||
                    !strstr(err, bad[i].reason) || strchr(err, '\n'))
                        fail_msg("%s: message \"%s\"", bad[i].spec, err);
                assert_memory_equal(&c, &before, sizeof(c));
                /* No buffer, or a tiny one, still fails cleanly. */
                assert_int_equal(impair_parse(bad[i].spec, &c, NULL, 0), -EINVAL);
                char tiny[4];
                assert_int_equal(impair_parse(bad[i].spec, &c, tiny, sizeof(tiny)), -EINVAL);
                assert_true(strlen(tiny) < sizeof(tiny));
        }
        /* A very long item is cut short in the message. */
        char spec[300], err[128];
        memset(spec, 'x', sizeof(spec) - 1);
        spec[sizeof(spec) - 1] = 0;
        struct impair_config c;
        assert_int_equal(impair_parse(spec, &c, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "...: expected KEY=VALUE"));
}

/* ---- the stage, on a virtual clock ---- */

#define PAYLOAD 12 /* seq (4 bytes) + push time (8 bytes) */

struct rec {
        uint32_t seq;
        uint64_t sent, recv;
};

static const struct addr peer = {.family = ADDR_FAMILY_IPV4, .port = 5004, .ip = {192, 0, 2, 7}};

static struct impair *make(const char *spec, uint64_t seed)
{
        struct impair_config c = parse_ok(spec);
        struct impair *im = impair_new(&c, seed);
        assert_non_null(im);
        return im;
}

/*
 * Pushes n datagrams of len bytes, one every `interval` us from t=0, and pops each one exactly at
 * its deadline, so recv is the release time. Returns the number delivered, in delivery order.
 */
static size_t run(struct impair *im, size_t n, uint64_t interval, size_t len, struct rec *out,
                  size_t cap)
{
        uint8_t buf[1500] = {0};
        size_t got = 0, i = 0;
        assert_true(len >= PAYLOAD && len <= sizeof(buf));
        while (i < n || impair_next_deadline(im) != UINT64_MAX) {
                uint64_t push_at = i < n ? i * interval : UINT64_MAX;
                uint64_t due = impair_next_deadline(im);
                uint64_t now = push_at < due ? push_at : due;
                if (now == push_at) {
                        uint32_t seq = (uint32_t)i;
                        memcpy(buf, &seq, 4);
                        memcpy(buf + 4, &now, 8);
                        assert_true(impair_push(im, now, buf, len, 7, &peer) >= 0);
                        i++;
                }
                struct impair_packet pk;
                while (impair_pop(im, now, &pk) == 1) {
                        assert_int_equal(pk.len, len);
                        assert_int_equal(pk.base, 7);
                        assert_true(addr_equal(&pk.addr, &peer));
                        assert_true(got < cap);
                        memcpy(&out[got].seq, pk.data, 4);
                        memcpy(&out[got].sent, pk.data + 4, 8);
                        out[got].recv = now;
                        got++;
                }
        }
        return got;
}

static void test_passthrough(void **state)
{
        (void)state;
        struct impair *im = make("", 1);
        const uint8_t d[3] = {1, 2, 3};
        assert_int_equal(impair_next_deadline(im), UINT64_MAX);
        assert_int_equal(impair_push(im, 500, d, 3, 2, &peer), 0);
        assert_int_equal(impair_push(im, 500, d + 1, 2, 3, NULL), 0);
        assert_int_equal(impair_next_deadline(im), 500);
        struct impair_packet pk;
        assert_int_equal(impair_pop(im, 500, &pk), 1);
        assert_int_equal(pk.len, 3);
        assert_memory_equal(pk.data, d, 3);
        assert_int_equal(pk.base, 2);
        assert_true(addr_equal(&pk.addr, &peer));
        assert_int_equal(impair_pop(im, 500, &pk), 1);
        assert_int_equal(pk.len, 2);
        assert_memory_equal(pk.data, d + 1, 2);
        assert_int_equal(pk.base, 3);
        assert_int_equal(pk.addr.family, ADDR_FAMILY_NONE);
        assert_int_equal(impair_pop(im, 500, &pk), 0);
        uint8_t big[IMPAIR_MAX_DATAGRAM + 1] = {0};
        assert_int_equal(impair_push(im, 600, big, sizeof(big), 0, NULL), -EMSGSIZE);
        assert_int_equal(impair_push(im, 600, big, IMPAIR_MAX_DATAGRAM, 0, NULL), 0);
        struct impair_stats st;
        impair_get_stats(im, &st);
        assert_int_equal(st.packets_in, 3);
        assert_int_equal(st.packets_out, 2);
        assert_int_equal(st.dropped_loss + st.dropped_queue + st.duplicated + st.reordered, 0);
        impair_free(im); /* with one datagram still held */
        impair_free(NULL);
}

static void test_loss_ratio(void **state)
{
        (void)state;
        enum { N = 100000 };
        uint8_t d[PAYLOAD] = {0};
        uint64_t pattern[3] = {0};
        for (uint64_t seed = 1; seed <= 3; seed++) {
                struct impair *im = make("loss=5%", seed);
                uint64_t dropped = 0, h = 0;
                for (uint64_t i = 0; i < N; i++) {
                        int rc = impair_push(im, i, d, sizeof(d), 0, NULL);
                        assert_true(rc == 0 || rc == 1);
                        dropped += (uint64_t)rc;
                        h = h * 31 + (uint64_t)rc * i;
                        struct impair_packet pk;
                        assert_int_equal(impair_pop(im, i, &pk), 1 - rc);
                }
                pattern[seed - 1] = h;
                /* Expected 5000, sd 69: five sd either side. */
                assert_in_range(dropped, 4650, 5350);
                struct impair_stats st;
                impair_get_stats(im, &st);
                assert_int_equal(st.dropped_loss, dropped);
                assert_int_equal(st.packets_out, N - dropped);
                impair_free(im);
        }
        /* Seeds give different patterns; the same seed the same one. */
        assert_true(pattern[0] != pattern[1] && pattern[1] != pattern[2]);
        struct impair *im = make("loss=5%", 1);
        uint64_t h = 0;
        for (uint64_t i = 0; i < N; i++) {
                h = h * 31 + (uint64_t)impair_push(im, i, d, sizeof(d), 0, NULL) * i;
                struct impair_packet pk;
                impair_pop(im, i, &pk);
        }
        assert_true(h == pattern[0]);
        impair_free(im);

        im = make("loss=100%", 9);
        for (uint64_t i = 0; i < 1000; i++)
                assert_int_equal(impair_push(im, i, d, sizeof(d), 0, NULL), 1);
        assert_int_equal(impair_next_deadline(im), UINT64_MAX);
        impair_free(im);
}

static void test_delay_exact(void **state)
{
        (void)state;
        struct impair *im = make("delay=30ms", 1);
        const uint8_t a = 'a', b = 'b';
        assert_int_equal(impair_push(im, 1000, &a, 1, 0, NULL), 0);
        assert_int_equal(impair_push(im, 1500, &b, 1, 0, NULL), 0);
        assert_int_equal(impair_next_deadline(im), 31000);
        struct impair_packet pk;
        assert_int_equal(impair_pop(im, 30999, &pk), 0);
        assert_int_equal(impair_pop(im, 31000, &pk), 1);
        assert_int_equal(pk.data[0], 'a');
        assert_int_equal(impair_next_deadline(im), 31500);
        assert_int_equal(impair_pop(im, 31499, &pk), 0);
        assert_int_equal(impair_pop(im, 40000, &pk), 1);
        assert_int_equal(pk.data[0], 'b');
        assert_int_equal(impair_next_deadline(im), UINT64_MAX);
        impair_free(im);
}

static struct rec recs[100000];

static void test_jitter_bounds_and_order(void **state)
{
        (void)state;
        /* Back to back (1 ms apart, jitter 20 ms wide): the order holds, latency stays in range. */
        struct impair *im = make("delay=30ms,jitter=10ms", 42);
        size_t n = run(im, 20000, 1000, PAYLOAD, recs, 100000);
        assert_int_equal(n, 20000);
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(recs[i].seq, i);
                uint64_t lat = recs[i].recv - recs[i].sent;
                assert_in_range(lat, 20000, 40000);
                lo = lat < lo ? lat : lo;
                hi = lat > hi ? lat : hi;
        }
        /* The order keeps the low end up (a datagram waits for the one before): still a spread. */
        assert_true(lo < 25000 && hi > 39000);
        impair_free(im);

        /* Far apart the order constraint never bites: the latency is delay + uniform jitter. */
        im = make("delay=30ms,jitter=10ms", 43);
        n = run(im, 4000, 100000, PAYLOAD, recs, 100000);
        assert_int_equal(n, 4000);
        uint64_t sum = 0, below = 0, lat_lo = UINT64_MAX, lat_hi = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t lat = recs[i].recv - recs[i].sent;
                assert_in_range(lat, 20000, 40000);
                sum += lat;
                below += lat < 30000;
                lat_lo = lat < lat_lo ? lat : lat_lo;
                lat_hi = lat > lat_hi ? lat : lat_hi;
        }
        /* Mean 30 ms, sd of the mean 91 us; half below the middle, sd 32. */
        assert_in_range(sum / n, 29600, 30400);
        assert_in_range(below, 1800, 2200);
        assert_true(lat_lo < 20100 && lat_hi > 39900);
        impair_free(im);

        /* Jitter larger than the delay: clamped at zero, never negative. */
        im = make("delay=5ms,jitter=10ms", 44);
        n = run(im, 4000, 100000, PAYLOAD, recs, 100000);
        uint64_t zero = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t lat = recs[i].recv - recs[i].sent;
                assert_true(recs[i].recv >= recs[i].sent);
                assert_in_range(lat, 0, 15000);
                zero += lat == 0;
        }
        /* Jitter from -10 to -5 ms clamps to 0: 5001 of 20001 values, 1000 expected, sd 27. */
        assert_in_range(zero, 860, 1140);
        impair_free(im);
}

/* Datagrams that left ahead of one pushed before them. */
static size_t count_overtakers(const struct rec *r, size_t n)
{
        size_t count = 0;
        uint32_t min_after = UINT32_MAX;
        for (size_t i = n; i-- > 0;) {
                if (r[i].seq > min_after)
                        count++;
                if (r[i].seq < min_after)
                        min_after = r[i].seq;
        }
        return count;
}

static void test_reorder(void **state)
{
        (void)state;
        struct impair *im = make("delay=30ms,reorder=10%", 5);
        size_t n = run(im, 10000, 1000, PAYLOAD, recs, 100000);
        assert_int_equal(n, 10000);
        /* Every datagram arrives exactly once. */
        static uint8_t seen[10000];
        memset(seen, 0, sizeof(seen));
        size_t immediate = 0;
        for (size_t i = 0; i < n; i++) {
                assert_true(recs[i].seq < 10000 && !seen[recs[i].seq]);
                seen[recs[i].seq] = 1;
                uint64_t lat = recs[i].recv - recs[i].sent;
                assert_true(lat == 0 || lat == 30000);
                immediate += lat == 0;
        }
        size_t over = count_overtakers(recs, n);
        struct impair_stats st;
        impair_get_stats(im, &st);
        /* Expected 1000, sd 30. All but one that left at t=0 (nothing to overtake) overtook. */
        assert_in_range(immediate, 850, 1150);
        assert_int_equal(st.reordered, over);
        assert_true(over == immediate || over + 1 == immediate);
        impair_free(im);

        /* Without reorder, the same delay never reorders. */
        im = make("delay=30ms,jitter=5ms", 5);
        n = run(im, 10000, 1000, PAYLOAD, recs, 100000);
        assert_int_equal(count_overtakers(recs, n), 0);
        impair_get_stats(im, &st);
        assert_int_equal(st.reordered, 0);
        impair_free(im);

        /* All skipping the delay: none overtakes another, so none counts as reordered. */
        im = make("delay=30ms,reorder=100%", 5);
        n = run(im, 1000, 1000, PAYLOAD, recs, 100000);
        assert_int_equal(n, 1000);
        assert_int_equal(count_overtakers(recs, n), 0);
        assert_int_equal(recs[999].recv, recs[999].sent);
        impair_get_stats(im, &st);
        assert_int_equal(st.reordered, 0);
        impair_free(im);

        /* Without a delay, reorder has nothing to skip (as netem). */
        im = make("reorder=50%", 5);
        n = run(im, 1000, 1000, PAYLOAD, recs, 100000);
        assert_int_equal(count_overtakers(recs, n), 0);
        impair_free(im);
}

static void test_rate_spacing(void **state)
{
        (void)state;
        /* 1000 bytes at 1 Mbit/s: 8 ms each, back to back from a burst. */
        struct impair *im = make("rate=1mbit", 1);
        uint8_t d[1000] = {0};
        for (int i = 0; i < 10; i++)
                assert_int_equal(impair_push(im, 0, d, sizeof(d), 0, NULL), 0);
        struct impair_packet pk;
        for (uint64_t i = 1; i <= 10; i++) {
                assert_int_equal(impair_next_deadline(im), 8000 * i);
                assert_int_equal(impair_pop(im, 8000 * i - 1, &pk), 0);
                assert_int_equal(impair_pop(im, 8000 * i, &pk), 1);
        }
        /* After the link idles, a new datagram starts from its own arrival. */
        assert_int_equal(impair_push(im, 1000000, d, 500, 0, NULL), 0);
        assert_int_equal(impair_next_deadline(im), 1004000);
        assert_int_equal(impair_pop(im, 1004000, &pk), 1);
        impair_free(im);

        /* 3 Mbit/s: 2666.67 us each, no drift: the n-th is due at ceil(n * 8000 / 3). */
        im = make("rate=3mbit,delay=10ms,limit=4mib", 1);
        for (int i = 0; i < 3000; i++)
                assert_int_equal(impair_push(im, 0, d, sizeof(d), 0, NULL), 0);
        for (uint64_t i = 1; i <= 3000; i++) {
                assert_int_equal(impair_next_deadline(im), (i * 8000 + 2) / 3 + 10000);
                assert_int_equal(impair_pop(im, UINT64_MAX - 1, &pk), 1);
        }
        assert_int_equal(impair_next_deadline(im), UINT64_MAX);
        impair_free(im);

        /* Paced below the rate, nothing queues: latency is one serialization time. */
        im = make("rate=2mbit", 1);
        size_t n = run(im, 1000, 5000, 1000, recs, 100000);
        assert_int_equal(n, 1000);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(recs[i].recv - recs[i].sent, 4000);
        impair_free(im);
}

static size_t accepted_burst(struct impair *im, size_t count, size_t len)
{
        static uint8_t d[2000];
        size_t ok = 0;
        for (size_t i = 0; i < count; i++) {
                int rc = impair_push(im, 0, d, len, 0, NULL);
                assert_true(rc == 0 || rc == 1);
                ok += rc == 0;
        }
        return ok;
}

static void test_queue_limit(void **state)
{
        (void)state;
        struct impair *im = make("rate=1mbit,limit=10000", 1);
        uint8_t d[1000] = {0};
        for (int i = 0; i < 20; i++)
                assert_int_equal(impair_push(im, 0, d, sizeof(d), 0, NULL), i < 10 ? 0 : 1);
        struct impair_stats st;
        impair_get_stats(im, &st);
        assert_int_equal(st.dropped_queue, 10);
        assert_int_equal(st.dropped_loss, 0);
        /* One datagram's time later there is room for exactly one more. */
        assert_int_equal(impair_push(im, 8000, d, sizeof(d), 0, NULL), 0);
        assert_int_equal(impair_push(im, 8000, d, sizeof(d), 0, NULL), 1);
        /* Half a datagram later the half-sent one still counts: no room for a whole one. */
        assert_int_equal(impair_push(im, 12000, d, sizeof(d), 0, NULL), 1);
        assert_int_equal(impair_push(im, 12000, d, 500, 0, NULL), 0);
        impair_free(im);

        /* Defaults: 100 ms at the rate, at least 64 KiB; 4 MiB without a rate. */
        im = make("rate=100mbit", 1);
        assert_int_equal(accepted_burst(im, 2000, 1000), 1250);
        impair_free(im);
        im = make("rate=2mbit", 1);
        assert_int_equal(accepted_burst(im, 100, 1000), 65);
        impair_free(im);
        im = make("delay=1s", 1);
        assert_int_equal(accepted_burst(im, 5000, 1000), 4194);
        impair_get_stats(im, &st);
        assert_int_equal(st.dropped_queue, 5000 - 4194);
        impair_free(im);
        im = make("delay=1s,limit=1500", 1);
        assert_int_equal(accepted_burst(im, 10, 1000), 1);
        impair_free(im);

        /* Memory bound on the count: tiny datagrams stop at IMPAIR_MAX_PACKETS. */
        im = make("delay=1s", 1);
        assert_int_equal(accepted_burst(im, IMPAIR_MAX_PACKETS + 100, 1), IMPAIR_MAX_PACKETS);
        /* Draining frees the room again. */
        struct impair_packet pk;
        size_t drained = 0;
        while (impair_pop(im, 1000000, &pk) == 1)
                drained++;
        assert_int_equal(drained, IMPAIR_MAX_PACKETS);
        assert_int_equal(accepted_burst(im, 10, 1), 10);
        impair_free(im);
}

static void test_duplicate(void **state)
{
        (void)state;
        struct impair *im = make("duplicate=100%,delay=10ms,jitter=5ms", 3);
        size_t n = run(im, 1000, 1000, PAYLOAD, recs, 100000);
        assert_int_equal(n, 2000);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(recs[i].seq, i / 2); /* the copy right behind its original */
        struct impair_stats st;
        impair_get_stats(im, &st);
        assert_int_equal(st.duplicated, 1000);
        assert_int_equal(st.packets_out, 2000);
        impair_free(im);

        im = make("duplicate=10%,loss=10%", 4);
        n = run(im, 20000, 100, PAYLOAD, recs, 100000);
        impair_get_stats(im, &st);
        /* Duplication applies to the 18000 not lost: 1800 expected, sd 40. */
        assert_in_range(st.duplicated, 1600, 2000);
        assert_in_range(st.dropped_loss, 1800, 2200);
        assert_int_equal(n, st.packets_in - st.dropped_loss + st.duplicated);
        assert_int_equal(st.packets_out, n);
        impair_free(im);
}

static void test_deterministic(void **state)
{
        (void)state;
        static struct rec again[100000];
        const char *spec = "loss=3%,duplicate=2%,delay=20ms,jitter=8ms,reorder=2%,rate=5mbit";
        struct impair *a = make(spec, 77), *b = make(spec, 77);
        size_t na = run(a, 5000, 1500, 800, recs, 100000);
        size_t nb = run(b, 5000, 1500, 800, again, 100000);
        assert_int_equal(na, nb);
        assert_memory_equal(recs, again, na * sizeof(recs[0]));
        struct impair_stats sa, sb;
        impair_get_stats(a, &sa);
        impair_get_stats(b, &sb);
        assert_memory_equal(&sa, &sb, sizeof(sa));
        assert_true(sa.dropped_loss > 0 && sa.duplicated > 0 && sa.reordered > 0);
        assert_int_equal(sa.packets_out,
                         sa.packets_in - sa.dropped_loss - sa.dropped_queue + sa.duplicated);
        impair_free(a);
        impair_free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_ok),      cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_passthrough),   cmocka_unit_test(test_loss_ratio),
            cmocka_unit_test(test_delay_exact),   cmocka_unit_test(test_jitter_bounds_and_order),
            cmocka_unit_test(test_reorder),       cmocka_unit_test(test_rate_spacing),
            cmocka_unit_test(test_queue_limit),   cmocka_unit_test(test_duplicate),
            cmocka_unit_test(test_deterministic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
