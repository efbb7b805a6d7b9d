/*
 * Resolution of mDNS host names (RFC 6762) in remote ICE candidates. Browsers hide host
 * addresses behind names like "1f4712db-ea17-4bcf-a596-105139dfd8bf.local"; this module turns
 * such a name into an address, sans-IO: it builds query datagrams, parses response datagrams and
 * keeps the retry schedule, while the shell owns the socket and the clock.
 *
 * The DNS codec covers only what that needs: a query for the A and AAAA records of one name, and
 * responses whose A/AAAA records are extracted (answer, authority and additional sections, with
 * name compression). Every other record is parsed for well-formedness and skipped.
 *
 * How the shell should open its socket: one ordinary UDP socket on an ephemeral port (no
 * SO_REUSEADDR, no bind to 5353, no multicast group membership), sending each SEND_QUERY to the
 * address given in it (224.0.0.251:5353, or [ff02::fb]:5353 with the interface as scope). A query
 * from a source port other than 5353 is a "legacy unicast" one-shot query (RFC 6762 §5.1, §6.7):
 * responders answer it by unicast to the query's source address and port, so the reply arrives on
 * that same socket and no other mDNS software on the host (avahi, systemd-resolved) is disturbed.
 * Set IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS to 255 (RFC 6762 §11) and, on a multi-homed host,
 * IP_MULTICAST_IF to the interface that faces the peer. Hand every datagram that arrives on the
 * socket with source port 5353 to mdns_handle_input (responses from any other port are not mDNS,
 * RFC 6762 §6); the module itself ignores anything that is not an answer to a pending name.
 * A responder that ignores legacy unicast and answers only by multicast is not heard this way;
 * for that case a second socket bound to *:5353 with SO_REUSEADDR, joined to the group, feeds
 * the same function.
 */
#ifndef RTCPEER_ICE_MDNS_H
#define RTCPEER_ICE_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/buf.h"

#define MDNS_PORT 5353
/* A name on the wire, length bytes and terminating zero included (RFC 1035 §2.3.4). */
#define MDNS_NAME_WIRE_MAX 255
/* The same name as text, with its NUL: at most 253 characters without a trailing dot. */
#define MDNS_NAME_TEXT_MAX 254
/* Header + one full name + two question tails + a compression pointer: 12+255+4+2+4. */
#define MDNS_QUERY_MAX 277
/* A/AAAA records kept from one response; further ones are counted but not stored. */
#define MDNS_MAX_ADDR_RECORDS 16
/* Names resolved at once; a runaway caller fails instead of flooding the link. */
#define MDNS_MAX_PENDING 64

#define MDNS_DEFAULT_TIMEOUT_US 3000000u

enum mdns_rr_type {
        MDNS_TYPE_A = 1,
        MDNS_TYPE_AAAA = 28,
};

/* ---- codec ---- */

/*
 * Encodes a text name ("host.local" or "host.local.") in wire form. Labels must be 1..63 bytes,
 * the whole at most MDNS_NAME_WIRE_MAX. Returns 0 or -EINVAL.
 */
int mdns_name_encode(const char *name, uint8_t out[MDNS_NAME_WIRE_MAX], size_t *len);
/* ASCII case-insensitive comparison of two wire-form names (RFC 6762 §16). */
bool mdns_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/*
 * Appends a query (id 0, as RFC 6762 §18.1 asks) with two questions for name: A and AAAA, class
 * IN, the second name compressed to a pointer to the first. qu sets the unicast-response bit
 * (RFC 6762 §5.4) on both. Returns 0, -EINVAL or -ENOMEM.
 */
int mdns_query_build(struct buf *out, const char *name, bool qu);

struct mdns_record {
        uint8_t name[MDNS_NAME_WIRE_MAX]; /* uncompressed wire form */
        size_t name_len;
        uint16_t type;    /* MDNS_TYPE_A or MDNS_TYPE_AAAA */
        bool cache_flush; /* top bit of the class field (RFC 6762 §10.2) */
        uint32_t ttl;     /* 0: a "goodbye", the address is being withdrawn */
        bool additional;  /* from the authority or additional section, not the answers */
        struct addr addr; /* port 0, scope 0 */
};

struct mdns_response {
        uint16_t id;
        uint16_t flags;
        size_t addr_count;                             /* A/AAAA records of class IN seen */
        struct mdns_record rec[MDNS_MAX_ADDR_RECORDS]; /* the first of them */
};

/*
 * Parses and validates a whole DNS response: header, questions and every resource record. Names
 * may use compression pointers, which must point backwards, before the labels that use them (so
 * no loop is possible) and inside the message; labels of 64..191 bytes (the reserved label
 * types), names over 255 bytes, records running past the end, counts the datagram cannot hold and
 * A/AAAA data not 4/16 bytes long are errors. Bytes after the last record are ignored.
 * Returns 0, -EBADMSG (malformed), -ENOMSG (well-formed but a query, or an opcode or response
 * code other than 0, which mDNS ignores) or -EINVAL.
 */
int mdns_response_parse(struct mdns_response *resp, const uint8_t *data, size_t len);

/* ---- resolver ---- */

/* Zero fields take the defaults. */
struct mdns_config {
        uint64_t timeout_us; /* per name, from mdns_resolve to FAILED; 0 = 3 s */
        bool qu;             /* set the unicast-response bit in queries */
        bool no_ipv4;        /* do not query 224.0.0.251 */
        bool ipv6;           /* also query [ff02::fb] */
        uint32_t ipv6_scope; /* interface index for ff02::fb (link-local scope) */
};

enum mdns_output_kind {
        MDNS_OUT_SEND_QUERY = 1, /* send data to `to` */
        MDNS_OUT_RESOLVED,       /* name has address addr */
        MDNS_OUT_FAILED,         /* no usable answer in time; reason says so */
};

struct mdns_output {
        enum mdns_output_kind kind;
        /* SEND_QUERY */
        struct addr to;
        uint8_t data[MDNS_QUERY_MAX];
        size_t len;
        /* RESOLVED and FAILED */
        uint64_t tag;                  /* the caller's value given to mdns_resolve */
        char name[MDNS_NAME_TEXT_MAX]; /* as given to mdns_resolve */
        /* RESOLVED: port 0 (the candidate carries the port); ipv6_scope on a link-local one. */
        struct addr addr;
        char reason[64]; /* FAILED: "no answer from mDNS after 3 s" */
};

struct mdns_resolver;

/* cfg NULL means defaults. Returns NULL on allocation failure. */
struct mdns_resolver *mdns_resolver_new(const struct mdns_config *cfg);
void mdns_resolver_free(struct mdns_resolver *r);
/*
 * Starts resolving name, which must end in ".local" (any case, optional final dot) and be made
 * of labels of letters, digits, '-' and '_'. The first queries are queued at once; retries follow
 * at 1 s and 2 s, then at doubling intervals while the timeout allows. Two calls for one name are
 * two resolutions answered by the same response. Returns 0, -EINVAL or -ENOSPC.
 */
int mdns_resolve(struct mdns_resolver *r, uint64_t now_us, const char *name, uint64_t tag);
/* Drops the resolutions started with tag, without an event. Returns 0 or -ENOENT. */
int mdns_cancel(struct mdns_resolver *r, uint64_t tag);
/*
 * A datagram from an mDNS responder. The first A or AAAA record (answers before the other
 * sections) for a pending name resolves it; records with TTL 0 are withdrawals and are skipped.
 * Returns 0 when it resolved something, -ENOENT when it was well-formed but answered nothing
 * pending, or the mdns_response_parse error; in every error case the datagram changed nothing.
 */
int mdns_handle_input(struct mdns_resolver *r, uint64_t now_us, const uint8_t *data, size_t len);
/* 1 = *out filled, 0 = nothing queued, -EINVAL. */
int mdns_poll_output(struct mdns_resolver *r, struct mdns_output *out);
/* Earliest time mdns_handle_timeout has work, UINT64_MAX when idle. */
uint64_t mdns_next_deadline(const struct mdns_resolver *r);
void mdns_handle_timeout(struct mdns_resolver *r, uint64_t now_us);
/* Resolutions still waiting for an answer. */
size_t mdns_pending_count(const struct mdns_resolver *r);

#endif
