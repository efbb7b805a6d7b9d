/*
 * ALSA capture from file-backed PCMs defined in tests/fixtures/alsa/asound.conf (loaded through
 * ALSA_CONFIG_PATH by meson): the paced plugin, which runs at the real rate like a card, and the
 * built-in file PCM, which the module paces itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "media/alsasrc.h"
#include "media/audiosrc.h"

static char raw_path[64];

/* Sample k of channel c: distinct across the file, so an offset or a swap shows. */
static int16_t sample(size_t k, unsigned c)
{
        return (int16_t)((k * 7 + c * 12345 + (k >> 11) * 3) & 0xffff);
}

static int setup(void **state)
{
        (void)state;
        const char *cfg = getenv("ALSA_CONFIG_PATH");
        if (!cfg || !strstr(cfg, "fixtures/alsa")) {
                fprintf(stderr, "SKIP: run through meson test (needs the test ALSA config)\n");
                exit(77);
        }
        snprintf(raw_path, sizeof(raw_path), "/tmp/rtcpeer-alsa-XXXXXX");
        int fd = mkstemp(raw_path);
        assert_true(fd >= 0);
        /* 2 s of stereo S16_LE: more than any test reads, since the file PCM gives garbage past
         * the end. */
        size_t frames = 2 * 48000;
        int16_t *buf = malloc(frames * 4);
        for (size_t k = 0; k < frames; k++) {
                buf[2 * k] = sample(k, 0);
                buf[2 * k + 1] = sample(k, 1);
        }
        assert_int_equal(write(fd, buf, frames * 4), (ssize_t)(frames * 4));
        close(fd);
        free(buf);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        unlink(raw_path);
        return 0;
}

/* Captures `frames` 20 ms frames through the poll loop; returns the seconds it took. */
static double capture(const char *pcm, unsigned channels, unsigned frames, int expect_self_paced)
{
        struct alsasrc_config cfg = {.pcm = pcm, .channels = channels};
        struct alsasrc *s;
        struct merr err;
        int rc = alsasrc_new(&cfg, &s, &err);
        if (rc)
                fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(rc, 0);
        assert_int_equal(alsasrc_self_paced(s), expect_self_paced);
        struct pollfd fds[ALSASRC_MAX_FDS];
        int n = alsasrc_pollfds(s, fds, ALSASRC_MAX_FDS);
        assert_true(n >= 1);
        uint64_t start = clock_now_us(), last_capture = 0;
        unsigned got = 0, wakeups = 0;
        size_t k = 0;
        while (got < frames) {
                assert_true(poll(fds, (nfds_t)n, 1000) > 0);
                wakeups++;
                const struct pcm_frame *f;
                while ((rc = alsasrc_read(s, clock_now_us(), &f, &err)) == 1) {
                        assert_int_equal(f->channels, channels);
                        assert_int_equal(f->seq, got);
                        if (got)
                                assert_true(f->capture_us > last_capture);
                        last_capture = f->capture_us;
                        for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++, k++) {
                                if (channels == 2) {
                                        if (f->samples[2 * i] != sample(k, 0) ||
                                            f->samples[2 * i + 1] != sample(k, 1))
                                                fail_msg("frame %u sample %u differs", got, i);
                                } else if (f->samples[i] != sample(k / 2, k % 2)) {
                                        /* A mono PCM reads the stereo file as one channel. */
                                        fail_msg("frame %u sample %u differs", got, i);
                                }
                        }
                        if (++got == frames)
                                break;
                }
                assert_true(rc >= 0);
        }
        double took = (double)(clock_now_us() - start) / 1e6;
        printf("# %s: %u frames in %.3f s, %u wakeups, %u overruns\n", pcm, frames, took, wakeups,
               alsasrc_overruns(s));
        /* Paced: the loop woke about once per frame, not in a busy spin. */
        assert_true(wakeups <= frames * 2 + 5);
        assert_int_equal(alsasrc_overruns(s), 0);
        alsasrc_free(s);
        return took;
}

static void test_paced_capture(void **state)
{
        (void)state;
        char pcm[128];
        snprintf(pcm, sizeof(pcm), "rtcpeer_paced_capture:INFILE=%s", raw_path);
        double took = capture(pcm, 2, 50, 0);
        assert_true(took > 0.95 && took < 1.3);
        took = capture(pcm, 1, 10, 0);
        assert_true(took > 0.17 && took < 0.5);
}

static void test_file_pcm_self_paced(void **state)
{
        (void)state;
        char pcm[128];
        snprintf(pcm, sizeof(pcm), "rtcpeer_file_capture:INFILE=%s", raw_path);
        double took = capture(pcm, 2, 50, 1);
        assert_true(took > 0.95 && took < 1.3);
}

static void test_errors(void **state)
{
        (void)state;
        struct audiosrc_config cfg = {.spec = "rtcpeer_no_such_pcm"};
        struct audiosrc *s;
        struct merr err;
        assert_int_equal(audiosrc_new(&cfg, &s, &err), -ENOENT);
        assert_null(s);
        assert_string_equal(err.msg, "audio device rtcpeer_no_such_pcm: no such PCM");
        /* The paced PCM without its file argument fails at open and says which. */
        cfg.spec = "rtcpeer_paced_capture";
        assert_true(audiosrc_new(&cfg, &s, &err) < 0);
        assert_string_equal(err.msg, "audio device rtcpeer_paced_capture: cannot open: No such "
                                     "file or directory");
}

static void test_through_audiosrc(void **state)
{
        (void)state;
        char pcm[128];
        snprintf(pcm, sizeof(pcm), "rtcpeer_paced_capture:INFILE=%s,LOOP=true", raw_path);
        struct audiosrc_config cfg = {.spec = pcm, .channels = 2};
        struct audiosrc *s;
        struct merr err;
        assert_int_equal(audiosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(audiosrc_kind(s), AUDIOSRC_ALSA);
        assert_int_equal(audiosrc_next_deadline(s), UINT64_MAX);
        struct pollfd fds[8];
        int n = audiosrc_pollfds(s, fds, 8);
        assert_true(n >= 1);
        unsigned got = 0;
        while (got < 5) {
                assert_true(poll(fds, (nfds_t)n, 1000) > 0);
                const struct pcm_frame *f;
                int rc;
                while ((rc = audiosrc_read(s, clock_now_us(), &f)) == 1) {
                        assert_int_equal(f->samples[0], sample(got * PCM_FRAME_SAMPLES, 0));
                        got++;
                }
                assert_int_equal(rc, 0);
        }
        audiosrc_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_paced_capture),
            cmocka_unit_test(test_file_pcm_self_paced),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_through_audiosrc),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
