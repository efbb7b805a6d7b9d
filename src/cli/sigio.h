/*
 * Signaling I/O of the shell: reads the peer's description from stdin, a file, a FIFO or a
 * file descriptor, and writes ours, with a deadline, so that a slow paste or a peer that
 * appears later never breaks the session and a missing peer never hangs it.
 */
#ifndef RTCPEER_CLI_SIGIO_H
#define RTCPEER_CLI_SIGIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "sdp/frame.h"

struct sigio_in {
        const char *spec; /* NULL or "-": stdin; "fd:N"; otherwise a path */
        int fd;
        bool owned;
        bool is_tty;
        bool regular;
        bool from_path;
        struct buf leftover; /* bytes read after the description: the start of --data input */
        /* File status flags before we made the descriptor non-blocking: a terminal or a pipe is
         * shared with the shell that started us, so they are put back on close. */
        int saved_flags;
        bool flags_changed;
};

/*
 * Reads one description into fr. what names it in messages ("offer", "answer").
 * Returns 0, -ETIMEDOUT (deadline passed), -ENODATA (input ended first), -EINTR (SIGINT or
 * SIGTERM), -E2BIG, -EBADMSG (damaged token) or another negative code for an I/O error; on
 * failure a one-line reason has been logged.
 */
int sigio_read(struct sigio_in *in, uint64_t deadline_us, const char *what,
               struct frame_reader *fr);
void sigio_in_close(struct sigio_in *in);

/* Writes a framed description to spec (NULL or "-": stdout; "fd:N"; a path or a FIFO). */
int sigio_write(const char *spec, const char *text, size_t len, bool compact, uint64_t deadline_us);

#endif
