#include "cli/sigio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"

#define POLL_INTERVAL_US (100 * 1000)
/* A signaling file that stops growing for this long without an end marker is taken as whole. */
#define FILE_SETTLE_US (1000 * 1000)

static int parse_fd_spec(const char *spec)
{
        if (strncmp(spec, "fd:", 3) != 0)
                return -1;
        char *end;
        long v = strtol(spec + 3, &end, 10);
        if (end == spec + 3 || *end || v < 0 || v > 65535)
                return -2;
        return (int)v;
}

static bool is_stdio(const char *spec)
{
        return !spec || strcmp(spec, "-") == 0;
}

struct read_ctx {
        struct sigio_in *in;
        struct frame_reader *fr;
        const char *what;
        int result;
        int timer;
        uint64_t last_growth;
        uint64_t deadline;
};

static int feed(struct read_ctx *c, const uint8_t *data, size_t n)
{
        size_t used;
        int rc = frame_reader_feed(c->fr, data, n, &used);
        if (rc == 1 && used < n) {
                int arc = buf_append(&c->in->leftover, data + used, n - used);
                if (arc < 0)
                        return arc;
        }
        return rc;
}

/* Reads what is available. Returns 1 done, 0 more needed, -ENODATA-like codes at EOF/error. */
static int pump(struct read_ctx *c, bool *eof)
{
        uint8_t tmp[4096];
        *eof = false;
        for (;;) {
                ssize_t n = read(c->in->fd, tmp, sizeof(tmp));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return -errno;
                }
                if (n == 0) {
                        *eof = true;
                        return 0;
                }
                c->last_growth = clock_now_us();
                int rc = feed(c, tmp, (size_t)n);
                if (rc != 0)
                        return rc;
        }
}

static void finish(struct loop *loop, struct read_ctx *c, int result)
{
        c->result = result;
        loop_stop(loop, 0);
}

static void on_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)fd;
        (void)events;
        struct read_ctx *c = arg;
        bool eof;
        int rc = pump(c, &eof);
        if (rc == 0 && eof)
                rc = frame_reader_eof(c->fr);
        if (rc != 0)
                finish(loop, c, rc > 0 ? 0 : rc);
}

static void on_deadline(struct loop *loop, void *arg)
{
        struct read_ctx *c = arg;
        c->timer = 0;
        finish(loop, c, -ETIMEDOUT);
}

static void on_signal(struct loop *loop, int signo, void *arg)
{
        (void)signo;
        finish(loop, arg, -EINTR);
}

/* Regular files cannot be polled: read, then look again on a timer until the text is whole. */
static void on_file_tick(struct loop *loop, void *arg)
{
        struct read_ctx *c = arg;
        bool eof;
        int rc = pump(c, &eof);
        if (rc == 0 && eof) {
                bool settled = clock_now_us() - c->last_growth >= FILE_SETTLE_US;
                /* stdin redirected from a file is complete at EOF; a --signal-in file may still
                 * grow. */
                if (!c->in->from_path || (c->fr->started && settled))
                        rc = frame_reader_eof(c->fr);
        }
        if (rc != 0) {
                finish(loop, c, rc > 0 ? 0 : rc);
                return;
        }
        loop_add_timer(loop, clock_now_us() + POLL_INTERVAL_US, on_file_tick, c);
}

static void on_open_tick(struct loop *loop, void *arg);

static int open_in(struct sigio_in *in)
{
        if (is_stdio(in->spec)) {
                in->fd = STDIN_FILENO;
                in->owned = false;
        } else {
                int fdn = parse_fd_spec(in->spec);
                if (fdn == -2)
                        return -EINVAL;
                if (fdn >= 0) {
                        in->fd = fdn;
                        in->owned = false;
                } else {
                        in->fd = open(in->spec, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                        if (in->fd < 0)
                                return -errno;
                        in->owned = true;
                        in->from_path = true;
                }
        }
        struct stat st;
        if (fstat(in->fd, &st) < 0)
                return -errno;
        in->regular = S_ISREG(st.st_mode);
        in->is_tty = isatty(in->fd);
        if (!in->regular) {
                int fl = fcntl(in->fd, F_GETFL);
                if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(in->fd, F_SETFL, fl | O_NONBLOCK) == 0) {
                        in->saved_flags = fl;
                        in->flags_changed = true;
                }
        }
        return 0;
}

static int start_reading(struct loop *loop, struct read_ctx *c)
{
        if (c->in->regular) {
                loop_add_timer(loop, 0, on_file_tick, c);
                return 0;
        }
        int rc = loop_add_fd(loop, c->in->fd, EPOLLIN, on_readable, c);
        if (rc == -EPERM) {
                /* Not pollable (/dev/null, some character devices): read it like a file. */
                c->in->regular = true;
                loop_add_timer(loop, 0, on_file_tick, c);
                return 0;
        }
        if (rc < 0)
                return rc;
        if (c->in->is_tty)
                fprintf(stderr,
                        "rtcpeer: waiting for the %s: paste it, then an empty line (or Ctrl-D)\n",
                        c->what);
        else
                log_debug("signal", "waiting for the %s", c->what);
        return 0;
}

static void on_open_tick(struct loop *loop, void *arg)
{
        struct read_ctx *c = arg;
        int rc = open_in(c->in);
        if (rc == -ENOENT) {
                loop_add_timer(loop, clock_now_us() + POLL_INTERVAL_US, on_open_tick, c);
                return;
        }
        if (rc == 0)
                rc = start_reading(loop, c);
        if (rc < 0) {
                log_error("signal", "cannot read %s: %s", c->in->spec, strerror(-rc));
                finish(loop, c, rc);
        }
}

int sigio_read(struct sigio_in *in, uint64_t deadline_us, const char *what, struct frame_reader *fr)
{
        /* A loop of its own: signaling happens before the session's sockets are live. */
        struct loop *loop = loop_new();
        if (!loop)
                return -ENOMEM;
        int rc;
        struct read_ctx c = {.in = in, .fr = fr, .what = what, .result = 0};
        c.last_growth = clock_now_us();
        c.deadline = deadline_us;
        in->fd = -1;

        rc = open_in(in);
        if (rc == -ENOENT && !is_stdio(in->spec) && parse_fd_spec(in->spec) < 0) {
                log_info("signal", "waiting for %s to appear", in->spec);
                loop_add_timer(loop, clock_now_us() + POLL_INTERVAL_US, on_open_tick, &c);
        } else if (rc < 0) {
                log_error("signal", "cannot read the %s from %s: %s", what,
                          is_stdio(in->spec) ? "stdin" : in->spec, strerror(-rc));
                loop_free(loop);
                return rc;
        } else {
                rc = start_reading(loop, &c);
                if (rc < 0) {
                        log_error("signal", "cannot wait for the %s: %s", what, strerror(-rc));
                        loop_free(loop);
                        return rc;
                }
        }
        c.timer = loop_add_timer(loop, deadline_us, on_deadline, &c);
        loop_add_signal(loop, SIGINT, on_signal, &c);
        loop_add_signal(loop, SIGTERM, on_signal, &c);
        loop_run(loop);
        loop_free(loop);
        return c.result;
}

void sigio_in_close(struct sigio_in *in)
{
        if (in->flags_changed && in->fd >= 0)
                fcntl(in->fd, F_SETFL, in->saved_flags);
        in->flags_changed = false;
        if (in->owned && in->fd >= 0)
                close(in->fd);
        in->fd = -1;
        buf_free(&in->leftover);
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t deadline_us)
{
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        uint64_t now = clock_now_us();
                        if (now >= deadline_us)
                                return -ETIMEDOUT;
                        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                        uint64_t left = (deadline_us - now) / 1000;
                        poll(&pfd, 1, left > 1000 ? 1000 : (int)left + 1);
                        continue;
                }
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* A FIFO has no reader yet: O_NONBLOCK open fails with ENXIO; try again until the deadline. */
static int open_fifo_writer(const char *path, uint64_t deadline_us)
{
        for (;;) {
                int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd >= 0)
                        return fd;
                if (errno != ENXIO)
                        return -errno;
                if (clock_now_us() >= deadline_us)
                        return -ETIMEDOUT;
                usleep(POLL_INTERVAL_US);
        }
}

int sigio_write(const char *spec, const char *text, size_t len, bool compact, uint64_t deadline_us)
{
        struct buf out = BUF_INIT;
        int rc = frame_write(text, len, compact, &out);
        if (rc < 0)
                goto done;
        if (is_stdio(spec)) {
                rc = write_all(STDOUT_FILENO, out.data, out.len, deadline_us);
                goto done;
        }
        int fdn = parse_fd_spec(spec);
        if (fdn == -2) {
                rc = -EINVAL;
                goto done;
        }
        if (fdn >= 0) {
                rc = write_all(fdn, out.data, out.len, deadline_us);
                goto done;
        }
        struct stat st;
        if (stat(spec, &st) == 0 && S_ISFIFO(st.st_mode)) {
                int fd = open_fifo_writer(spec, deadline_us);
                if (fd < 0) {
                        rc = fd;
                        goto done;
                }
                rc = write_all(fd, out.data, out.len, deadline_us);
                close(fd);
                goto done;
        }
        /* A regular file is written whole and renamed into place, so a reader never sees half. */
        char tmp[4096];
        if (snprintf(tmp, sizeof(tmp), "%s.tmp%d", spec, (int)getpid()) >= (int)sizeof(tmp)) {
                rc = -ENAMETOOLONG;
                goto done;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                rc = -errno;
                goto done;
        }
        rc = write_all(fd, out.data, out.len, deadline_us);
        if (close(fd) < 0 && rc == 0)
                rc = -errno;
        if (rc == 0 && rename(tmp, spec) < 0)
                rc = -errno;
        if (rc < 0)
                unlink(tmp);
done:
        buf_free(&out);
        return rc;
}
