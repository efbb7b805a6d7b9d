#include "cli/datapipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"

/* Stop reading stdin above this many unacknowledged bytes; memory stays flat whatever the input. */
#define SEND_HIGH (1024 * 1024)
/* Stop taking messages from SCTP while this much waits for a slow stdout. */
#define OUT_HIGH          (4 * 1024 * 1024)
#define OUT_LOW           (1024 * 1024)
#define CHUNK             (64 * 1024)
#define MAX_PEER_CHANNELS 64
/*
 * Pacing to the session's data budget (beside media): a token bucket holding up to 50 ms of
 * the budget, handed out in messages of at least one packet or 10 ms of it (fewer wake-ups at
 * high rates), so SCTP never gets more than a short burst ahead of its share.
 */
#define PACE_BURST_US 50000
#define PACE_CHUNK_US 10000

struct datapipe {
        struct datapipe_config cfg;
        struct loop *loop;
        struct session *session;
        struct buf pending_in;  /* read from stdin, not yet accepted by the channel */
        struct buf pending_out; /* received, not yet written to stdout */
        bool have_channel;
        uint16_t our_id;
        bool stdin_pollable, stdin_watched, stdin_eof, our_closed, our_close_sent;
        bool stdout_pollable, stdout_watched, paused;
        int in_flags, out_flags; /* to restore on exit */
        uint16_t peer_ids[MAX_PEER_CHANNELS];
        bool peer_closed[MAX_PEER_CHANNELS];
        size_t n_peer, n_peer_closed;
        bool peer_seen;
        uint64_t bytes_read, bytes_sent, bytes_received, bytes_written;
        uint64_t started;
        int tick;
        int read_timer;
        int pace_timer; /* waiting for tokens */
        double tokens;  /* bytes; meaningful while have_tokens */
        bool have_tokens;
        uint64_t tokens_at;
        bool failed;
};

static void set_nonblock(int fd, int *saved)
{
        int fl = fcntl(fd, F_GETFL);
        *saved = fl;
        if (fl >= 0 && !(fl & O_NONBLOCK))
                fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool pollable(int fd)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return false;
        return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(fd);
}

static void try_read(struct datapipe *d);

static void kick(struct datapipe *d)
{
        if (d->cfg.kick)
                d->cfg.kick(d->cfg.kick_arg);
}

static void on_stdin(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)fd;
        (void)events;
        try_read(arg);
        kick(arg);
}

static void on_read_timer(struct loop *loop, void *arg)
{
        (void)loop;
        struct datapipe *d = arg;
        d->read_timer = 0;
        try_read(d);
        kick(d);
}

static void on_pace_timer(struct loop *loop, void *arg)
{
        (void)loop;
        struct datapipe *d = arg;
        d->pace_timer = 0;
        try_read(d);
        kick(d);
}

/*
 * How much of a message of up to n bytes the budget lets out now; 0 after arming the timer for
 * when it does. Without a budget (no media beside, or SCTP on its own) everything goes.
 */
static size_t pace(struct datapipe *d, size_t n)
{
        uint32_t budget = session_dc_budget_bps(d->session);
        if (!budget) {
                d->have_tokens = false;
                return n;
        }
        uint64_t now = clock_now_us();
        double rate = budget / 8e6; /* bytes per µs */
        size_t packet = session_dc_max_unfragmented(d->session);
        double chunk = rate * PACE_CHUNK_US;
        if (chunk < (double)(packet ? packet : 1024))
                chunk = (double)(packet ? packet : 1024);
        double burst = rate * PACE_BURST_US > chunk ? rate * PACE_BURST_US : chunk;
        if (!d->have_tokens) {
                d->have_tokens = true;
                d->tokens = burst;
        } else if (now > d->tokens_at) {
                d->tokens += rate * (double)(now - d->tokens_at);
        }
        d->tokens_at = now;
        if (d->tokens > burst)
                d->tokens = burst;
        double need = (double)n < chunk ? (double)n : chunk;
        if (d->tokens < need) {
                if (!d->pace_timer) {
                        uint64_t wait = (uint64_t)((need - d->tokens) / rate) + 1;
                        int t = loop_add_timer(d->loop, now + wait, on_pace_timer, d);
                        d->pace_timer = t > 0 ? t : 0;
                }
                return 0;
        }
        return (double)n < d->tokens ? n : (size_t)d->tokens;
}

static void watch_stdin(struct datapipe *d, bool on)
{
        if (d->stdin_eof)
                on = false;
        if (d->stdin_pollable) {
                if (on && !d->stdin_watched)
                        d->stdin_watched =
                            loop_add_fd(d->loop, STDIN_FILENO, EPOLLIN, on_stdin, d) == 0;
                else if (!on && d->stdin_watched) {
                        loop_del_fd(d->loop, STDIN_FILENO);
                        d->stdin_watched = false;
                }
        } else if (on && !d->read_timer) {
                /* A file is always readable: read it from the loop so the session keeps running. */
                d->read_timer = loop_add_timer(d->loop, 0, on_read_timer, d);
        }
}

/* Hands what was read to the channel; false while the channel has no room. */
static bool send_pending(struct datapipe *d)
{
        size_t max = session_dc_max_message(d->session);
        if (d->cfg.options.reliability != DC_RELIABLE)
                max = session_dc_max_unfragmented(d->session);
        if (max == 0 || max > CHUNK)
                max = CHUNK;
        while (d->pending_in.len) {
                size_t n = pace(d, d->pending_in.len < max ? d->pending_in.len : max);
                if (n == 0)
                        return false; /* the pace timer brings us back */
                int rc = session_dc_send(d->session, clock_now_us(), d->our_id, true,
                                         d->pending_in.data, n);
                if (rc == -EAGAIN || rc == -ENOBUFS)
                        return false;
                if (rc < 0) {
                        log_error("data", "cannot send on the data channel: %s", strerror(-rc));
                        d->failed = true;
                        return false;
                }
                d->bytes_sent += n;
                if (d->have_tokens)
                        d->tokens -= (double)n;
                buf_consume(&d->pending_in, n);
        }
        return true;
}

static void maybe_close_ours(struct datapipe *d)
{
        if (d->stdin_eof && !d->pending_in.len && d->have_channel && !d->our_close_sent) {
                d->our_close_sent = true;
                log_debug("data", "end of input after %llu bytes: closing our channel",
                          (unsigned long long)d->bytes_read);
                session_dc_close(d->session, clock_now_us(), d->our_id);
        }
}

static void try_read(struct datapipe *d)
{
        if (!d->have_channel || d->failed)
                return;
        for (;;) {
                if (!send_pending(d) || session_dc_buffered(d->session) > SEND_HIGH) {
                        watch_stdin(d, false); /* BUFFERED_LOW or the pace timer: back */
                        return;
                }
                if (d->stdin_eof)
                        break;
                uint8_t buf[CHUNK];
                ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        watch_stdin(d, true);
                        return;
                }
                if (n <= 0) {
                        if (n < 0)
                                log_error("data", "reading standard input: %s", strerror(errno));
                        d->stdin_eof = true;
                        watch_stdin(d, false);
                        break;
                }
                d->bytes_read += (uint64_t)n;
                buf_append(&d->pending_in, buf, (size_t)n);
                if (!d->stdin_pollable) {
                        /* Let the loop breathe between chunks of a file. */
                        send_pending(d);
                        watch_stdin(d, true);
                        return;
                }
        }
        maybe_close_ours(d);
}

static void on_stdout(struct loop *loop, int fd, uint32_t events, void *arg);

static void flush_out(struct datapipe *d)
{
        while (d->pending_out.len) {
                ssize_t n = write(STDOUT_FILENO, d->pending_out.data, d->pending_out.len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        log_error("data", "writing standard output: %s", strerror(errno));
                        d->failed = true;
                        buf_reset(&d->pending_out);
                        break;
                }
                d->bytes_written += (uint64_t)n;
                buf_consume(&d->pending_out, (size_t)n);
        }
        bool want = d->pending_out.len > 0 && d->stdout_pollable;
        if (want && !d->stdout_watched)
                d->stdout_watched =
                    loop_add_fd(d->loop, STDOUT_FILENO, EPOLLOUT, on_stdout, d) == 0;
        else if (!want && d->stdout_watched) {
                loop_del_fd(d->loop, STDOUT_FILENO);
                d->stdout_watched = false;
        }
        if (!d->paused && d->pending_out.len > OUT_HIGH) {
                d->paused = true;
                session_dc_pause(d->session, true);
        } else if (d->paused && d->pending_out.len < OUT_LOW) {
                d->paused = false;
                session_dc_pause(d->session, false);
        }
}

static void on_stdout(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)fd;
        (void)events;
        flush_out(arg);
}

static void on_tick(struct loop *loop, void *arg)
{
        struct datapipe *d = arg;
        double secs = (double)(clock_now_us() - d->started) / 1e6;
        if (secs <= 0)
                secs = 1e-6;
        fprintf(stderr, "\rrtcpeer: sent %.1f MB (%.1f MB/s), received %.1f MB (%.1f MB/s)   ",
                (double)d->bytes_sent / 1e6, (double)d->bytes_sent / 1e6 / secs,
                (double)d->bytes_received / 1e6, (double)d->bytes_received / 1e6 / secs);
        d->tick = loop_add_timer(loop, clock_now_us() + 500000, on_tick, d);
}

int datapipe_new(const struct datapipe_config *cfg, struct loop *loop, struct session *session,
                 struct buf *leftover, struct datapipe **out)
{
        struct datapipe *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->cfg = *cfg;
        d->loop = loop;
        d->session = session;
        d->in_flags = d->out_flags = -1;
        d->stdin_pollable = pollable(STDIN_FILENO);
        d->stdout_pollable = pollable(STDOUT_FILENO);
        if (d->stdin_pollable)
                set_nonblock(STDIN_FILENO, &d->in_flags);
        if (d->stdout_pollable)
                set_nonblock(STDOUT_FILENO, &d->out_flags);
        if (leftover && leftover->len) {
                buf_append(&d->pending_in, leftover->data, leftover->len);
                d->bytes_read += leftover->len;
                buf_reset(leftover);
        }
        *out = d;
        return 0;
}

void datapipe_free(struct datapipe *d)
{
        if (!d)
                return;
        if (d->tick > 0) {
                loop_cancel_timer(d->loop, d->tick);
                fputc('\n', stderr);
        }
        if (d->read_timer > 0)
                loop_cancel_timer(d->loop, d->read_timer);
        if (d->pace_timer > 0)
                loop_cancel_timer(d->loop, d->pace_timer);
        if (d->stdin_watched)
                loop_del_fd(d->loop, STDIN_FILENO);
        if (d->stdout_watched)
                loop_del_fd(d->loop, STDOUT_FILENO);
        /* What is still waiting for stdout is written now, blocking: it was delivered to us. */
        if (d->out_flags >= 0)
                fcntl(STDOUT_FILENO, F_SETFL, d->out_flags);
        while (d->pending_out.len) {
                ssize_t n = write(STDOUT_FILENO, d->pending_out.data, d->pending_out.len);
                if (n <= 0 && errno != EINTR)
                        break;
                if (n > 0)
                        buf_consume(&d->pending_out, (size_t)n);
        }
        if (d->in_flags >= 0)
                fcntl(STDIN_FILENO, F_SETFL, d->in_flags);
        buf_free(&d->pending_in);
        buf_free(&d->pending_out);
        free(d);
}

static int peer_index(const struct datapipe *d, uint16_t id)
{
        for (size_t i = 0; i < d->n_peer; i++)
                if (d->peer_ids[i] == id)
                        return (int)i;
        return -1;
}

static bool is_peer_channel(const struct datapipe *d, uint16_t id)
{
        return peer_index(d, id) >= 0;
}

bool datapipe_done(const struct datapipe *d)
{
        bool sending_done = d->our_closed;
        bool receiving_done = d->peer_seen && d->n_peer_closed == d->n_peer;
        return sending_done && receiving_done && !d->pending_out.len;
}

bool datapipe_delivered(const struct datapipe *d)
{
        if (d->failed || !d->peer_seen)
                return false;
        bool sending_done =
            d->our_closed || (d->stdin_eof && !d->pending_in.len && d->our_close_sent &&
                              session_dc_sent_all(d->session, d->our_id));
        if (!sending_done)
                return false;
        for (size_t i = 0; i < d->n_peer; i++)
                if (!d->peer_closed[i] && !session_dc_peer_finished(d->session, d->peer_ids[i]))
                        return false;
        return true;
}

int datapipe_event(struct datapipe *d, const struct session_output *o)
{
        switch (o->event) {
        case SESSION_EV_DC_READY: {
                int rc = session_dc_open(d->session, clock_now_us(), d->cfg.label, &d->cfg.options,
                                         &d->our_id);
                if (rc < 0) {
                        log_error("data", "cannot open a data channel: %s", strerror(-rc));
                        d->failed = true;
                        return 0;
                }
                d->have_channel = true;
                d->started = clock_now_us();
                if (d->cfg.applied_us && d->started >= d->cfg.applied_us)
                        log_info("data",
                                 "data channel open in %.1f ms (\"%s\"): sending standard input",
                                 (double)(d->started - d->cfg.applied_us) / 1000.0, d->cfg.label);
                else
                        log_info("data", "data channel open (\"%s\"): sending standard input",
                                 d->cfg.label);
                if (d->cfg.progress)
                        d->tick = loop_add_timer(d->loop, clock_now_us() + 500000, on_tick, d);
                try_read(d);
                break;
        }
        case SESSION_EV_DC_OPEN:
                if (d->n_peer < MAX_PEER_CHANNELS) {
                        d->peer_ids[d->n_peer++] = o->dc_id;
                        d->peer_seen = true;
                }
                log_info("data",
                         "the peer opened data channel \"%s\": writing it to standard output",
                         o->dc_label);
                break;
        case SESSION_EV_DC_MESSAGE:
                if (!is_peer_channel(d, o->dc_id))
                        break;
                d->bytes_received += o->len;
                buf_append(&d->pending_out, o->data, o->len);
                flush_out(d);
                break;
        case SESSION_EV_DC_CLOSED:
                if (d->have_channel && o->dc_id == d->our_id) {
                        d->our_closed = true;
                        log_debug("data", "our channel is closed: sending is finished");
                } else if (is_peer_channel(d, o->dc_id)) {
                        d->peer_closed[peer_index(d, o->dc_id)] = true;
                        d->n_peer_closed++;
                        log_debug("data", "the peer's channel is closed");
                }
                break;
        case SESSION_EV_DC_BUFFERED_LOW:
                try_read(d);
                break;
        default:
                break;
        }
        flush_out(d);
        return datapipe_done(d) ? 1 : 0;
}

void datapipe_poll(struct datapipe *d)
{
        if (d->have_channel && !d->stdin_watched && !d->read_timer && !d->pace_timer &&
            !d->failed && session_dc_buffered(d->session) <= SEND_HIGH)
                try_read(d);
}

void datapipe_report(const struct datapipe *d, bool failed)
{
        if (!failed) {
                log_info("data", "sent %llu bytes, received %llu bytes",
                         (unsigned long long)d->bytes_sent, (unsigned long long)d->bytes_received);
                return;
        }
        size_t unacked = session_dc_buffered(d->session);
        unsigned long long acked =
            d->bytes_sent > unacked ? (unsigned long long)(d->bytes_sent - unacked) : 0;
        log_error(
            "data",
            "the session broke: %llu of %llu bytes read from stdin were delivered, %llu bytes "
            "were received",
            acked, (unsigned long long)d->bytes_read, (unsigned long long)d->bytes_received);
}

void datapipe_figures(const struct datapipe *d, char *out, size_t len)
{
        size_t unacked = session_dc_buffered(d->session);
        unsigned long long acked =
            d->bytes_sent > unacked ? (unsigned long long)(d->bytes_sent - unacked) : 0;
        snprintf(out, len,
                 "%llu of %llu bytes read from stdin were delivered, %llu bytes were received",
                 acked, (unsigned long long)d->bytes_read, (unsigned long long)d->bytes_received);
}
