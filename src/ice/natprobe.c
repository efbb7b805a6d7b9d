#include "ice/natprobe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "ice/stun.h"
#include "ice/stun_txn.h"

/* At most one transaction runs, so a transmission and the DONE event are all that can wait. */
#define NATPROBE_QUEUE 8

enum natprobe_stage {
        STAGE_IDLE = 0,
        STAGE_TEST1,
        STAGE_FILTER2, /* change IP and port */
        STAGE_FILTER3, /* change port */
        STAGE_MAP2,    /* to the other IP, primary port */
        STAGE_MAP3,    /* to the other IP and port */
        STAGE_DONE,
};

struct natprobe {
        struct natprobe_config cfg;
        struct stun_txn_config txn_cfg;
        struct stun_txn_table *txn;
        enum natprobe_stage stage;
        uint8_t txid[STUN_TXID_SIZE]; /* of the test in progress */
        struct addr expect_from;      /* filtering tests: where the answer must come from */
        struct addr map2;             /* mapped address seen by test II */
        struct natprobe_result res;

        struct natprobe_output q[NATPROBE_QUEUE];
        size_t qhead, qlen;
        bool done_queued;
};

const char *natprobe_mapping_name(enum natprobe_mapping m)
{
        switch (m) {
        case NATPROBE_MAPPING_ENDPOINT_INDEPENDENT:
                return "endpoint-independent";
        case NATPROBE_MAPPING_ADDRESS_DEPENDENT:
                return "address-dependent";
        case NATPROBE_MAPPING_ADDRESS_PORT_DEPENDENT:
                return "address and port-dependent";
        default:
                return "unknown";
        }
}

const char *natprobe_filtering_name(enum natprobe_filtering f)
{
        switch (f) {
        case NATPROBE_FILTERING_ENDPOINT_INDEPENDENT:
                return "endpoint-independent";
        case NATPROBE_FILTERING_ADDRESS_DEPENDENT:
                return "address-dependent";
        case NATPROBE_FILTERING_ADDRESS_PORT_DEPENDENT:
                return "address and port-dependent";
        default:
                return "unknown";
        }
}

struct natprobe *natprobe_new(const struct natprobe_config *cfg)
{
        if (!cfg)
                return NULL;
        struct natprobe *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->cfg = *cfg;
        p->txn = stun_txn_new();
        if (!p->txn) {
                free(p);
                return NULL;
        }
        p->txn_cfg.rto_us = cfg->rto_us ? cfg->rto_us : NATPROBE_DEFAULT_RTO_US;
        p->txn_cfg.rc = cfg->rc ? cfg->rc : NATPROBE_DEFAULT_RC;
        p->txn_cfg.rm = cfg->rm ? cfg->rm : NATPROBE_DEFAULT_RM;
        return p;
}

void natprobe_free(struct natprobe *p)
{
        if (!p)
                return;
        stun_txn_free(p->txn);
        free(p);
}

static struct natprobe_output *queue_push(struct natprobe *p)
{
        if (p->qhead == p->qlen)
                p->qhead = p->qlen = 0;
        if (p->qlen == NATPROBE_QUEUE) {
                log_warn("ice", "natprobe: output queue full, dropping");
                return NULL;
        }
        struct natprobe_output *o = &p->q[p->qlen++];
        memset(o, 0, sizeof(*o));
        return o;
}

static void make_verdict(struct natprobe_result *r)
{
        const char *v;
        if (r->error == -ETIMEDOUT)
                v = "no answer from the STUN server: UDP blocked or server down, TURN over TCP/TLS "
                    "needed";
        else if (r->error)
                v = "the STUN server gave no usable answer";
        else if (!r->nat_present)
                v = "no NAT: direct connections likely";
        else if (r->mapping == NATPROBE_MAPPING_ENDPOINT_INDEPENDENT &&
                 r->filtering == NATPROBE_FILTERING_ADDRESS_PORT_DEPENDENT)
                v = "direct connections likely, except with peers behind symmetric NATs (TURN "
                    "needed there)";
        else if (r->mapping == NATPROBE_MAPPING_ENDPOINT_INDEPENDENT)
                v = "direct connections likely";
        else if (r->mapping == NATPROBE_MAPPING_UNKNOWN)
                v = "behind a NAT of unknown behaviour: direct connections possible, TURN "
                    "advisable";
        else
                v = "symmetric NAT: TURN needed for peers behind symmetric or port-restricted NATs";
        snprintf(r->verdict, sizeof(r->verdict), "%s", v);
}

static void finish(struct natprobe *p)
{
        if (p->stage == STAGE_DONE)
                return;
        stun_txn_cancel(p->txn, p->txid);
        p->stage = STAGE_DONE;
        make_verdict(&p->res);
        log_debug("ice", "natprobe: mapping %s, filtering %s: %s",
                  natprobe_mapping_name(p->res.mapping), natprobe_filtering_name(p->res.filtering),
                  p->res.verdict);
}

static void set_note(struct natprobe *p, const char *note)
{
        if (!p->res.note[0])
                snprintf(p->res.note, sizeof(p->res.note), "%s", note);
}

static int start_test(struct natprobe *p, uint64_t now, enum natprobe_stage st,
                      const struct addr *dst, bool change_ip, bool change_port)
{
        uint8_t txid[STUN_TXID_SIZE];
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        int rc = stun_txid_generate(txid);
        if (rc == 0) {
                stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
                if (change_ip || change_port)
                        stun_build_change_request(&sb, change_ip, change_port);
                rc = stun_build_fingerprint(&sb);
        }
        if (rc == 0 && b.len > NATPROBE_MAX_REQUEST)
                rc = -EMSGSIZE;
        if (rc == 0)
                rc = stun_txn_start(p->txn, now, b.data, b.len, dst, (uint64_t)st, &p->txn_cfg);
        buf_free(&b);
        if (rc < 0)
                return rc;
        memcpy(p->txid, txid, STUN_TXID_SIZE);
        p->stage = st;
        return 0;
}

/* The server's other IP with the primary port, or the primary IP with the other port. */
static struct addr mix(const struct addr *ip_from, const struct addr *port_from)
{
        struct addr a = *ip_from;
        a.port = port_from->port;
        return a;
}

static void next_stage(struct natprobe *p, uint64_t now, enum natprobe_stage st)
{
        int rc = 0;
        const struct addr *srv = &p->cfg.server, *oth = &p->res.other;
        struct addr dst;
        switch (st) {
        case STAGE_FILTER2:
                p->expect_from = *oth;
                rc = start_test(p, now, st, srv, true, true);
                break;
        case STAGE_FILTER3:
                p->expect_from = mix(srv, oth);
                rc = start_test(p, now, st, srv, false, true);
                break;
        case STAGE_MAP2:
                /* Without a NAT there is no mapping to vary. */
                if (!p->res.nat_present) {
                        p->res.mapping = NATPROBE_MAPPING_ENDPOINT_INDEPENDENT;
                        finish(p);
                        return;
                }
                dst = mix(oth, srv);
                rc = start_test(p, now, st, &dst, false, false);
                break;
        case STAGE_MAP3:
                rc = start_test(p, now, st, oth, false, false);
                break;
        default:
                finish(p);
                return;
        }
        if (rc < 0) {
                set_note(p, "could not send a request");
                finish(p);
        }
}

static void on_timeout(struct natprobe *p, uint64_t now)
{
        switch (p->stage) {
        case STAGE_TEST1:
                p->res.error = -ETIMEDOUT;
                finish(p);
                break;
        case STAGE_FILTER2:
                /* Silence is the answer: the NAT dropped what came from elsewhere. */
                next_stage(p, now, STAGE_FILTER3);
                break;
        case STAGE_FILTER3:
                p->res.filtering = NATPROBE_FILTERING_ADDRESS_PORT_DEPENDENT;
                next_stage(p, now, STAGE_MAP2);
                break;
        case STAGE_MAP2:
        case STAGE_MAP3:
                set_note(p, "the server's other address did not answer");
                finish(p);
                break;
        default:
                break;
        }
}

/* Moves what the transactions produced into the output queue, acting on timeouts. */
static void pump(struct natprobe *p, uint64_t now)
{
        struct stun_txn_output t;
        while (stun_txn_poll_output(p->txn, &t) == 1) {
                if (t.kind == STUN_TXN_OUT_TIMEOUT) {
                        if (memcmp(t.txid, p->txid, STUN_TXID_SIZE) == 0)
                                on_timeout(p, now);
                        continue;
                }
                struct natprobe_output *o = queue_push(p);
                if (o && t.len <= sizeof(o->data)) {
                        o->kind = NATPROBE_OUT_TRANSMIT;
                        o->to = t.dst;
                        memcpy(o->data, t.data, t.len);
                        o->len = t.len;
                }
        }
        if (p->stage == STAGE_DONE && !p->done_queued) {
                struct natprobe_output *o = queue_push(p);
                if (o) {
                        o->kind = NATPROBE_OUT_DONE;
                        o->result = &p->res;
                        p->done_queued = true;
                }
        }
}

int natprobe_start(struct natprobe *p, uint64_t now_us)
{
        if (!p || p->stage != STAGE_IDLE)
                return -EINVAL;
        const struct addr *l = &p->cfg.local, *s = &p->cfg.server;
        if (addr_family(s) == ADDR_FAMILY_NONE || addr_family(l) != addr_family(s) || !s->port ||
            !l->port || addr_is_unspecified(s) || addr_is_unspecified(l))
                return -EINVAL;
        int rc = start_test(p, now_us, STAGE_TEST1, s, false, false);
        if (rc < 0)
                return rc;
        pump(p, now_us);
        return 0;
}

static void on_test1(struct natprobe *p, uint64_t now, const struct stun_msg *m)
{
        struct natprobe_result *r = &p->res;
        if (m->cls != STUN_CLASS_SUCCESS || (!m->has_xor_mapped && !m->has_mapped)) {
                r->error = -EPROTO;
                finish(p);
                return;
        }
        r->mapped = m->has_xor_mapped ? m->xor_mapped : m->mapped;
        r->mapped_valid = true;
        r->nat_present = !addr_equal(&r->mapped, &p->cfg.local);
        const struct addr *o = &m->other_address;
        /* A usable other address differs from the primary one in both IP and port. */
        if (m->has_other_address && addr_family(o) == addr_family(&p->cfg.server) &&
            !addr_equal_ip(o, &p->cfg.server) && o->port != p->cfg.server.port) {
                r->rfc5780 = true;
                r->other = *o;
                next_stage(p, now, STAGE_FILTER2);
                return;
        }
        if (!r->nat_present)
                r->mapping = NATPROBE_MAPPING_ENDPOINT_INDEPENDENT;
        set_note(p, "the server does not support RFC 5780 (no OTHER-ADDRESS)");
        finish(p);
}

static void on_filter(struct natprobe *p, uint64_t now, const struct stun_msg *m,
                      const struct addr *from)
{
        if (m->cls != STUN_CLASS_SUCCESS || !addr_equal(from, &p->expect_from)) {
                /* Refused, or answered from the primary address: the test says nothing. */
                set_note(p, "the server did not honour CHANGE-REQUEST");
                next_stage(p, now, STAGE_MAP2);
                return;
        }
        p->res.filtering = p->stage == STAGE_FILTER2 ? NATPROBE_FILTERING_ENDPOINT_INDEPENDENT
                                                     : NATPROBE_FILTERING_ADDRESS_DEPENDENT;
        next_stage(p, now, STAGE_MAP2);
}

static void on_mapping(struct natprobe *p, uint64_t now, const struct stun_msg *m)
{
        if (m->cls != STUN_CLASS_SUCCESS || (!m->has_xor_mapped && !m->has_mapped)) {
                set_note(p, "the server's other address gave no mapped address");
                finish(p);
                return;
        }
        struct addr mapped = m->has_xor_mapped ? m->xor_mapped : m->mapped;
        if (p->stage == STAGE_MAP2) {
                if (addr_equal(&mapped, &p->res.mapped)) {
                        p->res.mapping = NATPROBE_MAPPING_ENDPOINT_INDEPENDENT;
                        finish(p);
                        return;
                }
                p->map2 = mapped;
                next_stage(p, now, STAGE_MAP3);
                return;
        }
        p->res.mapping = addr_equal(&mapped, &p->map2) ? NATPROBE_MAPPING_ADDRESS_DEPENDENT
                                                       : NATPROBE_MAPPING_ADDRESS_PORT_DEPENDENT;
        finish(p);
}

int natprobe_handle_input(struct natprobe *p, uint64_t now_us, const struct addr *from,
                          const uint8_t *data, size_t len)
{
        if (!p || !from || (!data && len))
                return -EINVAL;
        struct stun_msg m;
        if (!stun_is_message(data, len) || stun_msg_parse(&m, data, len) < 0)
                return -EBADMSG;
        if (p->stage == STAGE_IDLE || p->stage == STAGE_DONE || m.method != STUN_METHOD_BINDING ||
            (m.cls != STUN_CLASS_SUCCESS && m.cls != STUN_CLASS_ERROR) ||
            memcmp(m.txid, p->txid, STUN_TXID_SIZE) != 0)
                return -ENOENT;
        if (stun_txn_match_response(p->txn, now_us, m.txid, NULL) < 0)
                return -ENOENT;
        switch (p->stage) {
        case STAGE_TEST1:
                on_test1(p, now_us, &m);
                break;
        case STAGE_FILTER2:
        case STAGE_FILTER3:
                on_filter(p, now_us, &m, from);
                break;
        default:
                on_mapping(p, now_us, &m);
                break;
        }
        pump(p, now_us);
        return 0;
}

int natprobe_poll_output(struct natprobe *p, struct natprobe_output *out)
{
        if (!p || !out)
                return -EINVAL;
        if (p->qhead == p->qlen)
                return 0;
        *out = p->q[p->qhead++];
        return 1;
}

uint64_t natprobe_next_deadline(const struct natprobe *p)
{
        if (!p || p->stage == STAGE_DONE)
                return UINT64_MAX;
        return stun_txn_next_deadline(p->txn);
}

void natprobe_handle_timeout(struct natprobe *p, uint64_t now_us)
{
        if (!p || p->stage == STAGE_IDLE || p->stage == STAGE_DONE)
                return;
        stun_txn_handle_timeout(p->txn, now_us);
        pump(p, now_us);
}

bool natprobe_done(const struct natprobe *p)
{
        return p && p->stage == STAGE_DONE;
}

const struct natprobe_result *natprobe_result(const struct natprobe *p)
{
        return p ? &p->res : NULL;
}
