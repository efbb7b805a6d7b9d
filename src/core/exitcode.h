/*
 * Exit codes of the rtcpeer binary. The man page (man/rtcpeer.1.scd) and README mirror this
 * table; scripts rely on it, so a code never changes meaning once released.
 */
#ifndef RTCPEER_CORE_EXITCODE_H
#define RTCPEER_CORE_EXITCODE_H

enum exit_code {
        EXIT_OK = 0,
        EXIT_FAILURE_INTERNAL = 1, /* out of memory, I/O error, a bug */
        EXIT_USAGE = 2,            /* bad command line */
        EXIT_BAD_SDP = 3,          /* malformed or oversized session description */
        EXIT_INCOMPATIBLE = 4,     /* nothing in the peer's description that we can accept */
        EXIT_NO_DESCRIPTION = 5,   /* signaling input ended before a description arrived */
        EXIT_SIGNAL_TIMEOUT = 6,   /* --timeout passed while waiting for the peer's description */
        EXIT_UNSUPPORTED = 7,      /* an option that this version does not implement yet */
        EXIT_SIGNALING = 8,        /* --listen/--connect: HTTP signaling failed or was refused */
        EXIT_ICE_FAILED = 10,      /* no path to the peer, or the peer stopped answering */
        EXIT_DTLS_FAILED = 11,     /* DTLS handshake failed or timed out */
        EXIT_FINGERPRINT = 12,     /* peer certificate does not match the SDP fingerprint */
        EXIT_DEVICE = 13,          /* camera, microphone or file source/sink failed */
        EXIT_TURN = 14,            /* TURN server unreachable or refused the allocation */
        EXIT_DATA_INCOMPLETE = 15, /* --data: the peer hung up before both directions finished */
        EXIT_EXPECT_FAILED = 16,   /* --expect: a condition did not hold at the end of the call */
        EXIT_INTERRUPTED = 130,    /* SIGINT before a session was established */
};

const char *exit_code_name(int code);

#endif
