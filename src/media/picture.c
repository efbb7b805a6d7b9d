#include "media/picture.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

unsigned picture_chroma_width(const struct picture *p)
{
        return (p->width + 1) / 2;
}

unsigned picture_chroma_height(const struct picture *p)
{
        return (p->height + 1) / 2;
}

int picture_alloc(struct picture *p, unsigned width, unsigned height)
{
        if (width == 0 || height == 0 || width > 16384 || height > 16384)
                return -EINVAL;
        /* 32-byte aligned rows keep libvpx's SIMD loads and our copies on the fast path. */
        unsigned ys = (width + 31) & ~31u, cs = (((width + 1) / 2) + 31) & ~31u;
        unsigned ch = (height + 1) / 2;
        size_t need = (size_t)ys * height + 2 * (size_t)cs * ch;
        size_t have = p->mem ? (size_t)p->stride[0] * p->height +
                                   2 * (size_t)p->stride[1] * ((p->height + 1) / 2)
                             : 0;
        if (!p->mem || have < need) {
                free(p->mem);
                p->mem = aligned_alloc(32, (need + 31) & ~(size_t)31);
                if (!p->mem)
                        return -ENOMEM;
        }
        p->width = width;
        p->height = height;
        p->stride[0] = ys;
        p->stride[1] = p->stride[2] = cs;
        p->plane[0] = p->mem;
        p->plane[1] = p->mem + (size_t)ys * height;
        p->plane[2] = p->plane[1] + (size_t)cs * ch;
        return 0;
}

void picture_release(struct picture *p)
{
        if (!p)
                return;
        free(p->mem);
        memset(p, 0, sizeof(*p));
}

void picture_from_yuyv(struct picture *p, const uint8_t *src, size_t bpl)
{
        unsigned w = p->width, h = p->height, cw = picture_chroma_width(p);
        for (unsigned y = 0; y < h; y++) {
                const uint8_t *s = src + bpl * y;
                uint8_t *dy = p->plane[0] + (size_t)p->stride[0] * y;
                for (unsigned x = 0; x < w; x++)
                        dy[x] = s[2 * x];
        }
        /* 4:2:2 to 4:2:0: average the chroma of each pair of rows. */
        for (unsigned y = 0; y < (h + 1) / 2; y++) {
                const uint8_t *s0 = src + bpl * (2 * y);
                const uint8_t *s1 = 2 * y + 1 < h ? s0 + bpl : s0;
                uint8_t *du = p->plane[1] + (size_t)p->stride[1] * y;
                uint8_t *dv = p->plane[2] + (size_t)p->stride[2] * y;
                for (unsigned x = 0; x < cw; x++) {
                        du[x] = (uint8_t)((s0[4 * x + 1] + s1[4 * x + 1] + 1) / 2);
                        dv[x] = (uint8_t)((s0[4 * x + 3] + s1[4 * x + 3] + 1) / 2);
                }
        }
}

void picture_from_nv12(struct picture *p, const uint8_t *src, size_t bpl)
{
        unsigned h = p->height, cw = picture_chroma_width(p), ch = picture_chroma_height(p);
        for (unsigned y = 0; y < h; y++)
                memcpy(p->plane[0] + (size_t)p->stride[0] * y, src + bpl * y, p->width);
        const uint8_t *uv = src + bpl * h;
        for (unsigned y = 0; y < ch; y++) {
                const uint8_t *s = uv + bpl * y;
                uint8_t *du = p->plane[1] + (size_t)p->stride[1] * y;
                uint8_t *dv = p->plane[2] + (size_t)p->stride[2] * y;
                for (unsigned x = 0; x < cw; x++) {
                        du[x] = s[2 * x];
                        dv[x] = s[2 * x + 1];
                }
        }
}

void picture_from_i420(struct picture *p, const uint8_t *src, size_t bpl)
{
        /* V4L2's YU420: chroma lines are half the luma bytesperline. */
        unsigned h = p->height, cw = picture_chroma_width(p), ch = picture_chroma_height(p);
        size_t cbpl = (bpl + 1) / 2;
        for (unsigned y = 0; y < h; y++)
                memcpy(p->plane[0] + (size_t)p->stride[0] * y, src + bpl * y, p->width);
        const uint8_t *u = src + bpl * h, *v = u + cbpl * ch;
        for (unsigned y = 0; y < ch; y++) {
                memcpy(p->plane[1] + (size_t)p->stride[1] * y, u + cbpl * y, cw);
                memcpy(p->plane[2] + (size_t)p->stride[2] * y, v + cbpl * y, cw);
        }
}

void picture_copy(struct picture *dst, const struct picture *src)
{
        unsigned cw = picture_chroma_width(src), ch = picture_chroma_height(src);
        for (unsigned y = 0; y < src->height; y++)
                memcpy(dst->plane[0] + (size_t)dst->stride[0] * y,
                       src->plane[0] + (size_t)src->stride[0] * y, src->width);
        for (unsigned i = 1; i < 3; i++)
                for (unsigned y = 0; y < ch; y++)
                        memcpy(dst->plane[i] + (size_t)dst->stride[i] * y,
                               src->plane[i] + (size_t)src->stride[i] * y, cw);
}

/*
 * The filter taps of one dimension: output i is the sum over k < n of w[i*n + k] times source
 * sample first[i] + k, the weights of every output summing to total. Every output has the same
 * number of taps (zero weights pad the short ones), so the inner loops have a fixed length.
 */
struct taps {
        unsigned *first;
        uint32_t *w;
        unsigned n;
        uint32_t total;
};

static unsigned gcd(unsigned a, unsigned b)
{
        while (b) {
                unsigned t = a % b;
                a = b;
                b = t;
        }
        return a;
}

/* Taps per output for out outputs from in inputs: an area spans at most ceil(in/out) + 1. */
static unsigned taps_per_output(unsigned out, unsigned in)
{
        unsigned n = out <= in ? (in + out - 1) / out + 1 : 2;
        return n > in ? in : n;
}

static size_t taps_words(unsigned out, unsigned in)
{
        return (size_t)out * (1 + taps_per_output(out, in));
}

static void taps_make(struct taps *t, uint32_t *mem, unsigned out, unsigned in)
{
        unsigned n = taps_per_output(out, in);
        t->n = n;
        t->first = mem;
        t->w = mem + out;
        memset(t->w, 0, sizeof(*t->w) * out * n);
        /*
         * Area (shrinking): in units of 1/out' of a source sample (out', in' reduced by their
         * gcd), output i covers [i*in', (i+1)*in') and source j covers [j*out', (j+1)*out'); the
         * overlaps are the weights, in' in all. Reduced, the totals of the usual steps (3/4,
         * 1/2, 1/4) are small powers of two. Linear (growing): sample centres aligned, output i
         * sits at (i + 1/2) * in/out - 1/2 in the source, weights in 256ths.
         */
        unsigned g = gcd(out, in), outr = out / g, inr = in / g;
        t->total = out <= in ? inr : 256;
        for (unsigned i = 0; i < out; i++) {
                uint32_t *w = t->w + (size_t)i * n;
                unsigned j, cnt = 0;
                uint32_t ws[2];
                if (out <= in) {
                        uint64_t lo = (uint64_t)i * inr, hi = lo + inr;
                        j = (unsigned)(lo / outr);
                        for (unsigned k = j; k < in && (uint64_t)k * outr < hi; k++) {
                                uint64_t a = (uint64_t)k * outr, b = a + outr;
                                w[cnt++] = (uint32_t)((b < hi ? b : hi) - (a > lo ? a : lo));
                        }
                } else {
                        int64_t pos = ((int64_t)(2 * i + 1) * in * 256) / (2 * (int64_t)out) - 128;
                        j = pos < 0 ? 0 : (unsigned)(pos >> 8);
                        uint32_t frac = pos < 0 ? 0 : (uint32_t)(pos & 255);
                        ws[0] = 256 - frac;
                        ws[1] = frac;
                        cnt = j + 1 < in && frac ? 2 : 1;
                        if (cnt == 1)
                                ws[0] = 256;
                        memcpy(w, ws, sizeof(*w) * cnt);
                }
                /* Near the end, start earlier so that all n taps stay inside the source. */
                if (j + n > in) {
                        unsigned back = j + n - in;
                        memmove(w + back, w, sizeof(*w) * cnt);
                        memset(w, 0, sizeof(*w) * back);
                        j -= back;
                }
                t->first[i] = j;
        }
}

/* One plane: a vertical pass into a row of sums, then a horizontal one, rounded once. */
static void scale_plane(uint8_t *dst, unsigned dstride, unsigned dw, unsigned dh,
                        const uint8_t *src, unsigned sstride, unsigned sw, unsigned sh,
                        uint32_t *mem)
{
        struct taps tx, ty;
        taps_make(&tx, mem, dw, sw);
        mem += taps_words(dw, sw);
        taps_make(&ty, mem, dh, sh);
        mem += taps_words(dh, sh);
        uint32_t *row = mem; /* sw sums of at most 255 * ty.total: fits 32 bits */
        uint64_t tot = (uint64_t)tx.total * ty.total, half = tot / 2;
        unsigned shift = 0;
        bool pow2 = (tot & (tot - 1)) == 0, narrow = 255 * tot <= UINT32_MAX;
        while (pow2 && ((uint64_t)1 << shift) < tot)
                shift++;
        unsigned nx = tx.n, ny = ty.n;
        for (unsigned y = 0; y < dh; y++) {
                const uint32_t *wy = ty.w + (size_t)y * ny;
                const uint8_t *s = src + (size_t)sstride * ty.first[y];
                for (unsigned x = 0; x < sw; x++)
                        row[x] = wy[0] * s[x];
                for (unsigned k = 1; k < ny; k++) {
                        s += sstride;
                        if (wy[k])
                                for (unsigned x = 0; x < sw; x++)
                                        row[x] += wy[k] * s[x];
                }
                uint8_t *d = dst + (size_t)dstride * y;
                const uint32_t *wx = tx.w;
                if (narrow && pow2 && nx == 2) {
                        /* The 3/4 and 1/2 steps. */
                        for (unsigned x = 0; x < dw; x++, wx += 2) {
                                const uint32_t *r = row + tx.first[x];
                                d[x] = (uint8_t)((r[0] * wx[0] + r[1] * wx[1] + (uint32_t)half) >>
                                                 shift);
                        }
                        continue;
                }
                for (unsigned x = 0; x < dw; x++, wx += nx) {
                        const uint32_t *r = row + tx.first[x];
                        uint64_t acc = half;
                        for (unsigned k = 0; k < nx; k++)
                                acc += (uint64_t)wx[k] * r[k];
                        d[x] = (uint8_t)(pow2 ? acc >> shift : acc / tot);
                }
        }
}

int picture_scale(struct picture *dst, const struct picture *src)
{
        unsigned sw[3] = {src->width, picture_chroma_width(src), picture_chroma_width(src)};
        unsigned sh[3] = {src->height, picture_chroma_height(src), picture_chroma_height(src)};
        unsigned dw[3] = {dst->width, picture_chroma_width(dst), picture_chroma_width(dst)};
        unsigned dh[3] = {dst->height, picture_chroma_height(dst), picture_chroma_height(dst)};
        if (dw[0] == sw[0] && dh[0] == sh[0]) {
                picture_copy(dst, src);
                return 0;
        }
        /* The luma needs the most room; the chroma planes reuse it. */
        size_t words = taps_words(dw[0], sw[0]) + taps_words(dh[0], sh[0]) + sw[0];
        uint32_t *mem = malloc(words * sizeof(*mem));
        if (!mem)
                return -ENOMEM;
        for (int i = 0; i < 3; i++)
                scale_plane(dst->plane[i], dst->stride[i], dw[i], dh[i], src->plane[i],
                            src->stride[i], sw[i], sh[i], mem);
        free(mem);
        return 0;
}
