#include "ice/ice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/rand.h"
#include "ice/stun.h"
#include "ice/stun_txn.h"

/* RFC 8445 §5.1.2.2 recommended type preferences. */
#define TYPE_PREF_HOST  126
#define TYPE_PREF_PRFLX 110
#define TYPE_PREF_SRFLX 100
#define TYPE_PREF_RELAY 0

/*
 * Check and gathering transactions: RFC 8445 §14.3 RTO, doubled up to a cap, seven sends. The
 * cap keeps a lost path from taking the 39.5 s of plain STUN to be declared failed: here a
 * check gives up after about 9.5 s.
 */
#define CHECK_RTO_MIN_US 500000u
#define CHECK_RTO_CAP_US 1500000u
#define CHECK_RC         7u
#define CHECK_RM         4u
/* Consent checks: sends at 0, 0.5, 1.5, 3.5 s, over before the next one is due. */
#define CONSENT_RTO_US 500000u
#define CONSENT_RC     4u
#define CONSENT_RM     2u
/* A check whose retransmissions were cancelled (RFC 8445 §7.3.1.4) may still be answered. */
#define CANCELLED_LINGER_US 10000000u

#define MAX_REQUESTS       256
#define MAX_GATHER         32
#define MAX_PENDING_RELAYS 8
#define MAX_OUTPUTS        4096
#define MAX_DATAGRAM       65535

enum pair_state {
        PAIR_FROZEN = 0,
        PAIR_WAITING,
        PAIR_IN_PROGRESS,
        PAIR_SUCCEEDED,
        PAIR_FAILED,
};

struct ice_local {
        enum sdp_cand_type type;
        int base;
        struct addr addr;
        struct addr base_addr; /* host: itself; srflx/prflx: the host's; relay: itself */
        struct addr rel;       /* raddr/rport in SDP */
        bool has_rel;
        struct addr server; /* srflx: the STUN server (part of the foundation) */
        uint16_t local_pref;
        uint32_t priority;
        char foundation[SDP_FOUNDATION_MAX + 1];
        bool announced;
};

struct ice_remote {
        enum sdp_cand_type type;
        struct addr addr;
        uint32_t priority;
        char foundation[SDP_FOUNDATION_MAX + 1];
};

/*
 * Check-list pairs are checked; a successful check yields a valid pair, which is the check-list
 * pair itself or, when the mapped address names another local candidate (srflx, prflx), an
 * extra pair outside the check list (RFC 8445 §7.2.5.3.2). Traffic and counters always live on
 * the check-list pair: it is the route (local base, remote address).
 */
struct ice_pair {
        bool used;
        bool checklist;
        int local, remote;
        uint64_t priority;
        enum pair_state state;
        bool valid, nominated;
        int valid_pair; /* check-list pair: the valid pair its check produced, or -1 */
        int route;      /* valid pair: the check-list pair carrying its traffic */
        bool triggered; /* in the triggered-check queue */
        bool use_candidate;
        bool nominate_on_success; /* controlled: USE-CANDIDATE came before our check succeeded */

        bool ever_success;
        uint64_t last_success_us;
        uint64_t last_sent_us;
        bool rtt_valid;
        uint64_t rtt_us;
        uint64_t requests_sent, responses_received, requests_received, responses_sent;
        uint64_t consent_sent, packets_sent, bytes_sent, packets_received, bytes_received;
        bool data_sent; /* ice_agent_send has no clock: noticed at the next keepalive check */
};

enum req_kind {
        REQ_CHECK,
        REQ_CONSENT,
        REQ_GATHER,
};

/* An outstanding Binding request of ours; the transaction id finds it. */
struct ice_req {
        uint8_t txid[STUN_TXID_SIZE];
        enum req_kind kind;
        int index; /* pair, or gather slot */
        bool use_candidate;
        bool controlling; /* role claimed in the request */
        bool cancelled;
        uint64_t expire_us;
        /* Cancelled after one transmission: an answer still gives the round trip. */
        bool sent_once;
        uint64_t first_sent_us;
};

enum gather_state {
        GATHER_WAITING,
        GATHER_PENDING,
        GATHER_DONE,
};

struct ice_gather {
        int local;
        int server;
        enum gather_state state;
};

struct ice_out_item {
        enum ice_output_kind kind;
        int base;
        struct addr dest;
        uint8_t *data;
        size_t len;
        enum ice_state state;
        const char *reason;
        int cand;
        struct ice_candidate_info sel_local, sel_remote;
};

struct ice_agent {
        struct ice_config cfg;
        char local_ufrag[ICE_CRED_MAX + 1], local_pwd[ICE_CRED_MAX + 1];
        char remote_ufrag[ICE_CRED_MAX + 1], remote_pwd[ICE_CRED_MAX + 1];
        bool have_remote;
        bool controlling;
        uint64_t tie_breaker;
        enum ice_state state;
        enum ice_state state_before_disconnect;
        enum ice_gathering_state gathering;
        bool gather_started;
        bool remote_done;
        uint64_t now;
        bool checking_start_pending;
        uint64_t checking_start;

        struct ice_local local[ICE_MAX_LOCAL_CANDIDATES];
        size_t n_local;
        struct ice_remote remote[ICE_MAX_REMOTE_CANDIDATES];
        size_t n_remote;
        unsigned next_foundation;
        unsigned next_prflx;

        struct ice_pair *pairs;
        size_t pair_cap; /* 2 * max_pairs: room for the valid pairs outside the check list */
        int *triggered;
        size_t n_triggered;

        struct ice_req reqs[MAX_REQUESTS];
        size_t n_reqs;
        struct stun_txn_table *txn;

        struct addr servers[ICE_MAX_STUN_SERVERS];
        size_t n_servers;
        struct ice_gather gather[MAX_GATHER];
        size_t n_gather;
        int pending_relays[MAX_PENDING_RELAYS];
        size_t n_pending_relays;

        bool paced_any;
        uint64_t last_paced_us;

        bool had_pairs;
        bool have_valid;
        bool peer_checked; /* an authenticated check came: the peer has our description */
        uint64_t first_valid_us;
        int selected;
        uint64_t next_consent_us;
        uint64_t jitter_state;

        struct ice_out_item *outq;
        size_t out_head, out_n, out_cap;
        uint8_t *out_hold;
        struct buf scratch;
};

/* ---- small helpers ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

/* Like addr_equal, but a zero scope (as STUN carries) matches any scope. */
static bool same_addr(const struct addr *a, const struct addr *b)
{
        if (a->family != b->family || a->port != b->port)
                return false;
        size_t n = a->family == ADDR_FAMILY_IPV4 ? 4 : a->family == ADDR_FAMILY_IPV6 ? 16 : 0;
        if (n == 0 || memcmp(a->ip, b->ip, n) != 0)
                return false;
        return !a->scope_id || !b->scope_id || a->scope_id == b->scope_id;
}

static bool same_ip(const struct addr *a, const struct addr *b)
{
        struct addr x = *a, y = *b;
        x.port = y.port = 0;
        return same_addr(&x, &y);
}

static const char *fmt_addr(const struct addr *a, char *buf)
{
        if (addr_to_string(a, buf, ADDR_STRLEN) < 0)
                strcpy(buf, "?");
        return buf;
}

static const char *const type_names[] = {"host", "srflx", "prflx", "relay"};

static unsigned type_pref(enum sdp_cand_type t)
{
        switch (t) {
        case SDP_CAND_HOST:
                return TYPE_PREF_HOST;
        case SDP_CAND_PRFLX:
                return TYPE_PREF_PRFLX;
        case SDP_CAND_SRFLX:
                return TYPE_PREF_SRFLX;
        default:
                return TYPE_PREF_RELAY;
        }
}

/* RFC 8445 §5.1.2.1, component 1. */
static uint32_t cand_priority(unsigned type_pref, uint16_t local_pref)
{
        return (uint32_t)type_pref << 24 | (uint32_t)local_pref << 8 | 255u;
}

static const char *fmt_cand(const struct ice_local *l, char *buf)
{
        char a[ADDR_STRLEN];
        snprintf(buf, 96, "%s %s", type_names[l->type], fmt_addr(&l->addr, a));
        return buf;
}

const char *ice_state_name(enum ice_state s)
{
        static const char *const names[] = {"new",          "checking", "connected", "completed",
                                            "disconnected", "failed",   "closed"};
        return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* ---- outputs ---- */

static int out_push(struct ice_agent *a, const struct ice_out_item *item)
{
        if (a->out_head > 0 && a->out_head == a->out_n) {
                a->out_head = 0;
                a->out_n = 0;
        }
        if (a->out_n == a->out_cap) {
                if (a->out_head > 0) {
                        memmove(a->outq, a->outq + a->out_head,
                                (a->out_n - a->out_head) * sizeof(a->outq[0]));
                        a->out_n -= a->out_head;
                        a->out_head = 0;
                }
        }
        if (a->out_n == a->out_cap) {
                if (a->out_cap >= MAX_OUTPUTS)
                        return -ENOBUFS;
                size_t cap = a->out_cap ? a->out_cap * 2 : 32;
                struct ice_out_item *q = realloc(a->outq, cap * sizeof(*q));
                if (!q)
                        return -ENOMEM;
                a->outq = q;
                a->out_cap = cap;
        }
        a->outq[a->out_n++] = *item;
        return 0;
}

static int emit_transmit(struct ice_agent *a, int base, const struct addr *dest,
                         const uint8_t *data, size_t len)
{
        struct ice_out_item it = {
            .kind = ICE_OUT_TRANSMIT, .base = base, .dest = *dest, .len = len};
        it.data = malloc(len ? len : 1);
        if (!it.data)
                return -ENOMEM;
        memcpy(it.data, data, len);
        int rc = out_push(a, &it);
        if (rc < 0) {
                free(it.data);
                log_debug("ice", "output queue full, datagram dropped");
        }
        return rc;
}

static void set_state(struct ice_agent *a, enum ice_state s, const char *reason)
{
        if (a->state == s)
                return;
        log_debug("ice", "state %s -> %s%s%s", ice_state_name(a->state), ice_state_name(s),
                  reason ? ": " : "", reason ? reason : "");
        a->state = s;
        struct ice_out_item it = {.kind = ICE_OUT_STATE, .state = s, .reason = reason};
        out_push(a, &it);
}

static void local_info(const struct ice_local *l, struct ice_candidate_info *ci)
{
        ci->type = l->type;
        ci->addr = l->addr;
        ci->priority = l->priority;
        ci->base = l->base;
}

static void remote_info(const struct ice_remote *r, struct ice_candidate_info *ci)
{
        ci->type = r->type;
        ci->addr = r->addr;
        ci->priority = r->priority;
        ci->base = -1;
}

static bool announceable(const struct ice_agent *a, const struct ice_local *l)
{
        if (l->type == SDP_CAND_RELAY)
                return true;
        return a->cfg.policy == ICE_POLICY_ALL &&
               (l->type == SDP_CAND_HOST || l->type == SDP_CAND_SRFLX);
}

/* Which local candidates are paired: srflx ones are replaced by their base (RFC 8445 6.1.2.4). */
static bool pairable(const struct ice_agent *a, const struct ice_local *l)
{
        if (l->type == SDP_CAND_RELAY)
                return true;
        return l->type == SDP_CAND_HOST && a->cfg.policy == ICE_POLICY_ALL;
}

static void announce(struct ice_agent *a, int li)
{
        struct ice_local *l = &a->local[li];
        if (!a->gather_started || l->announced || !announceable(a, l))
                return;
        struct ice_out_item it = {.kind = ICE_OUT_LOCAL_CANDIDATE, .cand = li};
        if (out_push(a, &it) == 0)
                l->announced = true;
}

static void local_to_sdp(const struct ice_local *l, struct sdp_candidate *c)
{
        memset(c, 0, sizeof(*c));
        snprintf(c->foundation, sizeof(c->foundation), "%s", l->foundation);
        c->component = 1;
        strcpy(c->transport, "udp");
        c->priority = l->priority;
        addr_ip_to_string(&l->addr, c->address, sizeof(c->address));
        c->port = l->addr.port;
        c->type = l->type;
        if (l->type != SDP_CAND_HOST) {
                if (l->has_rel) {
                        addr_ip_to_string(&l->rel, c->raddr, sizeof(c->raddr));
                        c->rport = l->rel.port;
                } else {
                        /* RFC 8839 requires raddr; the convention for "not disclosed". */
                        strcpy(c->raddr, l->addr.family == ADDR_FAMILY_IPV6 ? "::" : "0.0.0.0");
                        c->rport = 0;
                }
        }
}

/* ---- pairs ---- */

static uint64_t pair_priority(const struct ice_agent *a, int li, int ri)
{
        uint64_t lp = a->local[li].priority, rp = a->remote[ri].priority;
        uint64_t g = a->controlling ? lp : rp, d = a->controlling ? rp : lp;
        uint64_t lo = g < d ? g : d, hi = g < d ? d : g;
        return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

static bool same_foundation(const struct ice_agent *a, const struct ice_pair *x,
                            const struct ice_pair *y)
{
        return strcmp(a->local[x->local].foundation, a->local[y->local].foundation) == 0 &&
               strcmp(a->remote[x->remote].foundation, a->remote[y->remote].foundation) == 0;
}

static void triggered_remove(struct ice_agent *a, int pi)
{
        size_t j = 0;
        for (size_t i = 0; i < a->n_triggered; i++)
                if (a->triggered[i] != pi)
                        a->triggered[j++] = a->triggered[i];
        a->n_triggered = j;
        a->pairs[pi].triggered = false;
}

static void triggered_push(struct ice_agent *a, int pi, bool front)
{
        if (a->pairs[pi].triggered) {
                if (!front)
                        return;
                triggered_remove(a, pi);
        }
        if (front) {
                memmove(a->triggered + 1, a->triggered, a->n_triggered * sizeof(int));
                a->triggered[0] = pi;
        } else {
                a->triggered[a->n_triggered] = pi;
        }
        a->n_triggered++;
        a->pairs[pi].triggered = true;
}

static int find_pair(const struct ice_agent *a, int li, int ri, bool checklist)
{
        for (size_t i = 0; i < a->pair_cap; i++) {
                const struct ice_pair *p = &a->pairs[i];
                if (p->used && p->local == li && p->remote == ri && p->checklist == checklist)
                        return (int)i;
        }
        return -1;
}

static size_t checklist_count(const struct ice_agent *a)
{
        size_t n = 0;
        for (size_t i = 0; i < a->pair_cap; i++)
                n += a->pairs[i].used && a->pairs[i].checklist;
        return n;
}

static bool compatible(const struct addr *l, const struct addr *r)
{
        if (l->family != r->family)
                return false;
        /* A link-local or loopback address only reaches its own kind. */
        if (addr_is_link_local(l) != addr_is_link_local(r))
                return false;
        return addr_is_loopback(l) == addr_is_loopback(r);
}

static void remove_req(struct ice_agent *a, int i);

/* Frees the slot; requests naming it go too, so a reused slot never gets their answers. */
static void remove_pair(struct ice_agent *a, int pi)
{
        triggered_remove(a, pi);
        for (size_t i = 0; i < a->n_reqs;) {
                if (a->reqs[i].kind != REQ_GATHER && a->reqs[i].index == pi) {
                        stun_txn_cancel(a->txn, a->reqs[i].txid);
                        remove_req(a, (int)i);
                } else {
                        i++;
                }
        }
        a->pairs[pi].used = false;
}

/* Finds or creates the pair; returns its index or a negative code. */
static int make_pair(struct ice_agent *a, int li, int ri, bool checklist)
{
        int pi = find_pair(a, li, ri, checklist);
        if (pi >= 0)
                return pi;
        if (!compatible(&a->local[li].addr, &a->remote[ri].addr))
                return -EAFNOSUPPORT;
        uint64_t prio = pair_priority(a, li, ri);
        if (checklist && checklist_count(a) >= a->cfg.max_pairs) {
                /* RFC 8445 §6.1.2.5: keep the highest-priority pairs; only unchecked ones go. */
                int worst = -1;
                for (size_t i = 0; i < a->pair_cap; i++) {
                        struct ice_pair *p = &a->pairs[i];
                        if (p->used && p->checklist && p->valid_pair < 0 &&
                            (p->state == PAIR_FROZEN || p->state == PAIR_WAITING) &&
                            (worst < 0 || p->priority < a->pairs[worst].priority))
                                worst = (int)i;
                }
                if (worst < 0 || a->pairs[worst].priority >= prio)
                        return -ENOSPC;
                remove_pair(a, worst);
        }
        for (size_t i = 0; i < a->pair_cap; i++) {
                struct ice_pair *p = &a->pairs[i];
                if (p->used)
                        continue;
                memset(p, 0, sizeof(*p));
                p->used = true;
                p->checklist = checklist;
                p->local = li;
                p->remote = ri;
                p->priority = prio;
                p->valid_pair = -1;
                p->route = (int)i;
                p->state = PAIR_FROZEN;
                if (checklist) {
                        /* Trickle ICE (RFC 8838 §11): a new foundation starts Waiting. */
                        bool busy = false;
                        for (size_t j = 0; j < a->pair_cap && !busy; j++) {
                                const struct ice_pair *q = &a->pairs[j];
                                busy = j != i && q->used && q->checklist &&
                                       (q->state == PAIR_WAITING || q->state == PAIR_IN_PROGRESS) &&
                                       same_foundation(a, p, q);
                        }
                        p->state = busy ? PAIR_FROZEN : PAIR_WAITING;
                        a->had_pairs = true;
                        char la[96], ra[ADDR_STRLEN];
                        log_debug("ice", "pair %zu: %s -> %s %s, %s", i,
                                  fmt_cand(&a->local[li], la), type_names[a->remote[ri].type],
                                  fmt_addr(&a->remote[ri].addr, ra), busy ? "frozen" : "waiting");
                }
                return (int)i;
        }
        return -ENOSPC;
}

static void recompute_priorities(struct ice_agent *a)
{
        for (size_t i = 0; i < a->pair_cap; i++)
                if (a->pairs[i].used)
                        a->pairs[i].priority =
                            pair_priority(a, a->pairs[i].local, a->pairs[i].remote);
}

static void pair_local_with_remotes(struct ice_agent *a, int li)
{
        if (!pairable(a, &a->local[li]) || a->selected >= 0)
                return;
        for (size_t r = 0; r < a->n_remote; r++)
                make_pair(a, li, (int)r, true);
}

static void pair_remote_with_locals(struct ice_agent *a, int ri)
{
        if (a->selected >= 0)
                return; /* checks are over; an incoming check can still make a pair */
        for (size_t l = 0; l < a->n_local; l++)
                if (pairable(a, &a->local[l]))
                        make_pair(a, (int)l, ri, true);
}

/* ---- requests ---- */

static int find_req(const struct ice_agent *a, const uint8_t *txid)
{
        for (size_t i = 0; i < a->n_reqs; i++)
                if (memcmp(a->reqs[i].txid, txid, STUN_TXID_SIZE) == 0)
                        return (int)i;
        return -1;
}

static void remove_req(struct ice_agent *a, int i)
{
        memmove(&a->reqs[i], &a->reqs[i + 1], (a->n_reqs - (size_t)i - 1) * sizeof(a->reqs[0]));
        a->n_reqs--;
}

/* Stops retransmitting; a response still counts for a while (RFC 8445 §7.3.1.4). */
static void cancel_req(struct ice_agent *a, int i)
{
        struct ice_req *r = &a->reqs[i];
        if (r->cancelled)
                return;
        struct stun_txn_match m;
        if (stun_txn_match_response(a->txn, a->now, r->txid, &m) == 0) {
                r->sent_once = m.transmissions == 1;
                r->first_sent_us = m.first_sent_us;
        } else {
                stun_txn_cancel(a->txn, r->txid);
        }
        r->cancelled = true;
        r->expire_us = add_sat(a->now, CANCELLED_LINGER_US);
}

static void cancel_pair_checks(struct ice_agent *a, int pi)
{
        for (size_t i = 0; i < a->n_reqs; i++)
                if (a->reqs[i].kind == REQ_CHECK && a->reqs[i].index == pi)
                        cancel_req(a, (int)i);
}

static int alloc_req(struct ice_agent *a)
{
        if (a->n_reqs == MAX_REQUESTS) {
                /* Forget the oldest cancelled request to make room. */
                for (size_t i = 0; i < a->n_reqs; i++) {
                        if (a->reqs[i].cancelled) {
                                remove_req(a, (int)i);
                                break;
                        }
                }
        }
        if (a->n_reqs == MAX_REQUESTS)
                return -ENOSPC;
        memset(&a->reqs[a->n_reqs], 0, sizeof(a->reqs[0]));
        return (int)a->n_reqs++;
}

static int build_check(struct ice_agent *a, const uint8_t *txid, uint32_t prio, bool use_cand)
{
        char user[2 * ICE_CRED_MAX + 2];
        snprintf(user, sizeof(user), "%s:%s", a->remote_ufrag, a->local_ufrag);
        struct stun_builder b;
        buf_reset(&a->scratch);
        stun_build_begin(&b, &a->scratch, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        stun_build_str(&b, STUN_ATTR_USERNAME, user);
        stun_build_u32(&b, STUN_ATTR_PRIORITY, prio);
        if (a->controlling) {
                stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, a->tie_breaker);
                if (use_cand)
                        stun_build_flag(&b, STUN_ATTR_USE_CANDIDATE);
        } else {
                stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, a->tie_breaker);
        }
        stun_build_integrity(&b, (const uint8_t *)a->remote_pwd, strlen(a->remote_pwd));
        return stun_build_fingerprint(&b);
}

static int start_request(struct ice_agent *a, enum req_kind kind, int index, const struct addr *dst,
                         bool use_cand, const struct stun_txn_config *tc)
{
        int ri = alloc_req(a);
        if (ri < 0)
                return ri;
        struct ice_req *r = &a->reqs[ri];
        r->kind = kind;
        r->index = index;
        r->use_candidate = use_cand;
        r->controlling = a->controlling;
        int rc = stun_txid_generate(r->txid);
        if (rc == 0) {
                if (kind == REQ_GATHER) {
                        struct stun_builder b;
                        buf_reset(&a->scratch);
                        stun_build_begin(&b, &a->scratch, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
                                         r->txid);
                        rc = stun_build_fingerprint(&b);
                } else {
                        const struct ice_local *l = &a->local[a->pairs[index].local];
                        rc = build_check(a, r->txid, cand_priority(TYPE_PREF_PRFLX, l->local_pref),
                                         use_cand);
                }
        }
        if (rc == 0)
                rc = stun_txn_start(a->txn, a->now, a->scratch.data, a->scratch.len, dst,
                                    (uint64_t)kind, tc);
        if (rc < 0) {
                log_debug("ice", "cannot start a request: %s", strerror(-rc));
                remove_req(a, ri);
        }
        return rc;
}

static void check_txn_config(const struct ice_agent *a, struct stun_txn_config *tc)
{
        /* RFC 8445 §14.3: RTO = MAX(500 ms, Ta * (Waiting + In-Progress pairs)). */
        uint64_t n = 0;
        for (size_t i = 0; i < a->pair_cap; i++)
                n += a->pairs[i].used &&
                     (a->pairs[i].state == PAIR_WAITING || a->pairs[i].state == PAIR_IN_PROGRESS);
        memset(tc, 0, sizeof(*tc));
        tc->rto_us = a->cfg.ta_us * n > CHECK_RTO_MIN_US ? a->cfg.ta_us * n : CHECK_RTO_MIN_US;
        tc->rto_max_us = tc->rto_us > CHECK_RTO_CAP_US ? tc->rto_us : CHECK_RTO_CAP_US;
        tc->rc = CHECK_RC;
        tc->rm = CHECK_RM;
}

static void pair_failed(struct ice_agent *a, int pi);

static void start_check(struct ice_agent *a, int pi)
{
        struct ice_pair *p = &a->pairs[pi];
        cancel_pair_checks(a, pi);
        bool use_cand = p->use_candidate && a->controlling;
        p->use_candidate = false;
        struct stun_txn_config tc;
        check_txn_config(a, &tc);
        int rc = start_request(a, REQ_CHECK, pi, &a->remote[p->remote].addr, use_cand, &tc);
        if (rc < 0) {
                pair_failed(a, pi);
                return;
        }
        p->state = PAIR_IN_PROGRESS; /* also for a nomination on a succeeded pair */
        char la[96], ra[ADDR_STRLEN];
        log_debug("ice", "check pair %d: %s -> %s%s", pi, fmt_cand(&a->local[p->local], la),
                  fmt_addr(&a->remote[p->remote].addr, ra), use_cand ? " USE-CANDIDATE" : "");
}

/* ---- selection and state ---- */

static void route_info(const struct ice_agent *a, int vi, struct ice_candidate_info *l,
                       struct ice_candidate_info *r)
{
        const struct ice_pair *v = &a->pairs[vi];
        local_info(&a->local[v->local], l);
        remote_info(&a->remote[v->remote], r);
        /* Traffic leaves through the route's base (a srflx candidate's base is its host). */
        l->base = a->local[a->pairs[v->route].local].base;
}

static uint64_t consent_jitter(struct ice_agent *a)
{
        /*
         * RFC 7675 §5.1: uniformly in 0.8..1.2 of the interval. The jitter only has to decorrelate
         * sessions, so xorshift seeded by the (random) tie-breaker will do, and keeps runs with a
         * fixed tie-breaker reproducible.
         */
        uint64_t x = a->jitter_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        a->jitter_state = x;
        uint64_t iv = a->cfg.consent_interval_us;
        uint64_t lo = iv / 10 * 8, span = iv / 10 * 4;
        return lo + (span * (x >> 48) >> 16);
}

static void prune_after_selection(struct ice_agent *a)
{
        /* RFC 8445 §8.1.2: stop checking what can no longer win. */
        uint64_t sel_prio = a->pairs[a->pairs[a->selected].route].priority;
        for (size_t i = 0; i < a->pair_cap; i++) {
                struct ice_pair *p = &a->pairs[i];
                if (!p->used || !p->checklist)
                        continue;
                if (p->state == PAIR_FROZEN || p->state == PAIR_WAITING) {
                        triggered_remove(a, (int)i);
                        p->state = PAIR_FAILED;
                } else if (p->state == PAIR_IN_PROGRESS && p->priority < sel_prio &&
                           (int)i != a->pairs[a->selected].route) {
                        cancel_pair_checks(a, (int)i);
                        p->state = PAIR_FAILED;
                }
        }
}

static void update_selected(struct ice_agent *a)
{
        int best = -1;
        for (size_t i = 0; i < a->pair_cap; i++) {
                const struct ice_pair *p = &a->pairs[i];
                if (p->used && p->valid && p->nominated &&
                    (best < 0 || p->priority > a->pairs[best].priority))
                        best = (int)i;
        }
        if (best == a->selected || best < 0)
                return;
        a->selected = best;
        struct ice_out_item it = {.kind = ICE_OUT_SELECTED_PAIR};
        route_info(a, best, &it.sel_local, &it.sel_remote);
        char la[96], ra[ADDR_STRLEN];
        log_debug("ice", "selected pair %d: %s -> %s %s", best,
                  fmt_cand(&a->local[a->pairs[best].local], la), type_names[it.sel_remote.type],
                  fmt_addr(&it.sel_remote.addr, ra));
        out_push(a, &it);
        a->next_consent_us = add_sat(a->now, consent_jitter(a));
        if (a->state == ICE_STATE_CHECKING)
                set_state(a, ICE_STATE_CONNECTED, NULL);
        prune_after_selection(a);
}

static void pair_failed(struct ice_agent *a, int pi)
{
        struct ice_pair *p = &a->pairs[pi];
        p->state = PAIR_FAILED;
        triggered_remove(a, pi);
        /* The selected pair lives or dies by consent (RFC 7675), not by one lost check. */
        if (p->valid_pair >= 0 && p->valid_pair != a->selected) {
                struct ice_pair *v = &a->pairs[p->valid_pair];
                v->valid = false;
                v->nominated = false;
        }
}

/* Stops every transaction: nothing is sent after failure or close. */
static void stop_all(struct ice_agent *a)
{
        for (size_t i = 0; i < a->n_reqs; i++)
                stun_txn_cancel(a->txn, a->reqs[i].txid);
        a->n_reqs = 0;
        for (size_t i = 0; i < a->pair_cap; i++)
                a->pairs[i].triggered = false;
        a->n_triggered = 0;
        for (size_t i = 0; i < a->n_gather; i++)
                a->gather[i].state = GATHER_DONE;
}

static void fail(struct ice_agent *a, const char *reason)
{
        stop_all(a);
        set_state(a, ICE_STATE_FAILED, reason);
}

static bool terminal(const struct ice_agent *a)
{
        return a->state == ICE_STATE_FAILED || a->state == ICE_STATE_CLOSED;
}

static void check_gathering_done(struct ice_agent *a)
{
        if (!a->gather_started || a->gathering == ICE_GATHERING_COMPLETE || a->n_pending_relays)
                return;
        for (size_t i = 0; i < a->n_gather; i++)
                if (a->gather[i].state != GATHER_DONE)
                        return;
        a->gathering = ICE_GATHERING_COMPLETE;
        log_debug("ice", "gathering complete");
        struct ice_out_item it = {.kind = ICE_OUT_GATHERING_DONE};
        out_push(a, &it);
}

/* Re-evaluates the states that depend on the check list as a whole. */
static void update_state(struct ice_agent *a)
{
        if (terminal(a))
                return;
        bool active = a->n_triggered > 0, any_valid = false;
        for (size_t i = 0; i < a->pair_cap; i++) {
                const struct ice_pair *p = &a->pairs[i];
                if (!p->used)
                        continue;
                any_valid = any_valid || p->valid;
                if (p->checklist && (p->state == PAIR_FROZEN || p->state == PAIR_WAITING ||
                                     p->state == PAIR_IN_PROGRESS))
                        active = true;
        }
        if (a->state == ICE_STATE_CONNECTED && !active)
                set_state(a, ICE_STATE_COMPLETED, NULL);
        /*
         * With no pair at all, the peer's checks may still teach us a peer-reflexive candidate
         * (its .local names may be unresolvable here): only the checking timeout ends that wait.
         */
        if (a->state == ICE_STATE_CHECKING && a->selected < 0 && !active && !any_valid &&
            a->had_pairs && a->remote_done && a->gathering == ICE_GATHERING_COMPLETE)
                fail(a, ICE_REASON_ALL_PAIRS_FAILED);
}

static void switch_role(struct ice_agent *a, bool controlling)
{
        log_debug("ice", "role conflict: switching to %s",
                  controlling ? "controlling" : "controlled");
        a->controlling = controlling;
        for (size_t i = 0; i < a->pair_cap; i++)
                a->pairs[i].use_candidate = false;
        recompute_priorities(a);
}

/* ---- transaction outputs ---- */

static void note_sent(struct ice_pair *p, uint64_t now)
{
        p->last_sent_us = now;
}

static void drain_txn(struct ice_agent *a)
{
        struct stun_txn_output o;
        while (stun_txn_poll_output(a->txn, &o) == 1) {
                int ri = find_req(a, o.txid);
                if (ri < 0)
                        continue;
                struct ice_req r = a->reqs[ri];
                if (o.kind == STUN_TXN_OUT_SEND) {
                        int base;
                        if (r.kind == REQ_GATHER) {
                                base = a->local[a->gather[r.index].local].base;
                        } else {
                                struct ice_pair *p = &a->pairs[r.index];
                                base = a->local[p->local].base;
                                p->requests_sent++;
                                p->consent_sent += r.kind == REQ_CONSENT;
                                note_sent(p, a->now);
                        }
                        emit_transmit(a, base, &o.dst, o.data, o.len);
                        continue;
                }
                /* Timed out. */
                remove_req(a, ri);
                if (r.kind == REQ_GATHER) {
                        char s[ADDR_STRLEN];
                        log_debug("ice", "no answer from STUN server %s",
                                  fmt_addr(&a->servers[a->gather[r.index].server], s));
                        a->gather[r.index].state = GATHER_DONE;
                        check_gathering_done(a);
                } else if (r.kind == REQ_CHECK) {
                        struct ice_pair *p = &a->pairs[r.index];
                        if (p->used && p->state == PAIR_IN_PROGRESS) {
                                log_debug("ice", "pair %d failed: no response", r.index);
                                pair_failed(a, r.index);
                        }
                }
        }
}

/* ---- candidates ---- */

static int local_by_base(const struct ice_agent *a, int base)
{
        for (size_t i = 0; i < a->n_local; i++)
                if (a->local[i].base == base &&
                    (a->local[i].type == SDP_CAND_HOST || a->local[i].type == SDP_CAND_RELAY))
                        return (int)i;
        return -1;
}

static uint16_t next_local_pref(const struct ice_agent *a, enum sdp_cand_type type,
                                const struct addr *addr)
{
        /*
         * RFC 8421: prefer IPv6 but interleave the families (v6, v4, v6, v4...) so that a broken
         * IPv6 path does not starve IPv4. Loopback and link-local come after the rest. Distinct
         * values per type keep every candidate's priority unique.
         */
        unsigned rank = 0;
        for (size_t i = 0; i < a->n_local; i++)
                rank += a->local[i].type == type && a->local[i].addr.family == addr->family;
        unsigned pref = 65535u - 2 * rank - (addr->family == ADDR_FAMILY_IPV4 ? 1u : 0u);
        if (addr_is_loopback(addr) || addr_is_link_local(addr))
                pref -= 0x2000;
        return (uint16_t)pref;
}

static int add_local(struct ice_agent *a, enum sdp_cand_type type, int base,
                     const struct addr *addr, const struct addr *base_addr, uint16_t local_pref,
                     const struct addr *server)
{
        if (a->n_local == ICE_MAX_LOCAL_CANDIDATES)
                return -ENOSPC;
        struct ice_local *l = &a->local[a->n_local];
        memset(l, 0, sizeof(*l));
        l->type = type;
        l->base = base;
        l->addr = *addr;
        l->base_addr = *base_addr;
        if (server)
                l->server = *server;
        l->local_pref = local_pref;
        l->priority = cand_priority(type_pref(type), local_pref);
        /* RFC 8445 §5.1.1.3: same type, base IP, server and transport share a foundation. */
        for (size_t i = 0; i < a->n_local; i++) {
                const struct ice_local *o = &a->local[i];
                if (o->type == type && same_ip(&o->base_addr, base_addr) &&
                    (o->server.family == ADDR_FAMILY_NONE ? l->server.family == ADDR_FAMILY_NONE
                                                          : same_ip(&o->server, &l->server))) {
                        memcpy(l->foundation, o->foundation, sizeof(l->foundation));
                        break;
                }
        }
        if (!l->foundation[0])
                snprintf(l->foundation, sizeof(l->foundation), "%u", ++a->next_foundation);
        char s[96];
        log_debug("ice", "local candidate %s (priority %u, foundation %s)", fmt_cand(l, s),
                  l->priority, l->foundation);
        return (int)a->n_local++;
}

static bool usable_addr(const struct addr *x)
{
        return addr_family(x) != ADDR_FAMILY_NONE && !addr_is_unspecified(x) && x->port != 0;
}

static bool base_taken(const struct ice_agent *a, int base)
{
        if (local_by_base(a, base) >= 0)
                return true;
        for (size_t i = 0; i < a->n_pending_relays; i++)
                if (a->pending_relays[i] == base)
                        return true;
        return false;
}

static void add_gather_slots(struct ice_agent *a, int li, int server)
{
        if (a->cfg.policy != ICE_POLICY_ALL || a->local[li].type != SDP_CAND_HOST)
                return;
        if (a->local[li].addr.family != a->servers[server].family)
                return;
        if (a->n_gather == MAX_GATHER) {
                log_debug("ice", "too many STUN queries, one skipped");
                return;
        }
        a->gather[a->n_gather++] = (struct ice_gather){.local = li, .server = server};
}

int ice_agent_add_host_candidate(struct ice_agent *a, int base, const struct addr *addr)
{
        if (!a || !addr || !usable_addr(addr))
                return -EINVAL;
        if (terminal(a))
                return -EINVAL;
        if (base_taken(a, base))
                return -EEXIST;
        for (size_t i = 0; i < a->n_local; i++)
                if (same_addr(&a->local[i].addr, addr))
                        return -EEXIST;
        int li = add_local(a, SDP_CAND_HOST, base, addr, addr,
                           next_local_pref(a, SDP_CAND_HOST, addr), NULL);
        if (li < 0)
                return li;
        if (a->gather_started)
                for (size_t s = 0; s < a->n_servers; s++)
                        add_gather_slots(a, li, (int)s);
        announce(a, li);
        pair_local_with_remotes(a, li);
        return 0;
}

int ice_agent_add_pending_relay(struct ice_agent *a, int base)
{
        if (!a)
                return -EINVAL;
        if (base_taken(a, base))
                return -EEXIST;
        if (a->n_pending_relays == MAX_PENDING_RELAYS)
                return -ENOSPC;
        a->pending_relays[a->n_pending_relays++] = base;
        return 0;
}

static bool take_pending_relay(struct ice_agent *a, int base)
{
        for (size_t i = 0; i < a->n_pending_relays; i++) {
                if (a->pending_relays[i] == base) {
                        a->pending_relays[i] = a->pending_relays[--a->n_pending_relays];
                        return true;
                }
        }
        return false;
}

int ice_agent_add_relay_candidate(struct ice_agent *a, int base, const struct addr *relayed,
                                  const struct addr *mapped)
{
        if (!a || !relayed || !usable_addr(relayed) || terminal(a))
                return -EINVAL;
        if (local_by_base(a, base) >= 0)
                return -EEXIST;
        for (size_t i = 0; i < a->n_local; i++)
                if (same_addr(&a->local[i].addr, relayed))
                        return -EEXIST;
        int li = add_local(a, SDP_CAND_RELAY, base, relayed, relayed,
                           next_local_pref(a, SDP_CAND_RELAY, relayed), NULL);
        if (li < 0)
                return li;
        take_pending_relay(a, base);
        if (mapped && addr_family(mapped) != ADDR_FAMILY_NONE) {
                a->local[li].rel = *mapped;
                a->local[li].has_rel = true;
        }
        announce(a, li);
        pair_local_with_remotes(a, li);
        check_gathering_done(a);
        return 0;
}

int ice_agent_relay_failed(struct ice_agent *a, int base)
{
        if (!a)
                return -EINVAL;
        if (!take_pending_relay(a, base))
                return -ENOENT;
        check_gathering_done(a);
        return 0;
}

int ice_agent_add_stun_server(struct ice_agent *a, const struct addr *server)
{
        if (!a || !server || !usable_addr(server))
                return -EINVAL;
        for (size_t i = 0; i < a->n_servers; i++)
                if (same_addr(&a->servers[i], server))
                        return 0;
        if (a->n_servers == ICE_MAX_STUN_SERVERS)
                return -ENOSPC;
        int s = (int)a->n_servers;
        a->servers[a->n_servers++] = *server;
        if (a->gather_started && !terminal(a)) {
                for (size_t i = 0; i < a->n_local; i++)
                        add_gather_slots(a, (int)i, s);
        }
        return 0;
}

int ice_agent_gather(struct ice_agent *a, uint64_t now)
{
        if (!a)
                return -EINVAL;
        if (a->gather_started)
                return -EALREADY;
        if (now > a->now)
                a->now = now;
        a->gather_started = true;
        a->gathering = ICE_GATHERING_GATHERING;
        for (size_t i = 0; i < a->n_local; i++)
                announce(a, (int)i);
        for (size_t i = 0; i < a->n_local; i++)
                for (size_t s = 0; s < a->n_servers; s++)
                        add_gather_slots(a, (int)i, (int)s);
        check_gathering_done(a);
        return 0;
}

int ice_agent_get_local_candidates(const struct ice_agent *a, struct sdp_candidate *out, size_t max)
{
        if (!a || (!out && max))
                return -EINVAL;
        size_t n = 0;
        for (size_t i = 0; i < a->n_local; i++) {
                if (!announceable(a, &a->local[i]))
                        continue;
                if (n < max)
                        local_to_sdp(&a->local[i], &out[n]);
                n++;
        }
        return (int)n;
}

/* A server-reflexive address learned from a STUN server. */
static void add_srflx(struct ice_agent *a, int host, const struct addr *mapped,
                      const struct addr *server)
{
        const struct ice_local *h = &a->local[host];
        char s[ADDR_STRLEN];
        if (same_addr(mapped, &h->addr)) {
                log_debug("ice", "no NAT in front of %s", fmt_addr(&h->addr, s));
                return;
        }
        for (size_t i = 0; i < a->n_local; i++)
                if (a->local[i].base == h->base && same_addr(&a->local[i].addr, mapped))
                        return;
        struct addr base_addr = h->addr;
        int li = add_local(a, SDP_CAND_SRFLX, h->base, mapped, &base_addr, h->local_pref, server);
        if (li < 0)
                return;
        a->local[li].rel = base_addr;
        a->local[li].has_rel = true;
        announce(a, li);
}

/* ---- remote candidates ---- */

static int add_remote(struct ice_agent *a, enum sdp_cand_type type, const struct addr *addr,
                      uint32_t priority, const char *foundation)
{
        for (size_t i = 0; i < a->n_remote; i++) {
                struct ice_remote *r = &a->remote[i];
                if (!same_addr(&r->addr, addr))
                        continue;
                if (r->type == SDP_CAND_PRFLX && type != SDP_CAND_PRFLX) {
                        /* RFC 8838 §11: the signalled candidate replaces the learned one. */
                        r->type = type;
                        r->priority = priority;
                        snprintf(r->foundation, sizeof(r->foundation), "%s", foundation);
                        recompute_priorities(a);
                }
                return (int)i;
        }
        if (a->n_remote == ICE_MAX_REMOTE_CANDIDATES)
                return -ENOSPC;
        struct ice_remote *r = &a->remote[a->n_remote];
        memset(r, 0, sizeof(*r));
        r->type = type;
        r->addr = *addr;
        r->priority = priority;
        snprintf(r->foundation, sizeof(r->foundation), "%s", foundation);
        char s[ADDR_STRLEN];
        log_debug("ice", "remote candidate %s %s (priority %u)", type_names[type],
                  fmt_addr(addr, s), priority);
        int ri = (int)a->n_remote++;
        pair_remote_with_locals(a, ri);
        return ri;
}

static int remote_common(struct ice_agent *a, const struct sdp_candidate *c,
                         const struct addr *addr)
{
        if (!usable_addr(addr) || c->priority == 0 || (unsigned)c->type > SDP_CAND_RELAY ||
            !c->foundation[0])
                return -EINVAL;
        if (terminal(a))
                return -EINVAL;
        int ri = add_remote(a, c->type, addr, c->priority, c->foundation);
        if (ri < 0)
                return ri;
        update_state(a);
        return 0;
}

static bool ignored_candidate(const struct sdp_candidate *c)
{
        if (c->component != 1) {
                log_debug("ice", "ignoring candidate of component %u", c->component);
                return true;
        }
        if (strcasecmp(c->transport, "udp") != 0) {
                log_debug("ice", "ignoring %s candidate %s", c->transport, c->address);
                return true;
        }
        return false;
}

int ice_agent_add_remote_candidate(struct ice_agent *a, const struct sdp_candidate *c)
{
        if (!a || !c)
                return -EINVAL;
        if (ignored_candidate(c))
                return 0;
        struct addr addr;
        if (addr_from_ip_port(&addr, c->address, c->port) < 0) {
                size_t n = strnlen(c->address, sizeof(c->address));
                if (n > 6 && strcasecmp(c->address + n - 6, ".local") == 0)
                        return -EAGAIN;
                return -ENOTSUP;
        }
        return remote_common(a, c, &addr);
}

int ice_agent_add_remote_candidate_resolved(struct ice_agent *a, const struct sdp_candidate *c,
                                            const struct addr *resolved)
{
        if (!a || !c || !resolved)
                return -EINVAL;
        if (ignored_candidate(c))
                return 0;
        struct addr addr = *resolved;
        addr.port = c->port;
        return remote_common(a, c, &addr);
}

static bool valid_cred(const char *s, size_t min)
{
        size_t n = strnlen(s, ICE_CRED_MAX + 1);
        if (n < min || n > ICE_CRED_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
                if (!ok)
                        return false;
        }
        return true;
}

int ice_agent_set_remote_credentials(struct ice_agent *a, const char *ufrag, const char *pwd)
{
        if (!a || !ufrag || !pwd || !valid_cred(ufrag, 4) || !valid_cred(pwd, 22))
                return -EINVAL;
        if (a->have_remote) {
                if (strcmp(ufrag, a->remote_ufrag) == 0 && strcmp(pwd, a->remote_pwd) == 0)
                        return 0;
                return -EBUSY;
        }
        if (terminal(a))
                return -EINVAL;
        strcpy(a->remote_ufrag, ufrag);
        strcpy(a->remote_pwd, pwd);
        a->have_remote = true;
        /* The clock is only known at the next timed call; checking starts there. */
        a->checking_start_pending = true;
        set_state(a, ICE_STATE_CHECKING, NULL);
        return 0;
}

int ice_agent_remote_gathering_done(struct ice_agent *a)
{
        if (!a)
                return -EINVAL;
        a->remote_done = true;
        update_state(a);
        return 0;
}

/* ---- incoming requests ---- */

static void send_error(struct ice_agent *a, int base, const struct addr *to,
                       const struct stun_msg *req, uint16_t code, bool integrity)
{
        struct stun_builder b;
        buf_reset(&a->scratch);
        stun_build_begin(&b, &a->scratch, STUN_METHOD_BINDING, STUN_CLASS_ERROR, req->txid);
        stun_build_error_code(&b, code, NULL);
        if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
                stun_build_unknown_attributes(&b, req->unknown, req->unknown_count);
        if (integrity)
                stun_build_integrity(&b, (const uint8_t *)a->local_pwd, strlen(a->local_pwd));
        if (stun_build_fingerprint(&b) == 0)
                emit_transmit(a, base, to, a->scratch.data, a->scratch.len);
}

static bool username_ok(const struct ice_agent *a, const struct stun_msg *m)
{
        /* "<our ufrag>:<their ufrag>"; before their SDP arrives only our half can be checked. */
        size_t lu = strlen(a->local_ufrag);
        const struct stun_bytes *u = &m->username;
        if (u->len <= lu || memcmp(u->data, a->local_ufrag, lu) != 0 || u->data[lu] != ':')
                return false;
        if (!a->have_remote)
                return true;
        size_t ru = strlen(a->remote_ufrag);
        return u->len == lu + 1 + ru && memcmp(u->data + lu + 1, a->remote_ufrag, ru) == 0;
}

static void nominate(struct ice_agent *a, int vi)
{
        if (vi < 0 || !a->pairs[vi].valid)
                return;
        if (!a->pairs[vi].nominated)
                log_debug("ice", "pair %d nominated", vi);
        a->pairs[vi].nominated = true;
        update_selected(a);
}

static int handle_request(struct ice_agent *a, int base, const struct addr *from,
                          const struct stun_msg *m, const uint8_t *raw)
{
        char s[ADDR_STRLEN];
        int li = local_by_base(a, base);
        if (li < 0) {
                log_debug("ice", "check on unknown base %d ignored", base);
                return -ENOENT;
        }
        if (!m->has_fingerprint)
                return -EBADMSG; /* RFC 8445 §7.2.2: checks always carry one */
        if (!m->has_username || !(m->has_integrity || m->has_integrity_sha256)) {
                send_error(a, base, from, m, STUN_ERR_BAD_REQUEST, false);
                return -EACCES;
        }
        if (!username_ok(a, m) || stun_msg_check_integrity(m, raw, (const uint8_t *)a->local_pwd,
                                                           strlen(a->local_pwd)) < 0) {
                log_debug("ice", "unauthenticated check from %s", fmt_addr(from, s));
                send_error(a, base, from, m, STUN_ERR_UNAUTHORIZED, false);
                return -EACCES;
        }
        if (m->unknown_count > 0) {
                send_error(a, base, from, m, STUN_ERR_UNKNOWN_ATTRIBUTE, true);
                return -EPROTO;
        }
        if (!m->has_priority || m->priority == 0) {
                send_error(a, base, from, m, STUN_ERR_BAD_REQUEST, true);
                return -EBADMSG;
        }
        /* RFC 8445 §7.3.1.1: role conflicts, decided by the tie-breakers. */
        if (a->controlling && m->has_ice_controlling) {
                if (a->tie_breaker >= m->ice_controlling) {
                        send_error(a, base, from, m, STUN_ERR_ROLE_CONFLICT, true);
                        return 1;
                }
                switch_role(a, false);
        } else if (!a->controlling && m->has_ice_controlled) {
                if (a->tie_breaker >= m->ice_controlled) {
                        switch_role(a, true);
                } else {
                        send_error(a, base, from, m, STUN_ERR_ROLE_CONFLICT, true);
                        return 1;
                }
        }

        log_debug("ice", "check from %s on base %d%s", fmt_addr(from, s), base,
                  m->has_use_candidate ? " with USE-CANDIDATE" : "");
        a->peer_checked = true;
        struct stun_builder b;
        buf_reset(&a->scratch);
        stun_build_begin(&b, &a->scratch, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m->txid);
        stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, from);
        stun_build_integrity(&b, (const uint8_t *)a->local_pwd, strlen(a->local_pwd));
        if (stun_build_fingerprint(&b) == 0)
                emit_transmit(a, base, from, a->scratch.data, a->scratch.len);

        if (!pairable(a, &a->local[li]))
                return 1; /* e.g. a host socket under the relay policy: answer, never use it */

        /* RFC 8445 §7.3.1.3: an unknown source is a peer-reflexive candidate. */
        int ri = -1;
        for (size_t i = 0; i < a->n_remote && ri < 0; i++)
                if (same_addr(&a->remote[i].addr, from))
                        ri = (int)i;
        if (ri < 0) {
                char f[SDP_FOUNDATION_MAX + 1];
                snprintf(f, sizeof(f), "prflx%u", ++a->next_prflx);
                ri = add_remote(a, SDP_CAND_PRFLX, from, m->priority, f);
                if (ri < 0)
                        return 1;
        }
        int pi = make_pair(a, li, ri, true);
        if (pi < 0)
                return 1;
        struct ice_pair *p = &a->pairs[pi];
        p->requests_received++;
        p->responses_sent++;
        note_sent(p, a->now);

        /* RFC 8445 §7.3.1.4: triggered checks. */
        if (p->state == PAIR_IN_PROGRESS) {
                for (size_t i = 0; i < a->n_reqs; i++)
                        if (a->reqs[i].kind == REQ_CHECK && a->reqs[i].index == pi &&
                            !a->reqs[i].cancelled && a->reqs[i].use_candidate)
                                p->use_candidate = true;
                cancel_pair_checks(a, pi);
                p->state = PAIR_WAITING;
                triggered_push(a, pi, false);
        } else if (p->state != PAIR_SUCCEEDED) {
                p->state = PAIR_WAITING;
                triggered_push(a, pi, false);
        }

        /* RFC 8445 §7.3.1.5: nomination, regular or aggressive, by a controlling peer. */
        if (!a->controlling && m->has_use_candidate) {
                if (p->state == PAIR_SUCCEEDED)
                        nominate(a, p->valid_pair);
                else
                        p->nominate_on_success = true;
        }
        return 1;
}

/* ---- incoming responses ---- */

static void check_succeeded(struct ice_agent *a, int pi, const struct ice_req *r,
                            const struct stun_msg *m)
{
        struct ice_pair *p = &a->pairs[pi];
        const struct addr *mapped = m->has_xor_mapped ? &m->xor_mapped
                                    : m->has_mapped   ? &m->mapped
                                                      : NULL;
        if (!mapped) {
                pair_failed(a, pi);
                return;
        }
        /* RFC 8445 §7.2.5.3.1: the mapped address may reveal a peer-reflexive local candidate. */
        int base = a->local[p->local].base;
        int li = -1;
        for (size_t i = 0; i < a->n_local && li < 0; i++)
                if (a->local[i].base == base && same_addr(&a->local[i].addr, mapped))
                        li = (int)i;
        if (li < 0) {
                const struct ice_local *l = &a->local[p->local];
                struct addr base_addr = l->addr;
                li = add_local(a, SDP_CAND_PRFLX, base, mapped, &base_addr, l->local_pref, NULL);
                if (li >= 0) {
                        a->local[li].rel = base_addr;
                        a->local[li].has_rel = true;
                } else {
                        li = p->local;
                }
        }
        int vi = li == p->local ? pi : make_pair(a, li, p->remote, false);
        if (vi < 0)
                vi = pi;
        struct ice_pair *v = &a->pairs[vi];
        v->valid = true;
        v->route = pi;
        if (vi != pi)
                v->state = PAIR_SUCCEEDED;
        p->valid_pair = vi;
        p->state = PAIR_SUCCEEDED; /* a queued nomination of this pair stays queued */
        /* RFC 8445 §7.2.5.3.3: the foundation works, so its frozen pairs may go. */
        for (size_t i = 0; i < a->pair_cap; i++) {
                struct ice_pair *q = &a->pairs[i];
                if (q->used && q->checklist && q->state == PAIR_FROZEN && same_foundation(a, p, q))
                        q->state = PAIR_WAITING;
        }
        if (!a->have_valid) {
                a->have_valid = true;
                a->first_valid_us = a->now;
        }
        log_debug("ice", "pair %d succeeded (valid pair %d)", pi, vi);
        if (r->use_candidate)
                nominate(a, vi);
        if (!a->controlling && p->nominate_on_success) {
                p->nominate_on_success = false;
                nominate(a, vi);
        }
}

static int handle_response(struct ice_agent *a, int base, const struct addr *from,
                           const struct stun_msg *m, const uint8_t *raw)
{
        int ri = find_req(a, m->txid);
        if (ri < 0)
                return 0; /* someone else's transaction (a TURN client on this socket) */
        struct ice_req r = a->reqs[ri];
        if (r.kind == REQ_GATHER) {
                struct ice_gather *g = &a->gather[r.index];
                if (!same_addr(from, &a->servers[g->server]) || base != a->local[g->local].base)
                        return -EPROTO;
                if (!r.cancelled)
                        stun_txn_match_response(a->txn, a->now, m->txid, NULL);
                remove_req(a, ri);
                g->state = GATHER_DONE;
                if (m->cls == STUN_CLASS_SUCCESS && m->has_xor_mapped)
                        add_srflx(a, g->local, &m->xor_mapped, &a->servers[g->server]);
                else if (m->cls == STUN_CLASS_SUCCESS && m->has_mapped)
                        add_srflx(a, g->local, &m->mapped, &a->servers[g->server]);
                check_gathering_done(a);
                return 1;
        }

        /* Our checks are keyed with the peer's password; anything else is forged or stray. */
        if (!(m->has_integrity || m->has_integrity_sha256) ||
            stun_msg_check_integrity(m, raw, (const uint8_t *)a->remote_pwd,
                                     strlen(a->remote_pwd)) < 0) {
                log_debug("ice", "response with bad integrity ignored");
                return -EACCES;
        }
        struct stun_txn_match match = {0};
        if (!r.cancelled) {
                stun_txn_match_response(a->txn, a->now, m->txid, &match);
        } else if (r.sent_once && a->now >= r.first_sent_us) {
                /* A triggered check cancelled it; this answers its only transmission. */
                match.rtt_valid = true;
                match.rtt_us = a->now - r.first_sent_us;
        }
        remove_req(a, ri);
        struct ice_pair *p = &a->pairs[r.index];
        if (!p->used)
                return 1;
        p->responses_received++;
        struct ice_local *l = &a->local[p->local];
        /* RFC 8445 §7.2.5.2.1: the response must come back the way the request went. */
        if (!same_addr(from, &a->remote[p->remote].addr) || base != l->base) {
                log_debug("ice", "asymmetric response on pair %d", r.index);
                if (r.kind == REQ_CHECK)
                        pair_failed(a, r.index);
                return 1;
        }
        if (m->cls == STUN_CLASS_ERROR) {
                log_debug("ice", "pair %d: error %u", r.index, m->error_code);
                if (m->error_code == STUN_ERR_ROLE_CONFLICT) {
                        /* RFC 8445 §7.2.5.1: take the role opposite to the one we claimed. */
                        if (r.controlling == a->controlling)
                                switch_role(a, !r.controlling);
                        if (r.kind == REQ_CHECK) {
                                p->state = PAIR_WAITING;
                                triggered_push(a, r.index, false);
                        }
                } else if (r.kind == REQ_CHECK) {
                        pair_failed(a, r.index);
                }
                return 1;
        }
        if (m->cls != STUN_CLASS_SUCCESS)
                return 1;
        p->ever_success = true;
        p->last_success_us = a->now;
        if (match.rtt_valid) {
                p->rtt_valid = true;
                p->rtt_us = match.rtt_us;
        }
        if (a->state == ICE_STATE_DISCONNECTED && a->selected >= 0 &&
            a->pairs[a->selected].route == r.index)
                set_state(a, a->state_before_disconnect, NULL);
        if (r.kind == REQ_CHECK)
                check_succeeded(a, r.index, &r, m);
        return 1;
}

static void after_input(struct ice_agent *a);
static int sending_pair(const struct ice_agent *a);

int ice_agent_handle_input(struct ice_agent *a, uint64_t now, int base, const struct addr *from,
                           const uint8_t *data, size_t len)
{
        if (!a || !from || (!data && len) || addr_family(from) == ADDR_FAMILY_NONE)
                return -EINVAL;
        if (now > a->now)
                a->now = now;
        if (!stun_is_message(data, len)) {
                /*
                 * Counted on the route ice_agent_send() uses, as what is sent is: before the
                 * nomination too. A short call's DTLS handshake is often over by then (a
                 * relay<->relay call with no media: the selected pair showed 0 bytes received).
                 */
                int vi = sending_pair(a);
                if (vi >= 0) {
                        struct ice_pair *rt = &a->pairs[a->pairs[vi].route];
                        if (base == a->local[rt->local].base &&
                            same_addr(from, &a->remote[rt->remote].addr)) {
                                rt->packets_received++;
                                rt->bytes_received += len;
                        }
                }
                return 0;
        }
        struct stun_msg m;
        if (stun_msg_parse(&m, data, len) < 0)
                return -EBADMSG;
        if (m.method != STUN_METHOD_BINDING)
                return 0;
        if (m.has_fingerprint && stun_msg_check_fingerprint(&m, data) < 0)
                return -EBADMSG;
        if (a->state == ICE_STATE_CLOSED)
                return 1;
        int rc;
        switch (m.cls) {
        case STUN_CLASS_REQUEST:
                rc = a->state == ICE_STATE_FAILED ? 1 : handle_request(a, base, from, &m, data);
                break;
        case STUN_CLASS_INDICATION:
                rc = 1; /* keepalive */
                break;
        default:
                rc = handle_response(a, base, from, &m, data);
                break;
        }
        after_input(a);
        return rc;
}

/* ---- time ---- */

static bool check_work(const struct ice_agent *a)
{
        if (!a->have_remote || terminal(a))
                return false;
        if (a->n_triggered)
                return true;
        if (a->selected >= 0)
                return false;
        for (size_t i = 0; i < a->pair_cap; i++) {
                const struct ice_pair *p = &a->pairs[i];
                if (p->used && p->checklist &&
                    (p->state == PAIR_WAITING || p->state == PAIR_FROZEN))
                        return true;
        }
        return false;
}

static bool gather_work(const struct ice_agent *a)
{
        for (size_t i = 0; i < a->n_gather; i++)
                if (a->gather[i].state == GATHER_WAITING)
                        return true;
        return false;
}

static uint64_t next_tick(const struct ice_agent *a)
{
        return a->paced_any ? add_sat(a->last_paced_us, a->cfg.ta_us) : 0;
}

/* One paced transmission: a triggered check, a STUN query, or an ordinary check. */
static bool tick(struct ice_agent *a)
{
        if (a->have_remote && !terminal(a)) {
                while (a->n_triggered) {
                        int pi = a->triggered[0];
                        triggered_remove(a, pi);
                        struct ice_pair *p = &a->pairs[pi];
                        if (p->used && (p->state == PAIR_WAITING || p->use_candidate)) {
                                start_check(a, pi);
                                return true;
                        }
                }
        }
        for (size_t i = 0; i < a->n_gather; i++) {
                struct ice_gather *g = &a->gather[i];
                if (g->state != GATHER_WAITING)
                        continue;
                struct stun_txn_config tc = {.rto_us = CHECK_RTO_MIN_US,
                                             .rto_max_us = CHECK_RTO_CAP_US,
                                             .rc = CHECK_RC,
                                             .rm = CHECK_RM};
                g->state =
                    start_request(a, REQ_GATHER, (int)i, &a->servers[g->server], false, &tc) == 0
                        ? GATHER_PENDING
                        : GATHER_DONE;
                check_gathering_done(a);
                return true;
        }
        if (!check_work(a))
                return false;
        int best = -1;
        for (int want = PAIR_WAITING; want >= PAIR_FROZEN && best < 0; want--) {
                for (size_t i = 0; i < a->pair_cap; i++) {
                        const struct ice_pair *p = &a->pairs[i];
                        if (p->used && p->checklist && (int)p->state == want &&
                            (best < 0 || p->priority > a->pairs[best].priority))
                                best = (int)i;
                }
        }
        if (best < 0)
                return false;
        start_check(a, best);
        return true;
}

/* Derived from the queue and the requests rather than kept in a flag that could go stale. */
static bool nomination_in_flight(const struct ice_agent *a)
{
        for (size_t i = 0; i < a->n_reqs; i++)
                if (a->reqs[i].kind == REQ_CHECK && a->reqs[i].use_candidate &&
                    !a->reqs[i].cancelled)
                        return true;
        for (size_t i = 0; i < a->n_triggered; i++)
                if (a->pairs[a->triggered[i]].use_candidate)
                        return true;
        return false;
}

/* Controlling, regular nomination: the valid pair to nominate now, or -1 (and *when). */
static int nomination_candidate(const struct ice_agent *a, uint64_t *when)
{
        *when = UINT64_MAX;
        if (!a->controlling || a->selected >= 0 || nomination_in_flight(a) || !a->have_remote ||
            a->state != ICE_STATE_CHECKING)
                return -1;
        int best = -1;
        for (size_t i = 0; i < a->pair_cap; i++) {
                const struct ice_pair *p = &a->pairs[i];
                if (p->used && p->valid && a->pairs[p->route].state == PAIR_SUCCEEDED &&
                    (best < 0 || p->priority > a->pairs[best].priority))
                        best = (int)i;
        }
        if (best < 0)
                return -1;
        /* Worth waiting only while a better pair may still succeed. */
        bool better_pending = false;
        for (size_t i = 0; i < a->pair_cap && !better_pending; i++) {
                const struct ice_pair *p = &a->pairs[i];
                better_pending = p->used && p->checklist && p->priority > a->pairs[best].priority &&
                                 (p->state == PAIR_FROZEN || p->state == PAIR_WAITING ||
                                  p->state == PAIR_IN_PROGRESS);
        }
        *when = better_pending ? add_sat(a->first_valid_us, a->cfg.nomination_wait_us) : 0;
        return best;
}

uint64_t ice_agent_next_deadline(const struct ice_agent *a)
{
        if (!a || terminal(a))
                return UINT64_MAX;
        if (a->checking_start_pending)
                return a->now;
        uint64_t d = stun_txn_next_deadline(a->txn);
        if (check_work(a) || gather_work(a))
                d = min_u64(d, next_tick(a));
        uint64_t when;
        if (nomination_candidate(a, &when) >= 0)
                d = min_u64(d, when);
        if (a->have_remote && a->selected < 0)
                d = min_u64(d, add_sat(a->checking_start, a->cfg.checking_timeout_us));
        if (a->selected >= 0) {
                const struct ice_pair *rt = &a->pairs[a->pairs[a->selected].route];
                d = min_u64(d, a->next_consent_us);
                d = min_u64(d, add_sat(rt->last_success_us, a->cfg.consent_timeout_us));
                if (a->state != ICE_STATE_DISCONNECTED)
                        d = min_u64(d, add_sat(rt->last_success_us, a->cfg.disconnect_timeout_us));
                if (a->cfg.keepalive_us)
                        d = min_u64(d, add_sat(rt->last_sent_us, a->cfg.keepalive_us));
        }
        return d;
}

static void consent_and_keepalive(struct ice_agent *a, uint64_t now)
{
        if (a->selected < 0)
                return;
        int route = a->pairs[a->selected].route;
        struct ice_pair *rt = &a->pairs[route];
        uint64_t since = now - min_u64(now, rt->last_success_us);
        if (since >= a->cfg.consent_timeout_us) {
                fail(a, ICE_REASON_CONSENT_EXPIRED);
                return;
        }
        if (since >= a->cfg.disconnect_timeout_us && a->state != ICE_STATE_DISCONNECTED) {
                a->state_before_disconnect = a->state;
                set_state(a, ICE_STATE_DISCONNECTED, NULL);
        }
        if (now >= a->next_consent_us) {
                a->next_consent_us = add_sat(now, consent_jitter(a));
                /* One check per interval: an unfinished one stops retransmitting, may still count.
                 */
                for (size_t i = 0; i < a->n_reqs; i++)
                        if (a->reqs[i].kind == REQ_CONSENT)
                                cancel_req(a, (int)i);
                struct stun_txn_config tc = {
                    .rto_us = CONSENT_RTO_US, .rc = CONSENT_RC, .rm = CONSENT_RM};
                start_request(a, REQ_CONSENT, route, &a->remote[rt->remote].addr, false, &tc);
        }
        if (rt->data_sent) {
                /* Data went out at some point up to now: the keepalive may wait a full interval. */
                rt->data_sent = false;
                note_sent(rt, now);
        }
        if (a->cfg.keepalive_us && now >= add_sat(rt->last_sent_us, a->cfg.keepalive_us)) {
                /* RFC 8445 §11: a Binding indication keeps NAT bindings alive. */
                uint8_t txid[STUN_TXID_SIZE];
                struct stun_builder b;
                stun_txid_generate(txid);
                buf_reset(&a->scratch);
                stun_build_begin(&b, &a->scratch, STUN_METHOD_BINDING, STUN_CLASS_INDICATION, txid);
                if (stun_build_fingerprint(&b) == 0)
                        emit_transmit(a, a->local[rt->local].base, &a->remote[rt->remote].addr,
                                      a->scratch.data, a->scratch.len);
                note_sent(rt, now);
        }
}

static void after_input(struct ice_agent *a)
{
        drain_txn(a);
        update_state(a);
}

void ice_agent_handle_timeout(struct ice_agent *a, uint64_t now)
{
        if (!a || terminal(a))
                return;
        if (now > a->now)
                a->now = now;
        now = a->now;
        if (a->checking_start_pending) {
                a->checking_start_pending = false;
                a->checking_start = now;
        }
        for (size_t i = 0; i < a->n_reqs;) {
                if (a->reqs[i].cancelled && a->reqs[i].expire_us <= now)
                        remove_req(a, (int)i);
                else
                        i++;
        }
        stun_txn_handle_timeout(a->txn, now);
        drain_txn(a);

        uint64_t when;
        int vi = nomination_candidate(a, &when);
        if (vi >= 0 && now >= when) {
                int route = a->pairs[vi].route;
                log_debug("ice", "nominating pair %d", vi);
                a->pairs[route].use_candidate = true;
                /*
                 * The pair answered already, so its NAT bindings exist: the nominating check
                 * is not a new flow for Ta to pace, and sending it now saves up to one Ta of
                 * setup time (browsers do the same).
                 */
                start_check(a, route);
        }
        if ((check_work(a) || gather_work(a)) && now >= next_tick(a) && tick(a)) {
                a->paced_any = true;
                a->last_paced_us = now;
        }
        if (a->have_remote && a->selected < 0 && a->state == ICE_STATE_CHECKING &&
            now >= add_sat(a->checking_start, a->cfg.checking_timeout_us))
                fail(a, ICE_REASON_CHECKING_TIMEOUT);
        if (!terminal(a))
                consent_and_keepalive(a, now);
        after_input(a);
}

/* ---- data and outputs ---- */

/*
 * The pair data goes on: the selected one, or until there is one the valid pair of highest
 * priority. RFC 8445 section 12.1 lets an agent send on any valid pair before selection, so
 * the DTLS handshake starts when a check has succeeded rather than after the nomination's
 * round trip (as browsers do). Not before the peer's own checks reach us, though: a peer
 * answers checks before it has applied our description (ours does), and data that came then,
 * a ClientHello, would be lost and resent only a second later. -1: nowhere to send yet.
 */
static int sending_pair(const struct ice_agent *a)
{
        if (terminal(a))
                return -1;
        if (a->selected >= 0)
                return a->selected;
        if (!a->peer_checked)
                return -1;
        int best = -1;
        for (size_t i = 0; i < a->pair_cap; i++) {
                const struct ice_pair *p = &a->pairs[i];
                if (p->used && p->valid && (best < 0 || p->priority > a->pairs[best].priority))
                        best = (int)i;
        }
        return best;
}

bool ice_agent_writable(const struct ice_agent *a)
{
        return a && sending_pair(a) >= 0;
}

int ice_agent_rtt(const struct ice_agent *a, uint64_t *rtt_us)
{
        if (!a || !rtt_us)
                return -EINVAL;
        int vi = sending_pair(a);
        if (vi < 0)
                return -ENOTCONN;
        const struct ice_pair *rt = &a->pairs[a->pairs[vi].route];
        if (!rt->rtt_valid)
                return -EAGAIN;
        *rtt_us = rt->rtt_us;
        return 0;
}

int ice_agent_send(struct ice_agent *a, const uint8_t *data, size_t len)
{
        if (!a || (!data && len))
                return -EINVAL;
        if (len > MAX_DATAGRAM)
                return -EMSGSIZE;
        int vi = sending_pair(a);
        if (vi < 0)
                return -ENOTCONN;
        struct ice_pair *rt = &a->pairs[a->pairs[vi].route];
        int rc = emit_transmit(a, a->local[rt->local].base, &a->remote[rt->remote].addr, data, len);
        if (rc < 0)
                return rc;
        rt->packets_sent++;
        rt->bytes_sent += len;
        rt->data_sent = true;
        return 0;
}

int ice_agent_poll_output(struct ice_agent *a, struct ice_output *out)
{
        if (!a || !out)
                return -EINVAL;
        free(a->out_hold);
        a->out_hold = NULL;
        if (a->out_head == a->out_n)
                return 0;
        struct ice_out_item *it = &a->outq[a->out_head++];
        memset(out, 0, sizeof(*out));
        out->kind = it->kind;
        switch (it->kind) {
        case ICE_OUT_TRANSMIT:
                a->out_hold = it->data;
                out->u.transmit.base = it->base;
                out->u.transmit.dest = it->dest;
                out->u.transmit.data = it->data;
                out->u.transmit.len = it->len;
                break;
        case ICE_OUT_STATE:
                out->u.state.state = it->state;
                out->u.state.reason = it->reason;
                break;
        case ICE_OUT_LOCAL_CANDIDATE:
                local_to_sdp(&a->local[it->cand], &out->u.candidate);
                break;
        case ICE_OUT_SELECTED_PAIR:
                out->u.selected.local = it->sel_local;
                out->u.selected.remote = it->sel_remote;
                break;
        case ICE_OUT_GATHERING_DONE:
                break;
        }
        if (a->out_head == a->out_n)
                a->out_head = a->out_n = 0;
        return 1;
}

void ice_agent_close(struct ice_agent *a)
{
        if (!a || a->state == ICE_STATE_CLOSED)
                return;
        stop_all(a);
        set_state(a, ICE_STATE_CLOSED, NULL);
}

int ice_agent_get_selected_stats(const struct ice_agent *a, struct ice_pair_stats *out)
{
        if (!a || !out)
                return -EINVAL;
        if (a->selected < 0)
                return -ENOTCONN;
        const struct ice_pair *rt = &a->pairs[a->pairs[a->selected].route];
        memset(out, 0, sizeof(*out));
        route_info(a, a->selected, &out->local, &out->remote);
        out->rtt_valid = rt->rtt_valid;
        out->rtt_us = rt->rtt_us;
        out->requests_sent = rt->requests_sent;
        out->responses_received = rt->responses_received;
        out->requests_received = rt->requests_received;
        out->responses_sent = rt->responses_sent;
        out->consent_requests_sent = rt->consent_sent;
        out->packets_sent = rt->packets_sent;
        out->bytes_sent = rt->bytes_sent;
        out->packets_received = rt->packets_received;
        out->bytes_received = rt->bytes_received;
        out->last_consent_us = rt->last_success_us;
        return 0;
}

/* ---- construction ---- */

const char *ice_agent_local_ufrag(const struct ice_agent *a)
{
        return a ? a->local_ufrag : NULL;
}

const char *ice_agent_local_pwd(const struct ice_agent *a)
{
        return a ? a->local_pwd : NULL;
}

bool ice_agent_is_controlling(const struct ice_agent *a)
{
        return a && a->controlling;
}

enum ice_state ice_agent_state(const struct ice_agent *a)
{
        return a ? a->state : ICE_STATE_CLOSED;
}

enum ice_gathering_state ice_agent_gathering_state(const struct ice_agent *a)
{
        return a ? a->gathering : ICE_GATHERING_NEW;
}

static uint64_t or_default(uint64_t v, uint64_t def)
{
        return v ? v : def;
}

struct ice_agent *ice_agent_new(const struct ice_config *cfg)
{
        if (!cfg || (unsigned)cfg->policy > ICE_POLICY_RELAY)
                return NULL;
        struct ice_agent *a = calloc(1, sizeof(*a));
        if (!a)
                return NULL;
        a->cfg = *cfg;
        a->cfg.local_ufrag = a->cfg.local_pwd = NULL;
        a->cfg.ta_us = or_default(cfg->ta_us, ICE_DEFAULT_TA_US);
        if (a->cfg.ta_us < ICE_MIN_TA_US)
                a->cfg.ta_us = ICE_MIN_TA_US;
        a->cfg.max_pairs = cfg->max_pairs ? cfg->max_pairs : ICE_DEFAULT_MAX_PAIRS;
        a->cfg.nomination_wait_us =
            or_default(cfg->nomination_wait_us, ICE_DEFAULT_NOMINATION_WAIT_US);
        a->cfg.checking_timeout_us =
            or_default(cfg->checking_timeout_us, ICE_DEFAULT_CHECKING_TIMEOUT_US);
        a->cfg.consent_interval_us =
            or_default(cfg->consent_interval_us, ICE_DEFAULT_CONSENT_INTERVAL_US);
        a->cfg.consent_timeout_us =
            or_default(cfg->consent_timeout_us, ICE_DEFAULT_CONSENT_TIMEOUT_US);
        a->cfg.disconnect_timeout_us =
            or_default(cfg->disconnect_timeout_us, ICE_DEFAULT_DISCONNECT_TIMEOUT_US);
        a->cfg.keepalive_us = or_default(cfg->keepalive_us, ICE_DEFAULT_KEEPALIVE_US);
        bool ok =
            a->cfg.max_pairs <= 10000 && a->cfg.disconnect_timeout_us <= a->cfg.consent_timeout_us;
        if (cfg->local_ufrag && cfg->local_ufrag[0]) {
                ok = ok && valid_cred(cfg->local_ufrag, 4);
                if (ok)
                        strcpy(a->local_ufrag, cfg->local_ufrag);
        } else {
                ok = ok && rand_ice_string(a->local_ufrag, 8) == 0;
        }
        if (cfg->local_pwd && cfg->local_pwd[0]) {
                ok = ok && valid_cred(cfg->local_pwd, 22);
                if (ok)
                        strcpy(a->local_pwd, cfg->local_pwd);
        } else {
                ok = ok && rand_ice_string(a->local_pwd, 24) == 0;
        }
        a->tie_breaker = cfg->tie_breaker ? cfg->tie_breaker : rand_u64();
        a->jitter_state = a->tie_breaker ^ 0x9e3779b97f4a7c15ull;
        if (!a->jitter_state)
                a->jitter_state = 1;
        a->controlling = cfg->controlling;
        a->selected = -1;
        a->pair_cap = 2 * (size_t)a->cfg.max_pairs;
        a->pairs = ok ? calloc(a->pair_cap, sizeof(*a->pairs)) : NULL;
        a->triggered = ok ? calloc(a->pair_cap, sizeof(int)) : NULL;
        a->txn = ok ? stun_txn_new() : NULL;
        buf_init(&a->scratch);
        if (!a->pairs || !a->triggered || !a->txn) {
                ice_agent_free(a);
                return NULL;
        }
        return a;
}

void ice_agent_free(struct ice_agent *a)
{
        if (!a)
                return;
        for (size_t i = a->out_head; i < a->out_n; i++)
                free(a->outq[i].data);
        free(a->outq);
        free(a->out_hold);
        free(a->pairs);
        free(a->triggered);
        stun_txn_free(a->txn);
        buf_free(&a->scratch);
        free(a);
}
