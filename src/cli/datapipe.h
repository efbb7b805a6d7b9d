/*
 * --data: standard input goes out on a data channel of ours, messages on the peer's channels
 * come out on standard output, byte-exact and in order. Each side sends on its own channel so
 * that each direction ends on its own (like a half-closed TCP connection): the end of stdin
 * closes our channel once everything before it is delivered, and the session hangs up when
 * both directions are finished.
 *
 * On a partially reliable channel (--max-retransmits, --max-lifetime) a message is lost as a
 * whole when one of its packets is, so there each message is at most one packet: what one read
 * of standard input returned, split where it does not fit.
 */
#ifndef RTCPEER_CLI_DATAPIPE_H
#define RTCPEER_CLI_DATAPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "session.h"

struct loop;
struct datapipe;

struct datapipe_config {
        const char *label;
        struct dc_options options;
        bool progress; /* redraw a progress line on stderr (a terminal) */
        /* When both descriptions were applied (clock_now_us): the open is logged as "data
         * channel open in N ms" from it. 0: not known, no time in the line. */
        uint64_t applied_us;
        /*
         * Called after the pipe handed data to the session from one of its own loop callbacks
         * (standard input readable, the file read timer): the caller must then send what the
         * session queued and re-arm its timers, as after any other input.
         */
        void (*kick)(void *arg);
        void *kick_arg;
};

/* leftover: bytes read from stdin after the description (consumed). */
int datapipe_new(const struct datapipe_config *cfg, struct loop *loop, struct session *session,
                 struct buf *leftover, struct datapipe **out);
void datapipe_free(struct datapipe *d);
/* Feeds a session event; returns 1 when both directions are finished (time to hang up). */
int datapipe_event(struct datapipe *d, const struct session_output *o);
/* Called after every batch of session work: resumes reading when the buffer has room. */
void datapipe_poll(struct datapipe *d);
bool datapipe_done(const struct datapipe *d);
/*
 * For when the peer hangs up before datapipe_done: true if nothing was lost anyway. The answer
 * to the last stream reset can be lost as the other side, already finished, hangs up; what
 * matters is that the peer acknowledged all we sent and reset every channel it sent on.
 */
bool datapipe_delivered(const struct datapipe *d);
/* One line for the end of a broken session: how much went each way. */
/* "N of M bytes read from stdin were delivered, K bytes were received", for one error line. */
void datapipe_figures(const struct datapipe *d, char *out, size_t len);
void datapipe_report(const struct datapipe *d, bool failed);

#endif
