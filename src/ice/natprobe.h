/*
 * NAT behaviour discovery (RFC 5780) against one STUN server, sans-IO, for `rtcpeer probe`.
 *
 * From one local UDP socket (the base) it runs, one transaction at a time:
 *   test I      Binding to the server: the mapped address; equal to the base means no NAT.
 *   filtering   Binding with CHANGE-REQUEST "change IP and port", then "change port" only: which
 *               of the server's other addresses may reach us (endpoint-independent, address-
 *               dependent, address-and-port-dependent filtering).
 *   mapping     Binding to the other IP (test II), then to the other IP and port (test III):
 *               whether the mapping depends on the destination.
 * The filtering tests go first on purpose: the mapping tests send to the server's other IP, and
 * the permission that opens in the NAT would let the filtering answers through afterwards.
 * Without OTHER-ADDRESS in the first answer the server lacks RFC 5780 and only test I is run.
 * A filtering test that times out is an answer (the NAT dropped it), not a failure; hence the
 * short retransmission schedule (RTO 200 ms, 4 sends, 2.2 s per unanswered test).
 *
 * The shell owns the socket: it sends each TRANSMIT from the base and hands every datagram that
 * arrives on it, with its source address, to natprobe_handle_input. config.local must be the
 * concrete address of the base toward the server (after connect(), getsockname() tells it).
 */
#ifndef RTCPEER_ICE_NATPROBE_H
#define RTCPEER_ICE_NATPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define NATPROBE_DEFAULT_RTO_US 200000u
#define NATPROBE_DEFAULT_RC     4u
#define NATPROBE_DEFAULT_RM     4u
/* Largest request built here: header, CHANGE-REQUEST, FINGERPRINT. */
#define NATPROBE_MAX_REQUEST 64

enum natprobe_mapping {
        NATPROBE_MAPPING_UNKNOWN = 0,
        NATPROBE_MAPPING_ENDPOINT_INDEPENDENT,
        NATPROBE_MAPPING_ADDRESS_DEPENDENT,
        NATPROBE_MAPPING_ADDRESS_PORT_DEPENDENT,
};

enum natprobe_filtering {
        NATPROBE_FILTERING_UNKNOWN = 0,
        NATPROBE_FILTERING_ENDPOINT_INDEPENDENT,
        NATPROBE_FILTERING_ADDRESS_DEPENDENT,
        NATPROBE_FILTERING_ADDRESS_PORT_DEPENDENT,
};

/* Zero fields take the defaults above. */
struct natprobe_config {
        struct addr local;  /* the base, concrete address and port */
        struct addr server; /* the STUN server's primary address */
        uint64_t rto_us;
        unsigned rc; /* transmissions per test */
        unsigned rm; /* final wait, in RTOs */
};

struct natprobe_result {
        int error; /* 0, -ETIMEDOUT (test I unanswered), -EPROTO (test I refused or unusable) */
        bool mapped_valid;
        struct addr mapped; /* from test I */
        bool nat_present;
        bool rfc5780;      /* the server sent a usable OTHER-ADDRESS */
        struct addr other; /* that address */
        enum natprobe_mapping mapping;
        enum natprobe_filtering filtering;
        char note[96];     /* why something is unknown, or "" */
        char verdict[128]; /* one line for the user */
};

enum natprobe_output_kind {
        NATPROBE_OUT_TRANSMIT = 1, /* send data to `to` from the base */
        NATPROBE_OUT_DONE,         /* result is final; nothing more will come */
};

struct natprobe_output {
        enum natprobe_output_kind kind;
        struct addr to;
        uint8_t data[NATPROBE_MAX_REQUEST];
        size_t len;
        const struct natprobe_result *result; /* DONE: valid until natprobe_free */
};

struct natprobe;

/* Copies cfg. NULL on a NULL cfg or allocation failure. */
struct natprobe *natprobe_new(const struct natprobe_config *cfg);
void natprobe_free(struct natprobe *p);
/* Sends test I. Returns 0, -EINVAL (bad addresses, already started) or -ENOMEM. */
int natprobe_start(struct natprobe *p, uint64_t now_us);
/*
 * A datagram that arrived on the base. Returns 0 if it answered the test in progress, -EBADMSG
 * (not STUN or malformed) or -ENOENT (not a response to the test in progress: stray, late,
 * duplicate or after the end), in which case nothing changed.
 */
int natprobe_handle_input(struct natprobe *p, uint64_t now_us, const struct addr *from,
                          const uint8_t *data, size_t len);
/* 1 = *out filled, 0 = nothing queued, -EINVAL. */
int natprobe_poll_output(struct natprobe *p, struct natprobe_output *out);
/* UINT64_MAX when idle or done. */
uint64_t natprobe_next_deadline(const struct natprobe *p);
void natprobe_handle_timeout(struct natprobe *p, uint64_t now_us);
bool natprobe_done(const struct natprobe *p);
const struct natprobe_result *natprobe_result(const struct natprobe *p);

/* "endpoint-independent", "address-dependent", "address and port-dependent", "unknown". */
const char *natprobe_mapping_name(enum natprobe_mapping m);
const char *natprobe_filtering_name(enum natprobe_filtering f);

#endif
