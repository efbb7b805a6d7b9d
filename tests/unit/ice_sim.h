/*
 * A simulated network for ICE agent tests: two agents, a virtual clock, links with loss, delay,
 * jitter (reordering) and duplication, NAT boxes, a STUN server and TURN-like relays.
 *
 * Addresses: each peer has host addresses; behind a NAT they are private and unreachable from
 * outside, and the NAT maps them to its public IP. NATs handle IPv4 only: IPv6 hosts are public. A
 * relay is a public "relayed address" owned by one peer: what the peer sends on its relay base
 * leaves from that address, and what arrives at it is handed to the peer's relay base (permissions
 * are not modelled).
 */
#ifndef RTCPEER_TESTS_ICE_SIM_H
#define RTCPEER_TESTS_ICE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "ice/ice.h"
#include "sdp/sdp.h"

enum sim_nat {
        SIM_NAT_NONE = 0,
        /* Endpoint-independent mapping, address-and-port-dependent filtering. */
        SIM_NAT_EIM,
        /* Address-and-port-dependent mapping and filtering ("symmetric"). */
        SIM_NAT_SYMMETRIC,
};

#define SIM_MAX_HOSTS   4
#define SIM_RELAY_BASE  100
#define SIM_MAX_MAPS    64
#define SIM_MAX_PERMITS 32
#define SIM_MAX_CANDS   32
#define SIM_NEVER       UINT64_MAX

struct sim_map {
        struct addr inside, remote, outside; /* remote: the destination, symmetric NAT only */
        struct addr permits[SIM_MAX_PERMITS];
        size_t n_permits;
};

struct sim_peer {
        struct ice_agent *agent;
        enum sim_nat nat;
        struct addr public_ip;
        uint16_t next_port;
        size_t n_hosts;
        struct addr host[SIM_MAX_HOSTS];
        bool has_relay;
        struct addr relayed;
        struct sim_map maps[SIM_MAX_MAPS];
        size_t n_maps;

        /* Signalling towards the other peer. */
        bool signal_candidates;
        bool signal_eoc;
        uint64_t signal_delay_us;
        bool mdns_names; /* host candidates are signalled as "<name>.local" */

        /* What was observed. */
        enum ice_state state;
        const char *reason;
        uint64_t t_checking, t_connected, t_completed, t_disconnected, t_failed;
        bool have_selected;
        struct ice_candidate_info sel_local, sel_remote;
        unsigned n_selected_events;
        struct sdp_candidate cands[SIM_MAX_CANDS];
        size_t n_cands;
        bool gathering_done;
        uint64_t tx_host, tx_relay; /* TRANSMIT outputs per kind of base */
        uint64_t sent_487, sent_401, sent_400, sent_420;
        uint64_t indications_sent;
        uint64_t app_received, app_bytes_received;
        uint64_t remote_add_errors;
        uint64_t input_errors; /* handle_input < 0 on packets from the network */
};

struct sim_pkt;
struct sim_signal;

struct sim {
        uint64_t now;
        struct sim_peer p[2];
        bool has_stun;
        struct addr stun_server;
        double loss, dup;
        uint64_t delay_us, jitter_us;
        bool blackhole; /* drop everything (a cut cable) */
        uint64_t rng;
        struct sim_pkt *q;
        size_t nq, capq;
        struct sim_signal *sig;
        size_t nsig, capsig;
        uint64_t seq;
        uint64_t delivered, dropped;
};

void sim_init(struct sim *s, uint64_t seed);
void sim_free(struct sim *s);
/* Creates peer i's agent with cfg; public_ip is the NAT's address (ignored without NAT). */
struct ice_agent *sim_add_peer(struct sim *s, int i, const struct ice_config *cfg, enum sim_nat nat,
                               const char *public_ip);
/* Adds a host address ("10.0.0.1:5000") as base 1, 2... and as a host candidate. */
void sim_add_host(struct sim *s, int i, const char *addr);
void sim_add_relay(struct sim *s, int i, const char *relayed);
void sim_set_stun_server(struct sim *s, const char *addr);
/* Exchanges the credentials and starts gathering on both agents. */
void sim_start(struct sim *s);
/* Runs until t_end, or until stop(s) is true when given. Returns the time reached. */
uint64_t sim_run(struct sim *s, uint64_t t_end, bool (*stop)(const struct sim *s));
/* Delivers a signalled candidate to peer i now (as the signalling path would). */
int sim_signal_candidate(struct sim *s, int i, const struct sdp_candidate *c);
bool sim_both_connected(const struct sim *s);
double sim_rand01(struct sim *s);

#endif
