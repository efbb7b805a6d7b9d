/*
 * Terminal preview: exact escapes for a picture of known colour blocks, the fitted size and
 * aspect ratio, escapes only on colour changes, tiny and extreme sizes, and the size query on a
 * pipe and on a real pseudo-terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/picture.h"
#include "media/termview.h"

#define BLOCK "\xe2\x96\x80"

struct yuv {
        uint8_t y, u, v;
};

/* BT.601 limited range: these give exact RGB values. */
static const struct yuv WHITE = {235, 128, 128}, BLACK = {16, 128, 128}, RED = {81, 90, 240};

/* Colours the 2x2 blocks of p (chroma is per block). */
static void paint_block(struct picture *p, unsigned bx, unsigned by, struct yuv c)
{
        for (unsigned y = 2 * by; y < 2 * by + 2 && y < p->height; y++)
                for (unsigned x = 2 * bx; x < 2 * bx + 2 && x < p->width; x++)
                        p->plane[0][(size_t)p->stride[0] * y + x] = c.y;
        p->plane[1][(size_t)p->stride[1] * by + bx] = c.u;
        p->plane[2][(size_t)p->stride[2] * by + bx] = c.v;
}

static void paint(struct picture *p, struct yuv c)
{
        for (unsigned by = 0; by < picture_chroma_height(p); by++)
                for (unsigned bx = 0; bx < picture_chroma_width(p); bx++)
                        paint_block(p, bx, by, c);
}

static size_t count(const struct buf *b, const char *needle)
{
        size_t n = 0, len = strlen(needle);
        for (size_t i = 0; i + len <= b->len; i++)
                if (memcmp(b->data + i, needle, len) == 0)
                        n++;
        return n;
}

/* Cells (blocks) on each line; returns the number of lines. */
static unsigned line_cells(const struct buf *b, unsigned *cells, unsigned max)
{
        unsigned lines = 0, n = 0;
        for (size_t i = 0; i < b->len; i++) {
                if (i + 3 <= b->len && memcmp(b->data + i, BLOCK, 3) == 0)
                        n++;
                if (i + 4 <= b->len && memcmp(b->data + i, "\x1b[0m", 4) == 0) {
                        assert_true(lines < max);
                        cells[lines++] = n;
                        n = 0;
                }
        }
        assert_int_equal(n, 0); /* every line ends with a reset */
        return lines;
}

static void test_known_blocks_exact(void **state)
{
        (void)state;
        struct picture p = {0};
        assert_int_equal(picture_alloc(&p, 4, 4), 0);
        paint_block(&p, 0, 0, WHITE);
        paint_block(&p, 1, 0, RED);
        paint_block(&p, 0, 1, BLACK);
        paint_block(&p, 1, 1, BLACK);
        struct buf b = BUF_INIT;
        assert_int_equal(termview_render(&p, 4, 2, &b), 0);
        const char *want = "\x1b[H"
                           "\x1b[38;2;255;255;255m\x1b[48;2;255;255;255m" BLOCK BLOCK
                           "\x1b[38;2;255;0;0m\x1b[48;2;255;0;0m" BLOCK BLOCK "\x1b[0m\r\n"
                           "\x1b[38;2;0;0;0m\x1b[48;2;0;0;0m" BLOCK BLOCK BLOCK BLOCK "\x1b[0m";
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.data, want, b.len);

        /* Upper and lower pixels differ within a cell: fg from the top, bg from the bottom. */
        buf_reset(&b);
        paint_block(&p, 0, 1, RED);
        paint_block(&p, 1, 1, RED);
        assert_int_equal(termview_render(&p, 2, 1, &b), 0);
        /* 4x4 into 2 cols x 1 line: each cell samples one pixel of each 2x2 block row. */
        const char *want2 =
            "\x1b[H"
            "\x1b[38;2;255;255;255m\x1b[48;2;255;0;0m" BLOCK "\x1b[38;2;255;0;0m" BLOCK "\x1b[0m";
        assert_int_equal(b.len, strlen(want2));
        assert_memory_equal(b.data, want2, b.len);
        buf_free(&b);
        picture_release(&p);
}

static void test_aspect_and_fit(void **state)
{
        (void)state;
        struct picture p = {0};
        struct buf b = BUF_INIT;
        unsigned cells[64];
        /* 4:3 into 80x24: the height limits (48 pixel rows), so 64 columns by 24 lines. */
        assert_int_equal(picture_alloc(&p, 640, 480), 0);
        paint(&p, WHITE);
        assert_int_equal(termview_render(&p, 80, 24, &b), 0);
        assert_int_equal(line_cells(&b, cells, 64), 24);
        for (unsigned i = 0; i < 24; i++)
                assert_int_equal(cells[i], 64);
        /* Narrower than the terminal: each line clears the rest, nothing scrolls. */
        assert_int_equal(count(&b, "\x1b[K"), 24);
        assert_int_equal(count(&b, "\r\n"), 23);
        assert_int_equal(count(&b, "\x1b[J"), 0);
        /* One colour: one escape of each kind per line, none repeated. */
        assert_int_equal(count(&b, "\x1b[38;2;255;255;255m"), 24);
        assert_int_equal(count(&b, "\x1b[48;2;255;255;255m"), 24);
        assert_memory_equal(b.data, "\x1b[H", 3);

        /* 32:9 into 80x24: the width limits, 80 x 22.5 -> 80 columns, 12 lines, rest cleared. */
        buf_reset(&b);
        assert_int_equal(picture_alloc(&p, 1280, 360), 0);
        paint(&p, BLACK);
        assert_int_equal(termview_render(&p, 80, 24, &b), 0);
        assert_int_equal(line_cells(&b, cells, 64), 12);
        for (unsigned i = 0; i < 12; i++)
                assert_int_equal(cells[i], 80);
        assert_int_equal(count(&b, "\x1b[K"), 0); /* full lines: an erase would eat a cell */
        assert_int_equal(count(&b, "\r\n\x1b[J"), 1);

        /* Portrait 9:16 into 100x30: 60 pixel rows high, 34 columns wide. */
        buf_reset(&b);
        assert_int_equal(picture_alloc(&p, 360, 640), 0);
        paint(&p, RED);
        assert_int_equal(termview_render(&p, 100, 30, &b), 0);
        assert_int_equal(line_cells(&b, cells, 64), 30);
        assert_int_equal(cells[0], 34);
        buf_free(&b);
        picture_release(&p);
}

static void test_tiny_and_extreme(void **state)
{
        (void)state;
        struct picture p = {0};
        struct buf b = BUF_INIT;
        unsigned cells[256];
        assert_int_equal(picture_alloc(&p, 1, 1), 0);
        paint(&p, WHITE);
        assert_int_equal(termview_render(&p, 1, 1, &b), 0);
        assert_int_equal(line_cells(&b, cells, 256), 1);
        assert_int_equal(cells[0], 1);
        /* A 1x1 picture blown up to a square of 120 pixels in 200x60. */
        buf_reset(&b);
        assert_int_equal(termview_render(&p, 200, 60, &b), 0);
        assert_int_equal(line_cells(&b, cells, 256), 60);
        assert_int_equal(cells[59], 120);
        /* Extremely wide and tall pictures still get at least one cell. */
        buf_reset(&b);
        assert_int_equal(picture_alloc(&p, 4000, 2), 0);
        paint(&p, BLACK);
        assert_int_equal(termview_render(&p, 3, 1, &b), 0);
        assert_int_equal(line_cells(&b, cells, 256), 1);
        assert_int_equal(cells[0], 3);
        buf_reset(&b);
        assert_int_equal(picture_alloc(&p, 2, 4000), 0);
        paint(&p, BLACK);
        assert_int_equal(termview_render(&p, 80, 24, &b), 0);
        assert_int_equal(line_cells(&b, cells, 256), 24);
        assert_int_equal(cells[0], 1);
        /* Odd sizes read only inside the planes (ASan/valgrind would see it otherwise). */
        buf_reset(&b);
        assert_int_equal(picture_alloc(&p, 3, 5), 0);
        paint(&p, RED);
        assert_int_equal(termview_render(&p, 7, 3, &b), 0);
        assert_int_equal(count(&b, "\x1b[38;2;255;0;0m"), line_cells(&b, cells, 256));
        /* Nothing to draw into. */
        assert_int_equal(termview_render(&p, 0, 24, &b), -EINVAL);
        assert_int_equal(termview_render(&p, 80, 0, &b), -EINVAL);
        struct picture empty = {0};
        assert_int_equal(termview_render(&empty, 80, 24, &b), -EINVAL);
        buf_free(&b);
        picture_release(&p);
}

static void test_size(void **state)
{
        (void)state;
        unsigned cols = 1, rows = 1;
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        assert_int_equal(termview_size(fds[1], &cols, &rows), -ENOTTY);
        close(fds[0]);
        close(fds[1]);
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        assert_true(m >= 0);
        assert_int_equal(grantpt(m), 0);
        assert_int_equal(unlockpt(m), 0);
        int s = open(ptsname(m), O_RDWR | O_NOCTTY);
        assert_true(s >= 0);
        struct winsize ws = {.ws_col = 132, .ws_row = 43};
        assert_int_equal(ioctl(m, TIOCSWINSZ, &ws), 0);
        assert_int_equal(termview_size(s, &cols, &rows), 0);
        assert_int_equal(cols, 132);
        assert_int_equal(rows, 43);
        /* A terminal that reports no size is as good as none. */
        ws = (struct winsize){0};
        assert_int_equal(ioctl(m, TIOCSWINSZ, &ws), 0);
        assert_int_equal(termview_size(s, &cols, &rows), -ENOTTY);
        close(s);
        close(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_known_blocks_exact),
            cmocka_unit_test(test_aspect_and_fit),
            cmocka_unit_test(test_tiny_and_extreme),
            cmocka_unit_test(test_size),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
