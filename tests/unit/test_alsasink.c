/*
 * ALSA playback into file-backed PCMs defined in tests/fixtures/alsa/asound.conf (loaded through
 * ALSA_CONFIG_PATH by meson): the paced plugin, which consumes at the real rate like a card, and
 * the built-in file PCM, which the module paces itself. Every frame the sink writes lands in the
 * output file, so the tests read back exactly what was played: silence, then the audio in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "media/alsasink.h"

#define RATE   48000
#define MARKER 30000 /* the right channel counts frames modulo this, from 1 */

static char out_path[64];

static int setup(void **state)
{
        (void)state;
        const char *cfg = getenv("ALSA_CONFIG_PATH");
        if (!cfg || !strstr(cfg, "fixtures/alsa")) {
                fprintf(stderr, "SKIP: run through meson test (needs the test ALSA config)\n");
                exit(77);
        }
        snprintf(out_path, sizeof(out_path), "/tmp/rtcpeer-alsasink-XXXXXX");
        int fd = mkstemp(out_path);
        assert_true(fd >= 0);
        close(fd);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        unlink(out_path);
        return 0;
}

/* Frame k of the test signal: a 440 Hz tone on the left (never exactly 0), a counter right. */
static int16_t tone_left(size_t k)
{
        int16_t v = (int16_t)lrint(8000 * sin(2 * M_PI * 440 * (double)k / RATE));
        return v ? v : 1;
}

static void signal_frames(int16_t *pcm, size_t from, size_t frames)
{
        for (size_t i = 0; i < frames; i++) {
                pcm[2 * i] = tone_left(from + i);
                pcm[2 * i + 1] = (int16_t)((from + i) % MARKER + 1);
        }
}

struct run {
        struct alsasink *s;
        struct pollfd fds[ALSASINK_MAX_FDS];
        nfds_t nfds;
        unsigned wakeups;
        uint64_t max_delay_us, min_delay_us;
        uint64_t last_service_us, max_gap_us; /* the longest the loop left the device alone */
};

static void run_open(struct run *r, const char *pcm_fmt, int self_paced)
{
        char pcm[128];
        snprintf(pcm, sizeof(pcm), pcm_fmt, out_path);
        memset(r, 0, sizeof(*r));
        struct merr err;
        int rc = alsasink_open(pcm, RATE, 2, &r->s, &err);
        if (rc)
                fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(rc, 0);
        assert_int_equal(alsasink_self_paced(r->s), self_paced);
        int n = alsasink_pollfds(r->s, r->fds, ALSASINK_MAX_FDS);
        assert_true(n >= 1);
        r->nfds = (nfds_t)n;
        r->min_delay_us = UINT64_MAX;
}

/* One turn of a tiny event loop: wait for the device, then service it. */
static void run_turn(struct run *r)
{
        struct pollfd fds[ALSASINK_MAX_FDS];
        memcpy(fds, r->fds, sizeof(fds));
        if (poll(fds, r->nfds, 100) > 0)
                r->wakeups++;
        uint64_t now = clock_now_us();
        if (r->last_service_us && now - r->last_service_us > r->max_gap_us)
                r->max_gap_us = now - r->last_service_us;
        r->last_service_us = now;
        int rc = alsasink_service(r->s, now);
        if (rc)
                fprintf(stderr, "%s\n", alsasink_error(r->s));
        assert_int_equal(rc, 0);
}

/* Services for `us` without feeding. */
static void run_idle(struct run *r, uint64_t us)
{
        uint64_t end = clock_now_us() + us;
        while (clock_now_us() < end)
                run_turn(r);
}

/* Services until `frames` in all went into the device or were dropped (a loaded machine may
 * leave the loop few turns, so no fixed time is enough). */
static void run_drain(struct run *r, uint64_t frames)
{
        uint64_t deadline = clock_now_us() + 2 * CLOCK_US_PER_SEC;
        struct alsasink_stats st;
        for (;;) {
                alsasink_get_stats(r->s, &st);
                if (st.frames_played + st.frames_dropped >= frames)
                        break;
                assert_true(clock_now_us() < deadline);
                run_turn(r);
        }
}

/*
 * Feeds frames [from, from + total) in 20 ms packets as a receiver would, each `lead_us` before
 * it is due, and services until all of it went into the device.
 */
static void run_play(struct run *r, size_t from, size_t total, uint64_t lead_us)
{
        int16_t pkt[960 * 2];
        struct alsasink_stats st;
        alsasink_get_stats(r->s, &st);
        uint64_t played0 = st.frames_played, dropped0 = st.frames_dropped;
        uint64_t start = clock_now_us(), deadline = start + 3 * CLOCK_US_PER_SEC;
        size_t fed = 0;
        for (;;) {
                uint64_t now = clock_now_us();
                assert_true(now < deadline);
                size_t due = (size_t)((now - start + lead_us) * RATE / CLOCK_US_PER_SEC);
                while (fed < total && fed < due) {
                        size_t n = total - fed < 960 ? total - fed : 960;
                        signal_frames(pkt, from + fed, n);
                        assert_int_equal(alsasink_write(r->s, pkt, n), 0);
                        fed += n;
                }
                run_turn(r);
                uint64_t d = alsasink_delay_us(r->s);
                alsasink_get_stats(r->s, &st);
                if (st.frames_played > played0) { /* once the audio plays */
                        r->max_delay_us = d > r->max_delay_us ? d : r->max_delay_us;
                        r->min_delay_us = d < r->min_delay_us ? d : r->min_delay_us;
                }
                if (fed == total &&
                    st.frames_played - played0 + st.frames_dropped - dropped0 == total)
                        break;
        }
}

struct scan {
        size_t frames;       /* in the file */
        size_t lead_silence; /* zero frames before the first signal frame */
        size_t first;        /* index of the first signal frame */
        size_t signal;       /* signal frames found */
        size_t gaps;         /* silence runs between signal frames */
        size_t skipped;      /* signal frames missing between those found (dropped) */
        size_t tail_silence; /* zero frames after the last signal frame */
};

/*
 * Reads the output back: silence, then signal frames in order from `first` on (each matching its
 * index, known from the counter), with the gaps and skips counted.
 */
static struct scan scan_output(size_t first)
{
        FILE *f = fopen(out_path, "rb");
        assert_non_null(f);
        struct scan sc = {0};
        int16_t fr[2];
        size_t next = first, zeros = 0;
        int seen = 0;
        while (fread(fr, sizeof(fr), 1, f) == 1) {
                sc.frames++;
                if (fr[0] == 0 && fr[1] == 0) {
                        zeros++;
                        continue;
                }
                assert_true(fr[1] >= 1 && fr[1] <= MARKER);
                /* Frames dropped before this one show as a jump in the counter. */
                size_t skip = ((size_t)fr[1] - 1 + MARKER - next % MARKER) % MARKER;
                size_t idx = next + skip;
                sc.skipped += skip;
                if (!seen) {
                        sc.first = idx;
                        sc.lead_silence = zeros;
                        seen = 1;
                } else if (zeros) {
                        sc.gaps++;
                }
                if (fr[0] != tone_left(idx))
                        fail_msg("output frame %zu: left %d, want %d for frame %zu", sc.frames - 1,
                                 fr[0], tone_left(idx), idx);
                zeros = 0;
                sc.signal++;
                next = idx + 1;
        }
        fclose(f);
        sc.tail_silence = zeros;
        return sc;
}

static void test_paced_tone(void **state)
{
        (void)state;
        struct run r;
        run_open(&r, "rtcpeer_paced_playback:OUTFILE=%s", 0);
        size_t total = RATE / 2;
        uint64_t t0 = clock_now_us();
        run_turn(&r);
        r.max_gap_us = 0;
        run_play(&r, 0, total, 40000);
        double took = (double)(clock_now_us() - t0) / 1e6;
        struct alsasink_stats st;
        alsasink_get_stats(r.s, &st);
        run_idle(&r, 80000);
        struct alsasink_stats end;
        alsasink_get_stats(r.s, &end);
        printf("# paced: %zu frames in %.3f s, %u wakeups, delay %.1f..%.1f ms, played %llu, "
               "silence %llu, dropped %llu, underruns %u, xruns %u, target %u us, longest "
               "stall %.1f ms\n",
               total, took, r.wakeups, r.min_delay_us / 1e3, r.max_delay_us / 1e3,
               (unsigned long long)st.frames_played, (unsigned long long)st.silence_frames,
               (unsigned long long)st.frames_dropped, st.underruns, st.xruns, st.target_us,
               r.max_gap_us / 1e3);
        alsasink_free(r.s);

        /* The device clock paced it: 0.5 s of audio took 0.5 s (plus the start latency). */
        assert_true(took > 0.45 && took < 1.0);
        /* Poll woke about once per 10 ms period, not in a busy spin. */
        assert_true(r.wakeups <= (unsigned)(took * 100 * 2) + 10);
        assert_int_equal(st.frames_played + st.frames_dropped, total);
        /* Latency stayed near the target while playing. */
        assert_true(r.max_delay_us <= st.target_us + 40000 + 10000);
        assert_true(r.min_delay_us >= 10000);
        /* Then the queue ran dry (the last packet was the end): silence after the tone. */
        assert_true(end.underruns >= 1);
        assert_true(end.silence_frames > st.silence_frames);

        struct scan sc = scan_output(0);
        printf("# output: %zu frames, %zu silent at the start, %zu signal, %zu gaps, %zu skipped, "
               "%zu silent at the end\n",
               sc.frames, sc.lead_silence, sc.signal, sc.gaps, sc.skipped, sc.tail_silence);
        /* Everything written to the device is in the file, and it was the tone in order. */
        assert_int_equal(sc.frames, end.frames_played + end.silence_frames);
        assert_int_equal(sc.signal, st.frames_played);
        assert_int_equal(sc.skipped, st.frames_dropped);
        /* Silence only at the start (plus where a late loop caused an underrun, if ever). */
        assert_true(sc.gaps <= end.underruns - 1 + end.xruns);
        assert_true(sc.lead_silence > 0 && sc.lead_silence < RATE / 10);
        assert_true(sc.tail_silence > 0);
        /* A loop that kept up (the device holds 20 ms when it wakes it) had no glitch at all. */
        if (r.max_gap_us < 15000) {
                assert_int_equal(end.underruns, 1);
                assert_int_equal(end.xruns, 0);
                assert_int_equal(end.frames_dropped, 0);
                assert_int_equal(sc.gaps, 0);
        }
}

static void test_underrun_and_adaptation(void **state)
{
        (void)state;
        struct run r;
        run_open(&r, "rtcpeer_paced_playback:OUTFILE=%s", 0);
        struct alsasink_stats st;
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.target_us, ALSASINK_TARGET_US);
        run_idle(&r, 30000); /* the device plays silence; that is no underrun */
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.underruns, 0);
        assert_true(st.silence_frames >= RATE * 30 / 1000);

        /* 100 ms arrive, then nothing: it plays, runs dry once, and the target grows 10 ms. */
        run_play(&r, 0, RATE / 10, 40000);
        run_idle(&r, 150000);
        alsasink_get_stats(r.s, &st);
        /* (A loop stalled by a loaded machine catches up with a burst, some of it dropped.) */
        assert_int_equal(st.frames_played + st.frames_dropped, RATE / 10);
        assert_int_equal(st.underruns, 1); /* one dry spell, however long */
        assert_int_equal(st.target_us, ALSASINK_TARGET_US + 10000);
        uint64_t silence = st.silence_frames;
        run_idle(&r, 50000);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.underruns, 1);
        assert_true(st.silence_frames > silence); /* silence goes on, counted once */

        /* Again: playback waits for the new target, then a second underrun. */
        run_play(&r, RATE / 10, RATE / 10, 40000);
        run_idle(&r, 100000);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.frames_played + st.frames_dropped, 2 * RATE / 10);
        assert_int_equal(st.underruns, 2);
        assert_int_equal(st.target_us, ALSASINK_TARGET_US + 20000);

        /* The loop stalls past the device's buffer: a device underrun, recovered. (A loaded
         * machine may have stalled the loop before; count from here.) */
        unsigned xruns = st.xruns;
        usleep(100000);
        run_idle(&r, 30000);
        alsasink_get_stats(r.s, &st);
        assert_true(st.xruns >= xruns + 1);
        assert_int_equal(st.underruns, 2);

        /* Calm spells of 10 s (on the caller's clock) shrink the target back to its floor, and
         * the latency with it, a 10 ms step at a time. */
        int16_t pkt[2 * 2400];
        signal_frames(pkt, 2 * RATE / 10, 2400);
        assert_int_equal(alsasink_write(r.s, pkt, 2400), 0); /* 50 ms: under the target */
        run_turn(&r);
        alsasink_get_stats(r.s, &st);
        uint64_t dropped0 = st.frames_dropped;
        uint64_t before = alsasink_delay_us(r.s), now = clock_now_us();
        assert_true(before >= ALSASINK_TARGET_US + 10000);
        assert_int_equal(alsasink_service(r.s, now + 5 * CLOCK_US_PER_SEC), 0);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.target_us, ALSASINK_TARGET_US + 20000);
        assert_int_equal(st.frames_dropped, dropped0);
        assert_int_equal(alsasink_service(r.s, now + 10100000ULL), 0);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.target_us, ALSASINK_TARGET_US + 10000);
        assert_true(st.frames_dropped > dropped0 && st.frames_dropped <= dropped0 + RATE / 100);
        for (unsigned i = 2; i <= 4; i++)
                assert_int_equal(alsasink_service(r.s, now + i * 10100000ULL), 0);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.target_us, ALSASINK_TARGET_US);
        uint64_t dropped = st.frames_dropped;
        run_drain(&r, 2 * RATE / 10 + 2400);
        run_idle(&r, 20000);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.frames_dropped, dropped);
        assert_int_equal(st.frames_played + dropped, 2 * RATE / 10 + 2400);
        alsasink_free(r.s);

        /* What reached the file: the bursts in order, silence around them, the skips counted. */
        struct scan sc = scan_output(0);
        assert_int_equal(sc.signal, 2 * RATE / 10 + 2400 - dropped);
        assert_int_equal(sc.skipped, dropped);
        assert_int_equal(sc.gaps, 2);
}

static void test_overfed_drops(void **state)
{
        (void)state;
        struct run r;
        run_open(&r, "rtcpeer_paced_playback:OUTFILE=%s", 0);
        run_turn(&r);
        /* 1.5 s at once (a stall on the network, then a burst): the queue keeps the newest 1 s. */
        size_t total = RATE * 3 / 2;
        int16_t *pcm = malloc(total * 4);
        signal_frames(pcm, 0, total);
        assert_int_equal(alsasink_write(r.s, pcm, total), 0);
        free(pcm);
        struct alsasink_stats st;
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.frames_dropped, RATE / 2);
        assert_true(alsasink_delay_us(r.s) >= 1000000);
        /* The next service brings the latency back to the target by dropping the oldest. */
        run_turn(&r);
        uint64_t d = alsasink_delay_us(r.s);
        alsasink_get_stats(r.s, &st);
        printf("# overfed: delay %.1f ms after the drop, %llu dropped\n", d / 1e3,
               (unsigned long long)st.frames_dropped);
        assert_true(d >= ALSASINK_TARGET_US - 15000 && d <= ALSASINK_TARGET_US + 15000);
        uint64_t dropped = st.frames_dropped;
        assert_true(dropped > total - RATE * 80 / 1000);
        run_drain(&r, total);
        run_idle(&r, 20000);
        alsasink_get_stats(r.s, &st);
        assert_int_equal(st.frames_dropped, dropped);
        assert_int_equal(st.frames_played + dropped, total);
        alsasink_free(r.s);
        /* What played is the newest audio, contiguous, after the silence of the start. */
        struct scan sc = scan_output(dropped);
        assert_int_equal(sc.first, dropped);
        assert_int_equal(sc.signal, total - dropped);
        assert_int_equal(sc.gaps, 0);
        assert_int_equal(sc.skipped, 0);
}

static void test_file_pcm_self_paced(void **state)
{
        (void)state;
        struct run r;
        run_open(&r, "rtcpeer_file_playback:OUTFILE=%s", 1);
        size_t total = RATE * 3 / 10;
        uint64_t t0 = clock_now_us();
        run_play(&r, 0, total, 40000);
        double took = (double)(clock_now_us() - t0) / 1e6;
        run_idle(&r, 50000);
        struct alsasink_stats st;
        alsasink_get_stats(r.s, &st);
        printf("# file: %zu frames in %.3f s, %u wakeups, delay %.1f..%.1f ms, underruns %u, "
               "xruns %u\n",
               total, took, r.wakeups, r.min_delay_us / 1e3, r.max_delay_us / 1e3, st.underruns,
               st.xruns);
        alsasink_free(r.s);
        /* Paced by rtcpeer's timer: real time, about one wakeup per period. */
        assert_true(took > 0.25 && took < 0.8);
        assert_true(r.wakeups <= (unsigned)(took * 100 * 2) + 10);
        assert_true(r.max_delay_us <= st.target_us + 50000);
        struct scan sc = scan_output(0);
        assert_int_equal(sc.signal + sc.skipped, total);
        assert_int_equal(sc.skipped, st.frames_dropped);
        assert_true(st.underruns >= 1);                      /* the end of the audio */
        assert_true(sc.gaps <= st.underruns - 1 + st.xruns); /* any other left a gap */
        assert_true(sc.lead_silence > 0 && sc.lead_silence < RATE / 10);
}

static void test_errors(void **state)
{
        (void)state;
        struct alsasink *s;
        struct merr err;
        assert_int_equal(alsasink_open("rtcpeer_no_such_pcm", RATE, 2, &s, &err), -ENOENT);
        assert_null(s);
        assert_string_equal(err.msg, "audio device rtcpeer_no_such_pcm: no such PCM");
        /* Defined, but its output file cannot be created: says so, naming the PCM. */
        assert_true(alsasink_open("rtcpeer_paced_playback:OUTFILE=/nonexistent-dir/x.raw", RATE, 2,
                                  &s, &err) < 0);
        assert_string_equal(err.msg, "audio device "
                                     "rtcpeer_paced_playback:OUTFILE=/nonexistent-dir/x.raw: "
                                     "cannot open: No such file or directory");
        assert_int_equal(alsasink_open("rtcpeer_paced_playback", RATE, 3, &s, &err), -EINVAL);
        alsasink_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_paced_tone),    cmocka_unit_test(test_underrun_and_adaptation),
            cmocka_unit_test(test_overfed_drops), cmocka_unit_test(test_file_pcm_self_paced),
            cmocka_unit_test(test_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
