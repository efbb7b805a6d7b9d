#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/clock.h"

#define LOOP_MAX_FDS     64
#define LOOP_MAX_TIMERS  64
#define LOOP_MAX_SIGNALS 8

struct loop_fd {
        int fd;
        loop_fd_cb cb;
        void *arg;
};

struct loop_timer {
        int id;
        uint64_t deadline;
        loop_timer_cb cb;
        void *arg;
        uint64_t pass; /* the pass of run_due_timers it was added in */
};

struct loop_sig {
        int signo;
        loop_signal_cb cb;
        void *arg;
};

struct loop {
        int epfd;
        int sigfd;
        sigset_t sigmask;
        struct loop_fd fds[LOOP_MAX_FDS];
        int nfds;
        struct loop_timer timers[LOOP_MAX_TIMERS];
        int ntimers;
        int next_timer_id;
        struct loop_sig sigs[LOOP_MAX_SIGNALS];
        int nsigs;
        bool stopped;
        int code;
        uint64_t pass;
};

struct loop *loop_new(void)
{
        struct loop *l = calloc(1, sizeof(*l));
        if (!l)
                return NULL;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->sigfd = -1;
        sigemptyset(&l->sigmask);
        if (l->epfd < 0) {
                free(l);
                return NULL;
        }
        return l;
}

void loop_free(struct loop *l)
{
        if (!l)
                return;
        /*
         * Signals stay blocked: a later loop (or the next phase of the program) picks them up
         * from its own signalfd instead of the default action killing the process in between.
         */
        if (l->sigfd >= 0)
                close(l->sigfd);
        close(l->epfd);
        free(l);
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
        if (l->nfds >= LOOP_MAX_FDS)
                return -ENOSPC;
        struct epoll_event ev = {.events = events, .data.fd = fd};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        l->fds[l->nfds++] = (struct loop_fd){fd, cb, arg};
        return 0;
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events)
{
        struct epoll_event ev = {.events = events, .data.fd = fd};
        return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del_fd(struct loop *l, int fd)
{
        for (int i = 0; i < l->nfds; i++) {
                if (l->fds[i].fd == fd) {
                        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
                        l->fds[i] = l->fds[--l->nfds];
                        return 0;
                }
        }
        return -ENOENT;
}

int loop_add_timer(struct loop *l, uint64_t deadline_us, loop_timer_cb cb, void *arg)
{
        if (l->ntimers >= LOOP_MAX_TIMERS)
                return -ENOSPC;
        int id = ++l->next_timer_id;
        if (id <= 0)
                id = l->next_timer_id = 1;
        /*
         * A deadline in the past counts from now: a timer that re-arms itself overdue (its owner
         * is behind) then queues behind the timers that were already waiting instead of
         * overtaking them again and again.
         */
        uint64_t now = clock_now_us();
        if (deadline_us < now)
                deadline_us = now;
        l->timers[l->ntimers++] = (struct loop_timer){id, deadline_us, cb, arg, l->pass};
        return id;
}

int loop_reschedule_timer(struct loop *l, int id, uint64_t deadline_us)
{
        for (int i = 0; i < l->ntimers; i++) {
                if (l->timers[i].id != id)
                        continue;
                /*
                 * A timer that is due stays due at its old deadline when moved to another past
                 * one, and keeps its pass: an owner that re-arms it from every callback of a
                 * timer that is always overdue (a slow encoder) would otherwise push it behind
                 * that timer forever.
                 */
                uint64_t now = clock_now_us();
                if (deadline_us <= now)
                        deadline_us = l->timers[i].deadline <= now ? l->timers[i].deadline : now;
                l->timers[i].deadline = deadline_us;
                return 0;
        }
        return -ENOENT;
}

void loop_cancel_timer(struct loop *l, int id)
{
        for (int i = 0; i < l->ntimers; i++) {
                if (l->timers[i].id == id) {
                        l->timers[i] = l->timers[--l->ntimers];
                        return;
                }
        }
}

static void on_signalfd(struct loop *l, int fd, uint32_t events, void *arg)
{
        (void)events;
        (void)arg;
        struct signalfd_siginfo si;
        while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                for (int i = 0; i < l->nsigs; i++)
                        if (l->sigs[i].signo == (int)si.ssi_signo)
                                l->sigs[i].cb(l, (int)si.ssi_signo, l->sigs[i].arg);
        }
}

int loop_add_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
        if (l->nsigs >= LOOP_MAX_SIGNALS)
                return -ENOSPC;
        sigaddset(&l->sigmask, signo);
        if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
                return -errno;
        int fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (l->sigfd < 0) {
                l->sigfd = fd;
                int rc = loop_add_fd(l, fd, EPOLLIN, on_signalfd, NULL);
                if (rc < 0)
                        return rc;
        }
        l->sigs[l->nsigs++] = (struct loop_sig){signo, cb, arg};
        return 0;
}

void loop_stop(struct loop *l, int code)
{
        l->stopped = true;
        l->code = code;
}

/*
 * Fires the timers that are due, earliest deadline first, but at most a bounded number per
 * pass: a timer that is always overdue (an encoder slower than real time) must not keep the
 * loop from reading its sockets and signals. Returns whether some timer is still due.
 */
static bool run_due_timers(struct loop *l)
{
        uint64_t now = clock_now_us();
        /* Timers added by this pass's callbacks wait for the next pass. */
        uint64_t pass = ++l->pass;
        for (int fired = 0; fired < 8 && !l->stopped; fired++) {
                int best = -1;
                for (int i = 0; i < l->ntimers; i++)
                        if (l->timers[i].deadline <= now && l->timers[i].pass != pass &&
                            (best < 0 || l->timers[i].deadline < l->timers[best].deadline))
                                best = i;
                if (best < 0)
                        return false;
                /* A callback may add or cancel timers: take this one out first. */
                struct loop_timer t = l->timers[best];
                l->timers[best] = l->timers[--l->ntimers];
                t.cb(l, t.arg);
        }
        return true;
}

int loop_run(struct loop *l)
{
        l->stopped = false;
        while (!l->stopped) {
                bool still_due = run_due_timers(l);
                if (l->stopped)
                        break;
                int timeout_ms = -1;
                if (still_due) {
                        timeout_ms = 0; /* look at the descriptors, then come back */
                } else if (l->ntimers) {
                        uint64_t next = CLOCK_NEVER, now = clock_now_us();
                        for (int i = 0; i < l->ntimers; i++)
                                if (l->timers[i].deadline < next)
                                        next = l->timers[i].deadline;
                        uint64_t wait = next > now ? next - now : 0;
                        timeout_ms = (int)((wait + 999) / 1000);
                        if (wait > 3600 * CLOCK_US_PER_SEC)
                                timeout_ms = 3600 * 1000;
                }
                struct epoll_event evs[16];
                int n = epoll_wait(l->epfd, evs, 16, timeout_ms);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n && !l->stopped; i++) {
                        /* Look the fd up again: an earlier callback may have removed it. */
                        for (int j = 0; j < l->nfds; j++) {
                                if (l->fds[j].fd == evs[i].data.fd) {
                                        struct loop_fd f = l->fds[j];
                                        f.cb(l, f.fd, evs[i].events, f.arg);
                                        break;
                                }
                        }
                }
        }
        return l->code;
}
