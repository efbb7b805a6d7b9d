/*
 * How the sending pipeline adapts video to congestion control's bitrate
 * (mediapipe_adapt_video, a pure function): the coded sizes, stepping down at once, hysteresis,
 * one step up per 2 s on a rate that held for 2 s, the floor, and the frame rate as the last
 * resort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "cli/mediapipe.h"

#define S 1000000ull /* one second in µs */

static struct mediapipe_adapt st(unsigned level, unsigned div)
{
        return (struct mediapipe_adapt){.level = level, .fps_div = div};
}

#define assert_state(got, l, d)                                                                    \
        do {                                                                                       \
                struct mediapipe_adapt g_ = (got);                                                 \
                if (g_.level != (l) || g_.fps_div != (d))                                          \
                        fail_msg("level %u, fps/%u; want level %u, fps/%u", g_.level, g_.fps_div,  \
                                 (unsigned)(l), (unsigned)(d));                                    \
        } while (0)

/* 640x480 at 30 fps, 10 s after the last change unless said otherwise. */
static struct mediapipe_adapt vga(struct mediapipe_adapt cur, uint32_t bps)
{
        return mediapipe_adapt_video(cur, bps, bps, 640, 480, 30, 10 * S);
}

static void test_sizes(void **state)
{
        (void)state;
        unsigned w, h;
        static const unsigned want[][4] = {
            {640, 480, 0, 0}, {480, 360, 0, 0}, {320, 240, 0, 0}, {160, 120, 0, 0}};
        for (unsigned l = 0; l < MEDIAPIPE_LEVELS; l++) {
                mediapipe_level_size(l, 640, 480, &w, &h);
                assert_int_equal(w, want[l][0]);
                assert_int_equal(h, want[l][1]);
        }
        /* Odd or awkward captures: even sizes below level 0, level 0 as captured. */
        mediapipe_level_size(0, 641, 481, &w, &h);
        assert_true(w == 641 && h == 481);
        mediapipe_level_size(1, 641, 481, &w, &h);
        assert_true(w == 480 && h == 360);
        mediapipe_level_size(1, 1366, 766, &w, &h);
        assert_true(w == 1024 && h == 574);
        mediapipe_level_size(3, 1280, 720, &w, &h);
        assert_true(w == 320 && h == 180);
        /* The floor: about 160x90, whichever way up. */
        assert_int_equal(mediapipe_max_level(640, 480), 3);  /* 160x120 */
        assert_int_equal(mediapipe_max_level(1280, 720), 3); /* 320x180 */
        assert_int_equal(mediapipe_max_level(640, 360), 3);  /* 160x90 */
        assert_int_equal(mediapipe_max_level(480, 640), 3);  /* 120x160 */
        assert_int_equal(mediapipe_max_level(320, 240), 2);  /* 160x120, not 80x60 */
        assert_int_equal(mediapipe_max_level(320, 180), 2);  /* 160x90 */
        assert_int_equal(mediapipe_max_level(300, 170), 1);  /* 224x126; 150x84 is too small */
        assert_int_equal(mediapipe_max_level(160, 120), 0);
        assert_int_equal(mediapipe_max_level(64, 48), 0);
}

static void test_step_down(void **state)
{
        (void)state;
        /* 640x480@30 is 9.2 Mpixel/s: 0.025 bit/pixel is 230 kbit/s. */
        assert_state(vga(st(0, 1), 240000), 0, 1);
        assert_state(vga(st(0, 1), 220000), 1, 1); /* 480x360: 0.042 */
        /* A deep fall goes as far as needed at once, whatever the time since the last change. */
        assert_state(mediapipe_adapt_video(st(0, 1), 100000, 100000, 640, 480, 30, 0), 2, 1);
        assert_state(mediapipe_adapt_video(st(0, 1), 40000, 40000, 640, 480, 30, 0), 3, 1);
        assert_state(mediapipe_adapt_video(st(1, 1), 120000, 120000, 640, 480, 30, 0), 2, 1);
        /* The frame rate counts: 15 fps halves the pixel rate. */
        assert_state(mediapipe_adapt_video(st(0, 1), 200000, 200000, 640, 480, 15, 10 * S), 0, 1);
        assert_state(mediapipe_adapt_video(st(0, 1), 100000, 100000, 640, 480, 15, 10 * S), 1, 1);
        /* No rate known (0 fps): 30 assumed. */
        assert_state(mediapipe_adapt_video(st(0, 1), 220000, 220000, 640, 480, 0, 10 * S), 1, 1);
}

static void test_hysteresis(void **state)
{
        (void)state;
        /* At 480x360, back to 640x480 only at 0.06 bit/pixel there: 553 kbit/s. */
        assert_state(vga(st(1, 1), 240000), 1, 1);
        assert_state(vga(st(1, 1), 400000), 1, 1);
        assert_state(vga(st(1, 1), 550000), 1, 1);
        assert_state(vga(st(1, 1), 560000), 0, 1);
        /* Down again from 480x360 only below 0.025 there: 130 kbit/s. */
        assert_state(vga(st(1, 1), 131000), 1, 1);
        assert_state(vga(st(1, 1), 129000), 2, 1);
        /* An estimate swinging by +-20% around the step-down point changes the size once. */
        struct mediapipe_adapt s = st(0, 1);
        unsigned changes = 0;
        uint64_t since = 10 * S;
        for (unsigned n = 0; n < 600; n++) {
                uint32_t bps = n % 2 ? 190000 : 280000;
                struct mediapipe_adapt next =
                    mediapipe_adapt_video(s, bps, bps, 640, 480, 30, since);
                since += S / 10;
                if (next.level != s.level || next.fps_div != s.fps_div) {
                        changes++;
                        since = 0;
                }
                s = next;
        }
        assert_int_equal(changes, 1);
        assert_state(s, 1, 1);
}

static void test_step_up_rate_limit(void **state)
{
        (void)state;
        /* Plenty of rate: one step per 2 s, never two at once. */
        assert_state(mediapipe_adapt_video(st(3, 1), 5000000, 5000000, 640, 480, 30, 0), 3, 1);
        assert_state(mediapipe_adapt_video(st(3, 1), 5000000, 5000000, 640, 480, 30, 1999999), 3,
                     1);
        assert_state(mediapipe_adapt_video(st(3, 1), 5000000, 5000000, 640, 480, 30, 2 * S), 2, 1);
        assert_state(mediapipe_adapt_video(st(2, 1), 5000000, 5000000, 640, 480, 30, 2 * S), 1, 1);
        assert_state(mediapipe_adapt_video(st(1, 1), 5000000, 5000000, 640, 480, 30, 2 * S), 0, 1);
        assert_state(mediapipe_adapt_video(st(0, 1), 5000000, 5000000, 640, 480, 30, 2 * S), 0, 1);
        /* A recovery from the floor to full size over simulated time: 2 s apart each. */
        struct mediapipe_adapt s = st(3, 3);
        uint64_t last = 0, now = 0;
        unsigned steps = 0;
        for (; now < 20 * S; now += 33333) {
                struct mediapipe_adapt next =
                    mediapipe_adapt_video(s, 2000000, 2000000, 640, 480, 30, now - last);
                if (next.level != s.level || next.fps_div != s.fps_div) {
                        assert_true(now - last >= MEDIAPIPE_UP_GAP_US);
                        /* The frame rate first, then the size, one step each. */
                        if (s.fps_div > 1)
                                assert_true(next.fps_div == s.fps_div - 1 && next.level == s.level);
                        else
                                assert_true(next.level == s.level - 1 && next.fps_div == 1);
                        steps++;
                        last = now;
                }
                s = next;
        }
        assert_int_equal(steps, 5);
        assert_state(s, 0, 1);
}

static void test_up_needs_a_rate_that_held(void **state)
{
        (void)state;
        /* A leap of the estimate (a probe) is not a reason to step up: the last 2 s count. */
        assert_state(mediapipe_adapt_video(st(3, 1), 650000, 40000, 640, 480, 30, 10 * S), 3, 1);
        assert_state(mediapipe_adapt_video(st(3, 1), 650000, 0, 640, 480, 30, 10 * S), 3, 1);
        /* 320x240 needs 138 kbit/s for 2 s. */
        assert_state(mediapipe_adapt_video(st(3, 1), 650000, 137000, 640, 480, 30, 10 * S), 3, 1);
        assert_state(mediapipe_adapt_video(st(3, 1), 650000, 139000, 640, 480, 30, 10 * S), 2, 1);
        /* The current rate counts too, and alone for stepping down. */
        assert_state(mediapipe_adapt_video(st(3, 1), 100000, 650000, 640, 480, 30, 10 * S), 3, 1);
        assert_state(mediapipe_adapt_video(st(0, 1), 200000, 650000, 640, 480, 30, 10 * S), 1, 1);
        assert_state(mediapipe_adapt_video(st(0, 1), 300000, 0, 640, 480, 30, 10 * S), 0, 1);
}

static void test_floor_and_fps_fallback(void **state)
{
        (void)state;
        /* 160x120@30 is 576 kpixel/s: 0.025 is 14.4 kbit/s. */
        assert_state(vga(st(3, 1), 15000), 3, 1);
        assert_state(vga(st(3, 1), 14000), 3, 2); /* every second frame: 0.049 */
        assert_state(vga(st(3, 1), 7000), 3, 3);  /* 0.036 at a third */
        assert_state(vga(st(3, 1), 1000), 3, 3);  /* no further */
        assert_state(vga(st(0, 1), 1000), 3, 3);  /* all the way at once */
        assert_state(vga(st(3, 2), 7000), 3, 3);
        /* Back: a third to a half at 0.06 with every second frame (17.3 kbit/s)... */
        assert_state(vga(st(3, 3), 17000), 3, 3);
        assert_state(vga(st(3, 3), 17500), 3, 2);
        assert_state(mediapipe_adapt_video(st(3, 3), 17500, 17500, 640, 480, 30, S), 3, 3);
        /* ... to every frame at 34.6 kbit/s, and the size only after the frame rate. */
        assert_state(vga(st(3, 2), 34000), 3, 2);
        assert_state(vga(st(3, 2), 35000), 3, 1);
        assert_state(vga(st(3, 2), 5000000), 3, 1);
        /* 320x240 stops at 160x120 (level 2) and falls back to the frame rate there. */
        assert_state(mediapipe_adapt_video(st(0, 1), 20000, 20000, 320, 240, 30, 10 * S), 2, 1);
        assert_state(mediapipe_adapt_video(st(0, 1), 10000, 10000, 320, 240, 30, 10 * S), 2, 2);
        assert_state(mediapipe_adapt_video(st(3, 1), 10000, 10000, 320, 240, 30, 10 * S), 2, 2);
        /* A capture at the floor only has the frame rate. */
        assert_state(mediapipe_adapt_video(st(0, 1), 10000, 10000, 160, 120, 30, 10 * S), 0, 2);
        assert_state(mediapipe_adapt_video(st(0, 1), 5000, 5000, 160, 120, 30, 10 * S), 0, 3);
        /* A frame rate divider left from another size is dropped above the floor. */
        assert_state(vga(st(1, 3), 300000), 1, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sizes),
            cmocka_unit_test(test_step_down),
            cmocka_unit_test(test_hysteresis),
            cmocka_unit_test(test_step_up_rate_limit),
            cmocka_unit_test(test_up_needs_a_rate_that_held),
            cmocka_unit_test(test_floor_and_fps_fallback),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
