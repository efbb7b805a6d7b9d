/*
 * The shell's event loop: epoll for descriptors, a deadline list for timers, signalfd for
 * signals. Single-threaded; callbacks run from loop_run() only, never re-entrantly.
 */
#ifndef RTCPEER_CORE_LOOP_H
#define RTCPEER_CORE_LOOP_H

#include <stdint.h>

struct loop;

/* events: EPOLLIN/EPOLLOUT/EPOLLHUP... as reported by epoll. */
typedef void (*loop_fd_cb)(struct loop *loop, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *loop, void *arg);
typedef void (*loop_signal_cb)(struct loop *loop, int signo, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Regular files cannot be polled; callers read them directly. Returns -EPERM for them. */
int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *loop, int fd, uint32_t events);
int loop_del_fd(struct loop *loop, int fd);

/* One-shot timer at an absolute clock_now_us() deadline. Returns an id > 0 or a negative code. */
int loop_add_timer(struct loop *loop, uint64_t deadline_us, loop_timer_cb cb, void *arg);
void loop_cancel_timer(struct loop *loop, int id);
/*
 * Moves a pending timer to a new deadline, keeping its place among due timers when both the
 * old and the new deadline have passed. Returns 0, or -ENOENT when it already fired or was
 * cancelled. Owners that re-arm one timer from many places use this rather than cancel + add.
 */
int loop_reschedule_timer(struct loop *loop, int id, uint64_t deadline_us);

/*
 * Blocks the signal for the process and delivers it through the loop. It stays blocked after
 * loop_free, so a signal that arrives between two loops waits for the next one.
 */
int loop_add_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg);

/* Runs until loop_stop(); returns the code given to loop_stop(). */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop, int code);

#endif
