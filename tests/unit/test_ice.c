#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "ice/ice.h"
#include "ice/stun.h"
#include "ice_sim.h"

#define MS  1000ull
#define SEC 1000000ull

static const char ufrag_a[] = "aaaa";
static const char pwd_a[] = "aaaaaaaaaaaaaaaaaaaaaaaa";
static const char ufrag_b[] = "bbbb";
static const char pwd_b[] = "bbbbbbbbbbbbbbbbbbbbbbbb";

static struct ice_config cfg_a(bool controlling, uint64_t tie_breaker)
{
        struct ice_config c = {.controlling = controlling, .tie_breaker = tie_breaker};
        c.local_ufrag = ufrag_a;
        c.local_pwd = pwd_a;
        return c;
}

static struct ice_config cfg_b(bool controlling, uint64_t tie_breaker)
{
        struct ice_config c = {.controlling = controlling, .tie_breaker = tie_breaker};
        c.local_ufrag = ufrag_b;
        c.local_pwd = pwd_b;
        return c;
}

static struct addr A(const char *s) {
        struct addr a;
        assert_int_equal(addr_from_string(&a, s), 0);
        return a;
}

static bool
both_completed(const struct sim *s)
{
        return s->p[0].t_completed != SIM_NEVER && s->p[1].t_completed != SIM_NEVER;
}

static bool both_failed(const struct sim *s)
{
        return s->p[0].t_failed != SIM_NEVER && s->p[1].t_failed != SIM_NEVER;
}

static bool any_failed(const struct sim *s)
{
        return s->p[0].t_failed != SIM_NEVER || s->p[1].t_failed != SIM_NEVER;
}

/* Both ends use the same route: each one's local address is the other's remote address. */
static void assert_agree(const struct sim *s)
{
        assert_true(s->p[0].have_selected);
        assert_true(s->p[1].have_selected);
        struct ice_pair_stats st0, st1;
        assert_int_equal(ice_agent_get_selected_stats(s->p[0].agent, &st0), 0);
        assert_int_equal(ice_agent_get_selected_stats(s->p[1].agent, &st1), 0);
        assert_true(addr_equal(&st0.local.addr, &st1.remote.addr));
        assert_true(addr_equal(&st1.local.addr, &st0.remote.addr));
        assert_true(addr_equal(&s->p[0].sel_local.addr, &st0.local.addr));
        assert_true(addr_equal(&s->p[1].sel_remote.addr, &st1.remote.addr));
}

/* Application data both ways over the selected pair. */
static void assert_data_flows(struct sim *s, int n)
{
        uint64_t r0 = s->p[0].app_received, r1 = s->p[1].app_received;
        uint8_t msg[100];
        for (int i = 0; i < n; i++) {
                memset(msg, i, sizeof(msg));
                msg[0] = 0x80; /* RTP-like first byte: not STUN */
                assert_int_equal(ice_agent_send(s->p[0].agent, msg, sizeof(msg)), 0);
                assert_int_equal(ice_agent_send(s->p[1].agent, msg, sizeof(msg)), 0);
        }
        sim_run(s, s->now + 2 * SEC, NULL);
        assert_true(s->p[0].app_received - r0 >= (uint64_t)n);
        assert_true(s->p[1].app_received - r1 >= (uint64_t)n);
}

static void setup_hosts(struct sim *s, uint64_t seed, bool ctl_a, uint64_t tb_a, bool ctl_b,
                        uint64_t tb_b)
{
        sim_init(s, seed);
        struct ice_config ca = cfg_a(ctl_a, tb_a), cb = cfg_b(ctl_b, tb_b);
        sim_add_peer(s, 0, &ca, SIM_NAT_NONE, NULL);
        sim_add_host(s, 0, "192.0.2.1:5000");
        sim_add_peer(s, 1, &cb, SIM_NAT_NONE, NULL);
        sim_add_host(s, 1, "192.0.2.2:6000");
}

/* ---- two agents over the simulated network ---- */

static void test_host_host(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 1, true, 2, false, 1);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_true(s.p[0].t_connected <= s.p[0].t_completed);
        assert_agree(&s);
        assert_int_equal(s.p[0].sel_local.type, SDP_CAND_HOST);
        assert_int_equal(s.p[0].sel_remote.type, SDP_CAND_HOST);
        assert_int_equal(s.p[0].n_selected_events, 1);
        assert_int_equal(s.p[1].n_selected_events, 1);
        assert_true(ice_agent_is_controlling(s.p[0].agent));
        assert_false(ice_agent_is_controlling(s.p[1].agent));
        /*
         * One round trip of checks, then the nomination paced at Ta (50 ms) and its round trip:
         * with 5 ms links the controlling side connects at 60 ms.
         */
        printf("ice: host-host lossless link (5 ms one way, Ta 50 ms): connected after "
               "%.1f ms (controlling) and %.1f ms (controlled) of virtual time\n",
               (double)s.p[0].t_connected / 1000.0, (double)s.p[1].t_connected / 1000.0);
        assert_true(s.p[0].t_connected <= 50 * MS + 4 * 5 * MS);
        assert_true(s.p[1].t_connected <= s.p[0].t_connected);
        /*
         * The round trip of the route in use is known to both at once (DTLS times its first
         * retransmission by it), also to the side whose own check a triggered check cancelled:
         * the answer to its one transmission still counts.
         */
        for (int k = 0; k < 2; k++) {
                uint64_t rtt = 0;
                assert_int_equal(ice_agent_rtt(s.p[k].agent, &rtt), 0);
                assert_int_equal(rtt, 10 * MS);
        }

        assert_data_flows(&s, 10);
        struct ice_pair_stats st;
        assert_int_equal(ice_agent_get_selected_stats(s.p[0].agent, &st), 0);
        assert_true(st.rtt_valid);
        assert_int_equal(st.rtt_us, 10 * MS); /* two 5 ms hops, no jitter */
        assert_true(st.requests_sent >= 2);   /* the check and the nomination */
        assert_true(st.responses_received >= 2);
        assert_true(st.requests_received >= 1);
        assert_true(st.responses_sent >= 1);
        assert_int_equal(st.packets_sent, 10);
        assert_int_equal(st.bytes_sent, 1000);
        assert_int_equal(st.packets_received, 10);
        assert_int_equal(st.bytes_received, 1000);
        assert_int_equal(s.p[0].input_errors, 0);
        assert_int_equal(s.p[1].input_errors, 0);
        sim_free(&s);
}

static bool both_writable(const struct sim *s)
{
        return ice_agent_writable(s->p[0].agent) && ice_agent_writable(s->p[1].agent);
}

/*
 * Data on the route in use counts in its statistics before the nomination too, received as
 * sent: a short call's DTLS handshake is often over before a pair is selected.
 */
static void test_data_before_nomination(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 1, true, 2, false, 1);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_writable);
        assert_true(both_writable(&s));
        assert_false(s.p[0].have_selected); /* the nomination waits for Ta */
        uint8_t msg[100];
        memset(msg, 7, sizeof(msg));
        msg[0] = 0x16; /* a DTLS record, not STUN */
        for (int i = 0; i < 5; i++) {
                assert_int_equal(ice_agent_send(s.p[0].agent, msg, sizeof(msg)), 0);
                assert_int_equal(ice_agent_send(s.p[1].agent, msg, sizeof(msg)), 0);
        }
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        for (int k = 0; k < 2; k++) {
                struct ice_pair_stats st;
                assert_int_equal(ice_agent_get_selected_stats(s.p[k].agent, &st), 0);
                assert_int_equal(st.packets_sent, 5);
                assert_int_equal(st.packets_received, 5);
                assert_int_equal(st.bytes_received, 500);
        }
        sim_free(&s);
}

static void test_role_conflict_both_controlling(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 2, true, 10, true, 20);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        /* The larger tie-breaker keeps controlling (RFC 8445 §7.3.1.1). */
        assert_false(ice_agent_is_controlling(s.p[0].agent));
        assert_true(ice_agent_is_controlling(s.p[1].agent));
        assert_true(s.p[0].sent_487 + s.p[1].sent_487 > 0);
        assert_data_flows(&s, 3);
        sim_free(&s);
}

static void test_role_conflict_both_controlled(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 3, false, 10, false, 20);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        assert_false(ice_agent_is_controlling(s.p[0].agent));
        assert_true(ice_agent_is_controlling(s.p[1].agent));
        assert_true(s.p[0].sent_487 > 0);
        sim_free(&s);
}

static void test_loss_20_percent(void **state)
{
        (void)state;
        uint64_t worst = 0, sum = 0;
        for (uint64_t seed = 1; seed <= 20; seed++) {
                struct sim s;
                setup_hosts(&s, seed * 7919, true, 2, false, 1);
                s.loss = 0.2;
                sim_start(&s);
                sim_run(&s, 30 * SEC, both_completed);
                assert_true(both_completed(&s));
                assert_agree(&s);
                uint64_t t = s.p[0].t_connected > s.p[1].t_connected ? s.p[0].t_connected
                                                                     : s.p[1].t_connected;
                worst = t > worst ? t : worst;
                sum += t;
                assert_true(s.dropped > 0 || t < 100 * MS);
                sim_free(&s);
        }
        printf("ice: 20%% loss, 20 runs: mean %.0f ms, worst %.0f ms to connected\n",
               (double)sum / 20 / 1000.0, (double)worst / 1000.0);
}

static bool settled(const struct sim *s)
{
        return both_completed(s) || any_failed(s);
}

/*
 * Many random mixes of NAT, relays, dual stack, loss (5..30%), jitter, duplication, signalling
 * delay, unsignalled candidates and role conflicts: every run must connect, agree on the
 * route, and keep consent for a minute of loss.
 */
static void test_soak_random_conditions(void **state)
{
        (void)state;
        for (uint64_t seed = 1; seed <= 300; seed++) {
                struct sim s;
                sim_init(&s, seed * 104729);
                int scen = (int)(seed % 5);
                struct ice_config ca = cfg_a(true, seed), cb = cfg_b(seed % 3 == 0, seed * 3);
                enum sim_nat na = scen == 1   ? SIM_NAT_EIM
                                  : scen == 2 ? SIM_NAT_SYMMETRIC
                                              : SIM_NAT_NONE;
                enum sim_nat nb = scen == 1 || scen == 3 ? SIM_NAT_EIM
                                  : scen == 2            ? SIM_NAT_SYMMETRIC
                                                         : SIM_NAT_NONE;
                sim_add_peer(&s, 0, &ca, na, "203.0.113.1");
                sim_add_host(&s, 0, "10.0.0.1:5000");
                sim_add_host(&s, 0, "[2001:db8::1]:5000");
                sim_add_peer(&s, 1, &cb, nb, "203.0.113.2");
                sim_add_host(&s, 1, "10.0.1.1:6000");
                sim_add_host(&s, 1, "[2001:db8::2]:6000");
                if (scen == 2 || scen == 4) {
                        sim_add_relay(&s, 0, "198.51.100.20:50000");
                        sim_add_relay(&s, 1, "198.51.100.21:50000");
                }
                sim_set_stun_server(&s, "198.51.100.10:3478");
                s.loss = 0.05 + 0.25 * (double)((seed / 5) % 4) / 3.0;
                s.jitter_us = (seed % 7) * 10 * MS;
                s.dup = seed % 2 ? 0.2 : 0;
                s.delay_us = 2 * MS + (seed % 11) * 3 * MS;
                s.p[1].signal_delay_us = (seed % 4) * 300 * MS;
                s.p[1].signal_candidates = seed % 9 != 0;
                sim_start(&s);
                sim_run(&s, 40 * SEC, settled);
                if (!both_completed(&s))
                        fail_msg("seed %llu: not connected", (unsigned long long)seed);
                assert_agree(&s);
                sim_run(&s, s.now + 60 * SEC, any_failed);
                if (any_failed(&s))
                        fail_msg("seed %llu: failed after connecting", (unsigned long long)seed);
                sim_free(&s);
        }
}

static void test_reorder_duplicate(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 4, true, 2, false, 1);
        s.delay_us = 20 * MS;
        s.jitter_us = 60 * MS; /* later packets often overtake earlier ones */
        s.dup = 0.5;
        /* Several candidates per side give many checks in flight to shuffle. */
        sim_add_host(&s, 0, "192.0.2.11:5001");
        sim_add_host(&s, 1, "192.0.2.12:6001");
        sim_start(&s);
        sim_run(&s, 20 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        assert_int_equal(s.p[0].input_errors, 0);
        assert_int_equal(s.p[1].input_errors, 0);
        assert_data_flows(&s, 20);
        sim_free(&s);
}

static void test_prflx_remote_never_signalled(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 5, true, 2, false, 1);
        s.p[1].signal_candidates = false; /* A never hears of B's candidates */
        s.p[1].signal_eoc = false;
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        /* A learnt B from B's check (RFC 8445 §7.3.1.3). */
        assert_int_equal(s.p[0].sel_remote.type, SDP_CAND_PRFLX);
        assert_true(addr_equal(&s.p[0].sel_remote.addr, &s.p[1].host[0]));
        assert_int_equal(s.p[1].sel_remote.type, SDP_CAND_HOST);
        assert_data_flows(&s, 3);
        sim_free(&s);
}

static void test_prflx_then_late_trickle(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 6, true, 2, false, 1);
        s.p[1].signal_delay_us = 3 * SEC;
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_true(s.p[0].t_connected < 3 * SEC);
        assert_int_equal(s.p[0].sel_remote.type, SDP_CAND_PRFLX);
        sim_run(&s, 4 * SEC, NULL);
        /* The signalled candidate replaced the learnt one (RFC 8838 §11). */
        struct ice_pair_stats st;
        assert_int_equal(ice_agent_get_selected_stats(s.p[0].agent, &st), 0);
        assert_int_equal(st.remote.type, SDP_CAND_HOST);
        assert_int_equal(s.p[0].remote_add_errors, 0);
        assert_int_equal(ice_agent_state(s.p[0].agent), ICE_STATE_COMPLETED);
        assert_data_flows(&s, 3);
        sim_free(&s);
}

static void test_trickle_after_start(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 7, true, 2, false, 1);
        s.p[0].signal_delay_us = 500 * MS;
        s.p[1].signal_delay_us = 500 * MS;
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        /* Nobody knows an address before the first candidate arrives. */
        assert_true(s.p[0].t_connected >= 500 * MS);
        assert_true(s.p[0].t_connected < 1 * SEC);
        assert_agree(&s);
        sim_free(&s);
}

static void test_mdns_remote_candidate(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 8, true, 2, false, 1);
        s.p[0].mdns_names = true;
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        assert_int_equal(s.p[1].remote_add_errors, 0);
        assert_int_equal(s.p[1].sel_remote.type, SDP_CAND_HOST);
        sim_free(&s);
}

static void setup_nat(struct sim *s, uint64_t seed, enum sim_nat nat_a, enum sim_nat nat_b)
{
        sim_init(s, seed);
        struct ice_config ca = cfg_a(true, 2), cb = cfg_b(false, 1);
        sim_add_peer(s, 0, &ca, nat_a, "203.0.113.1");
        sim_add_host(s, 0, "10.0.0.1:5000");
        sim_add_peer(s, 1, &cb, nat_b, "203.0.113.2");
        sim_add_host(s, 1, "10.0.1.1:6000");
        sim_set_stun_server(s, "198.51.100.10:3478");
}

static bool has_cand(const struct sim_peer *p, enum sdp_cand_type t)
{
        for (size_t i = 0; i < p->n_cands; i++)
                if (p->cands[i].type == t)
                        return true;
        return false;
}

static void test_eim_nat_via_srflx(void **state)
{
        (void)state;
        struct sim s;
        setup_nat(&s, 9, SIM_NAT_EIM, SIM_NAT_EIM);
        sim_start(&s);
        sim_run(&s, 20 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        for (int i = 0; i < 2; i++) {
                assert_true(s.p[i].gathering_done);
                assert_true(has_cand(&s.p[i], SDP_CAND_SRFLX));
                /* Hole punching through both NATs: server-reflexive on both ends. */
                assert_int_equal(s.p[i].sel_local.type, SDP_CAND_SRFLX);
                assert_int_equal(s.p[i].sel_remote.type, SDP_CAND_SRFLX);
                assert_int_equal(s.p[i].sel_local.base, 1);
        }
        assert_data_flows(&s, 5);
        sim_free(&s);
}

static void test_no_nat_srflx_deduplicated(void **state)
{
        (void)state;
        struct sim s;
        setup_nat(&s, 10, SIM_NAT_NONE, SIM_NAT_EIM);
        sim_start(&s);
        sim_run(&s, 20 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_true(s.p[0].gathering_done);
        /* The STUN server saw A's own address: no srflx candidate for A. */
        assert_false(has_cand(&s.p[0], SDP_CAND_SRFLX));
        assert_true(has_cand(&s.p[1], SDP_CAND_SRFLX));
        assert_agree(&s);
        sim_free(&s);
}

static void test_symmetric_nat_needs_relay(void **state)
{
        (void)state;
        /* Without relays nothing passes two symmetric NATs: every pair fails. */
        struct sim s;
        setup_nat(&s, 11, SIM_NAT_SYMMETRIC, SIM_NAT_SYMMETRIC);
        sim_start(&s);
        sim_run(&s, 60 * SEC, both_failed);
        assert_true(both_failed(&s));
        assert_string_equal(s.p[0].reason, ICE_REASON_ALL_PAIRS_FAILED);
        assert_string_equal(s.p[1].reason, ICE_REASON_ALL_PAIRS_FAILED);
        assert_true(s.p[0].t_failed < 30 * SEC); /* before the checking timeout */
        assert_false(s.p[0].have_selected);
        assert_int_equal(ice_agent_send(s.p[0].agent, (const uint8_t *)"x", 1), -ENOTCONN);
        sim_free(&s);

        /* With them it connects, through a relay. */
        setup_nat(&s, 12, SIM_NAT_SYMMETRIC, SIM_NAT_SYMMETRIC);
        sim_add_relay(&s, 0, "198.51.100.20:50000");
        sim_add_relay(&s, 1, "198.51.100.21:50000");
        sim_start(&s);
        sim_run(&s, 30 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        for (int i = 0; i < 2; i++)
                assert_true(s.p[i].sel_local.type == SDP_CAND_RELAY ||
                            s.p[i].sel_remote.type == SDP_CAND_RELAY);
        assert_data_flows(&s, 5);
        sim_free(&s);
}

static void test_relay_policy(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, 13);
        struct ice_config ca = cfg_a(true, 2), cb = cfg_b(false, 1);
        ca.policy = ICE_POLICY_RELAY;
        sim_add_peer(&s, 0, &ca, SIM_NAT_NONE, NULL);
        sim_add_host(&s, 0, "192.0.2.1:5000");
        sim_add_relay(&s, 0, "198.51.100.20:50000");
        sim_add_peer(&s, 1, &cb, SIM_NAT_NONE, NULL);
        sim_add_host(&s, 1, "192.0.2.2:6000");
        sim_set_stun_server(&s, "198.51.100.10:3478");
        sim_start(&s);
        sim_run(&s, 20 * SEC, both_completed);
        assert_true(both_completed(&s));
        assert_agree(&s);
        assert_int_equal(s.p[0].n_cands, 1);
        assert_int_equal(s.p[0].cands[0].type, SDP_CAND_RELAY);
        struct sdp_candidate out[4];
        assert_int_equal(ice_agent_get_local_candidates(s.p[0].agent, out, 4), 1);
        assert_int_equal(out[0].type, SDP_CAND_RELAY);
        assert_int_equal(s.p[0].sel_local.type, SDP_CAND_RELAY);
        assert_int_equal(s.p[1].sel_remote.type, SDP_CAND_RELAY);
        assert_int_equal(s.p[0].tx_host, 0); /* not even a STUN query from the host socket */
        assert_true(s.p[0].tx_relay > 0);
        assert_data_flows(&s, 3);
        assert_int_equal(s.p[0].tx_host, 0);
        sim_free(&s);
}

static void test_consent_expiry(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 14, true, 2, false, 1);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));
        /* A while of healthy consent first: checks keep it fresh well past 30 s. */
        sim_run(&s, 100 * SEC, NULL);
        assert_int_equal(ice_agent_state(s.p[0].agent), ICE_STATE_COMPLETED);
        assert_int_equal(ice_agent_state(s.p[1].agent), ICE_STATE_COMPLETED);
        struct ice_pair_stats st;
        assert_int_equal(ice_agent_get_selected_stats(s.p[0].agent, &st), 0);
        assert_true(st.consent_requests_sent >= 15 && st.consent_requests_sent <= 26);

        uint64_t cut = s.now;
        s.blackhole = true;
        sim_run(&s, cut + 60 * SEC, both_failed);
        for (int i = 0; i < 2; i++) {
                struct sim_peer *p = &s.p[i];
                assert_true(p->t_failed != SIM_NEVER);
                assert_string_equal(p->reason, ICE_REASON_CONSENT_EXPIRED);
                assert_true(p->t_disconnected > cut && p->t_disconnected < p->t_failed);
                /* 30 s after the last answer, which came at most one interval (6 s) before. */
                assert_true(p->t_failed <= cut + 30 * SEC);
                assert_true(p->t_failed >= cut + 24 * SEC);
                assert_int_equal(ice_agent_send(p->agent, (const uint8_t *)"x", 1), -ENOTCONN);
                assert_int_equal(ice_agent_next_deadline(p->agent), UINT64_MAX);
        }
        printf("ice: consent expired %.1f s and %.1f s after the link was cut\n",
               (double)(s.p[0].t_failed - cut) / 1e6, (double)(s.p[1].t_failed - cut) / 1e6);
        sim_free(&s);
}

static void test_disconnected_recovers(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 15, true, 2, false, 1);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        uint64_t cut = s.now;
        s.blackhole = true;
        sim_run(&s, cut + 15 * SEC, NULL);
        assert_int_equal(ice_agent_state(s.p[0].agent), ICE_STATE_DISCONNECTED);
        s.blackhole = false;
        sim_run(&s, cut + 25 * SEC, NULL);
        assert_int_equal(ice_agent_state(s.p[0].agent), ICE_STATE_COMPLETED);
        assert_int_equal(ice_agent_state(s.p[1].agent), ICE_STATE_COMPLETED);
        assert_true(s.p[0].t_failed == SIM_NEVER);
        assert_data_flows(&s, 2);
        sim_free(&s);
}

static void test_end_of_candidates_all_failed(void **state)
{
        (void)state;
        /* B's only candidate is unreachable; end-of-candidates lets A give up early. */
        struct sim s;
        setup_hosts(&s, 16, true, 2, false, 1);
        s.blackhole = true;
        sim_start(&s);
        sim_run(&s, 60 * SEC, any_failed);
        assert_true(s.p[0].t_failed != SIM_NEVER);
        assert_string_equal(s.p[0].reason, ICE_REASON_ALL_PAIRS_FAILED);
        assert_true(s.p[0].t_failed < 15 * SEC);
        assert_true(s.p[0].t_checking != SIM_NEVER && s.p[0].t_connected == SIM_NEVER);
        sim_free(&s);
}

static void test_checking_timeout(void **state)
{
        (void)state;
        /* Without end-of-candidates only the check-list timeout ends the wait. */
        struct sim s;
        sim_init(&s, 17);
        struct ice_config ca = cfg_a(true, 2), cb = cfg_b(false, 1);
        ca.checking_timeout_us = 5 * SEC;
        sim_add_peer(&s, 0, &ca, SIM_NAT_NONE, NULL);
        sim_add_host(&s, 0, "192.0.2.1:5000");
        sim_add_peer(&s, 1, &cb, SIM_NAT_NONE, NULL);
        sim_add_host(&s, 1, "192.0.2.2:6000");
        s.p[1].signal_eoc = false;
        s.blackhole = true;
        sim_start(&s);
        sim_run(&s, 60 * SEC, any_failed);
        assert_string_equal(s.p[0].reason, ICE_REASON_CHECKING_TIMEOUT);
        assert_int_equal(s.p[0].t_failed, 5 * SEC);
        sim_free(&s);
}

static void test_keepalive(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, 18);
        struct ice_config ca = cfg_a(true, 2), cb = cfg_b(false, 1);
        ca.consent_interval_us = cb.consent_interval_us = 20 * SEC;
        ca.consent_timeout_us = cb.consent_timeout_us = 60 * SEC;
        ca.disconnect_timeout_us = cb.disconnect_timeout_us = 50 * SEC;
        ca.keepalive_us = 2 * SEC;
        sim_add_peer(&s, 0, &ca, SIM_NAT_NONE, NULL);
        sim_add_host(&s, 0, "192.0.2.1:5000");
        sim_add_peer(&s, 1, &cb, SIM_NAT_NONE, NULL);
        sim_add_host(&s, 1, "192.0.2.2:6000");
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        uint64_t t0 = s.now, k0 = s.p[0].indications_sent;
        sim_run(&s, t0 + 10 * SEC, NULL);
        uint64_t k = s.p[0].indications_sent - k0;
        assert_true(k >= 4 && k <= 6);                /* every 2 s of silence */
        assert_int_equal(s.p[1].indications_sent, 0); /* B keeps the 15 s default */
        /* Data counts as traffic: no indications while it flows. */
        k0 = s.p[0].indications_sent;
        for (int i = 0; i < 20; i++) {
                assert_int_equal(ice_agent_send(s.p[0].agent, (const uint8_t *)"\x80", 1), 0);
                sim_run(&s, s.now + 500 * MS, NULL);
        }
        assert_int_equal(s.p[0].indications_sent, k0);
        sim_free(&s);
}

/* ---- one agent, byte level ---- */

struct harness {
        struct ice_agent *a;
        struct ice_output out[64];
        uint8_t data[64][1500];
        size_t n;
};

static void collect(struct harness *h)
{
        h->n = 0;
        struct ice_output o;
        while (ice_agent_poll_output(h->a, &o) == 1) {
                assert_true(h->n < 64);
                h->out[h->n] = o;
                if (o.kind == ICE_OUT_TRANSMIT) {
                        assert_true(o.u.transmit.len <= 1500);
                        memcpy(h->data[h->n], o.u.transmit.data, o.u.transmit.len);
                        h->out[h->n].u.transmit.data = h->data[h->n];
                }
                h->n++;
        }
}

static int find_out(const struct harness *h, enum ice_output_kind kind, size_t from)
{
        for (size_t i = from; i < h->n; i++)
                if (h->out[i].kind == kind)
                        return (int)i;
        return -1;
}

static int find_transmit_to(const struct harness *h, const struct addr *dst)
{
        for (size_t i = 0; i < h->n; i++)
                if (h->out[i].kind == ICE_OUT_TRANSMIT &&
                    addr_equal(&h->out[i].u.transmit.dest, dst))
                        return (int)i;
        return -1;
}

/* A Binding request as a peer would send it to agent A. */
static size_t build_request(struct buf *b, const char *user, const char *key, bool priority,
                            bool controlling, uint64_t tb, bool use_cand, uint16_t unknown)
{
        uint8_t txid[STUN_TXID_SIZE];
        struct stun_builder sb;
        buf_reset(b);
        stun_txid_generate(txid);
        stun_build_begin(&sb, b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        if (user)
                stun_build_str(&sb, STUN_ATTR_USERNAME, user);
        if (priority)
                stun_build_u32(&sb, STUN_ATTR_PRIORITY, 0x6e7fffff);
        stun_build_u64(&sb, controlling ? STUN_ATTR_ICE_CONTROLLING : STUN_ATTR_ICE_CONTROLLED, tb);
        if (use_cand)
                stun_build_flag(&sb, STUN_ATTR_USE_CANDIDATE);
        if (unknown)
                stun_build_attr(&sb, unknown, "abcd", 4);
        if (key)
                stun_build_integrity(&sb, (const uint8_t *)key, strlen(key));
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        return b->len;
}

static void parse_out(const struct harness *h, int i, struct stun_msg *m)
{
        assert_true(i >= 0);
        assert_int_equal(h->out[i].kind, ICE_OUT_TRANSMIT);
        assert_int_equal(stun_msg_parse(m, h->out[i].u.transmit.data, h->out[i].u.transmit.len), 0);
        assert_int_equal(stun_msg_check_fingerprint(m, h->out[i].u.transmit.data), 0);
}

static struct ice_agent *lone_agent(bool controlling)
{
        struct ice_config c = cfg_a(controlling, 1000);
        struct ice_agent *a = ice_agent_new(&c);
        assert_non_null(a);
        struct addr h = A("192.0.2.1:5000");
        assert_int_equal(ice_agent_add_host_candidate(a, 1, &h), 0);
        assert_int_equal(ice_agent_gather(a, 0), 0);
        return a;
}

static void add_remote_host(struct ice_agent *a, const char *ip, uint16_t port, uint32_t prio)
{
        struct sdp_candidate c;
        memset(&c, 0, sizeof(c));
        strcpy(c.foundation, "1");
        c.component = 1;
        strcpy(c.transport, "udp");
        c.priority = prio;
        strcpy(c.address, ip);
        c.port = port;
        c.type = SDP_CAND_HOST;
        assert_int_equal(ice_agent_add_remote_candidate(a, &c), 0);
}

static void test_check_format_and_response_integrity(void **state)
{
        (void)state;
        struct harness h = {.a = lone_agent(true)};
        struct addr peer = A("192.0.2.2:6000"), me = A("192.0.2.1:5000");
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        add_remote_host(h.a, "192.0.2.2", 6000, 0x7e7fffff);
        ice_agent_handle_timeout(h.a, 0);
        collect(&h);
        int i = find_transmit_to(&h, &peer);
        struct stun_msg m;
        parse_out(&h, i, &m);
        assert_int_equal(h.out[i].u.transmit.base, 1);
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        assert_true(stun_bytes_eq(m.username, "bbbb:aaaa"));
        assert_int_equal(stun_msg_check_integrity(&m, h.out[i].u.transmit.data,
                                                  (const uint8_t *)pwd_b, strlen(pwd_b)),
                         0);
        assert_true(m.has_priority);
        assert_int_equal(m.priority >> 24, 110); /* prflx type preference */
        assert_true(m.has_ice_controlling);
        assert_int_equal(m.ice_controlling, 1000);
        assert_false(m.has_use_candidate);
        uint8_t txid[STUN_TXID_SIZE];
        memcpy(txid, m.txid, sizeof(txid));

        /* A response keyed with the wrong password changes nothing. */
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
        stun_build_integrity(&sb, (const uint8_t *)pwd_a, strlen(pwd_a));
        stun_build_fingerprint(&sb);
        assert_true(ice_agent_handle_input(h.a, 10 * MS, 1, &peer, b.data, b.len) < 0);
        ice_agent_handle_timeout(h.a, 60 * MS);
        collect(&h);
        for (size_t k = 0; k < h.n; k++) {
                assert_int_not_equal(h.out[k].kind, ICE_OUT_SELECTED_PAIR);
                if (h.out[k].kind == ICE_OUT_TRANSMIT) {
                        parse_out(&h, (int)k, &m);
                        assert_false(m.has_use_candidate);
                }
        }

        /* The right one from the wrong address fails the pair (symmetry, §7.2.5.2.1)... */
        struct addr other = A("192.0.2.99:6000");
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
        stun_build_integrity(&sb, (const uint8_t *)pwd_b, strlen(pwd_b));
        stun_build_fingerprint(&sb);
        struct buf good = BUF_INIT;
        buf_append(&good, b.data, b.len);
        assert_int_equal(ice_agent_handle_input(h.a, 70 * MS, 1, &other, b.data, b.len), 1);
        /* ...and the transaction is over: the same response from the peer is not ours any more. */
        assert_int_equal(ice_agent_handle_input(h.a, 71 * MS, 1, &peer, good.data, good.len), 0);
        buf_free(&b);
        buf_free(&good);
        ice_agent_free(h.a);
}

static void test_response_success_nominates(void **state)
{
        (void)state;
        struct harness h = {.a = lone_agent(true)};
        struct addr peer = A("192.0.2.2:6000"), me = A("192.0.2.1:5000");
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        add_remote_host(h.a, "192.0.2.2", 6000, 0x7e7fffff);
        ice_agent_handle_timeout(h.a, 0);
        collect(&h);
        struct stun_msg m;
        parse_out(&h, find_transmit_to(&h, &peer), &m);

        struct buf b = BUF_INIT;
        struct stun_builder sb;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
        stun_build_integrity(&sb, (const uint8_t *)pwd_b, strlen(pwd_b));
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 10 * MS, 1, &peer, b.data, b.len), 1);
        /*
         * The only pair succeeded: nothing better can come, so it is nominated at once, not at
         * the next Ta (its bindings exist; pacing is for new flows).
         */
        assert_true(ice_agent_next_deadline(h.a) <= 10 * MS);
        ice_agent_handle_timeout(h.a, 10 * MS);
        collect(&h);
        int i = find_transmit_to(&h, &peer);
        parse_out(&h, i, &m);
        assert_true(m.has_use_candidate);

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
        stun_build_integrity(&sb, (const uint8_t *)pwd_b, strlen(pwd_b));
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 60 * MS, 1, &peer, b.data, b.len), 1);
        collect(&h);
        int sel = find_out(&h, ICE_OUT_SELECTED_PAIR, 0);
        assert_true(sel >= 0);
        assert_true(addr_equal(&h.out[sel].u.selected.remote.addr, &peer));
        assert_int_equal(h.out[sel].u.selected.local.base, 1);
        int st = find_out(&h, ICE_OUT_STATE, 0);
        assert_true(st >= 0);
        assert_int_equal(h.out[st].u.state.state, ICE_STATE_CONNECTED);
        assert_int_equal(ice_agent_state(h.a), ICE_STATE_COMPLETED);
        assert_int_equal(ice_agent_send(h.a, (const uint8_t *)"\x80hi", 3), 0);
        collect(&h);
        assert_int_equal(h.n, 1);
        assert_int_equal(h.out[0].u.transmit.len, 3);
        assert_true(addr_equal(&h.out[0].u.transmit.dest, &peer));
        buf_free(&b);
        ice_agent_free(h.a);
}

static void test_incoming_request_validation(void **state)
{
        (void)state;
        struct harness h = {.a = lone_agent(false)};
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        ice_agent_handle_timeout(h.a, 0);
        collect(&h);
        struct addr from = A("192.0.2.7:7000");
        struct buf b = BUF_INIT;
        struct stun_msg m;

        /* Wrong password: 401 without integrity, nothing learnt. */
        build_request(&b, "aaaa:bbbb", pwd_b, true, true, 5, false, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 1 * MS, 1, &from, b.data, b.len), -EACCES);
        collect(&h);
        assert_int_equal(h.n, 1);
        parse_out(&h, 0, &m);
        assert_int_equal(m.cls, STUN_CLASS_ERROR);
        assert_int_equal(m.error_code, 401);
        assert_false(m.has_integrity);

        /* Wrong username: 401. */
        build_request(&b, "xxxx:bbbb", pwd_a, true, true, 5, false, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 2 * MS, 1, &from, b.data, b.len), -EACCES);
        collect(&h);
        parse_out(&h, 0, &m);
        assert_int_equal(m.error_code, 401);

        /* No credentials at all: 400. */
        build_request(&b, NULL, NULL, true, true, 5, false, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 3 * MS, 1, &from, b.data, b.len), -EACCES);
        collect(&h);
        parse_out(&h, 0, &m);
        assert_int_equal(m.error_code, 400);

        /* Authenticated but without PRIORITY: 400 with integrity. */
        build_request(&b, "aaaa:bbbb", pwd_a, false, true, 5, false, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 4 * MS, 1, &from, b.data, b.len), -EBADMSG);
        collect(&h);
        parse_out(&h, 0, &m);
        assert_int_equal(m.error_code, 400);
        assert_int_equal(stun_msg_check_integrity(&m, h.out[0].u.transmit.data,
                                                  (const uint8_t *)pwd_a, strlen(pwd_a)),
                         0);

        /* An unknown comprehension-required attribute: 420 naming it. */
        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 5, false, 0x7f01);
        assert_int_equal(ice_agent_handle_input(h.a, 5 * MS, 1, &from, b.data, b.len), -EPROTO);
        collect(&h);
        parse_out(&h, 0, &m);
        assert_int_equal(m.error_code, 420);
        assert_int_equal(m.unknown_attrs_count, 1);
        assert_int_equal(m.unknown_attrs[0], 0x7f01);

        /* A corrupted FINGERPRINT: dropped silently. */
        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 5, false, 0);
        b.data[b.len - 1] ^= 1;
        assert_true(ice_agent_handle_input(h.a, 6 * MS, 1, &from, b.data, b.len) < 0);
        ice_agent_handle_timeout(h.a, 200 * MS);
        collect(&h);
        assert_int_equal(h.n, 0); /* and no check towards the sender of any of the above */

        /* On an unknown base: not answered. */
        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 5, false, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 7 * MS, 9, &from, b.data, b.len), -ENOENT);

        /* A good one: success with the mapped address, then a triggered check to the prflx. */
        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 5, true, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 300 * MS, 1, &from, b.data, b.len), 1);
        collect(&h);
        assert_int_equal(h.n, 1);
        parse_out(&h, 0, &m);
        assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
        assert_true(m.has_xor_mapped);
        assert_true(addr_equal(&m.xor_mapped, &from));
        assert_int_equal(stun_msg_check_integrity(&m, h.out[0].u.transmit.data,
                                                  (const uint8_t *)pwd_a, strlen(pwd_a)),
                         0);
        ice_agent_handle_timeout(h.a, 300 * MS);
        collect(&h);
        int i = find_transmit_to(&h, &from);
        parse_out(&h, i, &m);
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        assert_true(m.has_ice_controlled);

        /* Not STUN, or STUN of another method: not ICE's. */
        static const uint8_t rtp[12] = {0x80, 0x60};
        assert_int_equal(ice_agent_handle_input(h.a, 301 * MS, 1, &from, rtp, sizeof(rtp)), 0);
        uint8_t txid[STUN_TXID_SIZE] = {1};
        struct stun_builder sb;
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS, txid);
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 302 * MS, 1, &from, b.data, b.len), 0);
        /* A Binding response to a transaction that is not ours: not ICE's either. */
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 303 * MS, 1, &from, b.data, b.len), 0);
        /* A keepalive indication is consumed. */
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_INDICATION, txid);
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 304 * MS, 1, &from, b.data, b.len), 1);
        buf_free(&b);
        ice_agent_free(h.a);
}

static void test_no_failure_while_peer_checks(void **state)
{
        (void)state;
        /*
         * Our checks never get an answer, but the peer keeps checking us: each of its checks
         * re-triggers ours (RFC 8445 §7.3.1.4), so the check list only fails once the peer has
         * gone quiet and our last check has given up (~9.5 s).
         */
        struct ice_config c = cfg_a(false, 1000);
        c.checking_timeout_us = 120 * SEC;
        struct harness h = {.a = ice_agent_new(&c)};
        struct addr host = A("192.0.2.1:5000"), from = A("192.0.2.7:7000");
        assert_int_equal(ice_agent_add_host_candidate(h.a, 1, &host), 0);
        assert_int_equal(ice_agent_gather(h.a, 0), 0);
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        add_remote_host(h.a, "192.0.2.2", 6000, 0x7e7fffff);
        assert_int_equal(ice_agent_remote_gathering_done(h.a), 0);
        struct buf b = BUF_INIT;
        uint64_t last_req = 0, failed_at = 0;
        for (uint64_t t = 0; t <= 60 * SEC && !failed_at; t += 10 * MS) {
                if (t <= 30 * SEC && t % (3 * SEC) == 0) {
                        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 5, false, 0);
                        assert_int_equal(ice_agent_handle_input(h.a, t, 1, &from, b.data, b.len),
                                         1);
                        last_req = t;
                }
                if (ice_agent_next_deadline(h.a) <= t)
                        ice_agent_handle_timeout(h.a, t);
                collect(&h);
                if (ice_agent_state(h.a) == ICE_STATE_FAILED)
                        failed_at = t;
        }
        assert_int_equal(last_req, 30 * SEC);
        assert_true(failed_at >= last_req + 9 * SEC);
        assert_true(failed_at <= last_req + 11 * SEC);
        buf_free(&b);
        ice_agent_free(h.a);
}

static void test_controlled_aggressive_nomination(void **state)
{
        (void)state;
        /* USE-CANDIDATE on the very first check: selected once our own check succeeds. */
        struct harness h = {.a = lone_agent(false)};
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        ice_agent_handle_timeout(h.a, 0);
        collect(&h);
        struct addr from = A("192.0.2.7:7000"), me = A("192.0.2.1:5000");
        struct buf b = BUF_INIT;
        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 5, true, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 1 * MS, 1, &from, b.data, b.len), 1);
        ice_agent_handle_timeout(h.a, 1 * MS);
        collect(&h);
        assert_int_equal(find_out(&h, ICE_OUT_SELECTED_PAIR, 0), -1);
        int i = -1;
        struct stun_msg m;
        for (size_t k = 0; k < h.n; k++) {
                if (h.out[k].kind != ICE_OUT_TRANSMIT)
                        continue;
                parse_out(&h, (int)k, &m);
                if (m.cls == STUN_CLASS_REQUEST)
                        i = (int)k;
        }
        parse_out(&h, i, &m);
        struct stun_builder sb;
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
        stun_build_integrity(&sb, (const uint8_t *)pwd_b, strlen(pwd_b));
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 5 * MS, 1, &from, b.data, b.len), 1);
        collect(&h);
        int sel = find_out(&h, ICE_OUT_SELECTED_PAIR, 0);
        assert_true(sel >= 0);
        assert_int_equal(h.out[sel].u.selected.remote.type, SDP_CAND_PRFLX);
        assert_int_equal(ice_agent_state(h.a), ICE_STATE_COMPLETED);
        buf_free(&b);
        ice_agent_free(h.a);
}

static void test_malformed_input(void **state)
{
        (void)state;
        struct sim s;
        setup_hosts(&s, 19, true, 2, false, 1);
        sim_start(&s);
        sim_run(&s, 10 * SEC, both_completed);
        assert_true(both_completed(&s));

        /* A real check of B's to mutate. */
        struct buf b = BUF_INIT;
        build_request(&b, "aaaa:bbbb", pwd_a, true, false, 1, false, 0);
        uint8_t pkt[600];
        struct addr from = s.p[1].host[0];
        for (int n = 0; n < 20000; n++) {
                size_t len;
                if (n % 2) {
                        len = (size_t)(sim_rand01(&s) * sizeof(pkt));
                        for (size_t k = 0; k < len; k++)
                                pkt[k] = (uint8_t)(sim_rand01(&s) * 256);
                        if (len >= 8 && n % 4 == 1) {
                                /* Make it look like STUN to reach the parser. */
                                pkt[0] &= 0x3f;
                                pkt[4] = 0x21, pkt[5] = 0x12, pkt[6] = 0xa4, pkt[7] = 0x42;
                                if (len >= 20) {
                                        pkt[2] = (uint8_t)((len - 20) >> 8);
                                        pkt[3] = (uint8_t)(len - 20);
                                }
                        }
                } else {
                        len = b.len;
                        memcpy(pkt, b.data, len);
                        int flips = 1 + (int)(sim_rand01(&s) * 4);
                        for (int f = 0; f < flips; f++)
                                pkt[(size_t)(sim_rand01(&s) * (double)len)] ^=
                                    (uint8_t)(1u << (int)(sim_rand01(&s) * 8));
                        if (n % 6 == 0)
                                len = (size_t)(sim_rand01(&s) * (double)len);
                }
                int rc = ice_agent_handle_input(s.p[0].agent, s.now, 1, &from, pkt, len);
                assert_true(rc >= -200 && rc <= 1);
                rc = ice_agent_handle_input(s.p[1].agent, s.now, 1, &from, pkt, len);
                assert_true(rc >= -200 && rc <= 1);
        }
        buf_free(&b);
        /* Whatever came out (error responses...) goes on the wire; the session carries on. */
        sim_run(&s, s.now + 40 * SEC, NULL);
        assert_int_equal(ice_agent_state(s.p[0].agent), ICE_STATE_COMPLETED);
        assert_int_equal(ice_agent_state(s.p[1].agent), ICE_STATE_COMPLETED);
        assert_agree(&s);
        assert_data_flows(&s, 3);
        sim_free(&s);
}

static void test_priorities_foundations_gathering(void **state)
{
        (void)state;
        struct ice_config c = cfg_a(true, 1);
        struct harness h = {.a = ice_agent_new(&c)};
        assert_non_null(h.a);
        struct addr v4a = A("192.0.2.1:5000"), v6 = A("[2001:db8::1]:5000");
        struct addr v4b = A("192.0.2.2:5000"), v4a2 = A("192.0.2.1:5002");
        struct addr relay = A("198.51.100.20:50000"), mapped = A("203.0.113.9:4000");
        struct addr stun = A("198.51.100.10:3478");
        assert_int_equal(ice_agent_add_host_candidate(h.a, 1, &v4a), 0);
        assert_int_equal(ice_agent_add_host_candidate(h.a, 2, &v6), 0);
        assert_int_equal(ice_agent_add_host_candidate(h.a, 3, &v4b), 0);
        assert_int_equal(ice_agent_add_host_candidate(h.a, 4, &v4a2), 0);
        assert_int_equal(ice_agent_add_host_candidate(h.a, 4, &v4b), -EEXIST);
        assert_int_equal(ice_agent_add_host_candidate(h.a, 5, &v4b), -EEXIST);
        assert_int_equal(ice_agent_add_relay_candidate(h.a, 100, &relay, &mapped), 0);
        assert_int_equal(ice_agent_add_pending_relay(h.a, 101), 0);
        assert_int_equal(ice_agent_add_stun_server(h.a, &stun), 0);

        struct sdp_candidate cs[8];
        assert_int_equal(ice_agent_get_local_candidates(h.a, cs, 8), 5);
        /* Host 126, relay 0; IPv6 first (RFC 8421); all priorities distinct. */
        for (int i = 0; i < 4; i++)
                assert_int_equal(cs[i].priority >> 24, 126);
        assert_int_equal(cs[4].priority >> 24, 0);
        assert_true(cs[1].priority > cs[0].priority); /* v6 over the first v4 */
        assert_true(cs[0].priority > cs[2].priority);
        for (int i = 0; i < 5; i++)
                for (int j = i + 1; j < 5; j++)
                        assert_int_not_equal(cs[i].priority, cs[j].priority);
        /* Same type and base IP: same foundation; another IP: another one. */
        assert_string_equal(cs[0].foundation, cs[3].foundation);
        assert_string_not_equal(cs[0].foundation, cs[2].foundation);
        assert_string_not_equal(cs[0].foundation, cs[4].foundation);
        assert_string_equal(cs[4].raddr, "203.0.113.9");
        assert_int_equal(cs[4].rport, 4000);
        assert_string_equal(cs[1].address, "2001:db8::1");
        struct buf line = BUF_INIT;
        assert_int_equal(sdp_candidate_write(&cs[4], &line), 0);
        struct sdp_candidate back;
        assert_int_equal(buf_terminate(&line), 0);
        assert_int_equal(sdp_candidate_parse((const char *)line.data, &back), 0);
        assert_int_equal(back.priority, cs[4].priority);
        buf_free(&line);

        /* Gathering: a LOCAL_CANDIDATE per candidate, queries paced at Ta, v4 hosts only. */
        assert_int_equal(ice_agent_gather(h.a, 0), 0);
        assert_int_equal(ice_agent_gather(h.a, 0), -EALREADY);
        uint8_t txids[3][STUN_TXID_SIZE];
        int bases[3];
        size_t nq = 0;
        uint64_t t = 0;
        collect(&h);
        size_t ncand = 0;
        for (size_t k = 0; k < h.n; k++)
                ncand += h.out[k].kind == ICE_OUT_LOCAL_CANDIDATE;
        assert_int_equal(ncand, 5);
        for (int step = 0; step < 6; step++) {
                ice_agent_handle_timeout(h.a, t);
                collect(&h);
                for (size_t k = 0; k < h.n; k++) {
                        if (h.out[k].kind != ICE_OUT_TRANSMIT)
                                continue;
                        assert_true(addr_equal(&h.out[k].u.transmit.dest, &stun));
                        struct stun_msg m;
                        parse_out(&h, (int)k, &m);
                        assert_true(nq < 3);
                        memcpy(txids[nq], m.txid, STUN_TXID_SIZE);
                        bases[nq++] = h.out[k].u.transmit.base;
                        assert_int_equal(h.n, 1); /* one query per Ta */
                }
                t += 50 * MS;
        }
        assert_int_equal(nq, 3); /* three IPv4 hosts, none for the IPv6 one */
        assert_int_equal(bases[0], 1);
        /* Answers: NATed for base 1 and 4 (same mapped IP), none for base 3. */
        struct addr m1 = A("203.0.113.5:7000"), m4 = A("203.0.113.5:7004");
        struct buf b = BUF_INIT;
        for (size_t q = 0; q < 3; q++) {
                if (bases[q] == 3)
                        continue;
                struct stun_builder sb;
                buf_reset(&b);
                stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txids[q]);
                stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, bases[q] == 1 ? &m1 : &m4);
                stun_build_fingerprint(&sb);
                assert_int_equal(ice_agent_handle_input(h.a, t, bases[q], &stun, b.data, b.len), 1);
        }
        buf_free(&b);
        collect(&h);
        struct sdp_candidate srflx[2];
        size_t ns = 0;
        for (size_t k = 0; k < h.n; k++)
                if (h.out[k].kind == ICE_OUT_LOCAL_CANDIDATE) {
                        assert_int_equal(h.out[k].u.candidate.type, SDP_CAND_SRFLX);
                        srflx[ns++] = h.out[k].u.candidate;
                }
        assert_int_equal(ns, 2);
        assert_int_equal(srflx[0].priority >> 24, 100);
        assert_string_equal(srflx[0].raddr, "192.0.2.1");
        assert_int_equal(srflx[0].rport, 5000);
        /* Same base IP and server: one foundation, apart from the host ones. */
        assert_string_equal(srflx[0].foundation, srflx[1].foundation);
        assert_string_not_equal(srflx[0].foundation, cs[0].foundation);
        assert_int_equal(find_out(&h, ICE_OUT_GATHERING_DONE, 0), -1);

        /* The unanswered query gives up after ~9.5 s; the pending relay still holds. */
        for (uint64_t tt = t; tt < t + 12 * SEC; tt += 100 * MS)
                ice_agent_handle_timeout(h.a, tt);
        collect(&h);
        assert_int_equal(find_out(&h, ICE_OUT_GATHERING_DONE, 0), -1);
        assert_int_equal(ice_agent_gathering_state(h.a), ICE_GATHERING_GATHERING);
        assert_int_equal(ice_agent_relay_failed(h.a, 101), 0);
        assert_int_equal(ice_agent_relay_failed(h.a, 101), -ENOENT);
        collect(&h);
        assert_true(find_out(&h, ICE_OUT_GATHERING_DONE, 0) >= 0);
        assert_int_equal(ice_agent_gathering_state(h.a), ICE_GATHERING_COMPLETE);
        ice_agent_free(h.a);
}

static void test_remote_candidate_forms(void **state)
{
        (void)state;
        struct harness h = {.a = lone_agent(true)};
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        struct sdp_candidate c;
        assert_int_equal(sdp_candidate_parse("1 1 udp 2122260223 0c1e-11.local 6000 typ host", &c),
                         0);
        assert_int_equal(ice_agent_add_remote_candidate(h.a, &c), -EAGAIN);
        assert_int_equal(
            sdp_candidate_parse("1 1 udp 2122260223 peer.example.com 6000 typ host", &c), 0);
        assert_int_equal(ice_agent_add_remote_candidate(h.a, &c), -ENOTSUP);
        /* TCP and RTCP-component candidates are ignored: no check ever goes to them. */
        assert_int_equal(sdp_candidate_parse("2 1 tcp 1518280447 192.0.2.30 9 typ host tcptype "
                                             "active",
                                             &c),
                         0);
        assert_int_equal(ice_agent_add_remote_candidate(h.a, &c), 0);
        assert_int_equal(sdp_candidate_parse("3 2 udp 2122260222 192.0.2.31 6001 typ host", &c), 0);
        assert_int_equal(ice_agent_add_remote_candidate(h.a, &c), 0);
        assert_int_equal(sdp_candidate_parse("4 1 udp 2122260223 0.0.0.0 6000 typ host", &c), 0);
        assert_int_equal(ice_agent_add_remote_candidate(h.a, &c), -EINVAL);
        /* The resolved .local name is used. */
        assert_int_equal(sdp_candidate_parse("1 1 udp 2122260223 0c1e-11.local 6000 typ host", &c),
                         0);
        struct addr res = A("192.0.2.40");
        assert_int_equal(ice_agent_add_remote_candidate_resolved(h.a, &c, &res), 0);
        /* An IPv6 candidate has no IPv4 local to pair with. */
        assert_int_equal(sdp_candidate_parse("5 1 udp 2122260223 2001:db8::5 6000 typ host", &c),
                         0);
        assert_int_equal(ice_agent_add_remote_candidate(h.a, &c), 0);
        struct addr tcp = A("192.0.2.30:9"), rtcp = A("192.0.2.31:6001");
        struct addr want = A("192.0.2.40:6000");
        int checks = 0;
        for (uint64_t t = 0; t < 2 * SEC; t += 10 * MS) {
                ice_agent_handle_timeout(h.a, t);
                collect(&h);
                for (size_t k = 0; k < h.n; k++) {
                        if (h.out[k].kind != ICE_OUT_TRANSMIT)
                                continue;
                        assert_false(addr_equal(&h.out[k].u.transmit.dest, &tcp));
                        assert_false(addr_equal(&h.out[k].u.transmit.dest, &rtcp));
                        assert_true(addr_equal(&h.out[k].u.transmit.dest, &want));
                        checks++;
                }
        }
        assert_true(checks >= 2); /* the check and its retransmissions */
        ice_agent_free(h.a);
}

static void test_max_pairs(void **state)
{
        (void)state;
        struct ice_config c = cfg_a(true, 1);
        c.max_pairs = 3;
        struct harness h = {.a = ice_agent_new(&c)};
        struct addr host = A("192.0.2.1:5000");
        assert_int_equal(ice_agent_add_host_candidate(h.a, 1, &host), 0);
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        /* Five remotes with increasing priority: the three best stay. */
        for (int i = 0; i < 5; i++) {
                char ip[32];
                snprintf(ip, sizeof(ip), "192.0.2.%d", 50 + i);
                add_remote_host(h.a, ip, 6000, 1000u + (uint32_t)i);
        }
        bool seen[5] = {false};
        for (uint64_t t = 0; t < 1 * SEC; t += 10 * MS) {
                ice_agent_handle_timeout(h.a, t);
                collect(&h);
                for (size_t k = 0; k < h.n; k++) {
                        if (h.out[k].kind != ICE_OUT_TRANSMIT)
                                continue;
                        int last = h.out[k].u.transmit.dest.ip[3];
                        assert_true(last >= 50 && last < 55);
                        seen[last - 50] = true;
                }
        }
        assert_false(seen[0]);
        assert_false(seen[1]);
        assert_true(seen[2] && seen[3] && seen[4]);
        ice_agent_free(h.a);
}

/*
 * RFC 8445 section 12.1: data may go on a valid pair before a pair is selected. A controlled
 * agent whose own check succeeded, and to which the peer's checks came (the peer has applied
 * the descriptions), can send (DTLS starts then) while nothing is nominated yet; before either
 * it cannot.
 */
static void test_send_on_valid_pair_before_selection(void **state)
{
        (void)state;
        struct harness h = {.a = lone_agent(false)};
        struct addr peer = A("192.0.2.2:6000"), me = A("192.0.2.1:5000");
        assert_int_equal(ice_agent_set_remote_credentials(h.a, ufrag_b, pwd_b), 0);
        add_remote_host(h.a, "192.0.2.2", 6000, 0x7e7fffff);
        ice_agent_handle_timeout(h.a, 0);
        collect(&h);
        assert_false(ice_agent_writable(h.a));
        assert_int_equal(ice_agent_send(h.a, (const uint8_t *)"\x16x", 2), -ENOTCONN);
        struct stun_msg m;
        parse_out(&h, find_transmit_to(&h, &peer), &m);
        assert_false(m.has_use_candidate);

        struct buf b = BUF_INIT;
        struct stun_builder sb;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
        stun_build_integrity(&sb, (const uint8_t *)pwd_b, strlen(pwd_b));
        stun_build_fingerprint(&sb);
        assert_int_equal(ice_agent_handle_input(h.a, 10 * MS, 1, &peer, b.data, b.len), 1);
        collect(&h);
        /* The peer answered, but may not have our description yet: its checks tell. */
        assert_false(ice_agent_writable(h.a));
        build_request(&b, "aaaa:bbbb", pwd_a, true, true, 77, false, 0);
        assert_int_equal(ice_agent_handle_input(h.a, 11 * MS, 1, &peer, b.data, b.len), 1);
        collect(&h);
        assert_int_equal(find_out(&h, ICE_OUT_SELECTED_PAIR, 0), -1); /* nothing nominated */
        assert_int_equal(ice_agent_state(h.a), ICE_STATE_CHECKING);
        assert_true(ice_agent_writable(h.a));
        assert_int_equal(ice_agent_send(h.a, (const uint8_t *)"\x16hi", 3), 0);
        collect(&h);
        assert_int_equal(h.n, 1);
        assert_int_equal(h.out[0].kind, ICE_OUT_TRANSMIT);
        assert_int_equal(h.out[0].u.transmit.len, 3);
        assert_int_equal(h.out[0].u.transmit.base, 1);
        assert_true(addr_equal(&h.out[0].u.transmit.dest, &peer));
        buf_free(&b);
        ice_agent_close(h.a);
        assert_false(ice_agent_writable(h.a));
        ice_agent_free(h.a);
}

static void test_api_misuse_and_close(void **state)
{
        (void)state;
        assert_null(ice_agent_new(NULL));
        struct ice_config bad = cfg_a(true, 1);
        bad.local_pwd = "short";
        assert_null(ice_agent_new(&bad));
        bad = cfg_a(true, 1);
        bad.local_ufrag = "a:b!";
        assert_null(ice_agent_new(&bad));
        ice_agent_free(NULL);
        assert_int_equal(ice_agent_next_deadline(NULL), UINT64_MAX);

        struct ice_config rnd = {0};
        struct ice_agent *a = ice_agent_new(&rnd);
        assert_non_null(a);
        assert_int_equal(strlen(ice_agent_local_ufrag(a)), 8);
        assert_int_equal(strlen(ice_agent_local_pwd(a)), 24);
        assert_int_equal(ice_agent_state(a), ICE_STATE_NEW);
        assert_int_equal(ice_agent_next_deadline(a), UINT64_MAX);
        struct ice_output o;
        assert_int_equal(ice_agent_poll_output(a, &o), 0);
        assert_int_equal(ice_agent_send(a, (const uint8_t *)"x", 1), -ENOTCONN);
        struct ice_pair_stats st;
        assert_int_equal(ice_agent_get_selected_stats(a, &st), -ENOTCONN);
        struct addr any = A("0.0.0.0:5000"), noport = A("192.0.2.1"), ok = A("192.0.2.1:5000");
        assert_int_equal(ice_agent_add_host_candidate(a, 1, &any), -EINVAL);
        assert_int_equal(ice_agent_add_host_candidate(a, 1, &noport), -EINVAL);
        assert_int_equal(ice_agent_add_host_candidate(a, 1, &ok), 0);
        assert_int_equal(ice_agent_handle_input(a, 0, 1, NULL, (const uint8_t *)"x", 1), -EINVAL);
        assert_int_equal(ice_agent_set_remote_credentials(a, "abc", pwd_b), -EINVAL);
        assert_int_equal(ice_agent_set_remote_credentials(a, ufrag_b, "short"), -EINVAL);
        assert_int_equal(ice_agent_set_remote_credentials(a, ufrag_b, pwd_b), 0);
        assert_int_equal(ice_agent_set_remote_credentials(a, ufrag_b, pwd_b), 0);
        assert_int_equal(ice_agent_set_remote_credentials(a, "cccc", pwd_b), -EBUSY);
        assert_int_equal(ice_agent_poll_output(a, &o), 1);
        assert_int_equal(o.kind, ICE_OUT_STATE);
        assert_int_equal(o.u.state.state, ICE_STATE_CHECKING);
        /* The checking clock starts at the next timed call, not at the origin of time. */
        assert_int_equal(ice_agent_next_deadline(a), 0);
        ice_agent_handle_timeout(a, 1000 * SEC);
        assert_true(ice_agent_next_deadline(a) >= 1000 * SEC);
        ice_agent_handle_timeout(a, 1020 * SEC);
        assert_int_equal(ice_agent_state(a), ICE_STATE_CHECKING);

        ice_agent_close(a);
        assert_int_equal(ice_agent_state(a), ICE_STATE_CLOSED);
        bool closed = false;
        while (ice_agent_poll_output(a, &o) == 1)
                closed = closed || (o.kind == ICE_OUT_STATE && o.u.state.state == ICE_STATE_CLOSED);
        assert_true(closed);
        assert_int_equal(ice_agent_next_deadline(a), UINT64_MAX);
        assert_int_equal(ice_agent_send(a, (const uint8_t *)"x", 1), -ENOTCONN);
        ice_agent_free(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_host_host),
            cmocka_unit_test(test_data_before_nomination),
            cmocka_unit_test(test_role_conflict_both_controlling),
            cmocka_unit_test(test_role_conflict_both_controlled),
            cmocka_unit_test(test_loss_20_percent),
            cmocka_unit_test(test_reorder_duplicate),
            cmocka_unit_test(test_soak_random_conditions),
            cmocka_unit_test(test_prflx_remote_never_signalled),
            cmocka_unit_test(test_prflx_then_late_trickle),
            cmocka_unit_test(test_trickle_after_start),
            cmocka_unit_test(test_mdns_remote_candidate),
            cmocka_unit_test(test_eim_nat_via_srflx),
            cmocka_unit_test(test_no_nat_srflx_deduplicated),
            cmocka_unit_test(test_symmetric_nat_needs_relay),
            cmocka_unit_test(test_relay_policy),
            cmocka_unit_test(test_consent_expiry),
            cmocka_unit_test(test_disconnected_recovers),
            cmocka_unit_test(test_end_of_candidates_all_failed),
            cmocka_unit_test(test_checking_timeout),
            cmocka_unit_test(test_keepalive),
            cmocka_unit_test(test_check_format_and_response_integrity),
            cmocka_unit_test(test_response_success_nominates),
            cmocka_unit_test(test_incoming_request_validation),
            cmocka_unit_test(test_controlled_aggressive_nomination),
            cmocka_unit_test(test_no_failure_while_peer_checks),
            cmocka_unit_test(test_malformed_input),
            cmocka_unit_test(test_priorities_foundations_gathering),
            cmocka_unit_test(test_remote_candidate_forms),
            cmocka_unit_test(test_max_pairs),
            cmocka_unit_test(test_send_on_valid_pair_before_selection),
            cmocka_unit_test(test_api_misuse_and_close),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
