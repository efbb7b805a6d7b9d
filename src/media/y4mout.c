#include "media/y4mout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "media/outfd.h"

#define FRAME_TAG     "FRAME\n"
#define FRAME_TAG_LEN 6

struct y4mout {
        int fd;
        bool guard; /* a pipe or socket: writes may raise SIGPIPE */
        char *name; /* for messages: the path, or "stdout" */
        unsigned fps_num, fps_den;
        unsigned width, height; /* 0 until the first picture */
        uint8_t *frame;         /* FRAME_TAG and the packed planes */
        size_t frame_len;
        unsigned long frames;
        int failed; /* sticky error code */
        int scale_logged;
        struct picture scaled; /* a picture of another size, scaled to the first one's */
};

int y4mout_new(const char *path, unsigned fps_num, unsigned fps_den, struct y4mout **out,
               struct merr *err)
{
        *out = NULL;
        int is_stdout = strcmp(path, "-") == 0;
        struct y4mout *w = calloc(1, sizeof(*w));
        if (!w || !(w->name = strdup(is_stdout ? "stdout" : path))) {
                free(w);
                return merr_set(err, -ENOMEM, "%s: out of memory", path);
        }
        w->fps_num = fps_num && fps_den ? fps_num : 30;
        w->fps_den = fps_num && fps_den ? fps_den : 1;
        w->fd =
            is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->fd < 0) {
                int rc = merr_set(err, -errno, "%s: %s", path, strerror(errno));
                y4mout_free(w);
                return rc;
        }
        w->guard = outfd_is_stream(w->fd);
        *out = w;
        return 0;
}

void y4mout_free(struct y4mout *w)
{
        if (!w)
                return;
        if (w->fd > STDERR_FILENO)
                close(w->fd);
        free(w->frame);
        picture_release(&w->scaled);
        free(w->name);
        free(w);
}

unsigned long y4mout_frames(const struct y4mout *w)
{
        return w->frames;
}

/* Copies a w x h plane into a packed one. */
static uint8_t *pack_plane(uint8_t *dst, unsigned w, unsigned h, const uint8_t *src,
                           unsigned stride)
{
        for (unsigned y = 0; y < h; y++, dst += w)
                memcpy(dst, src + (size_t)stride * y, w);
        return dst;
}

static int start(struct y4mout *w, const struct picture *p, struct merr *err)
{
        size_t cw = (p->width + 1) / 2, ch = (p->height + 1) / 2;
        w->frame_len = FRAME_TAG_LEN + (size_t)p->width * p->height + 2 * cw * ch;
        if (!(w->frame = malloc(w->frame_len)))
                return merr_set(err, -ENOMEM, "%s: out of memory", w->name);
        memcpy(w->frame, FRAME_TAG, FRAME_TAG_LEN);
        w->width = p->width;
        w->height = p->height;
        return 0;
}

int y4mout_write(struct y4mout *w, const struct picture *p, struct merr *err)
{
        if (w->failed)
                return merr_set(err, w->failed, "%s: output failed earlier", w->name);
        if (!p->width || !p->height)
                return merr_set(err, -EINVAL, "%s: empty picture", w->name);
        char header[96];
        int header_len = 0, rc;
        if (!w->width) {
                if ((rc = start(w, p, err)) < 0)
                        return rc;
                header_len =
                    snprintf(header, sizeof(header), "YUV4MPEG2 W%u H%u F%u:%u Ip A1:1 C420jpeg\n",
                             w->width, w->height, w->fps_num, w->fps_den);
        } else if (p->width != w->width || p->height != w->height) {
                /*
                 * The sender changed the size (congestion control codes smaller pictures when
                 * the rate falls). Y4M has one size for the stream: scaled back to the first.
                 */
                if (!w->scale_logged)
                        log_info("media",
                                 "%s: picture size changed from %ux%u to %ux%u; scaled to the "
                                 "first size, which Y4M cannot change",
                                 w->name, w->width, w->height, p->width, p->height);
                w->scale_logged = 1;
                if (picture_alloc(&w->scaled, w->width, w->height) < 0 ||
                    picture_scale(&w->scaled, p) < 0)
                        return merr_set(err, -ENOMEM, "%s: out of memory", w->name);
                p = &w->scaled;
        }
        unsigned cw = (w->width + 1) / 2, ch = (w->height + 1) / 2;
        uint8_t *d = w->frame + FRAME_TAG_LEN;
        d = pack_plane(d, w->width, w->height, p->plane[0], p->stride[0]);
        d = pack_plane(d, cw, ch, p->plane[1], p->stride[1]);
        pack_plane(d, cw, ch, p->plane[2], p->stride[2]);
        struct iovec iov[2] = {{.iov_base = header, .iov_len = (size_t)header_len},
                               {.iov_base = w->frame, .iov_len = w->frame_len}};
        if ((rc = outfd_write_all(w->fd, w->guard, iov, 2)) < 0) {
                w->failed = rc;
                if (rc == -EPIPE)
                        return merr_set(err, rc, "%s: the reader closed the pipe", w->name);
                return merr_set(err, rc, "%s: write failed: %s", w->name, strerror(-rc));
        }
        w->frames++;
        return 0;
}
