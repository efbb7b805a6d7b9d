/*
 * Writing a file or stream from the media outputs (Y4M, IVF, WAV): all of an iovec or an error,
 * and a reader that went away (a closed pipe) as -EPIPE rather than a SIGPIPE death.
 */
#ifndef RTCPEER_MEDIA_OUTFD_H
#define RTCPEER_MEDIA_OUTFD_H

#include <stdbool.h>
#include <sys/uio.h>

/* Whether writes to fd can raise SIGPIPE (a pipe or a socket): only those need the guard. */
bool outfd_is_stream(int fd);
/*
 * Writes all of iov (cnt entries; advanced in place) or fails with a negative errno. With
 * `guard`, SIGPIPE is blocked around the write so that a closed pipe comes back as -EPIPE
 * whatever the process does with the signal.
 */
int outfd_write_all(int fd, bool guard, struct iovec *iov, int cnt);

#endif
