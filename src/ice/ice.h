/*
 * ICE agent (RFC 8445 full agent, RFC 8838 trickle, RFC 7675 consent freshness), sans-IO.
 *
 * One data stream with one component (BUNDLE + rtcp-mux), UDP candidates only. The agent never
 * touches a socket or a clock: the caller feeds it datagrams and time, and drains what it wants
 * sent and what happened through ice_agent_poll_output().
 *
 * Wiring it to sockets (the shell's loop):
 *
 *   agent = ice_agent_new(&cfg);
 *   for each local socket:      ice_agent_add_host_candidate(agent, fd, &bound_addr);
 *   for each TURN allocation:   ice_agent_add_pending_relay(agent, alloc_id) at once, then
 *                               ice_agent_add_relay_candidate(...) or ice_agent_relay_failed()
 *   for each STUN server:       ice_agent_add_stun_server(agent, &server);
 *   ice_agent_gather(agent, now);
 *   ... signal local credentials and candidates, receive the peer's:
 *   ice_agent_set_remote_credentials(agent, ufrag, pwd);
 *   ice_agent_add_remote_candidate(agent, &cand) for each (trickled or from the SDP);
 *   ice_agent_remote_gathering_done(agent) on end-of-candidates.
 *
 *   loop:
 *     datagram on socket/allocation `base` from `from`:
 *         rc = ice_agent_handle_input(agent, now, base, &from, data, len);
 *         rc == 0: not ICE's, hand it to TURN/DTLS/SRTP; rc == 1: consumed; rc < 0: drop.
 *     timer: if now >= ice_agent_next_deadline(agent) then ice_agent_handle_timeout(agent, now);
 *     after every call: while (ice_agent_poll_output(agent, &out) == 1) act on out:
 *         ICE_OUT_TRANSMIT: send out.transmit.data to out.transmit.dest from `base`
 *                           (a host socket, or through the TURN allocation for a relay base).
 *         ICE_OUT_STATE / LOCAL_CANDIDATE / GATHERING_DONE / SELECTED_PAIR: events.
 *
 * Application data goes out with ice_agent_send() once ice_agent_writable(): on the selected
 * pair, or before one is selected on the best valid pair (RFC 8445 section 12.1), so that DTLS
 * need not wait for nomination. It comes out as a TRANSMIT. Incoming application data is
 * whatever handle_input returns 0 for; the agent counts it for the selected pair's statistics.
 *
 * Time is in microseconds from any monotonic origin. A "base" is an int the caller chooses to
 * name where a datagram leaves or arrives: a host socket or a TURN allocation.
 *
 * Not supported: ICE restart, ICE-lite peers that do not send checks, TCP candidates (ignored),
 * more than one component.
 */
#ifndef RTCPEER_ICE_ICE_H
#define RTCPEER_ICE_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "sdp/sdp.h"

/* Bounds: inputs beyond them fail with -ENOSPC. */
#define ICE_MAX_LOCAL_CANDIDATES  32
#define ICE_MAX_REMOTE_CANDIDATES 64
#define ICE_MAX_STUN_SERVERS      4
#define ICE_CRED_MAX              256 /* ufrag or pwd, RFC 8839 */

/* Defaults used when the config field is 0. */
#define ICE_DEFAULT_TA_US                 50000u    /* RFC 8445 §14.2 */
#define ICE_MIN_TA_US                     5000u     /* RFC 8445 §14.2 floor */
#define ICE_DEFAULT_MAX_PAIRS             100u      /* RFC 8445 §6.1.2.5 */
#define ICE_DEFAULT_NOMINATION_WAIT_US    1000000u  /* controlling: wait for better pairs */
#define ICE_DEFAULT_CHECKING_TIMEOUT_US   30000000u /* no selected pair by then: failed */
#define ICE_DEFAULT_CONSENT_INTERVAL_US   5000000u  /* RFC 7675 §5.1, randomized 0.8..1.2 */
#define ICE_DEFAULT_CONSENT_TIMEOUT_US    30000000u /* RFC 7675 §5.1 */
#define ICE_DEFAULT_DISCONNECT_TIMEOUT_US 8000000u  /* no consent response: disconnected */
#define ICE_DEFAULT_KEEPALIVE_US          15000000u /* RFC 8445 §11 Tr */

enum ice_policy {
        ICE_POLICY_ALL = 0,
        ICE_POLICY_RELAY, /* only relay candidates are announced and paired */
};

struct ice_config {
        bool controlling; /* initial role; conflicts are resolved by tie_breaker */
        /* Local credentials, copied. NULL or "" generates random ones (ice_agent_local_ufrag). */
        const char *local_ufrag; /* >= 4 ICE characters */
        const char *local_pwd;   /* >= 22 ICE characters */
        uint64_t tie_breaker;    /* 0: random */
        enum ice_policy policy;
        /*
         * Pacing of new checks and gathering requests. 50 ms is RFC 8445's default; the check list
         * of one component is short, so a lower value buys little and costs burstiness behind
         * small NATs. Values below 5 ms are raised to 5 ms.
         */
        uint64_t ta_us;
        unsigned max_pairs;             /* check list size limit; lowest priority pairs dropped */
        uint64_t nomination_wait_us;    /* controlling: longest wait for a better valid pair */
        uint64_t checking_timeout_us;   /* from the start of checks to a selected pair */
        uint64_t consent_interval_us;   /* mean interval of consent checks */
        uint64_t consent_timeout_us;    /* no consent response for this long: failed */
        uint64_t disconnect_timeout_us; /* no consent response for this long: disconnected */
        /*
         * Binding indication on the selected pair when nothing was sent on it this long (RFC 8445
         * §11). ice_agent_send() takes no clock, so data is noticed at the next check: a silence
         * may last up to twice this before an indication goes out.
         */
        uint64_t keepalive_us;
};

enum ice_state {
        ICE_STATE_NEW = 0,
        ICE_STATE_CHECKING,     /* remote credentials known, checks running */
        ICE_STATE_CONNECTED,    /* a pair is selected; some checks may still run */
        ICE_STATE_COMPLETED,    /* a pair is selected and the checks are over */
        ICE_STATE_DISCONNECTED, /* consent responses stopped for a while; may come back */
        ICE_STATE_FAILED,       /* terminal: no pair, or consent expired (see the reason) */
        ICE_STATE_CLOSED,       /* terminal: ice_agent_close() */
};

enum ice_gathering_state {
        ICE_GATHERING_NEW = 0,
        ICE_GATHERING_GATHERING,
        ICE_GATHERING_COMPLETE,
};

/* Reason strings of ICE_STATE_FAILED (compare by value or with strcmp). */
#define ICE_REASON_CONSENT_EXPIRED  "consent expired"
#define ICE_REASON_ALL_PAIRS_FAILED "all candidate pairs failed"
#define ICE_REASON_CHECKING_TIMEOUT "no usable candidate pair before the timeout"

/* One end of a candidate pair, for display and statistics. */
struct ice_candidate_info {
        enum sdp_cand_type type;
        struct addr addr;
        uint32_t priority;
        int base; /* local candidates: the caller's base handle; remote: -1 */
};

enum ice_output_kind {
        ICE_OUT_TRANSMIT = 1,    /* send transmit.data to transmit.dest from transmit.base */
        ICE_OUT_STATE,           /* state.state changed (state.reason set for FAILED) */
        ICE_OUT_LOCAL_CANDIDATE, /* a new local candidate to signal (trickle) */
        ICE_OUT_GATHERING_DONE,  /* no more local candidates: signal end-of-candidates */
        ICE_OUT_SELECTED_PAIR,   /* the pair application data uses changed */
};

struct ice_output {
        enum ice_output_kind kind;
        union {
                struct {
                        int base;
                        struct addr dest;
                        const uint8_t *data; /* valid until the next call on the agent */
                        size_t len;
                } transmit;
                struct {
                        enum ice_state state;
                        const char *reason; /* static text, NULL unless FAILED */
                } state;
                struct sdp_candidate candidate;
                struct {
                        struct ice_candidate_info local, remote;
                } selected;
        } u;
};

/* Counters of the selected pair (its route: local base and remote address). */
struct ice_pair_stats {
        struct ice_candidate_info local, remote;
        uint64_t rtt_us; /* latest round-trip time of a check answered at first try */
        bool rtt_valid;
        uint64_t requests_sent, responses_received; /* checks and consent checks */
        uint64_t requests_received, responses_sent;
        uint64_t consent_requests_sent;
        uint64_t packets_sent, bytes_sent;         /* application data via ice_agent_send */
        uint64_t packets_received, bytes_received; /* non-STUN datagrams on the route */
        uint64_t last_consent_us; /* time of the latest success response on the route */
};

struct ice_agent;

/* Returns NULL on bad config (-EINVAL cases) or allocation failure. */
struct ice_agent *ice_agent_new(const struct ice_config *cfg);
void ice_agent_free(struct ice_agent *agent);

const char *ice_agent_local_ufrag(const struct ice_agent *agent);
const char *ice_agent_local_pwd(const struct ice_agent *agent);
bool ice_agent_is_controlling(const struct ice_agent *agent);
enum ice_state ice_agent_state(const struct ice_agent *agent);
enum ice_gathering_state ice_agent_gathering_state(const struct ice_agent *agent);
const char *ice_state_name(enum ice_state s);

/* ---- local candidates ---- */

/*
 * A host candidate: datagrams on socket `base`, bound to addr (a concrete address, not a
 * wildcard). Returns 0, -EINVAL, -EEXIST (base or address already used) or -ENOSPC.
 */
int ice_agent_add_host_candidate(struct ice_agent *agent, int base, const struct addr *addr);
/*
 * Announces that a TURN allocation on `base` is under way, so that gathering does not complete
 * before ice_agent_add_relay_candidate() or ice_agent_relay_failed() for it.
 */
int ice_agent_add_pending_relay(struct ice_agent *agent, int base);
/*
 * A relay candidate: the TURN allocation named `base` has relayed address `relayed`; mapped is
 * the server-reflexive address the TURN server saw (for raddr/rport, may be NULL).
 */
int ice_agent_add_relay_candidate(struct ice_agent *agent, int base, const struct addr *relayed,
                                  const struct addr *mapped);
/* The allocation announced as pending on `base` failed. Returns 0 or -ENOENT. */
int ice_agent_relay_failed(struct ice_agent *agent, int base);
/*
 * A STUN server for server-reflexive candidates: at gathering, every host candidate of the same
 * family sends it a Binding request (paced at Ta, retransmitted, ~9.5 s until given up).
 */
int ice_agent_add_stun_server(struct ice_agent *agent, const struct addr *server);
/*
 * Starts gathering: emits LOCAL_CANDIDATE for the candidates added so far (and later for every
 * new one), queries the STUN servers, and emits GATHERING_DONE once the STUN queries and the
 * pending relays are over. Returns 0 or -EALREADY.
 */
int ice_agent_gather(struct ice_agent *agent, uint64_t now);
/*
 * Copies the announceable local candidates (host, srflx, relay as allowed by the policy) in SDP
 * form. Returns how many exist (may exceed max: only max are written) or a negative code.
 */
int ice_agent_get_local_candidates(const struct ice_agent *agent, struct sdp_candidate *out,
                                   size_t max);

/* ---- remote side ---- */

/*
 * The peer's ufrag and pwd (copied). Checks start with this call. Setting different values later
 * would be an ICE restart: -EBUSY. Returns 0, -EINVAL (length outside 4..256 / 22..256).
 */
int ice_agent_set_remote_credentials(struct ice_agent *agent, const char *ufrag, const char *pwd);
/*
 * A remote candidate (copied). Returns 0 when added or deliberately ignored (TCP, component
 * other than 1, duplicate), -EAGAIN when its address is a ".local" name (resolve it with mDNS
 * and call ice_agent_add_remote_candidate_resolved), -ENOTSUP for another host name, -EINVAL
 * for an unusable candidate, -ENOSPC beyond ICE_MAX_REMOTE_CANDIDATES.
 */
int ice_agent_add_remote_candidate(struct ice_agent *agent, const struct sdp_candidate *c);
/* The same with the candidate's address replaced by `resolved` (the port stays c->port). */
int ice_agent_add_remote_candidate_resolved(struct ice_agent *agent, const struct sdp_candidate *c,
                                            const struct addr *resolved);
/* The peer signalled end-of-candidates: the agent may now declare failure. */
int ice_agent_remote_gathering_done(struct ice_agent *agent);

/* ---- data path and time ---- */

/*
 * A datagram received on `base` from `from`. Returns 1 when it was an ICE STUN message (handled
 * or deliberately ignored), 0 when it is not ICE's (not STUN, or STUN for another module such
 * as a TURN client sharing the socket): hand it on. Negative: a STUN message addressed to ICE
 * that was rejected, to be dropped: -EBADMSG (malformed, bad FINGERPRINT), -EACCES (failed
 * authentication), -EPROTO, -ENOENT (unknown base). An error response (400, 401, 420) may have
 * been queued for it as RFC 8489 asks.
 */
int ice_agent_handle_input(struct ice_agent *agent, uint64_t now, int base, const struct addr *from,
                           const uint8_t *data, size_t len);
/*
 * Queues application data on the selected pair, or on the best valid pair while none is
 * selected. Returns 0, -ENOTCONN (no valid pair, or failed/closed), -EMSGSIZE (over 65535
 * bytes), -ENOBUFS (output queue full: poll it).
 */
int ice_agent_send(struct ice_agent *agent, const uint8_t *data, size_t len);
/* Whether ice_agent_send() has a pair to use now. */
bool ice_agent_writable(const struct ice_agent *agent);
/*
 * The round-trip time of the route ice_agent_send() uses now, from its latest check answered
 * at first try. Returns 0, -ENOTCONN (no pair to send on) or -EAGAIN (no such check yet).
 */
int ice_agent_rtt(const struct ice_agent *agent, uint64_t *rtt_us);
/* 1 = *out filled, 0 = nothing queued. Data pointers stay valid until the next call. */
int ice_agent_poll_output(struct ice_agent *agent, struct ice_output *out);
/* Earliest time handle_timeout has work; UINT64_MAX when idle. */
uint64_t ice_agent_next_deadline(const struct ice_agent *agent);
void ice_agent_handle_timeout(struct ice_agent *agent, uint64_t now);
/* Stops everything and emits STATE closed. */
void ice_agent_close(struct ice_agent *agent);

/* Selected pair statistics. Returns 0 or -ENOTCONN. */
int ice_agent_get_selected_stats(const struct ice_agent *agent, struct ice_pair_stats *out);

#endif
