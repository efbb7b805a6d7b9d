/*
 * An I420 (YUV 4:2:0, three planes) picture as the video sources deliver it and the VP8 wrappers
 * take and give it, plus the conversions from the camera formats. Values are BT.601 limited
 * range, as VP8 expects.
 */
#ifndef RTCPEER_MEDIA_PICTURE_H
#define RTCPEER_MEDIA_PICTURE_H

#include <stddef.h>
#include <stdint.h>

struct picture {
        unsigned width, height; /* chroma planes are (width+1)/2 x (height+1)/2 */
        unsigned stride[3];
        uint8_t *plane[3];
        uint64_t capture_us; /* CLOCK_MONOTONIC time the picture was taken */
        uint64_t seq;        /* frame number from the source; gaps mean dropped frames */
        uint8_t *mem;        /* storage owned by the picture, NULL when planes point elsewhere */
};

/* Allocates planes (stride = width rounded up to 32 for the luma); reuses storage if it fits. */
int picture_alloc(struct picture *p, unsigned width, unsigned height);
/* Frees owned storage; the struct may be allocated again. NULL allowed. */
void picture_release(struct picture *p);
/* Chroma plane size, rounded up for odd dimensions. */
unsigned picture_chroma_width(const struct picture *p);
unsigned picture_chroma_height(const struct picture *p);

/* Conversions into an allocated picture of the same size. bpl: source bytes per line. */
void picture_from_yuyv(struct picture *p, const uint8_t *src, size_t bpl);
void picture_from_nv12(struct picture *p, const uint8_t *src, size_t bpl);
void picture_from_i420(struct picture *p, const uint8_t *src, size_t bpl);
/* Copies pixels (not times) from src into dst of the same size. */
void picture_copy(struct picture *dst, const struct picture *src);
/*
 * Scales the pixels (not times) of src into dst, allocated at the size wanted. Per dimension:
 * where it shrinks, each output pixel is the exact mean of the source area it covers (a box
 * filter with fractional edges: no aliasing, and a 2:1 step is the plain 2x2 average); where
 * it grows, linear interpolation. The chroma planes go the same way at their own sizes.
 * 0 or -ENOMEM.
 */
int picture_scale(struct picture *dst, const struct picture *src);

#endif
