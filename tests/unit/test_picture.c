/*
 * picture_scale: shrinking is an exact area average (checked against a floating-point
 * reference on random pictures of many sizes, odd ones included, chroma too), growing is linear
 * interpolation, and a picture of one colour stays that colour whatever the sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "media/picture.h"

static uint8_t *at(const struct picture *p, unsigned plane, unsigned x, unsigned y)
{
        return p->plane[plane] + (size_t)p->stride[plane] * y + x;
}

static unsigned plane_w(const struct picture *p, unsigned i)
{
        return i ? picture_chroma_width(p) : p->width;
}

static unsigned plane_h(const struct picture *p, unsigned i)
{
        return i ? picture_chroma_height(p) : p->height;
}

static void fill_random(struct picture *p, unsigned seed)
{
        srand(seed);
        for (unsigned i = 0; i < 3; i++)
                for (unsigned y = 0; y < plane_h(p, i); y++)
                        for (unsigned x = 0; x < plane_w(p, i); x++)
                                *at(p, i, x, y) = (uint8_t)(rand() & 0xff);
}

/* Overlap of [a0, a1) and [b0, b1). */
static double overlap(double a0, double a1, double b0, double b1)
{
        double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
        return hi > lo ? hi - lo : 0;
}

/* The area average of the source region output pixel (x, y) of a dw x dh plane covers. */
static unsigned area_ref(const struct picture *src, unsigned i, unsigned dw, unsigned dh,
                         unsigned x, unsigned y)
{
        unsigned sw = plane_w(src, i), sh = plane_h(src, i);
        double fx = (double)sw / dw, fy = (double)sh / dh;
        double x0 = x * fx, x1 = (x + 1) * fx, y0 = y * fy, y1 = (y + 1) * fy;
        double acc = 0;
        for (unsigned sy = (unsigned)y0; sy < sh && sy < y1; sy++)
                for (unsigned sx = (unsigned)x0; sx < sw && sx < x1; sx++)
                        acc += overlap(x0, x1, sx, sx + 1) * overlap(y0, y1, sy, sy + 1) *
                               *at(src, i, sx, sy);
        /* Half way rounds up, as the integer code does; the epsilon absorbs the doubles. */
        return (unsigned)floor(acc / (fx * fy) + 0.5 + 1e-9);
}

static void check_area(unsigned sw, unsigned sh, unsigned dw, unsigned dh, unsigned seed)
{
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, sw, sh), 0);
        assert_int_equal(picture_alloc(&dst, dw, dh), 0);
        fill_random(&src, seed);
        assert_int_equal(picture_scale(&dst, &src), 0);
        for (unsigned i = 0; i < 3; i++)
                for (unsigned y = 0; y < plane_h(&dst, i); y++)
                        for (unsigned x = 0; x < plane_w(&dst, i); x++) {
                                unsigned want =
                                    area_ref(&src, i, plane_w(&dst, i), plane_h(&dst, i), x, y);
                                if (*at(&dst, i, x, y) != want)
                                        fail_msg("%ux%u -> %ux%u plane %u (%u,%u): %u, want %u", sw,
                                                 sh, dw, dh, i, x, y, *at(&dst, i, x, y), want);
                        }
        picture_release(&src);
        picture_release(&dst);
}

static void test_half_is_2x2_mean(void **state)
{
        (void)state;
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, 4, 4), 0);
        assert_int_equal(picture_alloc(&dst, 2, 2), 0);
        static const uint8_t y[4][4] = {
            {0, 10, 100, 101}, {20, 30, 102, 104}, {255, 255, 1, 2}, {255, 254, 3, 3}};
        for (unsigned r = 0; r < 4; r++)
                memcpy(at(&src, 0, 0, r), y[r], 4);
        /* Chroma 2x2 -> 1x1: the mean of four. */
        *at(&src, 1, 0, 0) = 10;
        *at(&src, 1, 1, 0) = 20;
        *at(&src, 1, 0, 1) = 30;
        *at(&src, 1, 1, 1) = 41;
        memset(at(&src, 2, 0, 0), 200, 2);
        memset(at(&src, 2, 0, 1), 201, 2);
        assert_int_equal(picture_scale(&dst, &src), 0);
        assert_int_equal(*at(&dst, 0, 0, 0), 15);  /* 60 / 4 */
        assert_int_equal(*at(&dst, 0, 1, 0), 102); /* 407 / 4 = 101.75 */
        assert_int_equal(*at(&dst, 0, 0, 1), 255); /* 1019 / 4 = 254.75 */
        assert_int_equal(*at(&dst, 0, 1, 1), 2);   /* 9 / 4 = 2.25 */
        assert_int_equal(*at(&dst, 1, 0, 0), 25);  /* 101 / 4 = 25.25 */
        assert_int_equal(*at(&dst, 2, 0, 0), 201); /* 802 / 4 = 200.5, half up */
        picture_release(&src);
        picture_release(&dst);
}

static void test_three_quarters_weights(void **state)
{
        (void)state;
        /* 4 -> 3: output 0 covers source 0 and a third of 1, in quarters (3, 1). */
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, 4, 4), 0);
        assert_int_equal(picture_alloc(&dst, 3, 3), 0);
        for (unsigned r = 0; r < 4; r++)
                for (unsigned c = 0; c < 4; c++)
                        *at(&src, 0, c, r) = (uint8_t)(c == 1 ? 160 : 0);
        assert_int_equal(picture_scale(&dst, &src), 0);
        assert_int_equal(*at(&dst, 0, 0, 0), 40); /* 160 * 1/4 */
        assert_int_equal(*at(&dst, 0, 1, 0), 80); /* 160 * 2/4 */
        assert_int_equal(*at(&dst, 0, 2, 0), 0);  /* source 2 and 3 only */
        assert_int_equal(*at(&dst, 0, 1, 2), 80); /* every row alike */
        picture_release(&src);
        picture_release(&dst);
}

static void test_odd_sizes(void **state)
{
        (void)state;
        /* 5x3 -> 2x1: weights (2, 2, 1) and (1, 2, 2) fifths across, thirds down. */
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, 5, 3), 0);
        assert_int_equal(picture_alloc(&dst, 2, 1), 0);
        for (unsigned r = 0; r < 3; r++)
                for (unsigned c = 0; c < 5; c++)
                        *at(&src, 0, c, r) = (uint8_t)(c * 50 + r);
        /* Chroma 3x2 -> 1x1: the mean of six. */
        for (unsigned r = 0; r < 2; r++)
                for (unsigned c = 0; c < 3; c++) {
                        *at(&src, 1, c, r) = (uint8_t)(100 + c + 3 * r); /* mean 102.5 */
                        *at(&src, 2, c, r) = (uint8_t)(c == 0 && r == 0 ? 255 : 0);
                }
        assert_int_equal(picture_scale(&dst, &src), 0);
        /* (2*0 + 2*50 + 1*100) / 5 + 1 = 41; (1*100 + 2*150 + 2*200) / 5 + 1 = 161. */
        assert_int_equal(*at(&dst, 0, 0, 0), 41);
        assert_int_equal(*at(&dst, 0, 1, 0), 161);
        assert_int_equal(*at(&dst, 1, 0, 0), 103);
        assert_int_equal(*at(&dst, 2, 0, 0), 43); /* 42.5 */
        picture_release(&src);
        picture_release(&dst);
}

static void test_area_against_reference(void **state)
{
        (void)state;
        /* The steps congestion control takes, odd captures, and arbitrary ratios. */
        static const unsigned sizes[][4] = {
            {64, 48, 48, 36}, {64, 48, 32, 24}, {64, 48, 16, 12}, {33, 17, 24, 12},
            {33, 17, 16, 8},  {17, 11, 7, 5},   {10, 10, 3, 7},   {9, 9, 9, 4},
            {101, 3, 37, 1},  {7, 1, 2, 1},     {1, 1, 1, 1},     {640, 480, 480, 360},
        };
        for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
                check_area(sizes[k][0], sizes[k][1], sizes[k][2], sizes[k][3], k + 1);
}

static void test_flat_stays_flat(void **state)
{
        (void)state;
        static const unsigned sizes[][4] = {{640, 480, 480, 360}, {641, 481, 480, 360},
                                            {640, 480, 160, 120}, {160, 120, 640, 480},
                                            {31, 7, 97, 13},      {97, 13, 31, 7}};
        for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                struct picture src = {0}, dst = {0};
                assert_int_equal(picture_alloc(&src, sizes[k][0], sizes[k][1]), 0);
                assert_int_equal(picture_alloc(&dst, sizes[k][2], sizes[k][3]), 0);
                for (unsigned i = 0; i < 3; i++)
                        for (unsigned y = 0; y < plane_h(&src, i); y++)
                                memset(at(&src, i, 0, y), 37 + 90 * (int)i, plane_w(&src, i));
                assert_int_equal(picture_scale(&dst, &src), 0);
                for (unsigned i = 0; i < 3; i++)
                        for (unsigned y = 0; y < plane_h(&dst, i); y++)
                                for (unsigned x = 0; x < plane_w(&dst, i); x++)
                                        assert_int_equal(*at(&dst, i, x, y), 37 + 90 * i);
                picture_release(&src);
                picture_release(&dst);
        }
}

static void test_grow_is_linear(void **state)
{
        (void)state;
        /* 4x2 -> 8x4: sample centres aligned, so outputs sit a quarter from the inputs. */
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, 4, 2), 0);
        assert_int_equal(picture_alloc(&dst, 8, 4), 0);
        for (unsigned r = 0; r < 2; r++)
                for (unsigned c = 0; c < 4; c++)
                        *at(&src, 0, c, r) = (uint8_t)(40 * c + 100 * r);
        assert_int_equal(picture_scale(&dst, &src), 0);
        static const uint8_t want[4][8] = {{0, 10, 30, 50, 70, 90, 110, 120},
                                           {25, 35, 55, 75, 95, 115, 135, 145},
                                           {75, 85, 105, 125, 145, 165, 185, 195},
                                           {100, 110, 130, 150, 170, 190, 210, 220}};
        for (unsigned r = 0; r < 4; r++)
                assert_memory_equal(at(&dst, 0, 0, r), want[r], 8);
        picture_release(&src);
        picture_release(&dst);
}

static void test_same_size_copies(void **state)
{
        (void)state;
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, 13, 9), 0);
        assert_int_equal(picture_alloc(&dst, 13, 9), 0);
        fill_random(&src, 7);
        assert_int_equal(picture_scale(&dst, &src), 0);
        for (unsigned i = 0; i < 3; i++)
                for (unsigned y = 0; y < plane_h(&src, i); y++)
                        assert_memory_equal(at(&dst, i, 0, y), at(&src, i, 0, y), plane_w(&src, i));
        picture_release(&src);
        picture_release(&dst);
}

/* What scaling costs per captured picture, for the log of the suite (not judged). */
static void test_speed(void **state)
{
        (void)state;
        struct picture src = {0}, dst = {0};
        assert_int_equal(picture_alloc(&src, 640, 480), 0);
        fill_random(&src, 3);
        static const unsigned to[][2] = {{480, 360}, {320, 240}, {160, 120}};
        for (unsigned k = 0; k < 3; k++) {
                assert_int_equal(picture_alloc(&dst, to[k][0], to[k][1]), 0);
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                for (int n = 0; n < 20; n++)
                        assert_int_equal(picture_scale(&dst, &src), 0);
                clock_gettime(CLOCK_MONOTONIC, &b);
                double ms =
                    ((double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6) /
                    20;
                printf("# picture_scale 640x480 -> %ux%u: %.2f ms\n", to[k][0], to[k][1], ms);
        }
        picture_release(&src);
        picture_release(&dst);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_half_is_2x2_mean), cmocka_unit_test(test_three_quarters_weights),
            cmocka_unit_test(test_odd_sizes),        cmocka_unit_test(test_area_against_reference),
            cmocka_unit_test(test_flat_stays_flat),  cmocka_unit_test(test_grow_is_linear),
            cmocka_unit_test(test_same_size_copies), cmocka_unit_test(test_speed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
