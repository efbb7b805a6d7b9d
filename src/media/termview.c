#include "media/termview.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#define UPPER_HALF   "\xe2\x96\x80" /* U+2580 in UTF-8 */
#define NO_COLOUR    0xffffffffu
#define CELL_MAX_LEN (2 * 19 + 3) /* two "\x1b[38;2;255;255;255m" and the block */

static uint8_t clamp(int v)
{
        return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* BT.601 limited range to RGB, 8.8 fixed point, as 0xRRGGBB. */
static uint32_t rgb_at(const struct picture *p, unsigned x, unsigned y)
{
        int c = p->plane[0][(size_t)p->stride[0] * y + x] - 16;
        int d = p->plane[1][(size_t)p->stride[1] * (y / 2) + x / 2] - 128;
        int e = p->plane[2][(size_t)p->stride[2] * (y / 2) + x / 2] - 128;
        uint8_t r = clamp((298 * c + 409 * e + 128) >> 8);
        uint8_t g = clamp((298 * c - 100 * d - 208 * e + 128) >> 8);
        uint8_t b = clamp((298 * c + 516 * d + 128) >> 8);
        return (uint32_t)r << 16 | (uint32_t)g << 8 | b;
}

static char *put_u8(char *s, unsigned v)
{
        if (v >= 100)
                *s++ = (char)('0' + v / 100);
        if (v >= 10)
                *s++ = (char)('0' + v / 10 % 10);
        *s++ = (char)('0' + v % 10);
        return s;
}

/* "\x1b[38;2;R;G;Bm" (layer '3': foreground) or "\x1b[48;2;R;G;Bm" (layer '4': background). */
static char *put_colour(char *s, char layer, uint32_t rgb)
{
        memcpy(s, "\x1b[", 2);
        s[2] = layer;
        memcpy(s + 3, "8;2;", 4);
        s = put_u8(s + 7, rgb >> 16);
        *s++ = ';';
        s = put_u8(s, (rgb >> 8) & 0xff);
        *s++ = ';';
        s = put_u8(s, rgb & 0xff);
        *s++ = 'm';
        return s;
}

/* Source coordinate of the centre of output pixel i out of n, over a source of size len. */
static unsigned sample_at(unsigned i, unsigned n, unsigned len)
{
        return (unsigned)(((uint64_t)2 * i + 1) * len / (2 * (uint64_t)n));
}

int termview_render(const struct picture *p, unsigned cols, unsigned rows, struct buf *out)
{
        if (!cols || !rows || !p->width || !p->height || !p->plane[0] || !p->plane[1] ||
            !p->plane[2])
                return -EINVAL;
        /* Fit w x h into cols x 2*rows square pixels, rounding; the height is kept even. */
        uint64_t w = p->width, h = p->height, max_h = 2 * (uint64_t)rows;
        uint64_t ow, oh;
        if (w * max_h <= h * cols) {
                oh = max_h;
                ow = (w * max_h + h / 2) / h;
        } else {
                ow = cols;
                oh = (h * cols + w / 2) / w;
        }
        ow = ow < 1 ? 1 : ow > cols ? cols : ow;
        oh = (oh + 1) & ~(uint64_t)1;
        oh = oh < 2 ? 2 : oh > max_h ? max_h : oh;
        unsigned lines = (unsigned)(oh / 2);
        int rc = buf_append_str(out, "\x1b[H");
        for (unsigned line = 0; line < lines && rc == 0; line++) {
                if ((rc = buf_reserve(out, ow * CELL_MAX_LEN + 16)) < 0)
                        break;
                char *s = (char *)out->data + out->len;
                unsigned yu = sample_at(2 * line, (unsigned)oh, p->height);
                unsigned yl = sample_at(2 * line + 1, (unsigned)oh, p->height);
                uint32_t fg = NO_COLOUR, bg = NO_COLOUR; /* the reset ended the last line's */
                for (unsigned x = 0; x < ow; x++) {
                        unsigned sx = sample_at(x, (unsigned)ow, p->width);
                        uint32_t up = rgb_at(p, sx, yu), low = rgb_at(p, sx, yl);
                        if (up != fg)
                                s = put_colour(s, '3', fg = up);
                        if (low != bg)
                                s = put_colour(s, '4', bg = low);
                        memcpy(s, UPPER_HALF, 3);
                        s += 3;
                }
                memcpy(s, "\x1b[0m", 4);
                s += 4;
                /* Clear what a wider earlier frame left; not after a full line, where the cursor
                 * sits on the last cell and the erase would take it. */
                if (ow < cols) {
                        memcpy(s, "\x1b[K", 3);
                        s += 3;
                }
                if (line + 1 < lines) {
                        memcpy(s, "\r\n", 2);
                        s += 2;
                }
                out->len = (size_t)(s - (char *)out->data);
        }
        if (rc == 0 && lines < rows)
                rc = buf_append_str(out, "\r\n\x1b[J"); /* and the lines below */
        return rc;
}

int termview_size(int fd, unsigned *cols, unsigned *rows)
{
        struct winsize ws;
        if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
                return -errno;
        /* A serial console or a fresh pty may report 0 x 0: no usable size. */
        if (!ws.ws_col || !ws.ws_row)
                return -ENOTTY;
        *cols = ws.ws_col;
        *rows = ws.ws_row;
        return 0;
}
