#include "ice_sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ice/stun.h"

struct sim_pkt {
        uint64_t at, seq;
        struct addr src, dst; /* as seen on the public network */
        uint8_t *data;
        size_t len;
};

struct sim_signal {
        uint64_t at, seq;
        int to;
        bool eoc;
        struct sdp_candidate c;
};

static void die(const char *what)
{
        fprintf(stderr, "ice_sim: %s\n", what);
        abort();
}

static uint64_t next_rand(struct sim *s)
{
        /* splitmix64: deterministic per seed. */
        uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

double sim_rand01(struct sim *s)
{
        return (double)(next_rand(s) >> 11) / (double)(1ull << 53);
}

static struct addr parse(const char *str)
{
        struct addr a;
        if (addr_from_string(&a, str) < 0)
                die("bad address");
        return a;
}

void sim_init(struct sim *s, uint64_t seed)
{
        memset(s, 0, sizeof(*s));
        s->rng = seed;
        s->delay_us = 5000;
        for (int i = 0; i < 2; i++) {
                struct sim_peer *p = &s->p[i];
                p->next_port = 40000;
                p->signal_candidates = true;
                p->signal_eoc = true;
                p->t_checking = p->t_connected = p->t_completed = SIM_NEVER;
                p->t_disconnected = p->t_failed = SIM_NEVER;
        }
}

void sim_free(struct sim *s)
{
        for (size_t i = 0; i < s->nq; i++)
                free(s->q[i].data);
        free(s->q);
        free(s->sig);
        for (int i = 0; i < 2; i++)
                ice_agent_free(s->p[i].agent);
        memset(s, 0, sizeof(*s));
}

struct ice_agent *sim_add_peer(struct sim *s, int i, const struct ice_config *cfg, enum sim_nat nat,
                               const char *public_ip)
{
        struct sim_peer *p = &s->p[i];
        p->agent = ice_agent_new(cfg);
        if (!p->agent)
                die("ice_agent_new");
        p->nat = nat;
        if (nat != SIM_NAT_NONE)
                p->public_ip = parse(public_ip);
        return p->agent;
}

void sim_add_host(struct sim *s, int i, const char *addr)
{
        struct sim_peer *p = &s->p[i];
        if (p->n_hosts == SIM_MAX_HOSTS)
                die("too many hosts");
        p->host[p->n_hosts] = parse(addr);
        if (ice_agent_add_host_candidate(p->agent, (int)p->n_hosts + 1, &p->host[p->n_hosts]) < 0)
                die("add host");
        p->n_hosts++;
}

void sim_add_relay(struct sim *s, int i, const char *relayed)
{
        struct sim_peer *p = &s->p[i];
        p->has_relay = true;
        p->relayed = parse(relayed);
        if (ice_agent_add_relay_candidate(p->agent, SIM_RELAY_BASE, &p->relayed, NULL) < 0)
                die("add relay");
}

void sim_set_stun_server(struct sim *s, const char *addr)
{
        s->has_stun = true;
        s->stun_server = parse(addr);
        for (int i = 0; i < 2; i++)
                if (s->p[i].agent && ice_agent_add_stun_server(s->p[i].agent, &s->stun_server) < 0)
                        die("add stun server");
}

void sim_start(struct sim *s)
{
        for (int i = 0; i < 2; i++) {
                struct ice_agent *peer = s->p[1 - i].agent;
                if (ice_agent_set_remote_credentials(s->p[i].agent, ice_agent_local_ufrag(peer),
                                                     ice_agent_local_pwd(peer)) < 0)
                        die("credentials");
                if (ice_agent_gather(s->p[i].agent, s->now) < 0)
                        die("gather");
        }
}

/* ---- the network ---- */

static void push_pkt(struct sim *s, const struct addr *src, const struct addr *dst,
                     const uint8_t *data, size_t len)
{
        if (s->blackhole || sim_rand01(s) < s->loss) {
                s->dropped++;
                return;
        }
        int copies = sim_rand01(s) < s->dup ? 2 : 1;
        for (int c = 0; c < copies; c++) {
                if (s->nq == s->capq) {
                        s->capq = s->capq ? s->capq * 2 : 64;
                        s->q = realloc(s->q, s->capq * sizeof(*s->q));
                        if (!s->q)
                                die("oom");
                }
                struct sim_pkt *k = &s->q[s->nq++];
                uint64_t jitter = s->jitter_us ? next_rand(s) % (s->jitter_us + 1) : 0;
                k->at = s->now + s->delay_us + jitter;
                k->seq = s->seq++;
                k->src = *src;
                k->dst = *dst;
                k->data = malloc(len ? len : 1);
                if (!k->data)
                        die("oom");
                memcpy(k->data, data, len);
                k->len = len;
        }
}

static struct sim_map *nat_map(struct sim_peer *p, const struct addr *inside,
                               const struct addr *dst)
{
        for (size_t i = 0; i < p->n_maps; i++) {
                struct sim_map *m = &p->maps[i];
                if (addr_equal(&m->inside, inside) &&
                    (p->nat == SIM_NAT_EIM || addr_equal(&m->remote, dst)))
                        return m;
        }
        if (p->n_maps == SIM_MAX_MAPS)
                die("too many NAT mappings");
        struct sim_map *m = &p->maps[p->n_maps++];
        memset(m, 0, sizeof(*m));
        m->inside = *inside;
        m->remote = *dst;
        m->outside = p->public_ip;
        m->outside.port = p->next_port++;
        return m;
}

/* A datagram leaving peer i on `base` for dst: translate the source, then put it on the wire. */
static void send_from(struct sim *s, int i, int base, const struct addr *dst, const uint8_t *data,
                      size_t len)
{
        struct sim_peer *p = &s->p[i];
        struct addr src;
        if (base == SIM_RELAY_BASE) {
                if (!p->has_relay)
                        die("send on a relay base without relay");
                src = p->relayed;
                p->tx_relay++;
        } else {
                if (base < 1 || (size_t)base > p->n_hosts)
                        die("send on an unknown base");
                src = p->host[base - 1];
                p->tx_host++;
                if (p->nat != SIM_NAT_NONE && src.family == ADDR_FAMILY_IPV4) {
                        struct sim_map *m = nat_map(p, &src, dst);
                        bool known = false;
                        for (size_t k = 0; k < m->n_permits; k++)
                                known = known || addr_equal(&m->permits[k], dst);
                        if (!known && m->n_permits < SIM_MAX_PERMITS)
                                m->permits[m->n_permits++] = *dst;
                        src = m->outside;
                }
        }
        push_pkt(s, &src, dst, data, len);
}

static void stun_server_answer(struct sim *s, const struct sim_pkt *k)
{
        struct stun_msg m;
        if (stun_msg_parse(&m, k->data, k->len) < 0 || m.cls != STUN_CLASS_REQUEST)
                return;
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &k->src);
        if (stun_build_fingerprint(&sb) == 0)
                push_pkt(s, &s->stun_server, &k->src, b.data, b.len);
        buf_free(&b);
}

static void input(struct sim *s, int i, int base, const struct addr *from, const uint8_t *data,
                  size_t len)
{
        struct sim_peer *p = &s->p[i];
        int rc = ice_agent_handle_input(p->agent, s->now, base, from, data, len);
        if (rc == 0) {
                p->app_received++;
                p->app_bytes_received += len;
        } else if (rc < 0) {
                p->input_errors++;
        }
}

static void deliver(struct sim *s, const struct sim_pkt *k)
{
        if (s->has_stun && addr_equal(&k->dst, &s->stun_server)) {
                stun_server_answer(s, k);
                return;
        }
        for (int i = 0; i < 2; i++) {
                struct sim_peer *p = &s->p[i];
                if (p->has_relay && addr_equal(&k->dst, &p->relayed)) {
                        s->delivered++;
                        input(s, i, SIM_RELAY_BASE, &k->src, k->data, k->len);
                        return;
                }
                for (size_t h = 0; h < p->n_hosts; h++) {
                        bool public =
                            p->nat == SIM_NAT_NONE || p->host[h].family == ADDR_FAMILY_IPV6;
                        if (public && addr_equal(&k->dst, &p->host[h])) {
                                s->delivered++;
                                input(s, i, (int)h + 1, &k->src, k->data, k->len);
                                return;
                        }
                }
                if (p->nat == SIM_NAT_NONE)
                        continue;
                for (size_t m = 0; m < p->n_maps; m++) {
                        struct sim_map *mp = &p->maps[m];
                        if (!addr_equal(&mp->outside, &k->dst))
                                continue;
                        for (size_t x = 0; x < mp->n_permits; x++) {
                                if (addr_equal(&mp->permits[x], &k->src)) {
                                        int base = 0;
                                        for (size_t h = 0; h < p->n_hosts; h++)
                                                if (addr_equal(&p->host[h], &mp->inside))
                                                        base = (int)h + 1;
                                        s->delivered++;
                                        input(s, i, base, &k->src, k->data, k->len);
                                        return;
                                }
                        }
                }
        }
        s->dropped++; /* no route, or filtered by a NAT */
}

/* ---- signalling ---- */

static void push_signal(struct sim *s, int to, const struct sdp_candidate *c, uint64_t delay)
{
        if (s->nsig == s->capsig) {
                s->capsig = s->capsig ? s->capsig * 2 : 32;
                s->sig = realloc(s->sig, s->capsig * sizeof(*s->sig));
                if (!s->sig)
                        die("oom");
        }
        struct sim_signal *g = &s->sig[s->nsig++];
        memset(g, 0, sizeof(*g));
        g->at = s->now + delay;
        g->seq = s->seq++;
        g->to = to;
        g->eoc = c == NULL;
        if (c)
                g->c = *c;
}

int sim_signal_candidate(struct sim *s, int i, const struct sdp_candidate *c)
{
        struct sim_peer *p = &s->p[i];
        int rc = ice_agent_add_remote_candidate(p->agent, c);
        if (rc == -EAGAIN) {
                /* Our mDNS: "hostN-M.local" names host M of peer N. */
                unsigned peer, host;
                if (sscanf(c->address, "host%u-%u.local", &peer, &host) == 2 && peer < 2 &&
                    host < s->p[peer].n_hosts)
                        rc = ice_agent_add_remote_candidate_resolved(p->agent, c,
                                                                     &s->p[peer].host[host]);
        }
        if (rc < 0)
                p->remote_add_errors++;
        return rc;
}

static void deliver_signal(struct sim *s, const struct sim_signal *g)
{
        if (g->eoc)
                ice_agent_remote_gathering_done(s->p[g->to].agent);
        else
                sim_signal_candidate(s, g->to, &g->c);
}

/* ---- agent outputs ---- */

static void count_stun(struct sim_peer *p, const uint8_t *data, size_t len)
{
        struct stun_msg m;
        if (!stun_is_message(data, len) || stun_msg_parse(&m, data, len) < 0)
                return;
        if (m.cls == STUN_CLASS_INDICATION)
                p->indications_sent++;
        if (m.cls != STUN_CLASS_ERROR)
                return;
        p->sent_487 += m.error_code == 487;
        p->sent_401 += m.error_code == 401;
        p->sent_400 += m.error_code == 400;
        p->sent_420 += m.error_code == 420;
}

static void drain(struct sim *s, int i)
{
        struct sim_peer *p = &s->p[i];
        struct ice_output o;
        while (ice_agent_poll_output(p->agent, &o) == 1) {
                switch (o.kind) {
                case ICE_OUT_TRANSMIT:
                        count_stun(p, o.u.transmit.data, o.u.transmit.len);
                        send_from(s, i, o.u.transmit.base, &o.u.transmit.dest, o.u.transmit.data,
                                  o.u.transmit.len);
                        break;
                case ICE_OUT_STATE:
                        p->state = o.u.state.state;
                        p->reason = o.u.state.reason;
                        if (p->state == ICE_STATE_CHECKING && p->t_checking == SIM_NEVER)
                                p->t_checking = s->now;
                        if (p->state == ICE_STATE_CONNECTED && p->t_connected == SIM_NEVER)
                                p->t_connected = s->now;
                        if (p->state == ICE_STATE_COMPLETED && p->t_completed == SIM_NEVER)
                                p->t_completed = s->now;
                        if (p->state == ICE_STATE_DISCONNECTED && p->t_disconnected == SIM_NEVER)
                                p->t_disconnected = s->now;
                        if (p->state == ICE_STATE_FAILED && p->t_failed == SIM_NEVER)
                                p->t_failed = s->now;
                        break;
                case ICE_OUT_LOCAL_CANDIDATE: {
                        struct sdp_candidate c = o.u.candidate;
                        if (p->n_cands < SIM_MAX_CANDS)
                                p->cands[p->n_cands++] = c;
                        if (p->mdns_names && c.type == SDP_CAND_HOST) {
                                for (size_t h = 0; h < p->n_hosts; h++) {
                                        char ip[ADDR_STRLEN];
                                        addr_ip_to_string(&p->host[h], ip, sizeof(ip));
                                        if (strcmp(ip, c.address) == 0 && p->host[h].port == c.port)
                                                snprintf(c.address, sizeof(c.address),
                                                         "host%d-%zu.local", i, h);
                                }
                        }
                        if (p->signal_candidates)
                                push_signal(s, 1 - i, &c, p->signal_delay_us);
                        break;
                }
                case ICE_OUT_GATHERING_DONE:
                        p->gathering_done = true;
                        if (p->signal_eoc)
                                push_signal(s, 1 - i, NULL, p->signal_delay_us);
                        break;
                case ICE_OUT_SELECTED_PAIR:
                        p->have_selected = true;
                        p->sel_local = o.u.selected.local;
                        p->sel_remote = o.u.selected.remote;
                        p->n_selected_events++;
                        break;
                }
        }
}

bool sim_both_connected(const struct sim *s)
{
        return s->p[0].t_connected != SIM_NEVER && s->p[1].t_connected != SIM_NEVER;
}

uint64_t sim_run(struct sim *s, uint64_t t_end, bool (*stop)(const struct sim *s))
{
        uint64_t spins = 0, last = s->now;
        for (;;) {
                drain(s, 0);
                drain(s, 1);
                if (stop && stop(s))
                        return s->now;
                uint64_t next = UINT64_MAX;
                for (int i = 0; i < 2; i++) {
                        uint64_t d = ice_agent_next_deadline(s->p[i].agent);
                        next = d < next ? d : next;
                }
                for (size_t k = 0; k < s->nq; k++)
                        next = s->q[k].at < next ? s->q[k].at : next;
                for (size_t k = 0; k < s->nsig; k++)
                        next = s->sig[k].at < next ? s->sig[k].at : next;
                if (next > t_end) {
                        s->now = t_end;
                        return s->now;
                }
                if (next > s->now)
                        s->now = next;
                /* An agent whose deadline never moves past now would spin here forever. */
                spins = s->now == last ? spins + 1 : 0;
                last = s->now;
                if (spins > 100000)
                        die("no progress: a deadline does not advance");

                /* Earliest first, in send order for equal times, one at a time. */
                int best = -1;
                for (size_t k = 0; k < s->nq; k++)
                        if (s->q[k].at <= s->now &&
                            (best < 0 || s->q[k].at < s->q[best].at ||
                             (s->q[k].at == s->q[best].at && s->q[k].seq < s->q[best].seq)))
                                best = (int)k;
                if (best >= 0) {
                        struct sim_pkt k = s->q[best];
                        s->q[best] = s->q[--s->nq];
                        deliver(s, &k);
                        free(k.data);
                        continue;
                }
                int sg = -1;
                for (size_t k = 0; k < s->nsig; k++)
                        if (s->sig[k].at <= s->now && (sg < 0 || s->sig[k].seq < s->sig[sg].seq))
                                sg = (int)k;
                if (sg >= 0) {
                        struct sim_signal g = s->sig[sg];
                        memmove(&s->sig[sg], &s->sig[sg + 1],
                                (s->nsig - (size_t)sg - 1) * sizeof(g));
                        s->nsig--;
                        deliver_signal(s, &g);
                        continue;
                }
                for (int i = 0; i < 2; i++)
                        if (ice_agent_next_deadline(s->p[i].agent) <= s->now)
                                ice_agent_handle_timeout(s->p[i].agent, s->now);
        }
}
