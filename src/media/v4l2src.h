/*
 * V4L2 camera capture: mmap streaming from an explicit device path, in YUYV, NV12, I420 (YU12)
 * or MJPEG (decoded with libjpeg), always delivered as I420. The descriptor is non-blocking and
 * pollable; the loop calls v4l2src_read() when it is readable and at v4l2src_deadline(), after
 * which a camera that has gone quiet is reported as failed.
 */
#ifndef RTCPEER_MEDIA_V4L2SRC_H
#define RTCPEER_MEDIA_V4L2SRC_H

#include <stdint.h>

#include "media/merr.h"
#include "media/picture.h"

#define V4L2SRC_STALL_US 2000000ULL /* no frame for this long: the camera stopped */

struct v4l2src_config {
        const char *path;
        unsigned width, height; /* wanted size; 0: 640x480. The nearest mode is chosen. */
        unsigned fps;           /* wanted rate; 0: 30 */
        uint32_t fourcc;        /* 0: best supported format; else only this V4L2 fourcc */
};

struct v4l2src_mode {
        uint32_t fourcc;
        unsigned width, height;
        unsigned fps_num, fps_den; /* frames per second as num/den; 0/0 when not reported */
};

struct v4l2src;

/* Opens, picks the mode, maps the buffers and starts streaming. */
int v4l2src_new(const struct v4l2src_config *cfg, struct v4l2src **out, struct merr *err);
void v4l2src_free(struct v4l2src *s);
int v4l2src_fd(const struct v4l2src *s);
const struct v4l2src_mode *v4l2src_current_mode(const struct v4l2src *s);
/* When read must be called even if the descriptor stays quiet: the stall limit. */
uint64_t v4l2src_deadline(const struct v4l2src *s);
/*
 * 1 and *out = the next frame (valid until the next call), 0 when none is ready, or a negative
 * code with err naming the device (-ETIMEDOUT when it stopped delivering).
 */
int v4l2src_read(struct v4l2src *s, uint64_t now_us, const struct picture **out, struct merr *err);
/* "YUYV"-style text of a fourcc, into buf[5]. */
const char *v4l2src_fourcc_str(uint32_t fourcc, char buf[5]);

#endif
