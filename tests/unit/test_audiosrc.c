#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/audiosrc.h"

static void test_tone(void **state)
{
        (void)state;
        struct audiosrc_config cfg = {.spec = "test:1000"};
        struct audiosrc *s;
        struct merr err;
        assert_int_equal(audiosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(audiosrc_kind(s), AUDIOSRC_TEST);
        assert_int_equal(audiosrc_channels(s), 1);
        struct pollfd fds[2];
        assert_int_equal(audiosrc_pollfds(s, fds, 2), 0);
        assert_int_equal(audiosrc_next_deadline(s), 0);
        const struct pcm_frame *f;
        uint64_t t0 = 7000000;
        double energy = 0;
        unsigned crossings = 0;
        int16_t prev = 0;
        for (unsigned n = 0; n < 50; n++) {
                uint64_t now = t0 + n * 20000;
                assert_int_equal(audiosrc_read(s, now, &f), 1);
                assert_int_equal(audiosrc_read(s, now, &f), 0);
                assert_int_equal(audiosrc_next_deadline(s), now + 20000);
                assert_int_equal(f->seq, n);
                assert_int_equal(f->capture_us, now);
                for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++) {
                        energy += (double)f->samples[i] * f->samples[i];
                        if (prev < 0 && f->samples[i] >= 0)
                                crossings++;
                        prev = f->samples[i];
                }
        }
        /* 1 s of 1000 Hz at -10 dBFS. */
        assert_true(crossings >= 999 && crossings <= 1001);
        double rms = sqrt(energy / 48000);
        assert_true(fabs(rms - 9830 / sqrt(2)) < 20);
        /* A stall skips ahead. */
        assert_int_equal(audiosrc_read(s, t0 + 5000000, &f), 1);
        assert_int_equal(f->seq, 250);
        audiosrc_free(s);
        audiosrc_free(NULL);

        cfg = (struct audiosrc_config){.spec = "test", .channels = 2};
        assert_int_equal(audiosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(audiosrc_read(s, 0, &f), 1);
        assert_int_equal(f->channels, 2);
        for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++)
                assert_int_equal(f->samples[2 * i], f->samples[2 * i + 1]);
        assert_int_equal(f->samples[2 * 12],
                         (int16_t)lrint(9830 * sin(2 * M_PI * 440 * 12 / 48000.0)));
        audiosrc_free(s);

        const char *bad[] = {"test:", "test:0", "test:abc", "test:30000", "test:440x"};
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cfg = (struct audiosrc_config){.spec = bad[i]};
                assert_int_equal(audiosrc_new(&cfg, &s, &err), -EINVAL);
                assert_non_null(strstr(err.msg, bad[i]));
        }
}

static void put16(FILE *f, unsigned v)
{
        fputc((int)(v & 0xff), f);
        fputc((int)(v >> 8 & 0xff), f);
}

static void put32(FILE *f, uint32_t v)
{
        put16(f, v & 0xffff);
        put16(f, v >> 16);
}

static void write_wav(const char *path, unsigned format, unsigned channels, unsigned rate,
                      unsigned bits, unsigned frames)
{
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        uint32_t data = frames * channels * bits / 8;
        fputs("RIFF", f);
        put32(f, 4 + 8 + 16 + 8 + 6 + 8 + data);
        fputs("WAVEfmt ", f);
        put32(f, 16);
        put16(f, format);
        put16(f, channels);
        put32(f, rate);
        put32(f, rate * channels * bits / 8);
        put16(f, channels * bits / 8);
        put16(f, bits);
        fputs("LIST", f); /* a chunk to skip */
        put32(f, 5);
        fputs("abcde", f);
        fputc(0, f); /* pad byte of the odd-sized chunk */
        fputs("data", f);
        put32(f, data);
        for (unsigned k = 0; k < frames * channels; k++)
                put16(f, (k * 3 + 1) & 0xffff);
        fclose(f);
}

static void test_wav(void **state)
{
        (void)state;
        char path[64];
        snprintf(path, sizeof(path), "/tmp/rtcpeer-wav-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        /* 1500 stereo frames: the second 20 ms frame wraps around the end. */
        write_wav(path, 1, 2, 48000, 16, 1500);
        struct audiosrc_config cfg = {.spec = path};
        struct audiosrc *s;
        struct merr err;
        assert_int_equal(audiosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(audiosrc_kind(s), AUDIOSRC_WAV);
        assert_int_equal(audiosrc_channels(s), 2);
        const struct pcm_frame *f;
        size_t k = 0;
        for (unsigned n = 0; n < 4; n++) {
                assert_int_equal(audiosrc_read(s, n * 20000, &f), 1);
                for (unsigned i = 0; i < PCM_FRAME_SAMPLES * 2; i++, k++)
                        assert_int_equal(f->samples[i], (int16_t)((k % 3000) * 3 + 1));
        }
        audiosrc_free(s);
        /* Mixed down to mono when asked. */
        cfg.channels = 1;
        assert_int_equal(audiosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(audiosrc_read(s, 0, &f), 1);
        assert_int_equal(f->channels, 1);
        assert_int_equal(f->samples[10], (int16_t)((20 * 3 + 1 + 21 * 3 + 1) / 2));
        audiosrc_free(s);

        write_wav(path, 1, 1, 44100, 16, 100);
        assert_int_equal(audiosrc_new(&cfg, &s, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "44100 Hz is not supported"));
        write_wav(path, 1, 1, 48000, 8, 100);
        assert_int_equal(audiosrc_new(&cfg, &s, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "8-bit"));
        write_wav(path, 3, 1, 48000, 32, 100); /* IEEE float */
        assert_int_equal(audiosrc_new(&cfg, &s, &err), -ENOTSUP);
        write_wav(path, 1, 6, 48000, 16, 100);
        assert_int_equal(audiosrc_new(&cfg, &s, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "6 channels"));
        FILE *fp = fopen(path, "wb");
        fputs("YUV4MPEG2 W16 H16\n", fp);
        fclose(fp);
        assert_int_equal(audiosrc_new(&cfg, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a WAV file"));
        unlink(path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_tone),
            cmocka_unit_test(test_wav),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
