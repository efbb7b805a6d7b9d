/*
 * V4L2 capture against the camera emulation in tests/fixtures/v4l2 (LD_PRELOAD, set by meson),
 * which emulates /dev/video-test and draws the test pattern, so every frame can be checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "media/testpattern.h"
#include "media/v4l2src.h"
#include "media/videosrc.h"

#define DEVICE "/dev/video-test"

static int shim_loaded(void **state)
{
        (void)state;
        const char *p = getenv("LD_PRELOAD");
        if (!p || !strstr(p, "v4l2shim")) {
                fprintf(stderr, "SKIP: run through meson test (needs the V4L2 shim preloaded)\n");
                exit(77);
        }
        return 0;
}

/* Waits on the source's descriptor and deadline, as the event loop does. */
static int next_frame(struct videosrc *s, const struct picture **p)
{
        for (;;) {
                int rc = videosrc_read(s, clock_now_us(), p);
                if (rc)
                        return rc;
                uint64_t now = clock_now_us(), dl = videosrc_next_deadline(s);
                int ms = dl > now ? (int)((dl - now) / 1000 + 1) : 0;
                struct pollfd pfd = {.fd = videosrc_fd(s), .events = POLLIN};
                assert_true(poll(&pfd, 1, ms) >= 0);
        }
}

static void capture(uint32_t fourcc, unsigned w, unsigned h, unsigned frames)
{
        struct videosrc_config cfg = {
            .spec = DEVICE, .width = w, .height = h, .fps = 30, .fourcc = fourcc};
        struct videosrc *s;
        struct merr err;
        int rc = videosrc_new(&cfg, &s, &err);
        if (rc)
                fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(rc, 0);
        const struct videosrc_info *info = videosrc_get_info(s);
        assert_int_equal(info->kind, VIDEOSRC_V4L2);
        assert_int_equal(info->fourcc, fourcc);
        assert_int_equal(info->width, w);
        assert_int_equal(info->height, h);
        assert_int_equal(info->fps_num, 30);
        assert_int_equal(info->fps_den, 1);
        assert_true(videosrc_fd(s) >= 0);
        uint64_t last_seq = 0, last_t = 0, start = clock_now_us();
        for (unsigned i = 0; i < frames; i++) {
                const struct picture *p;
                assert_int_equal(next_frame(s, &p), 1);
                assert_int_equal(p->width, w);
                assert_int_equal(p->height, h);
                uint64_t seq, t;
                assert_int_equal(testpattern_read(p, &seq, &t), 0);
                /* The camera drew its sequence number and timestamp into the picture. */
                assert_int_equal(seq, p->seq);
                assert_int_equal(t, p->capture_us);
                if (i) {
                        assert_true(p->seq > last_seq);
                        assert_true(p->capture_us > last_t);
                }
                assert_true(p->capture_us <= clock_now_us());
                /* Generous: sanitizer builds on a busy machine run far behind real time. */
                assert_true(p->capture_us + 5000000 > clock_now_us());
                last_seq = p->seq;
                last_t = p->capture_us;
        }
        /* At 30 fps, N frames take about N/30 s; the machine may be busy, so only bound it. */
        uint64_t took = clock_now_us() - start;
        assert_true(took > (frames - 2) * 33333ULL / 2);
        assert_true(took < frames * 33333ULL * 10 + 5000000);
        videosrc_free(s);
}

static void test_capture_yuyv(void **state)
{
        (void)state;
        capture(V4L2_PIX_FMT_YUYV, 640, 480, 20);
        capture(V4L2_PIX_FMT_YUYV, 320, 240, 10);
}

static void test_capture_mjpeg(void **state)
{
        (void)state;
        capture(V4L2_PIX_FMT_MJPEG, 640, 480, 20);
        capture(V4L2_PIX_FMT_MJPEG, 1280, 720, 5);
}

static void test_capture_nv12_i420(void **state)
{
        (void)state;
        capture(V4L2_PIX_FMT_NV12, 640, 480, 5);
        capture(V4L2_PIX_FMT_YUV420, 320, 240, 5);
}

static void expect_mode(unsigned w, unsigned h, unsigned fps, uint32_t fourcc, unsigned ew,
                        unsigned eh, unsigned efps, uint32_t efourcc)
{
        struct v4l2src_config cfg = {
            .path = DEVICE, .width = w, .height = h, .fps = fps, .fourcc = fourcc};
        struct v4l2src *s;
        struct merr err;
        assert_int_equal(v4l2src_new(&cfg, &s, &err), 0);
        const struct v4l2src_mode *m = v4l2src_current_mode(s);
        char a[5], b[5];
        if (m->width != ew || m->height != eh || m->fps_num != efps || m->fourcc != efourcc)
                fail_msg("asked %ux%u@%u: got %s %ux%u@%u/%u, expected %s %ux%u@%u", w, h, fps,
                         v4l2src_fourcc_str(m->fourcc, a), m->width, m->height, m->fps_num,
                         m->fps_den, v4l2src_fourcc_str(efourcc, b), ew, eh, efps);
        v4l2src_free(s);
}

static void test_nearest_mode(void **state)
{
        (void)state;
        /* Defaults: 640x480@30; among equal modes the cheapest conversion (YU12) wins. */
        expect_mode(0, 0, 0, 0, 640, 480, 30, V4L2_PIX_FMT_YUV420);
        expect_mode(300, 200, 25, 0, 320, 240, 30, V4L2_PIX_FMT_YUV420);
        expect_mode(1280, 700, 50, V4L2_PIX_FMT_MJPEG, 1280, 720, 60, V4L2_PIX_FMT_MJPEG);
        expect_mode(1920, 1080, 10, V4L2_PIX_FMT_YUYV, 1280, 720, 15, V4L2_PIX_FMT_YUYV);
        expect_mode(160, 120, 15, 0, 320, 240, 15, V4L2_PIX_FMT_YUV420);
}

static void test_errors(void **state)
{
        (void)state;
        struct videosrc_config cfg = {.spec = "/dev/video-missing"};
        struct videosrc *s;
        struct merr err;
        assert_int_equal(videosrc_new(&cfg, &s, &err), -ENOENT);
        assert_null(s);
        assert_string_equal(err.msg, "/dev/video-missing: no such device");

        struct v4l2src_config vc = {.path = "/dev/null"};
        struct v4l2src *v;
        assert_int_equal(v4l2src_new(&vc, &v, &err), -ENODEV);
        assert_string_equal(err.msg, "/dev/null: not a V4L2 device");

        vc = (struct v4l2src_config){.path = DEVICE, .fourcc = V4L2_PIX_FMT_H264};
        assert_int_equal(v4l2src_new(&vc, &v, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, DEVICE ": pixel format H264 not offered"));
        assert_non_null(strstr(err.msg, "YUYV, MJPG, NV12, YU12"));
}

static void test_busy(void **state)
{
        (void)state;
        struct videosrc_config cfg = {.spec = DEVICE};
        struct videosrc *a, *b;
        struct merr err;
        assert_int_equal(videosrc_new(&cfg, &a, &err), 0);
        assert_int_equal(videosrc_new(&cfg, &b, &err), -EBUSY);
        assert_null(b);
        assert_string_equal(err.msg, DEVICE ": device busy (in use by another program)");
        videosrc_free(a);
        /* Released: the next user gets it. */
        assert_int_equal(videosrc_new(&cfg, &b, &err), 0);
        videosrc_free(b);
}

static void test_stall(void **state)
{
        (void)state;
        setenv("RTCPEER_V4L2SHIM_STALL_AFTER", "3", 1);
        struct videosrc_config cfg = {.spec = DEVICE, .width = 320, .height = 240};
        struct videosrc *s;
        struct merr err;
        assert_int_equal(videosrc_new(&cfg, &s, &err), 0);
        unsetenv("RTCPEER_V4L2SHIM_STALL_AFTER");
        const struct picture *p;
        for (int i = 0; i < 3; i++)
                assert_int_equal(next_frame(s, &p), 1);
        uint64_t last = clock_now_us();
        assert_int_equal(next_frame(s, &p), -ETIMEDOUT);
        uint64_t waited = clock_now_us() - last;
        assert_true(waited >= V4L2SRC_STALL_US - 100000 && waited < V4L2SRC_STALL_US + 1000000);
        assert_non_null(strstr(videosrc_error(s), DEVICE ": camera stopped delivering frames"));
        assert_int_equal(videosrc_next_deadline(s), UINT64_MAX);
        videosrc_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_capture_yuyv),
            cmocka_unit_test(test_capture_mjpeg),
            cmocka_unit_test(test_capture_nv12_i420),
            cmocka_unit_test(test_nearest_mode),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_busy),
            cmocka_unit_test(test_stall),
        };
        return cmocka_run_group_tests(tests, shim_loaded, NULL);
}
