/*
 * Video sources for sending, behind one interface the event loop drives:
 *   "test" or "test:WxH@FPS"   generated test pattern (testpattern.h), default 640x480@30
 *   a .y4m file                 4:2:0 YUV4MPEG2, looped, at the file's frame rate
 *   anything else               a V4L2 camera path such as /dev/video0
 * Generated and file sources are timer-driven: call videosrc_read() at videosrc_next_deadline().
 * Cameras also have a descriptor: call it when videosrc_fd() is readable, and at the deadline
 * (the stall check). Every frame is I420 with its CLOCK_MONOTONIC capture time in microseconds.
 */
#ifndef RTCPEER_MEDIA_VIDEOSRC_H
#define RTCPEER_MEDIA_VIDEOSRC_H

#include <stdint.h>

#include "media/merr.h"
#include "media/picture.h"

struct videosrc_config {
        const char *spec;
        unsigned width, height; /* --video-size; 0: 640x480, or what the spec says */
        unsigned fps;           /* --fps; 0: 30, or what the spec or the file says */
        uint32_t fourcc;        /* cameras: force one V4L2 pixel format; 0: automatic */
};

enum videosrc_kind {
        VIDEOSRC_TEST,
        VIDEOSRC_Y4M,
        VIDEOSRC_V4L2,
};

struct videosrc_info {
        enum videosrc_kind kind;
        unsigned width, height;
        unsigned fps_num, fps_den;
        uint32_t fourcc; /* cameras: the pixel format in use */
};

struct videosrc;

int videosrc_new(const struct videosrc_config *cfg, struct videosrc **out, struct merr *err);
void videosrc_free(struct videosrc *s);
/* Pollable descriptor (readable = a frame may be ready), or -1 for timer-driven sources. */
int videosrc_fd(const struct videosrc *s);
/* Absolute time at which videosrc_read() must be called even without descriptor activity. */
uint64_t videosrc_next_deadline(const struct videosrc *s);
/*
 * 1 with *out set (valid until the next call), 0 when no frame is due, or a negative code, the
 * source then being failed and videosrc_error() naming it. Call again until it returns 0.
 */
int videosrc_read(struct videosrc *s, uint64_t now_us, const struct picture **out);
const char *videosrc_error(const struct videosrc *s);
const struct videosrc_info *videosrc_get_info(const struct videosrc *s);

#endif
