#include "media/testpattern.h"

#include <errno.h>
#include <string.h>

/* 5x7 digits, one byte per row, bit 4 is the leftmost column. */
static const uint8_t font[10][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
};

#define SEQ_DIGITS  10
#define TIME_DIGITS 16
#define LINE_CHARS  (TIME_DIGITS + 1) /* the longer line, with its check digit */
#define CELL_W      6                 /* font pixels per character: 5 + spacing */
#define CELL_H      9                 /* 7 + a blank row above and below */
#define ORIGIN      16                /* pixels from the top-left corner */
#define BOX_W       (LINE_CHARS * CELL_W + 1)
#define BOX_H       (2 * CELL_H)
#define MAX_SCALE   8
#define Y_BLACK     16
#define Y_WHITE     235

/* Font pixel size in picture pixels; 0 when the digits do not fit. */
static unsigned scale_for(unsigned w, unsigned h)
{
        if (w < 2 * ORIGIN + BOX_W || h < 2 * ORIGIN + BOX_H)
                return 0;
        unsigned s = (w - 2 * ORIGIN) / BOX_W, sh = (h - 2 * ORIGIN) / BOX_H;
        if (sh < s)
                s = sh;
        return s > MAX_SCALE ? MAX_SCALE : s;
}

/* Weighted (3,1,3,...) sum from the right, as in EAN: catches one wrong digit and most swaps. */
static unsigned check_digit(const uint8_t *d, unsigned n)
{
        unsigned sum = 0;
        for (unsigned i = 0; i < n; i++)
                sum += d[n - 1 - i] * (i % 2 == 0 ? 3 : 1);
        return (10 - sum % 10) % 10;
}

static void to_digits(uint64_t v, uint8_t *d, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                d[n - 1 - i] = (uint8_t)(v % 10);
                v /= 10;
        }
        d[n] = (uint8_t)check_digit(d, n);
}

static void draw_line(struct picture *p, unsigned s, unsigned line, const uint8_t *d, unsigned n)
{
        for (unsigned c = 0; c < n; c++)
                for (unsigned r = 0; r < 7; r++)
                        for (unsigned col = 0; col < 5; col++) {
                                if (!(font[d[c]][r] >> (4 - col) & 1))
                                        continue;
                                unsigned x0 = ORIGIN + (1 + c * CELL_W + col) * s;
                                unsigned y0 = ORIGIN + (line * CELL_H + 1 + r) * s;
                                for (unsigned y = y0; y < y0 + s; y++)
                                        memset(p->plane[0] + (size_t)p->stride[0] * y + x0, Y_WHITE,
                                               s);
                        }
}

static void draw_background(struct picture *p, uint64_t seq)
{
        unsigned w = p->width, h = p->height, cw = picture_chroma_width(p);
        unsigned ch = picture_chroma_height(p), shift = (unsigned)(seq * 3);
        for (unsigned y = 0; y < h; y++) {
                uint8_t *row = p->plane[0] + (size_t)p->stride[0] * y;
                for (unsigned x = 0; x < w; x++)
                        row[x] = (uint8_t)(Y_BLACK + ((x + y + shift) & 0xff) * 219 / 255);
        }
        for (unsigned y = 0; y < ch; y++) {
                uint8_t *u = p->plane[1] + (size_t)p->stride[1] * y;
                uint8_t *v = p->plane[2] + (size_t)p->stride[2] * y;
                for (unsigned x = 0; x < cw; x++) {
                        u[x] = (uint8_t)(64 + ((x * 2 + shift) & 0x7f));
                        v[x] = (uint8_t)(64 + ((y * 2 + shift / 2) & 0x7f));
                }
        }
        /* A box bouncing across the lower half: sharp edges that move every frame. */
        unsigned bs = h / 8 < w / 8 ? h / 8 : w / 8;
        if (bs < 2)
                return;
        unsigned span = w - bs, pos = (unsigned)(seq * 8 % (2 * (uint64_t)span));
        unsigned bx = pos < span ? pos : 2 * span - pos, by = h - h / 4 - bs / 2;
        for (unsigned y = by; y < by + bs && y < h; y++)
                memset(p->plane[0] + (size_t)p->stride[0] * y + bx, Y_WHITE, bs);
}

void testpattern_draw(struct picture *p, uint64_t seq, uint64_t capture_us)
{
        draw_background(p, seq);
        unsigned s = scale_for(p->width, p->height);
        if (!s)
                return;
        for (unsigned y = 0; y < BOX_H * s; y++)
                memset(p->plane[0] + (size_t)p->stride[0] * (ORIGIN + y) + ORIGIN, Y_BLACK,
                       BOX_W * s);
        /* Grey chroma under the box, so the digits stay sharp after chroma subsampling. */
        for (unsigned y = ORIGIN / 2; y < (ORIGIN + BOX_H * s + 1) / 2; y++) {
                memset(p->plane[1] + (size_t)p->stride[1] * y + ORIGIN / 2, 128,
                       (BOX_W * s + 1) / 2);
                memset(p->plane[2] + (size_t)p->stride[2] * y + ORIGIN / 2, 128,
                       (BOX_W * s + 1) / 2);
        }
        uint8_t d[LINE_CHARS];
        to_digits(seq, d, SEQ_DIGITS);
        draw_line(p, s, 0, d, SEQ_DIGITS + 1);
        to_digits(capture_us, d, TIME_DIGITS);
        draw_line(p, s, 1, d, TIME_DIGITS + 1);
}

/* Nearest glyph by sampling the middle of each font pixel; -1 when no glyph is close enough. */
static int read_char(const struct picture *p, unsigned s, unsigned line, unsigned c)
{
        uint8_t bits[7];
        for (unsigned r = 0; r < 7; r++) {
                bits[r] = 0;
                for (unsigned col = 0; col < 5; col++) {
                        unsigned x = ORIGIN + (1 + c * CELL_W + col) * s + s / 2;
                        unsigned y = ORIGIN + (line * CELL_H + 1 + r) * s + s / 2;
                        bits[r] = (uint8_t)(bits[r] << 1 |
                                            (p->plane[0][(size_t)p->stride[0] * y + x] > 125));
                }
        }
        int best = -1, best_d = 99, second_d = 99;
        for (int g = 0; g < 10; g++) {
                int dist = 0;
                for (unsigned r = 0; r < 7; r++)
                        dist += __builtin_popcount(bits[r] ^ font[g][r]);
                if (dist < best_d) {
                        second_d = best_d;
                        best_d = dist;
                        best = g;
                } else if (dist < second_d) {
                        second_d = dist;
                }
        }
        /* Glyphs differ in at least 6 font pixels, so 2 flipped ones still name one glyph. */
        return best_d <= 2 && second_d > best_d ? best : -1;
}

static int read_line(const struct picture *p, unsigned s, unsigned line, unsigned n, uint64_t *v)
{
        uint8_t d[LINE_CHARS];
        uint64_t acc = 0;
        for (unsigned c = 0; c <= n; c++) {
                int g = read_char(p, s, line, c);
                if (g < 0)
                        return -EBADMSG;
                d[c] = (uint8_t)g;
                if (c < n)
                        acc = acc * 10 + (uint64_t)g;
        }
        if (check_digit(d, n) != d[n])
                return -EBADMSG;
        *v = acc;
        return 0;
}

int testpattern_read(const struct picture *p, uint64_t *seq, uint64_t *capture_us)
{
        unsigned s = scale_for(p->width, p->height);
        if (!s)
                return -ENOSPC;
        uint64_t a, b;
        int rc = read_line(p, s, 0, SEQ_DIGITS, &a);
        if (rc == 0)
                rc = read_line(p, s, 1, TIME_DIGITS, &b);
        if (rc < 0)
                return rc;
        if (seq)
                *seq = a;
        if (capture_us)
                *capture_us = b;
        return 0;
}
