#include "media/wavout.h"

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

#define WAVE_FORMAT_PCM 1
#define UNKNOWN_SIZE    0xffffffffu

struct wavout {
        int fd;
        bool guard; /* a pipe or socket: writes may raise SIGPIPE */
        char *name; /* the path, or "stdout" */
        unsigned rate, channels;
        int seekable, closed;
        off_t start; /* where the header is: stdout may already be past 0 */
        uint64_t frames;
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

static int io_fail(struct wavout *w, int rc, struct merr *err)
{
        w->failed = rc;
        if (rc == -EPIPE)
                return merr_set(err, rc, "%s: the reader closed the pipe", w->name);
        return merr_set(err, rc, "%s: write failed: %s", w->name, strerror(-rc));
}

static int write_header(struct wavout *w, struct merr *err)
{
        uint8_t h[WAVOUT_HEADER_LEN];
        memcpy(h, "RIFF", 4);
        put_le32(h + 4, UNKNOWN_SIZE);
        memcpy(h + 8, "WAVEfmt ", 8);
        put_le32(h + 16, 16);
        put_le16(h + 20, WAVE_FORMAT_PCM);
        put_le16(h + 22, w->channels);
        put_le32(h + 24, w->rate);
        put_le32(h + 28, w->rate * w->channels * 2); /* bytes per second */
        put_le16(h + 32, w->channels * 2);           /* bytes per frame */
        put_le16(h + 34, 16);
        memcpy(h + 36, "data", 4);
        put_le32(h + 40, UNKNOWN_SIZE);
        struct iovec iov = {.iov_base = h, .iov_len = sizeof(h)};
        int rc = outfd_write_all(w->fd, w->guard, &iov, 1);
        return rc < 0 ? io_fail(w, rc, err) : 0;
}

int wavout_new(const char *path, unsigned rate, unsigned channels, struct wavout **out,
               struct merr *err)
{
        *out = NULL;
        int is_stdout = strcmp(path, "-") == 0;
        if (rate < 8000 || rate > 192000 || channels < 1 || channels > 2)
                return merr_set(err, -EINVAL,
                                "%s: %u Hz with %u channels cannot be written (8000..192000 Hz, "
                                "mono or stereo)",
                                path, rate, channels);
        struct wavout *w = calloc(1, sizeof(*w));
        if (!w || !(w->name = strdup(is_stdout ? "stdout" : path))) {
                free(w);
                return merr_set(err, -ENOMEM, "%s: out of memory", path);
        }
        w->rate = rate;
        w->channels = channels;
        w->closed = 1; /* nothing to finish until the file is open */
        w->fd =
            is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int rc = 0;
        if (w->fd < 0) {
                rc = merr_set(err, -errno, "%s: %s", path, strerror(errno));
        } else {
                w->guard = outfd_is_stream(w->fd);
                w->closed = 0;
                struct stat st;
                w->seekable = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode) &&
                              (w->start = lseek(w->fd, 0, SEEK_CUR)) >= 0;
                rc = write_header(w, err);
        }
        if (rc < 0) {
                wavout_free(w);
                return rc;
        }
        *out = w;
        return 0;
}

int wavout_write(struct wavout *w, const int16_t *pcm, size_t frames, struct merr *err)
{
        if (w->failed)
                return merr_set(err, w->failed, "%s: output failed earlier", w->name);
        if (w->closed)
                return merr_set(err, -EINVAL, "%s: already closed", w->name);
        size_t samples = frames * w->channels;
        int rc = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        struct iovec iov = {.iov_base = (void *)pcm, .iov_len = samples * 2};
        rc = outfd_write_all(w->fd, w->guard, &iov, 1);
#else
        for (size_t done = 0; done < samples && rc == 0;) {
                uint8_t le[4096];
                size_t n = samples - done < sizeof(le) / 2 ? samples - done : sizeof(le) / 2;
                for (size_t i = 0; i < n; i++)
                        put_le16(le + 2 * i, (uint16_t)pcm[done + i]);
                struct iovec iov = {.iov_base = le, .iov_len = n * 2};
                rc = outfd_write_all(w->fd, w->guard, &iov, 1);
                done += n;
        }
#endif
        if (rc < 0)
                return io_fail(w, rc, err);
        w->frames += frames;
        return 0;
}

uint64_t wavout_frames(const struct wavout *w)
{
        return w->frames;
}

int wavout_close(struct wavout *w, struct merr *err)
{
        if (w->closed)
                return 0;
        w->closed = 1;
        int rc = w->failed;
        if (rc) {
                merr_set(err, rc, "%s: output failed earlier", w->name);
        } else if (w->seekable) {
                uint64_t data = w->frames * w->channels * 2;
                uint8_t riff[4], size[4];
                put_le32(riff, data > UNKNOWN_SIZE - 36 ? UNKNOWN_SIZE : (uint32_t)(data + 36));
                put_le32(size, data > UNKNOWN_SIZE - 36 ? UNKNOWN_SIZE : (uint32_t)data);
                ssize_t a = pwrite(w->fd, riff, 4, w->start + 4);
                ssize_t b = a == 4 ? pwrite(w->fd, size, 4, w->start + 40) : a;
                if (a != 4 || b != 4)
                        rc = merr_set(err, a < 0 || b < 0 ? -errno : -EIO,
                                      "%s: cannot update the header: %s", w->name,
                                      a < 0 || b < 0 ? strerror(errno) : "short write");
        }
        if (w->fd > STDERR_FILENO && close(w->fd) < 0 && !rc)
                rc = merr_set(err, -errno, "%s: %s", w->name, strerror(errno));
        w->fd = -1;
        return rc;
}

void wavout_free(struct wavout *w)
{
        if (!w)
                return;
        if (wavout_close(w, NULL) < 0)
                log_debug("media", "%s: not finished cleanly", w->name);
        free(w->name);
        free(w);
}
