#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/picture.h"
#include "media/testpattern.h"
#include "media/videosrc.h"

static void check_roundtrip(unsigned w, unsigned h, uint64_t seq, uint64_t t)
{
        struct picture p = {0};
        assert_int_equal(picture_alloc(&p, w, h), 0);
        testpattern_draw(&p, seq, t);
        uint64_t rs = 0, rt = 0;
        assert_int_equal(testpattern_read(&p, &rs, &rt), 0);
        assert_true(rs == seq % 10000000000ULL);
        assert_true(rt == t % 10000000000000000ULL);
        picture_release(&p);
}

static void test_pattern_digits(void **state)
{
        (void)state;
        const unsigned sizes[][2] = {{640, 480}, {320, 240}, {1280, 720}, {176, 144}, {135, 50}};
        const uint64_t seqs[] = {0, 1, 9, 1234567890, 9999999999ULL, 31};
        for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
                for (unsigned j = 0; j < sizeof(seqs) / sizeof(seqs[0]); j++)
                        check_roundtrip(sizes[i][0], sizes[i][1], seqs[j],
                                        123456789012ULL + seqs[j] * 33333);
        /* Numbers wider than the digits wrap; the reader gives what is drawn. */
        check_roundtrip(640, 480, 12345678901234ULL, 98765432109876543ULL);
}

static void test_pattern_damage_detected(void **state)
{
        (void)state;
        struct picture p = {0};
        assert_int_equal(picture_alloc(&p, 640, 480), 0);
        testpattern_draw(&p, 4711, 1000000);
        /* Whiten the box around the first digits: the reader must refuse, not guess. */
        for (unsigned y = 16; y < 60; y++)
                memset(p.plane[0] + (size_t)p.stride[0] * y + 16, 235, 100);
        uint64_t s, t;
        assert_int_equal(testpattern_read(&p, &s, &t), -EBADMSG);
        /* A plain grey picture is not a test picture. */
        memset(p.plane[0], 128, (size_t)p.stride[0] * p.height);
        assert_int_equal(testpattern_read(&p, &s, &t), -EBADMSG);
        picture_release(&p);
        assert_int_equal(picture_alloc(&p, 120, 40), 0);
        testpattern_draw(&p, 1, 2);
        assert_int_equal(testpattern_read(&p, &s, &t), -ENOSPC);
        picture_release(&p);
}

static void test_pattern_moves(void **state)
{
        (void)state;
        struct picture a = {0}, b = {0};
        assert_int_equal(picture_alloc(&a, 320, 240), 0);
        assert_int_equal(picture_alloc(&b, 320, 240), 0);
        testpattern_draw(&a, 10, 0);
        testpattern_draw(&b, 11, 0);
        /* Below the digits the background differs from frame to frame. */
        size_t off = (size_t)a.stride[0] * 200;
        assert_memory_not_equal(a.plane[0] + off, b.plane[0] + off, 320);
        picture_release(&a);
        picture_release(&b);
}

static void test_source_pacing(void **state)
{
        (void)state;
        struct videosrc_config cfg = {.spec = "test:320x240@10"};
        struct videosrc *s;
        struct merr err;
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        const struct videosrc_info *info = videosrc_get_info(s);
        assert_int_equal(info->kind, VIDEOSRC_TEST);
        assert_int_equal(info->width, 320);
        assert_int_equal(info->height, 240);
        assert_int_equal(info->fps_num, 10);
        assert_int_equal(videosrc_fd(s), -1);
        assert_int_equal(videosrc_next_deadline(s), 0);
        const struct picture *p;
        uint64_t t0 = 5000000, seq, ct;
        assert_int_equal(videosrc_read(s, t0, &p), 1);
        assert_int_equal(p->seq, 0);
        assert_int_equal(p->capture_us, t0);
        assert_int_equal(testpattern_read(p, &seq, &ct), 0);
        assert_int_equal(seq, 0);
        assert_int_equal(ct, t0);
        assert_int_equal(videosrc_read(s, t0 + 1000, &p), 0);
        assert_int_equal(videosrc_next_deadline(s), t0 + 100000);
        assert_int_equal(videosrc_read(s, t0 + 99999, &p), 0);
        assert_int_equal(videosrc_read(s, t0 + 100500, &p), 1);
        assert_int_equal(p->seq, 1);
        assert_int_equal(testpattern_read(p, &seq, &ct), 0);
        assert_int_equal(seq, 1);
        assert_int_equal(ct, t0 + 100500);
        /* One frame late: delivered back to back, no skip. */
        assert_int_equal(videosrc_read(s, t0 + 320000, &p), 1);
        assert_int_equal(p->seq, 2);
        assert_int_equal(videosrc_read(s, t0 + 320000, &p), 1);
        assert_int_equal(p->seq, 3);
        assert_int_equal(videosrc_read(s, t0 + 320000, &p), 0);
        /* A stall of 2 s skips ahead instead of bursting 20 frames. */
        assert_int_equal(videosrc_read(s, t0 + 2400000, &p), 1);
        assert_int_equal(p->seq, 24);
        assert_int_equal(videosrc_read(s, t0 + 2400000, &p), 0);
        videosrc_free(s);
        videosrc_free(NULL);
}

static void test_source_sizes(void **state)
{
        (void)state;
        struct merr err;
        struct videosrc *s;
        struct videosrc_config cfg = {.spec = "test"};
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(videosrc_get_info(s)->width, 640);
        assert_int_equal(videosrc_get_info(s)->height, 480);
        assert_int_equal(videosrc_get_info(s)->fps_num, 30);
        videosrc_free(s);
        cfg = (struct videosrc_config){.spec = "test", .width = 1280, .height = 720, .fps = 15};
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(videosrc_get_info(s)->width, 1280);
        assert_int_equal(videosrc_get_info(s)->fps_num, 15);
        videosrc_free(s);
        cfg = (struct videosrc_config){.spec = "test:@60"};
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(videosrc_get_info(s)->width, 640);
        assert_int_equal(videosrc_get_info(s)->fps_num, 60);
        videosrc_free(s);
        const char *bad[] = {"test:",    "test:640",       "test:640x",    "test:640x480@",
                             "test:1x1", "test:640x480@0", "test:640x480x"};
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cfg = (struct videosrc_config){.spec = bad[i]};
                assert_int_equal(videosrc_new(&cfg, &s, &err), -EINVAL);
                assert_null(s);
                assert_non_null(strstr(err.msg, bad[i]));
        }
}

static char tmp_dir[64];

static void setup_dir(void)
{
        if (!tmp_dir[0]) {
                snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/rtcpeer-y4m-XXXXXX");
                assert_non_null(mkdtemp(tmp_dir));
        }
}

/* Frame i has luma 10*i+20 everywhere, U 100+i, V 150+i, one odd pixel per plane. */
static void write_y4m(const char *path, const char *header, unsigned w, unsigned h, unsigned frames)
{
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fprintf(f, "%s\n", header);
        unsigned cw = (w + 1) / 2, ch = (h + 1) / 2;
        uint8_t *buf = malloc((size_t)w * h);
        for (unsigned i = 0; i < frames; i++) {
                fprintf(f, "FRAME\n");
                memset(buf, (int)(10 * i + 20), (size_t)w * h);
                buf[w * h - 1] = 7;
                fwrite(buf, 1, (size_t)w * h, f);
                memset(buf, (int)(100 + i), (size_t)cw * ch);
                fwrite(buf, 1, (size_t)cw * ch, f);
                memset(buf, (int)(150 + i), (size_t)cw * ch);
                buf[0] = 3;
                fwrite(buf, 1, (size_t)cw * ch, f);
        }
        free(buf);
        fclose(f);
}

static void test_y4m_read_and_loop(void **state)
{
        (void)state;
        setup_dir();
        char path[128];
        snprintf(path, sizeof(path), "%s/small.y4m", tmp_dir);
        write_y4m(path, "YUV4MPEG2 W33 H17 F25:2 Ip A1:1 C420jpeg XYSCSS=420JPEG", 33, 17, 3);
        struct videosrc_config cfg = {.spec = path};
        struct videosrc *s;
        struct merr err;
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        const struct videosrc_info *info = videosrc_get_info(s);
        assert_int_equal(info->kind, VIDEOSRC_Y4M);
        assert_int_equal(info->width, 33);
        assert_int_equal(info->height, 17);
        assert_int_equal(info->fps_num, 25);
        assert_int_equal(info->fps_den, 2);
        uint64_t t = 1000000;
        for (unsigned n = 0; n < 8; n++) {
                const struct picture *p;
                assert_int_equal(videosrc_read(s, t, &p), 1);
                assert_int_equal(videosrc_read(s, t, &p), 0);
                unsigned i = n % 3;
                assert_int_equal(p->seq, n);
                assert_int_equal(p->capture_us, t);
                assert_int_equal(p->width, 33);
                assert_int_equal(p->plane[0][0], 10 * i + 20);
                assert_int_equal(p->plane[0][(size_t)p->stride[0] * 16 + 31], 10 * i + 20);
                assert_int_equal(p->plane[0][(size_t)p->stride[0] * 16 + 32], 7);
                assert_int_equal(p->plane[1][(size_t)p->stride[1] * 8 + 16], 100 + i);
                assert_int_equal(p->plane[2][0], 3);
                assert_int_equal(p->plane[2][1], 150 + i);
                /* 12.5 fps: 80 ms apart. */
                assert_int_equal(videosrc_next_deadline(s), 1000000 + (n + 1) * 80000);
                t = videosrc_next_deadline(s);
        }
        videosrc_free(s);
        unlink(path);

        /* No C tag means 4:2:0; a missing F tag means 30 fps. */
        write_y4m(path, "YUV4MPEG2 W16 H16", 16, 16, 1);
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        assert_int_equal(videosrc_get_info(s)->fps_num, 30);
        const struct picture *p;
        assert_int_equal(videosrc_read(s, 0, &p), 1);
        assert_int_equal(videosrc_read(s, 40000, &p), 1); /* the one frame again */
        assert_int_equal(p->plane[0][0], 20);
        videosrc_free(s);
        unlink(path);
}

static void test_y4m_refused(void **state)
{
        (void)state;
        setup_dir();
        char path[128];
        snprintf(path, sizeof(path), "%s/bad.y4m", tmp_dir);
        struct videosrc_config cfg = {.spec = path};
        struct videosrc *s;
        struct merr err;
        const char *refused[] = {"C422", "C444", "Cmono", "C420p10"};
        for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                char hdr[128];
                snprintf(hdr, sizeof(hdr), "YUV4MPEG2 W16 H16 F30:1 %s", refused[i]);
                write_y4m(path, hdr, 16, 16, 1);
                assert_int_equal(videosrc_new(&cfg, &s, &err), -ENOTSUP);
                assert_null(s);
                assert_non_null(strstr(err.msg, path));
                assert_non_null(strstr(err.msg, refused[i] + 1));
                assert_non_null(strstr(err.msg, "not supported"));
        }
        const char *accepted[] = {"C420", "C420paligned", "C420mpeg2"};
        for (unsigned i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
                char hdr[128];
                snprintf(hdr, sizeof(hdr), "YUV4MPEG2 W16 H16 F30:1 %s", accepted[i]);
                write_y4m(path, hdr, 16, 16, 1);
                assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
                videosrc_free(s);
        }
        FILE *f = fopen(path, "wb");
        fputs("RIFF....WAVEfmt ", f);
        fclose(f);
        assert_int_equal(videosrc_new(&cfg, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a Y4M file"));
        /* A header without frames fails at the first read, naming the file. */
        write_y4m(path, "YUV4MPEG2 W16 H16 F30:1", 16, 16, 0);
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        const struct picture *p;
        assert_true(videosrc_read(s, 0, &p) < 0);
        assert_non_null(strstr(videosrc_error(s), path));
        assert_true(videosrc_read(s, 1000000, &p) < 0); /* stays failed */
        videosrc_free(s);
        /* Truncated frame. */
        f = fopen(path, "wb");
        fputs("YUV4MPEG2 W16 H16 F30:1\nFRAME\nabc", f);
        fclose(f);
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        assert_true(videosrc_read(s, 0, &p) < 0);
        assert_non_null(strstr(videosrc_error(s), "truncated"));
        videosrc_free(s);
        unlink(path);
        rmdir(tmp_dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pattern_digits), cmocka_unit_test(test_pattern_damage_detected),
            cmocka_unit_test(test_pattern_moves),  cmocka_unit_test(test_source_pacing),
            cmocka_unit_test(test_source_sizes),   cmocka_unit_test(test_y4m_read_and_loop),
            cmocka_unit_test(test_y4m_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
