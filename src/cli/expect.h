/*
 * Scripted calls: --expect CONDITION checks the final stats at the end of the call, and
 * --summary FILE writes one JSON object with the final stats, the setup times and the result of
 * every condition.
 *
 * A condition is NAME OP VALUE with OP one of = != < <= > >=. NAME uses the W3C webrtc-stats
 * names exactly as --stats prints them:
 *   transport.FIELD
 *   candidate-pair.selected.FIELD, candidate-pair.selected.local.FIELD,
 *   candidate-pair.selected.remote.FIELD        (the local/remote candidate of that pair)
 *   outbound-rtp.KIND.FIELD, remote-inbound-rtp.KIND.FIELD, inbound-rtp.KIND.FIELD  (audio|video)
 *   data-channel.FIELD      (counters summed over every channel; state and label must hold
 *                            for each channel)
 *   setup.STAGE             (milliseconds, see struct setup_times)
 * Names are checked against the fields stats_format() can print, so a misspelt name is refused
 * before the call instead of failing at its end.
 */
#ifndef RTCPEER_CLI_EXPECT_H
#define RTCPEER_CLI_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "session.h"

struct mediarecv;

/*
 * When each stage of the call was first reached (monotonic µs; 0 = never). The summary and
 * setup.* conditions give them in ms since both descriptions were applied (`applied`), except
 * gatheringDone, which counts from the start of gathering: rtcpeer writes complete
 * descriptions, so gathering always ends before they can be applied.
 */
struct setup_times {
        uint64_t gather_start, gathering_done;
        uint64_t applied;
        uint64_t ice_connected;  /* the first selected pair */
        uint64_t dtls_connected; /* handshake done, fingerprint verified */
        uint64_t srtp_ready;     /* SRTP keyed: media may flow */
        uint64_t channel_open;   /* our data channel or the peer's, whichever opened first */
        uint64_t established;    /* the session counts as up: --duration starts here */
        uint64_t first_rtp_sent, first_rtp_received, first_frame_decoded;
        uint64_t ended; /* the call is over */
};

/* Notes the stages that session events mark; own_channel: we open a channel at DC_READY. */
void expect_note_event(struct setup_times *t, uint64_t now, const struct session_output *o,
                       bool own_channel);
/* After media was handed to the session: notes the first RTP packet sent. */
void expect_note_sent(struct setup_times *t, uint64_t now, const struct session *s);
/* After a received frame went to the decoders: notes the first one decoded. */
void expect_note_decoded(struct setup_times *t, uint64_t now, const struct mediarecv *m);

enum expect_op { EXPECT_EQ, EXPECT_NE, EXPECT_LT, EXPECT_LE, EXPECT_GT, EXPECT_GE };

struct expect_cond {
        char text[256]; /* as given */
        char name[128]; /* the part before the operator */
        char type[64];  /* "inbound-rtp", ..., "setup" */
        char kind[8];   /* "audio", "video", or "" */
        int candidate;  /* candidate-pair: 0 the pair, 1 its local, 2 its remote candidate */
        char field[64];
        enum expect_op op;
        bool numeric; /* the field is a number (else a string or true/false) */
        double num;
        char str[128];
};

/* Parses CONDITION and checks its name; 0, or -EINVAL with one line in err. */
int expect_parse(const char *text, struct expect_cond *out, char *err, size_t errlen);

struct expect_value {
        bool present; /* false: the call never produced this figure */
        bool numeric;
        double num;
        char str[128];
};

/*
 * Evaluates c against a line of stats_format() output (NULL when the call ended before its
 * session started) and the setup times. Returns 1 when it holds, 0 when not, -EBADMSG when
 * the stats line cannot be read. *seen gets the value compared.
 */
int expect_eval(const struct expect_cond *c, const char *stats, size_t len,
                const struct setup_times *t, struct expect_value *seen);

/* The --summary object (one line, no newline) for a call that ended with exit_code. */
int expect_summary(const struct cli_opts *opts, int exit_code, const struct setup_times *t,
                   const char *stats, size_t len, struct buf *out);

/*
 * At the end of a call: evaluates every --expect (one error line per failed condition),
 * writes --summary, and returns the exit code: the call's own when it failed, else
 * EXIT_EXPECT_FAILED when a condition failed or EXIT_FAILURE_INTERNAL when the summary could
 * not be written. final_stats holds the final stats line (may be empty).
 */
int expect_finish(const struct cli_opts *opts, int exit_code, const struct setup_times *t,
                  const struct buf *final_stats);

#endif
