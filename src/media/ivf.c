#include "media/ivf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "media/outfd.h"
#include "rtp/vp8.h"

struct ivf_writer {
        int fd;
        bool guard; /* a pipe or socket: writes may raise SIGPIPE */
        char *name; /* the path, or "stdout" */
        int seekable;
        off_t start; /* where the header is: stdout may already be past 0 */
        unsigned width, height;
        int header_done, have_key, closed, skip_logged;
        uint64_t first_pts;
        unsigned long frames;
        int failed; /* sticky error code */
};

static void put_le16(uint8_t *p, unsigned v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static int io_fail(struct ivf_writer *w, int rc, struct merr *err)
{
        w->failed = rc;
        if (rc == -EPIPE)
                return merr_set(err, rc, "%s: the reader closed the pipe", w->name);
        return merr_set(err, rc, "%s: write failed: %s", w->name, strerror(-rc));
}

static int write_header(struct ivf_writer *w, struct merr *err)
{
        uint8_t h[IVF_HEADER_LEN] = "DKIF";
        put_le16(h + 4, 0); /* version */
        put_le16(h + 6, IVF_HEADER_LEN);
        memcpy(h + 8, "VP80", 4);
        put_le16(h + 12, w->width);
        put_le16(h + 14, w->height);
        put_le32(h + 16, IVF_TIMEBASE); /* rate: the time base is scale / rate seconds */
        put_le32(h + 20, 1);            /* scale */
        put_le32(h + 24, 0);            /* frame count, patched at close when seekable */
        struct iovec iov = {.iov_base = h, .iov_len = sizeof(h)};
        int rc = outfd_write_all(w->fd, w->guard, &iov, 1);
        if (rc < 0)
                return io_fail(w, rc, err);
        w->header_done = 1;
        return 0;
}

int ivf_writer_new(const char *path, unsigned width, unsigned height, struct ivf_writer **out,
                   struct merr *err)
{
        *out = NULL;
        int is_stdout = strcmp(path, "-") == 0;
        if (width > UINT16_MAX || height > UINT16_MAX)
                return merr_set(err, -EINVAL, "%s: picture size %ux%u too large for IVF", path,
                                width, height);
        struct ivf_writer *w = calloc(1, sizeof(*w));
        if (!w || !(w->name = strdup(is_stdout ? "stdout" : path))) {
                free(w);
                return merr_set(err, -ENOMEM, "%s: out of memory", path);
        }
        w->closed = 1; /* nothing to finish until the file is open */
        w->fd =
            is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int rc = 0;
        if (w->fd < 0) {
                rc = merr_set(err, -errno, "%s: %s", path, strerror(errno));
                goto out;
        }
        w->guard = outfd_is_stream(w->fd);
        w->closed = 0;
        struct stat st;
        w->seekable = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode) &&
                      (w->start = lseek(w->fd, 0, SEEK_CUR)) >= 0;
        if (width && height) {
                w->width = width;
                w->height = height;
                rc = write_header(w, err);
        }
out:
        if (rc < 0) {
                ivf_writer_free(w);
                return rc;
        }
        *out = w;
        return 0;
}

int ivf_writer_write(struct ivf_writer *w, const uint8_t *frame, size_t len, uint64_t pts,
                     struct merr *err)
{
        if (w->failed)
                return merr_set(err, w->failed, "%s: output failed earlier", w->name);
        if (w->closed)
                return merr_set(err, -EINVAL, "%s: already closed", w->name);
        if (len == 0 || len > UINT32_MAX)
                return merr_set(err, -EINVAL, "%s: bad frame length %zu", w->name, len);
        int rc;
        if (!w->have_key) {
                struct vp8_frame_header h;
                if (vp8_frame_header_parse(&h, frame, len) < 0 || !h.keyframe) {
                        if (!w->skip_logged)
                                log_debug("media", "%s: skipping frames until a key frame",
                                          w->name);
                        w->skip_logged = 1;
                        return 0;
                }
                if (!w->header_done) {
                        w->width = h.width;
                        w->height = h.height;
                        if ((rc = write_header(w, err)) < 0)
                                return rc;
                }
                w->have_key = 1;
                w->first_pts = pts;
        }
        uint8_t fh[IVF_FRAME_HEADER_LEN];
        uint64_t rel = pts >= w->first_pts ? pts - w->first_pts : 0;
        put_le32(fh, (uint32_t)len);
        put_le32(fh + 4, (uint32_t)rel);
        put_le32(fh + 8, (uint32_t)(rel >> 32));
        struct iovec iov[2] = {{.iov_base = fh, .iov_len = sizeof(fh)},
                               {.iov_base = (void *)frame, .iov_len = len}};
        if ((rc = outfd_write_all(w->fd, w->guard, iov, 2)) < 0)
                return io_fail(w, rc, err);
        w->frames++;
        return 0;
}

unsigned long ivf_writer_frames(const struct ivf_writer *w)
{
        return w->frames;
}

int ivf_writer_close(struct ivf_writer *w, struct merr *err)
{
        if (w->closed)
                return 0;
        w->closed = 1;
        int rc = w->failed;
        if (rc)
                merr_set(err, rc, "%s: output failed earlier", w->name);
        else if (!w->header_done)
                rc = write_header(w, err);
        if (!rc && w->seekable) {
                uint8_t n[4];
                put_le32(n, w->frames > UINT32_MAX ? UINT32_MAX : (uint32_t)w->frames);
                ssize_t done = pwrite(w->fd, n, 4, w->start + 24);
                if (done != 4)
                        rc = merr_set(err, done < 0 ? -errno : -EIO,
                                      "%s: cannot update the header: %s", w->name,
                                      done < 0 ? strerror(errno) : "short write");
        }
        if (w->fd > STDERR_FILENO && close(w->fd) < 0 && !rc)
                rc = merr_set(err, -errno, "%s: %s", w->name, strerror(errno));
        w->fd = -1;
        return rc;
}

void ivf_writer_free(struct ivf_writer *w)
{
        if (!w)
                return;
        if (ivf_writer_close(w, NULL) < 0)
                log_debug("media", "%s: not finished cleanly", w->name);
        free(w->name);
        free(w);
}
