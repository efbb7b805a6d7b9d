#include "media/picture.h"

#include <errno.h>
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
