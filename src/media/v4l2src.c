#include "media/v4l2src.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#include "core/clock.h"
#include "core/log.h"

#define DEFAULT_WIDTH  640
#define DEFAULT_HEIGHT 480
#define DEFAULT_FPS    30
#define WANT_BUFFERS   4
#define MAX_BUFFERS    8

struct jpeg_err {
        struct jpeg_error_mgr mgr;
        jmp_buf jmp;
};

struct v4l2src {
        int fd;
        char *path;
        struct v4l2src_mode mode;
        size_t bpl;
        struct {
                void *addr;
                size_t len;
        } bufs[MAX_BUFFERS];
        unsigned nbufs;
        int streaming;
        uint64_t last_us; /* last frame (or stream start): the stall timer runs from here */
        uint32_t last_seq;
        uint64_t seq_high; /* sequence wraps at 2^32: the carried high part */
        struct picture pic;
        struct jpeg_decompress_struct jd;
        struct jpeg_err jerr;
        int jd_ready;
        uint8_t *rows; /* two lines of interleaved YCbCr from the JPEG decoder */
        unsigned bad_frames;
};

/* Preference among formats that give the same size and rate: cheapest conversion first. */
static int format_rank(uint32_t f)
{
        switch (f) {
        case V4L2_PIX_FMT_YUV420:
                return 0;
        case V4L2_PIX_FMT_NV12:
                return 1;
        case V4L2_PIX_FMT_YUYV:
                return 2;
        case V4L2_PIX_FMT_MJPEG:
                return 3;
        default:
                return -1;
        }
}

const char *v4l2src_fourcc_str(uint32_t f, char buf[5])
{
        for (int i = 0; i < 4; i++) {
                char c = (char)(f >> (8 * i) & 0xff);
                buf[i] = c >= 32 && c < 127 ? c : '?';
        }
        buf[4] = 0;
        return buf;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
        int r;
        do
                r = ioctl(fd, req, arg);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : 0;
}

static int busy_or(struct v4l2src *s, int rc, const char *what, struct merr *err)
{
        if (rc == -EBUSY)
                return merr_set(err, rc, "%s: device busy (in use by another program)", s->path);
        return merr_set(err, rc, "%s: %s failed: %s", s->path, what, strerror(-rc));
}

/* ---- mode selection ------------------------------------------------------------------------ */

struct want {
        unsigned w, h, fps;
        uint32_t fourcc;
};

struct choice {
        struct v4l2src_mode m;
        unsigned size_dist;
        double fps_dist;
        int rank;
        int valid;
};

static double mode_fps(const struct v4l2src_mode *m)
{
        return m->fps_den ? (double)m->fps_num / m->fps_den : 0;
}

static void consider(struct choice *best, const struct want *want, const struct v4l2src_mode *m)
{
        unsigned dw = m->width > want->w ? m->width - want->w : want->w - m->width;
        unsigned dh = m->height > want->h ? m->height - want->h : want->h - m->height;
        double fps = mode_fps(m);
        /* Unknown rates rank behind known ones; below the wanted rate behind above it. */
        double fd = fps == 0 ? 1e6 : fabs(fps - want->fps) + (fps < want->fps ? 0.5 : 0);
        struct choice c = {.m = *m,
                           .size_dist = dw + dh,
                           .fps_dist = fd,
                           .rank = format_rank(m->fourcc),
                           .valid = 1};
        if (!best->valid || c.size_dist < best->size_dist ||
            (c.size_dist == best->size_dist &&
             (c.fps_dist < best->fps_dist - 1e-9 ||
              (fabs(c.fps_dist - best->fps_dist) <= 1e-9 && c.rank < best->rank))))
                *best = c;
}

static unsigned clamp_step(unsigned v, unsigned lo, unsigned hi, unsigned step)
{
        if (v < lo)
                v = lo;
        if (v > hi)
                v = hi;
        if (step > 1)
                v = lo + (v - lo + step / 2) / step * step;
        return v > hi ? hi : v;
}

static void enum_rates(int fd, const struct want *want, struct v4l2src_mode m, struct choice *best)
{
        struct v4l2_frmivalenum iv = {
            .pixel_format = m.fourcc, .width = m.width, .height = m.height};
        int any = 0;
        for (iv.index = 0; xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) == 0; iv.index++) {
                any = 1;
                if (iv.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
                        /* An interval of n/d seconds is a rate of d/n frames per second. */
                        m.fps_num = iv.discrete.denominator;
                        m.fps_den = iv.discrete.numerator;
                        consider(best, want, &m);
                        continue;
                }
                /* Continuous or stepwise range: clamp the wanted interval into it. */
                double lo = (double)iv.stepwise.min.numerator / iv.stepwise.min.denominator;
                double hi = (double)iv.stepwise.max.numerator / iv.stepwise.max.denominator;
                double t = 1.0 / want->fps;
                t = t < lo ? lo : t > hi ? hi : t;
                m.fps_num = (unsigned)lround(1000.0 / t);
                m.fps_den = 1000;
                consider(best, want, &m);
                break;
        }
        if (!any) {
                m.fps_num = m.fps_den = 0;
                consider(best, want, &m);
        }
}

static int choose_mode(struct v4l2src *s, const struct want *want, struct v4l2src_mode *out,
                       struct merr *err)
{
        struct choice best = {0};
        char offered[128] = "", fcc[5];
        struct v4l2_fmtdesc fd = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
        for (fd.index = 0; xioctl(s->fd, VIDIOC_ENUM_FMT, &fd) == 0; fd.index++) {
                size_t n = strlen(offered);
                snprintf(offered + n, sizeof(offered) - n, "%s%s", n ? ", " : "",
                         v4l2src_fourcc_str(fd.pixelformat, fcc));
                if (format_rank(fd.pixelformat) < 0 ||
                    (want->fourcc && fd.pixelformat != want->fourcc))
                        continue;
                struct v4l2src_mode m = {.fourcc = fd.pixelformat};
                struct v4l2_frmsizeenum fs = {.pixel_format = fd.pixelformat};
                int sizes = 0;
                for (fs.index = 0; xioctl(s->fd, VIDIOC_ENUM_FRAMESIZES, &fs) == 0; fs.index++) {
                        sizes++;
                        if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                                m.width = fs.discrete.width;
                                m.height = fs.discrete.height;
                                enum_rates(s->fd, want, m, &best);
                                continue;
                        }
                        m.width = clamp_step(want->w, fs.stepwise.min_width, fs.stepwise.max_width,
                                             fs.stepwise.step_width);
                        m.height = clamp_step(want->h, fs.stepwise.min_height,
                                              fs.stepwise.max_height, fs.stepwise.step_height);
                        enum_rates(s->fd, want, m, &best);
                        break;
                }
                if (!sizes) {
                        /* No size enumeration: ask for the wanted size, S_FMT adjusts it. */
                        m.width = want->w;
                        m.height = want->h;
                        enum_rates(s->fd, want, m, &best);
                }
        }
        if (!best.valid) {
                if (want->fourcc)
                        return merr_set(err, -ENOTSUP,
                                        "%s: pixel format %s not offered (device offers: %s)",
                                        s->path, v4l2src_fourcc_str(want->fourcc, fcc),
                                        offered[0] ? offered : "none");
                return merr_set(err, -ENOTSUP,
                                "%s: no supported pixel format (device offers: %s; rtcpeer takes "
                                "YU12, NV12, YUYV, MJPG)",
                                s->path, offered[0] ? offered : "none");
        }
        *out = best.m;
        return 0;
}

/* ---- set up ---------------------------------------------------------------------------------- */

static int check_caps(struct v4l2src *s, struct merr *err)
{
        struct v4l2_capability cap;
        memset(&cap, 0, sizeof(cap));
        int rc = xioctl(s->fd, VIDIOC_QUERYCAP, &cap);
        if (rc == -ENOTTY || rc == -EINVAL)
                return merr_set(err, -ENODEV, "%s: not a V4L2 device", s->path);
        if (rc < 0)
                return merr_set(err, rc, "%s: VIDIOC_QUERYCAP failed: %s", s->path, strerror(-rc));
        uint32_t caps =
            cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
        if (!(caps & V4L2_CAP_VIDEO_CAPTURE))
                return merr_set(err, -ENODEV, "%s: not a video capture device (%s)", s->path,
                                (const char *)cap.card);
        if (!(caps & V4L2_CAP_STREAMING))
                return merr_set(err, -ENOTSUP, "%s: does not support streaming I/O", s->path);
        log_debug("media", "%s: %s, driver %s", s->path, (const char *)cap.card,
                  (const char *)cap.driver);
        return 0;
}

static int set_format(struct v4l2src *s, const struct v4l2src_mode *m, struct merr *err)
{
        struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
        f.fmt.pix.width = m->width;
        f.fmt.pix.height = m->height;
        f.fmt.pix.pixelformat = m->fourcc;
        f.fmt.pix.field = V4L2_FIELD_NONE;
        int rc = xioctl(s->fd, VIDIOC_S_FMT, &f);
        if (rc < 0)
                return busy_or(s, rc, "VIDIOC_S_FMT", err);
        char fcc[5];
        if (format_rank(f.fmt.pix.pixelformat) < 0)
                return merr_set(err, -ENOTSUP, "%s: the driver switched to unsupported format %s",
                                s->path, v4l2src_fourcc_str(f.fmt.pix.pixelformat, fcc));
        s->mode.fourcc = f.fmt.pix.pixelformat;
        s->mode.width = f.fmt.pix.width;
        s->mode.height = f.fmt.pix.height;
        unsigned min_bpl = s->mode.fourcc == V4L2_PIX_FMT_YUYV ? 2 * s->mode.width : s->mode.width;
        s->bpl = f.fmt.pix.bytesperline >= min_bpl ? f.fmt.pix.bytesperline : min_bpl;
        if (!s->mode.width || !s->mode.height)
                return merr_set(err, -EPROTO, "%s: the driver reported an empty picture size",
                                s->path);
        if (m->fps_num) {
                struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
                p.parm.capture.timeperframe.numerator = m->fps_den;
                p.parm.capture.timeperframe.denominator = m->fps_num;
                /* Drivers without rate control refuse S_PARM; the camera then runs as it likes. */
                if (xioctl(s->fd, VIDIOC_S_PARM, &p) == 0 &&
                    p.parm.capture.timeperframe.numerator &&
                    p.parm.capture.timeperframe.denominator) {
                        s->mode.fps_num = p.parm.capture.timeperframe.denominator;
                        s->mode.fps_den = p.parm.capture.timeperframe.numerator;
                } else {
                        s->mode.fps_num = m->fps_num;
                        s->mode.fps_den = m->fps_den;
                }
        }
        return 0;
}

static int start_streaming(struct v4l2src *s, struct merr *err)
{
        struct v4l2_requestbuffers rb = {
            .count = WANT_BUFFERS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        int rc = xioctl(s->fd, VIDIOC_REQBUFS, &rb);
        if (rc < 0)
                return busy_or(s, rc, "VIDIOC_REQBUFS (mmap)", err);
        if (rb.count < 2)
                return merr_set(err, -ENOMEM, "%s: the driver gave %u buffers, 2 needed", s->path,
                                rb.count);
        s->nbufs = rb.count > MAX_BUFFERS ? MAX_BUFFERS : rb.count;
        for (unsigned i = 0; i < s->nbufs; i++) {
                struct v4l2_buffer b = {
                    .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i};
                if ((rc = xioctl(s->fd, VIDIOC_QUERYBUF, &b)) < 0)
                        return busy_or(s, rc, "VIDIOC_QUERYBUF", err);
                void *a =
                    mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, b.m.offset);
                if (a == MAP_FAILED)
                        return merr_set(err, -errno, "%s: mmap of buffer %u failed: %s", s->path, i,
                                        strerror(errno));
                s->bufs[i].addr = a;
                s->bufs[i].len = b.length;
                if ((rc = xioctl(s->fd, VIDIOC_QBUF, &b)) < 0)
                        return busy_or(s, rc, "VIDIOC_QBUF", err);
        }
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if ((rc = xioctl(s->fd, VIDIOC_STREAMON, &type)) < 0)
                return busy_or(s, rc, "VIDIOC_STREAMON", err);
        s->streaming = 1;
        return 0;
}

static void jpeg_quiet(j_common_ptr c)
{
        char msg[JMSG_LENGTH_MAX];
        c->err->format_message(c, msg);
        log_debug("media", "jpeg: %s", msg);
}

static void jpeg_fail(j_common_ptr c)
{
        jpeg_quiet(c);
        longjmp(((struct jpeg_err *)c->err)->jmp, 1);
}

int v4l2src_new(const struct v4l2src_config *cfg, struct v4l2src **out, struct merr *err)
{
        *out = NULL;
        struct v4l2src *s = calloc(1, sizeof(*s));
        if (!s || !(s->path = strdup(cfg->path))) {
                free(s);
                return merr_set(err, -ENOMEM, "%s: out of memory", cfg->path);
        }
        int rc;
        s->fd = open(cfg->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (s->fd < 0) {
                rc = -errno;
                if (rc == -ENOENT || rc == -ENXIO || rc == -ENODEV)
                        merr_set(err, rc, "%s: no such device", cfg->path);
                else if (rc == -EBUSY)
                        merr_set(err, rc, "%s: device busy (in use by another program)", cfg->path);
                else
                        merr_set(err, rc, "%s: %s", cfg->path, strerror(-rc));
                goto fail;
        }
        if ((rc = check_caps(s, err)) < 0)
                goto fail;
        struct want want = {.w = cfg->width ? cfg->width : DEFAULT_WIDTH,
                            .h = cfg->height ? cfg->height : DEFAULT_HEIGHT,
                            .fps = cfg->fps ? cfg->fps : DEFAULT_FPS,
                            .fourcc = cfg->fourcc};
        struct v4l2src_mode m;
        if ((rc = choose_mode(s, &want, &m, err)) < 0 || (rc = set_format(s, &m, err)) < 0)
                goto fail;
        if ((rc = picture_alloc(&s->pic, s->mode.width, s->mode.height)) < 0) {
                merr_set(err, rc, "%s: out of memory", s->path);
                goto fail;
        }
        if (s->mode.fourcc == V4L2_PIX_FMT_MJPEG) {
                s->jd.err = jpeg_std_error(&s->jerr.mgr);
                s->jerr.mgr.error_exit = jpeg_fail;
                s->jerr.mgr.output_message = jpeg_quiet;
                jpeg_create_decompress(&s->jd);
                s->jd_ready = 1;
                s->rows = malloc((size_t)s->mode.width * 3 * 2);
                if (!s->rows) {
                        rc = merr_set(err, -ENOMEM, "%s: out of memory", s->path);
                        goto fail;
                }
        }
        if ((rc = start_streaming(s, err)) < 0)
                goto fail;
        s->last_us = clock_now_us();
        char fcc[5];
        log_info("media", "video: %s %s %ux%u@%.4g fps (asked %ux%u@%u)", s->path,
                 v4l2src_fourcc_str(s->mode.fourcc, fcc), s->mode.width, s->mode.height,
                 mode_fps(&s->mode), want.w, want.h, want.fps);
        *out = s;
        return 0;
fail:
        v4l2src_free(s);
        return rc;
}

void v4l2src_free(struct v4l2src *s)
{
        if (!s)
                return;
        if (s->streaming) {
                int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
                xioctl(s->fd, VIDIOC_STREAMOFF, &type);
        }
        for (unsigned i = 0; i < s->nbufs; i++)
                if (s->bufs[i].addr)
                        munmap(s->bufs[i].addr, s->bufs[i].len);
        if (s->nbufs) {
                struct v4l2_requestbuffers rb = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                                 .memory = V4L2_MEMORY_MMAP};
                xioctl(s->fd, VIDIOC_REQBUFS, &rb);
        }
        if (s->fd >= 0)
                close(s->fd);
        if (s->jd_ready)
                jpeg_destroy_decompress(&s->jd);
        free(s->rows);
        picture_release(&s->pic);
        free(s->path);
        free(s);
}

int v4l2src_fd(const struct v4l2src *s)
{
        return s->fd;
}

const struct v4l2src_mode *v4l2src_current_mode(const struct v4l2src *s)
{
        return &s->mode;
}

uint64_t v4l2src_deadline(const struct v4l2src *s)
{
        return s->last_us + V4L2SRC_STALL_US;
}

/* ---- frames ---------------------------------------------------------------------------------- */

/* JFIF is full range; VP8 and the other formats are BT.601 limited range. */
static uint8_t luma_lut[256], chroma_lut[256];

static void init_luts(void)
{
        for (int i = 0; i < 256; i++) {
                luma_lut[i] = (uint8_t)(16 + (i * 219 + 127) / 255);
                chroma_lut[i] = (uint8_t)(128 + ((i - 128) * 224 + (i >= 128 ? 127 : -127)) / 255);
        }
}

static int decode_mjpeg(struct v4l2src *s, const uint8_t *data, size_t len)
{
        struct jpeg_decompress_struct *jd = &s->jd;
        struct picture *p = &s->pic;
        if (!luma_lut[255])
                init_luts();
        if (setjmp(s->jerr.jmp)) {
                jpeg_abort_decompress(jd);
                return -EBADMSG;
        }
        jpeg_mem_src(jd, data, (unsigned long)len);
        jpeg_read_header(jd, TRUE);
        jd->out_color_space = JCS_YCbCr;
        jd->dct_method = JDCT_ISLOW;
        jpeg_start_decompress(jd);
        if (jd->output_width != p->width || jd->output_height != p->height ||
            jd->output_components != 3) {
                jpeg_abort_decompress(jd);
                return -EBADMSG;
        }
        unsigned w = p->width, cw = picture_chroma_width(p);
        size_t rl = (size_t)w * 3;
        while (jd->output_scanline < jd->output_height) {
                unsigned y = jd->output_scanline;
                JSAMPROW r[2] = {s->rows, s->rows + rl};
                unsigned got = 0;
                while (got < 2 && jd->output_scanline < jd->output_height)
                        got += jpeg_read_scanlines(jd, r + got, 2 - got);
                if (got == 1)
                        memcpy(s->rows + rl, s->rows, rl); /* odd height: repeat the last line */
                for (unsigned i = 0; i < got; i++) {
                        uint8_t *dy = p->plane[0] + (size_t)p->stride[0] * (y + i);
                        for (unsigned x = 0; x < w; x++)
                                dy[x] = luma_lut[r[i][3 * x]];
                }
                uint8_t *du = p->plane[1] + (size_t)p->stride[1] * (y / 2);
                uint8_t *dv = p->plane[2] + (size_t)p->stride[2] * (y / 2);
                for (unsigned x = 0; x < cw; x++) {
                        unsigned x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
                        unsigned u =
                            r[0][6 * x + 1] + r[0][3 * x1 + 1] + r[1][6 * x + 1] + r[1][3 * x1 + 1];
                        unsigned v =
                            r[0][6 * x + 2] + r[0][3 * x1 + 2] + r[1][6 * x + 2] + r[1][3 * x1 + 2];
                        du[x] = chroma_lut[(u + 2) / 4];
                        dv[x] = chroma_lut[(v + 2) / 4];
                }
        }
        jpeg_finish_decompress(jd);
        return 0;
}

static int convert(struct v4l2src *s, const uint8_t *data, size_t used)
{
        struct picture *p = &s->pic;
        size_t ch = picture_chroma_height(p);
        switch (s->mode.fourcc) {
        case V4L2_PIX_FMT_YUYV:
                if (used < s->bpl * p->height)
                        return -EBADMSG;
                picture_from_yuyv(p, data, s->bpl);
                return 0;
        case V4L2_PIX_FMT_NV12:
                if (used < s->bpl * (p->height + ch))
                        return -EBADMSG;
                picture_from_nv12(p, data, s->bpl);
                return 0;
        case V4L2_PIX_FMT_YUV420:
                if (used < s->bpl * p->height + 2 * ((s->bpl + 1) / 2) * ch)
                        return -EBADMSG;
                picture_from_i420(p, data, s->bpl);
                return 0;
        default:
                return decode_mjpeg(s, data, used);
        }
}

int v4l2src_read(struct v4l2src *s, uint64_t now_us, const struct picture **out, struct merr *err)
{
        for (;;) {
                struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                        .memory = V4L2_MEMORY_MMAP};
                int rc = xioctl(s->fd, VIDIOC_DQBUF, &b);
                if (rc == -EAGAIN) {
                        if (now_us >= s->last_us + V4L2SRC_STALL_US)
                                return merr_set(err, -ETIMEDOUT,
                                                "%s: camera stopped delivering frames (none for "
                                                "%llu s)",
                                                s->path,
                                                (unsigned long long)(V4L2SRC_STALL_US / 1000000));
                        return 0;
                }
                if (rc < 0)
                        return merr_set(err, rc, "%s: capture failed: %s", s->path, strerror(-rc));
                if (b.index >= s->nbufs)
                        return merr_set(err, -EPROTO, "%s: driver returned buffer %u of %u",
                                        s->path, b.index, s->nbufs);
                int bad = (b.flags & V4L2_BUF_FLAG_ERROR) || b.bytesused == 0 ||
                          b.bytesused > s->bufs[b.index].len;
                if (!bad)
                        bad = convert(s, s->bufs[b.index].addr, b.bytesused) < 0;
                if (!bad) {
                        struct picture *p = &s->pic;
                        if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
                            V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
                                p->capture_us = (uint64_t)b.timestamp.tv_sec * 1000000ULL +
                                                (uint64_t)b.timestamp.tv_usec;
                        else
                                p->capture_us = now_us;
                        if (b.sequence < s->last_seq)
                                s->seq_high += 1ULL << 32;
                        s->last_seq = b.sequence;
                        p->seq = s->seq_high | b.sequence;
                }
                if ((rc = xioctl(s->fd, VIDIOC_QBUF, &b)) < 0)
                        return merr_set(err, rc, "%s: capture failed: %s", s->path, strerror(-rc));
                if (bad) {
                        /* Cameras do send the odd broken frame: drop it and carry on. */
                        if (s->bad_frames++ % 100 == 0)
                                log_warn("media", "%s: dropped a damaged frame (%u so far)",
                                         s->path, s->bad_frames);
                        continue;
                }
                s->last_us = now_us;
                *out = &s->pic;
                return 1;
        }
}
