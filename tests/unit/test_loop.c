#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/loop.h"

static char order[16];
static size_t norder;

static void mark(struct loop *l, void *arg)
{
        order[norder++] = *(const char *)arg;
        if (norder == 3)
                loop_stop(l, 7);
}

static void test_timers_fire_in_deadline_order(void **state)
{
        (void)state;
        struct loop *l = loop_new();
        uint64_t now = clock_now_us();
        norder = 0;
        static const char a = 'a', b = 'b', c = 'c', d = 'd';
        loop_add_timer(l, now + 30000, mark, (void *)&c);
        loop_add_timer(l, now + 10000, mark, (void *)&a);
        int id = loop_add_timer(l, now + 15000, mark, (void *)&d);
        loop_add_timer(l, now + 20000, mark, (void *)&b);
        loop_cancel_timer(l, id);
        assert_int_equal(loop_run(l), 7);
        assert_memory_equal(order, "abc", 3);
        assert_true(clock_now_us() >= now + 30000);
        loop_free(l);
}

static void on_pipe(struct loop *l, int fd, uint32_t events, void *arg)
{
        (void)events;
        char buf[8];
        ssize_t n = read(fd, buf, sizeof(buf));
        *(ssize_t *)arg = n;
        loop_stop(l, 1);
}

static void test_fd_readiness(void **state)
{
        (void)state;
        int p[2];
        assert_int_equal(pipe(p), 0);
        struct loop *l = loop_new();
        ssize_t got = -1;
        assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, &got), 0);
        assert_int_equal(write(p[1], "hey", 3), 3);
        assert_int_equal(loop_run(l), 1);
        assert_int_equal(got, 3);
        assert_int_equal(loop_del_fd(l, p[0]), 0);
        assert_int_equal(loop_del_fd(l, p[0]), -ENOENT);
        loop_free(l);
        close(p[0]);
        close(p[1]);
}

static void on_sig(struct loop *l, int signo, void *arg)
{
        *(int *)arg = signo;
        loop_stop(l, 2);
}

static void test_signal_through_loop(void **state)
{
        (void)state;
        struct loop *l = loop_new();
        int got = 0;
        assert_int_equal(loop_add_signal(l, SIGUSR1, on_sig, &got), 0);
        kill(getpid(), SIGUSR1);
        assert_int_equal(loop_run(l), 2);
        assert_int_equal(got, SIGUSR1);
        loop_free(l);
}

static int overdue_runs;

static void always_overdue(struct loop *l, void *arg)
{
        (void)arg;
        overdue_runs++;
        loop_add_timer(l, 0, always_overdue, NULL); /* due again at once, like a slow encoder */
}

/* A timer that is always due must not starve the descriptors (nor the signals). */
static void test_overdue_timer_does_not_starve_fds(void **state)
{
        (void)state;
        int p[2];
        assert_int_equal(pipe(p), 0);
        struct loop *l = loop_new();
        ssize_t got = -1;
        overdue_runs = 0;
        loop_add_timer(l, 0, always_overdue, NULL);
        assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, &got), 0);
        assert_int_equal(write(p[1], "x", 1), 1);
        assert_int_equal(loop_run(l), 1);
        assert_int_equal(got, 1);
        assert_true(overdue_runs > 0 && overdue_runs < 1000);
        loop_free(l);
        close(p[0]);
        close(p[1]);
}

/* Re-arms itself with the same old deadline, as an owner whose deadline is stuck in the past. */
static uint64_t stuck_deadline;
static int stuck_runs;
static void stuck_timer(struct loop *l, void *arg)
{
        (void)arg;
        stuck_runs++;
        loop_add_timer(l, stuck_deadline, stuck_timer, NULL);
}

static void stop_timer(struct loop *l, void *arg)
{
        (void)arg;
        loop_stop(l, 7);
}

/*
 * An overdue timer that keeps re-arming itself with an old deadline must not starve an older
 * due timer whose deadline is later than that old one (a hang-up timer behind a session timer
 * stuck in the past kept a process alive for minutes).
 */
static void test_rearmed_overdue_timer_does_not_starve_timers(void **state)
{
        (void)state;
        struct loop *l = loop_new();
        uint64_t now = clock_now_us();
        stuck_deadline = now - 2000000;
        stuck_runs = 0;
        loop_add_timer(l, stuck_deadline, stuck_timer, NULL);
        loop_add_timer(l, now - 1000000, stop_timer, NULL);
        assert_int_equal(loop_run(l), 7);
        assert_true(stuck_runs >= 1 && stuck_runs < 100);
        loop_free(l);
}

/*
 * A slow encoder: its timer is always overdue, and each of its callbacks re-arms the session
 * timer (as every media frame does). The session timer must still fire.
 */
static int session_timer_id;
static int encoder_runs;
static void encoder_timer(struct loop *l, void *arg)
{
        (void)arg;
        encoder_runs++;
        if (encoder_runs > 1000) {
                loop_stop(l, 9); /* starved */
                return;
        }
        loop_add_timer(l, clock_now_us() - 50000, encoder_timer, NULL);
        /* Encoding takes a while; then, as peer.c's arm() does after each frame, the session's
         * deadline, already due, is set again. */
        uint64_t until = clock_now_us() + 1000;
        while (clock_now_us() < until)
                ;
        assert_int_equal(loop_reschedule_timer(l, session_timer_id, clock_now_us()), 0);
}

static void test_rescheduled_timer_is_not_starved_by_overdue_one(void **state)
{
        (void)state;
        struct loop *l = loop_new();
        uint64_t now = clock_now_us();
        encoder_runs = 0;
        loop_add_timer(l, now - 100000, encoder_timer, NULL);
        session_timer_id = loop_add_timer(l, now + 1000, stop_timer, NULL);
        assert_int_equal(loop_run(l), 7);
        assert_true(encoder_runs < 100);
        assert_int_equal(loop_reschedule_timer(l, session_timer_id, now), -ENOENT);
        loop_free(l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_timers_fire_in_deadline_order),
            cmocka_unit_test(test_fd_readiness),
            cmocka_unit_test(test_signal_through_loop),
            cmocka_unit_test(test_overdue_timer_does_not_starve_fds),
            cmocka_unit_test(test_rearmed_overdue_timer_does_not_starve_timers),
            cmocka_unit_test(test_rescheduled_timer_is_not_starved_by_overdue_one),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
