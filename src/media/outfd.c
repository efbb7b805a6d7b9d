#include "media/outfd.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool outfd_is_stream(int fd)
{
        struct stat st;
        return fstat(fd, &st) != 0 || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

/*
 * Writes all of iov or fails. SIGPIPE is blocked around the write so that a closed pipe comes back
 * as EPIPE; the signal the write raised is then taken off the pending set, unless one was pending
 * already (that one belongs to someone else). A non-blocking descriptor is waited on.
 */
int outfd_write_all(int fd, bool guard, struct iovec *iov, int cnt)
{
        sigset_t pipe_set, old, pending;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        int was_pending = 0;
        /* Files and /dev/null cannot raise SIGPIPE: no system calls spent on them. */
        if (guard) {
                pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
                was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
        }
        int rc = 0;
        for (;;) {
                while (cnt > 0 && iov->iov_len == 0) {
                        iov++;
                        cnt--;
                }
                if (cnt == 0)
                        break;
                ssize_t n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                        poll(&pfd, 1, -1);
                        continue;
                }
                if (n <= 0) {
                        rc = n < 0 ? -errno : -EIO;
                        break;
                }
                for (size_t left = (size_t)n; left;) {
                        size_t step = left < iov->iov_len ? left : iov->iov_len;
                        iov->iov_base = (uint8_t *)iov->iov_base + step;
                        iov->iov_len -= step;
                        left -= step;
                        if (iov->iov_len == 0) {
                                iov++;
                                cnt--;
                        }
                }
        }
        if (guard) {
                if (rc == -EPIPE && !was_pending) {
                        const struct timespec zero = {0};
                        sigtimedwait(&pipe_set, NULL, &zero);
                }
                pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        return rc;
}
