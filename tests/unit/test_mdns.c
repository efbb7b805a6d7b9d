#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "ice/mdns.h"

#define MS 1000u
#define S  1000000u

static const char uuid_name[] = "1f4712db-ea17-4bcf-a596-105139dfd8bf.local";

/* ---- a small writer for hand-made DNS messages ---- */

struct pkt {
        uint8_t d[2048];
        size_t n;
};

static void p8(struct pkt *p, unsigned v)
{
        assert_true(p->n < sizeof(p->d));
        p->d[p->n++] = (uint8_t)v;
}

static void p16(struct pkt *p, unsigned v)
{
        p8(p, (v >> 8) & 0xff);
        p8(p, v & 0xff);
}

static void p32(struct pkt *p, uint32_t v)
{
        p16(p, v >> 16);
        p16(p, v & 0xffff);
}

static void pbytes(struct pkt *p, const void *b, size_t n)
{
        assert_true(p->n + n <= sizeof(p->d));
        memcpy(p->d + p->n, b, n);
        p->n += n;
}

static void pname(struct pkt *p, const char *text)
{
        uint8_t w[MDNS_NAME_WIRE_MAX];
        size_t n;
        assert_int_equal(mdns_name_encode(text, w, &n), 0);
        pbytes(p, w, n);
}

static void pheader(struct pkt *p, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                    unsigned ar)
{
        p->n = 0;
        p16(p, 0);
        p16(p, flags);
        p16(p, qd);
        p16(p, an);
        p16(p, ns);
        p16(p, ar);
}

/* Type, class, TTL and data of a record whose name was just written. */
static void prr(struct pkt *p, unsigned type, unsigned cls, uint32_t ttl, const void *rdata,
                size_t rdlen)
{
        p16(p, type);
        p16(p, cls);
        p32(p, ttl);
        p16(p, (unsigned)rdlen);
        pbytes(p, rdata, rdlen);
}

static const uint8_t ip4[4] = {192, 168, 1, 23};
static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x17};

/* A typical responder answer: cache-flush A record for name, TTL 120. */
static void answer_a(struct pkt *p, const char *name, const uint8_t ip[4])
{
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, name);
        prr(p, MDNS_TYPE_A, 0x8001, 120, ip, 4);
}

static bool wire_is(const struct mdns_record *rec, const char *text)
{
        uint8_t w[MDNS_NAME_WIRE_MAX];
        size_t n;
        assert_int_equal(mdns_name_encode(text, w, &n), 0);
        return rec->name_len == n && memcmp(rec->name, w, n) == 0;
}

/* ---- codec ---- */

static void test_query_bytes(void **state)
{
        (void)state;
        static const char expect[] = "\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00"
                                     "\x24"
                                     "1f4712db-ea17-4bcf-a596-105139dfd8bf"
                                     "\x05"
                                     "local"
                                     "\x00"
                                     "\x00\x01\x00\x01"
                                     "\xc0\x0c\x00\x1c\x00\x01";
        struct buf b = BUF_INIT;
        assert_int_equal(mdns_query_build(&b, uuid_name, false), 0);
        assert_int_equal(b.len, sizeof(expect) - 1);
        assert_memory_equal(b.data, expect, b.len);

        /* QU: top bit of both question classes; a trailing dot changes nothing. */
        buf_reset(&b);
        assert_int_equal(mdns_query_build(&b, "1f4712db-ea17-4bcf-a596-105139dfd8bf.local.", true),
                         0);
        assert_int_equal(b.len, sizeof(expect) - 1);
        assert_memory_equal(b.data, expect, 12 + 44);
        static const uint8_t qu_tail[] = {0x00, 0x01, 0x80, 0x01, 0xc0,
                                          0x0c, 0x00, 0x1c, 0x80, 0x01};
        assert_memory_equal(b.data + 12 + 44, qu_tail, sizeof(qu_tail));

        /* Appends after existing content; failures leave the buffer as it was. */
        size_t before = b.len;
        assert_int_equal(mdns_query_build(&b, "a..local", false), -EINVAL);
        assert_int_equal(b.len, before);
        assert_int_equal(mdns_query_build(&b, "", false), -EINVAL);
        assert_int_equal(mdns_query_build(NULL, "a.local", false), -EINVAL);
        buf_free(&b);
}

static void test_name_encode(void **state)
{
        (void)state;
        uint8_t w[MDNS_NAME_WIRE_MAX];
        size_t n;
        char name[300];

        assert_int_equal(mdns_name_encode("Ab.local", w, &n), 0);
        assert_int_equal(n, 10);
        assert_memory_equal(w,
                            "\x02"
                            "Ab\x05"
                            "local\x00",
                            10);
        /* 63-byte label: fine; 64: not. */
        memset(name, 'x', 63);
        strcpy(name + 63, ".local");
        assert_int_equal(mdns_name_encode(name, w, &n), 0);
        memset(name, 'x', 64);
        strcpy(name + 64, ".local");
        assert_int_equal(mdns_name_encode(name, w, &n), -EINVAL);
        /* Three 63-byte labels and a 61-byte one: exactly 255 on the wire. */
        size_t k = 0;
        for (int i = 0; i < 3; i++) {
                memset(name + k, 'y', 63);
                k += 63;
                name[k++] = '.';
        }
        memset(name + k, 'z', 61);
        name[k + 61] = 0;
        assert_int_equal(mdns_name_encode(name, w, &n), 0);
        assert_int_equal(n, 255);
        name[k + 61] = 'z';
        name[k + 62] = 0;
        assert_int_equal(mdns_name_encode(name, w, &n), -EINVAL);
        assert_int_equal(mdns_name_encode(".local", w, &n), -EINVAL);
        assert_int_equal(mdns_name_encode("a b.local", w, &n), -EINVAL);

        uint8_t a[MDNS_NAME_WIRE_MAX], b[MDNS_NAME_WIRE_MAX];
        size_t an, bn;
        mdns_name_encode("Host-1.LOCAL", a, &an);
        mdns_name_encode("host-1.local", b, &bn);
        assert_true(mdns_name_equal(a, an, b, bn));
        mdns_name_encode("host-2.local", b, &bn);
        assert_false(mdns_name_equal(a, an, b, bn));
        /* Case folding is ASCII only: '[' (0x5b) is not '{' (0x7b). */
        mdns_name_encode("[.local", a, &an);
        mdns_name_encode("{.local", b, &bn);
        assert_false(mdns_name_equal(a, an, b, bn));
}

static void test_parse_compression(void **state)
{
        (void)state;
        struct pkt p;
        struct mdns_response resp;

        /* Legacy unicast style: the question repeated, then answers by pointer to it. */
        pheader(&p, 0x8400, 1, 2, 0, 1);
        pname(&p, uuid_name); /* at 12; "local" label at 12 + 37 = 49 */
        p16(&p, MDNS_TYPE_A);
        p16(&p, 1);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 0x8001, 120, ip4, 4);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_AAAA, 0x0001, 10, ip6, 16);
        /* additional: "other" + pointer to the "local" suffix */
        p8(&p, 5);
        pbytes(&p, "other", 5);
        p16(&p, 0xc000 | 49);
        prr(&p, MDNS_TYPE_A, 0x8001, 120, ip4, 4);

        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), 0);
        assert_int_equal(resp.flags, 0x8400);
        assert_int_equal(resp.addr_count, 3);
        assert_true(wire_is(&resp.rec[0], uuid_name));
        assert_int_equal(resp.rec[0].type, MDNS_TYPE_A);
        assert_true(resp.rec[0].cache_flush);
        assert_int_equal(resp.rec[0].ttl, 120);
        assert_false(resp.rec[0].additional);
        assert_int_equal(resp.rec[0].addr.family, ADDR_FAMILY_IPV4);
        assert_memory_equal(resp.rec[0].addr.ip, ip4, 4);
        assert_true(wire_is(&resp.rec[1], uuid_name));
        assert_int_equal(resp.rec[1].type, MDNS_TYPE_AAAA);
        assert_false(resp.rec[1].cache_flush);
        assert_memory_equal(resp.rec[1].addr.ip, ip6, 16);
        assert_true(wire_is(&resp.rec[2], "other.local"));
        assert_true(resp.rec[2].additional);

        /* Other record types are validated and skipped; trailing bytes are ignored. */
        pheader(&p, 0x8400, 0, 2, 0, 0);
        pname(&p, "printer._ipp._tcp.local");
        prr(&p, 16 /* TXT */, 0x8001, 4500, "\x04txt1", 5);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 3 /* CHAOS: not IN */, 120, ip4, 4);
        p32(&p, 0xdeadbeef);
        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), 0);
        assert_int_equal(resp.addr_count, 0);

        /* More address records than are kept: all counted. */
        pheader(&p, 0x8400, 0, 20, 0, 0);
        pname(&p, "many.local");
        prr(&p, MDNS_TYPE_A, 1, 1, ip4, 4);
        for (int i = 1; i < 20; i++) {
                p16(&p, 0xc00c);
                prr(&p, MDNS_TYPE_A, 1, 1, ip4, 4);
        }
        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), 0);
        assert_int_equal(resp.addr_count, 20);
        assert_true(wire_is(&resp.rec[MDNS_MAX_ADDR_RECORDS - 1], "many.local"));

        /* Queries and non-zero opcodes or response codes are not responses. */
        pheader(&p, 0x0000, 0, 0, 0, 0);
        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), -ENOMSG);
        pheader(&p, 0x8403, 0, 0, 0, 0);
        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), -ENOMSG);
        pheader(&p, 0xa000, 0, 0, 0, 0);
        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), -ENOMSG);
        assert_int_equal(mdns_response_parse(NULL, p.d, p.n), -EINVAL);
        assert_int_equal(mdns_response_parse(&resp, NULL, 3), -EINVAL);
}

/* ---- resolver ---- */

static void expect_query(struct mdns_resolver *r, const char *name, bool v6)
{
        struct mdns_output o;
        struct buf b = BUF_INIT;
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_SEND_QUERY);
        assert_int_equal(o.to.port, 5353);
        if (v6) {
                static const uint8_t g6[16] = {0xff, 2, 0, 0, 0, 0, 0, 0,
                                               0,    0, 0, 0, 0, 0, 0, 0xfb};
                assert_int_equal(o.to.family, ADDR_FAMILY_IPV6);
                assert_memory_equal(o.to.ip, g6, 16);
        } else {
                static const uint8_t g4[4] = {224, 0, 0, 251};
                assert_int_equal(o.to.family, ADDR_FAMILY_IPV4);
                assert_memory_equal(o.to.ip, g4, 4);
        }
        assert_int_equal(mdns_query_build(&b, name, false), 0);
        assert_int_equal(o.len, b.len);
        assert_memory_equal(o.data, b.data, b.len);
        buf_free(&b);
}

static void test_resolve_a_and_aaaa(void **state)
{
        (void)state;
        struct mdns_resolver *r = mdns_resolver_new(NULL);
        struct mdns_output o;
        struct pkt p;
        assert_non_null(r);

        assert_int_equal(mdns_resolve(r, 0, uuid_name, 7), 0);
        assert_int_equal(mdns_resolve(r, 0, "other-host.local", 8), 0);
        expect_query(r, uuid_name, false);
        expect_query(r, "other-host.local", false);
        assert_int_equal(mdns_poll_output(r, &o), 0);
        assert_int_equal(mdns_pending_count(r), 2);

        /* The responder spells the name in capitals: still ours. */
        answer_a(&p, "1F4712DB-EA17-4BCF-A596-105139DFD8BF.LOCAL", ip4);
        assert_int_equal(mdns_handle_input(r, 100 * MS, p.d, p.n), 0);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_RESOLVED);
        assert_true(o.tag == 7);
        assert_string_equal(o.name, uuid_name);
        assert_int_equal(o.addr.family, ADDR_FAMILY_IPV4);
        assert_memory_equal(o.addr.ip, ip4, 4);
        assert_int_equal(o.addr.port, 0);
        assert_int_equal(mdns_poll_output(r, &o), 0);
        assert_int_equal(mdns_pending_count(r), 1);
        /* The same answer again is now unrelated. */
        assert_int_equal(mdns_handle_input(r, 200 * MS, p.d, p.n), -ENOENT);

        /* AAAA only, with the answer in the additional section. */
        pheader(&p, 0x8400, 0, 0, 0, 1);
        pname(&p, "other-host.local");
        prr(&p, MDNS_TYPE_AAAA, 0x8001, 120, ip6, 16);
        assert_int_equal(mdns_handle_input(r, 300 * MS, p.d, p.n), 0);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_RESOLVED);
        assert_true(o.tag == 8);
        assert_int_equal(o.addr.family, ADDR_FAMILY_IPV6);
        assert_memory_equal(o.addr.ip, ip6, 16);
        assert_int_equal(mdns_pending_count(r), 0);
        assert_true(mdns_next_deadline(r) == UINT64_MAX);
        mdns_handle_timeout(r, 10 * S);
        assert_int_equal(mdns_poll_output(r, &o), 0);
        mdns_resolver_free(r);
}

static void test_answer_preference(void **state)
{
        (void)state;
        struct mdns_config cfg = {.ipv6_scope = 3};
        struct mdns_resolver *r = mdns_resolver_new(&cfg);
        struct mdns_output o;
        struct pkt p;
        static const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
        static const uint8_t other4[4] = {10, 0, 0, 9};

        /* Two resolutions of one name are both answered. */
        assert_int_equal(mdns_resolve(r, 0, "h.local", 1), 0);
        assert_int_equal(mdns_resolve(r, 0, "H.local.", 2), 0);
        while (mdns_poll_output(r, &o) == 1)
                ;
        /* A withdrawn answer is skipped; a record of a later section still counts. */
        pheader(&p, 0x8400, 0, 1, 1, 0);
        pname(&p, "h.local");
        prr(&p, MDNS_TYPE_AAAA, 0x8001, 0, ip6, 16); /* goodbye: skipped */
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 0x8001, 120, other4, 4); /* authority */
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), 0);
        for (uint64_t tag = 1; tag <= 2; tag++) {
                assert_int_equal(mdns_poll_output(r, &o), 1);
                assert_int_equal(o.kind, MDNS_OUT_RESOLVED);
                assert_true(o.tag == tag);
                assert_memory_equal(o.addr.ip, other4, 4);
        }

        assert_int_equal(mdns_resolve(r, 0, "h.local", 3), 0);
        while (mdns_poll_output(r, &o) == 1)
                ;
        pheader(&p, 0x8400, 0, 1, 0, 1);
        pname(&p, "h.local");
        prr(&p, MDNS_TYPE_AAAA, 0x8001, 120, ll, 16);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 0x8001, 120, other4, 4);
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), 0);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.addr.family, ADDR_FAMILY_IPV6);
        assert_memory_equal(o.addr.ip, ll, 16);
        assert_int_equal(o.addr.scope_id, 3); /* link-local: the configured interface */
        mdns_resolver_free(r);
}

static void test_unrelated_ignored(void **state)
{
        (void)state;
        struct mdns_resolver *r = mdns_resolver_new(NULL);
        struct mdns_output o;
        struct pkt p;
        assert_int_equal(mdns_resolve(r, 0, "peer.local", 1), 0);
        while (mdns_poll_output(r, &o) == 1)
                ;

        answer_a(&p, "peer2.local", ip4); /* another name */
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), -ENOENT);
        answer_a(&p, "peer.local.example", ip4); /* ours as a prefix only */
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), -ENOENT);
        answer_a(&p, "peer.local", ip4);
        p.d[2] = 0x00; /* a query carrying it as a known answer */
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), -ENOMSG);
        answer_a(&p, "peer.local", ip4);
        p.d[3] = 0x03; /* NXDOMAIN */
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), -ENOMSG);
        /* Right name, wrong record kinds: PTR, TXT, A in class CHAOS, A goodbye (TTL 0). */
        pheader(&p, 0x8400, 0, 4, 0, 0);
        pname(&p, "peer.local");
        prr(&p, 12, 1, 120, "\xc0\x0c", 2);
        p16(&p, 0xc00c);
        prr(&p, 16, 1, 120, "\x01x", 2);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 3, 120, ip4, 4);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 0x8001, 0, ip4, 4);
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), -ENOENT);
        assert_int_equal(mdns_handle_input(r, 0, (const uint8_t *)"hello", 5), -EBADMSG);
        assert_int_equal(mdns_handle_input(r, 0, NULL, 0), -EBADMSG);
        assert_int_equal(mdns_poll_output(r, &o), 0);
        assert_int_equal(mdns_pending_count(r), 1);

        answer_a(&p, "peer.local", ip4);
        assert_int_equal(mdns_handle_input(r, 0, p.d, p.n), 0);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_RESOLVED);
        mdns_resolver_free(r);
}

static void drain_queries(struct mdns_resolver *r, int expect)
{
        struct mdns_output o;
        int n = 0;
        while (mdns_poll_output(r, &o) == 1) {
                assert_int_equal(o.kind, MDNS_OUT_SEND_QUERY);
                n++;
        }
        assert_int_equal(n, expect);
}

static void test_retries_and_timeout(void **state)
{
        (void)state;
        const uint64_t t0 = 5 * S;
        struct mdns_resolver *r = mdns_resolver_new(NULL);
        struct mdns_output o;

        assert_true(mdns_next_deadline(r) == UINT64_MAX);
        assert_int_equal(mdns_resolve(r, t0, "slow.local", 42), 0);
        drain_queries(r, 1);
        assert_true(mdns_next_deadline(r) == t0 + 1 * S);
        mdns_handle_timeout(r, t0 + 1 * S - 1);
        drain_queries(r, 0);
        mdns_handle_timeout(r, t0 + 1 * S);
        drain_queries(r, 1);
        assert_true(mdns_next_deadline(r) == t0 + 2 * S);
        mdns_handle_timeout(r, t0 + 2 * S);
        drain_queries(r, 1);
        /* No fourth query: the 4 s slot is past the 3 s timeout. */
        assert_true(mdns_next_deadline(r) == t0 + 3 * S);
        mdns_handle_timeout(r, t0 + 3 * S);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_FAILED);
        assert_true(o.tag == 42);
        assert_string_equal(o.name, "slow.local");
        assert_string_equal(o.reason, "no answer from mDNS after 3 s");
        assert_int_equal(mdns_poll_output(r, &o), 0);
        assert_int_equal(mdns_pending_count(r), 0);
        assert_true(mdns_next_deadline(r) == UINT64_MAX);
        mdns_resolver_free(r);

        /* Longer timeout, both groups: 0, 1, 2, 4, 8 s then failure at 10 s. */
        struct mdns_config cfg = {.timeout_us = 10 * S, .ipv6 = true, .ipv6_scope = 2};
        r = mdns_resolver_new(&cfg);
        assert_int_equal(mdns_resolve(r, 0, "v6.local", 1), 0);
        expect_query(r, "v6.local", false);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.to.family, ADDR_FAMILY_IPV6);
        assert_int_equal(o.to.scope_id, 2);
        static const uint64_t sends[] = {1 * S, 2 * S, 4 * S, 8 * S};
        for (size_t i = 0; i < 4; i++) {
                assert_true(mdns_next_deadline(r) == sends[i]);
                mdns_handle_timeout(r, sends[i]);
                drain_queries(r, 2);
        }
        assert_true(mdns_next_deadline(r) == 10 * S);
        mdns_handle_timeout(r, 10 * S);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_string_equal(o.reason, "no answer from mDNS after 10 s");
        mdns_resolver_free(r);

        /* A late caller gets one query, not a burst, and the schedule goes on from the start. */
        cfg = (struct mdns_config){.timeout_us = 2500 * MS, .no_ipv4 = true, .ipv6 = true};
        r = mdns_resolver_new(&cfg);
        assert_int_equal(mdns_resolve(r, 0, "late.local", 1), 0);
        drain_queries(r, 1);
        mdns_handle_timeout(r, 2100 * MS);
        drain_queries(r, 1);
        assert_true(mdns_next_deadline(r) == 2500 * MS);
        /* An answer right before the timeout ends it with no failure. */
        struct pkt p;
        answer_a(&p, "late.local", ip4);
        assert_int_equal(mdns_handle_input(r, 2400 * MS, p.d, p.n), 0);
        mdns_handle_timeout(r, 2500 * MS);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_RESOLVED);
        assert_int_equal(mdns_poll_output(r, &o), 0);
        mdns_resolver_free(r);

        /* Woken only at the timeout: the missed retry is not sent, the failure is reported. */
        cfg = (struct mdns_config){.timeout_us = 1500 * MS};
        r = mdns_resolver_new(&cfg);
        mdns_resolve(r, 0, "x.local", 1);
        mdns_handle_timeout(r, 1500 * MS);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_SEND_QUERY);
        assert_int_equal(mdns_poll_output(r, &o), 1);
        assert_int_equal(o.kind, MDNS_OUT_FAILED);
        assert_string_equal(o.reason, "no answer from mDNS after 1500 ms");
        assert_int_equal(mdns_poll_output(r, &o), 0);
        mdns_resolver_free(r);
}

static void test_resolve_names(void **state)
{
        (void)state;
        struct mdns_resolver *r = mdns_resolver_new(NULL);
        char name[300];
        static const char *const bad[] = {
            "peer.com", "local",  ".local", "a..local",  "a.local..",   "a b.local",   "a\n.local",
            "a.localx", "a.loca", "",       "a.local/x", "héllo.local", "a.local.com", "a._local_",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(mdns_resolve(r, 0, bad[i], 0), -EINVAL);
        assert_int_equal(mdns_resolve(r, 0, NULL, 0), -EINVAL);
        assert_int_equal(mdns_resolve(NULL, 0, "a.local", 0), -EINVAL);
        memset(name, 'x', 64);
        strcpy(name + 64, ".local");
        assert_int_equal(mdns_resolve(r, 0, name, 0), -EINVAL);
        /* 260 characters in labels of 50: too long as a whole. */
        size_t k = 0;
        for (int i = 0; i < 5; i++) {
                memset(name + k, 'a', 50);
                k += 50;
                name[k++] = '.';
        }
        strcpy(name + k, "local");
        assert_int_equal(mdns_resolve(r, 0, name, 0), -EINVAL);
        assert_int_equal(mdns_pending_count(r), 0);
        assert_int_equal(mdns_resolve(r, 0, "A_b-9.LoCaL", 0), 0);
        assert_int_equal(mdns_resolve(r, 0, "x.y.local.", 0), 0);

        for (uint64_t i = 2; i < MDNS_MAX_PENDING; i++)
                assert_int_equal(mdns_resolve(r, 0, "many.local", i), 0);
        assert_int_equal(mdns_resolve(r, 0, "many.local", 99), -ENOSPC);
        assert_int_equal(mdns_cancel(r, 5), 0);
        assert_int_equal(mdns_cancel(r, 5), -ENOENT);
        assert_int_equal(mdns_cancel(r, 0), 0); /* both tag-0 resolutions */
        assert_int_equal(mdns_pending_count(r), MDNS_MAX_PENDING - 3);
        assert_int_equal(mdns_resolve(r, 0, "many.local", 99), 0);
        mdns_resolver_free(r);
        mdns_resolver_free(NULL);

        struct mdns_config none = {.no_ipv4 = true};
        r = mdns_resolver_new(&none);
        assert_int_equal(mdns_resolve(r, 0, "a.local", 0), -EINVAL);
        mdns_resolver_free(r);
}

/* ---- malformed responses ---- */

struct bad_msg {
        const char *what;
        struct pkt p;
};

static void make_bad(struct bad_msg *b, size_t *n)
{
        struct pkt *p;
        size_t i = 0;
        uint8_t long_label[64];
        memset(long_label, 'q', sizeof(long_label));

        p = &b[i].p;
        b[i++].what = "header cut";
        pheader(p, 0x8400, 0, 0, 0, 0);
        p->n = 11;

        p = &b[i].p;
        b[i++].what = "pointer to itself";
        pheader(p, 0x8400, 0, 1, 0, 0);
        p16(p, 0xc00c);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "pointer loop through a later label";
        pheader(p, 0x8400, 0, 1, 0, 0);
        p8(p, 1);
        p8(p, 'a');
        p16(p, 0xc00c); /* back to the 'a' label, which leads here again */
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "two pointers pointing at each other";
        pheader(p, 0x8400, 0, 2, 0, 0);
        pname(p, "peer.local"); /* 12..23 */
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);
        p16(p, 0xc000 | (unsigned)(p->n + 2)); /* forward to the next two bytes... */
        p16(p, 0xc000 | (unsigned)(p->n - 2)); /* ...which point back */
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "pointer forward past the end";
        pheader(p, 0x8400, 0, 1, 0, 0);
        p16(p, 0xc000 | 0x3fff);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "pointer into the header";
        pheader(p, 0x8400, 0, 1, 0, 0);
        p16(p, 0xc004);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "pointer cut in half";
        pheader(p, 0x8400, 1, 0, 0, 0);
        pbytes(p,
               "\x01"
               "a"
               "\x01"
               "b"
               "\xc0",
               5);

        p = &b[i].p;
        b[i++].what = "label runs past the end";
        pheader(p, 0x8400, 1, 0, 0, 0);
        p8(p, 30);
        pbytes(p, "abcdefgh", 8);

        p = &b[i].p;
        b[i++].what = "label of 64 bytes (0x40 prefix)";
        pheader(p, 0x8400, 0, 1, 0, 0);
        p8(p, 64);
        pbytes(p, long_label, 64);
        p8(p, 0);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "extended label type 0x80";
        pheader(p, 0x8400, 0, 1, 0, 0);
        p8(p, 0x81);
        p8(p, 'a');
        p8(p, 0);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "name of 320 bytes, uncompressed";
        pheader(p, 0x8400, 0, 1, 0, 0);
        for (int k = 0; k < 5; k++) {
                p8(p, 63);
                pbytes(p, long_label, 63);
        }
        p8(p, 0);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "name of 256 bytes through a pointer";
        pheader(p, 0x8400, 1, 1, 0, 0);
        for (int k = 0; k < 3; k++) { /* 3 * 64 + 1 = 193 bytes at 12 */
                p8(p, 63);
                pbytes(p, long_label, 63);
        }
        p8(p, 0);
        p32(p, 0x00010001);
        p8(p, 62); /* 63 + 193 = 256; with 61 it would be 255, accepted below */
        pbytes(p, long_label, 62);
        p16(p, 0xc00c);
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "A with 5 bytes of data";
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, "peer.local");
        prr(p, MDNS_TYPE_A, 1, 120, "\xc0\xa8\x01\x17\x00", 5);

        p = &b[i].p;
        b[i++].what = "A with 3 bytes of data";
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, "peer.local");
        prr(p, MDNS_TYPE_A, 0x8001, 120, ip4, 3);

        p = &b[i].p;
        b[i++].what = "AAAA with 4 bytes of data";
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, "peer.local");
        prr(p, MDNS_TYPE_AAAA, 1, 120, ip4, 4);

        p = &b[i].p;
        b[i++].what = "rdata cut short";
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, "peer.local");
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);
        p->n -= 2;

        p = &b[i].p;
        b[i++].what = "rdlength beyond the datagram";
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, "peer.local");
        prr(p, MDNS_TYPE_AAAA, 1, 120, ip6, 16);
        p->d[p->n - 17] = 40;

        p = &b[i].p;
        b[i++].what = "record cut after its type";
        pheader(p, 0x8400, 0, 1, 0, 0);
        pname(p, "peer.local");
        p16(p, MDNS_TYPE_A);
        p16(p, 1);
        p16(p, 0);

        p = &b[i].p;
        b[i++].what = "answer count 65535";
        answer_a(p, "peer.local", ip4);
        p->d[6] = 0xff;
        p->d[7] = 0xff;

        p = &b[i].p;
        b[i++].what = "question count 65535";
        answer_a(p, "peer.local", ip4);
        p->d[4] = 0xff;
        p->d[5] = 0xff;

        p = &b[i].p;
        b[i++].what = "additional count one too many";
        answer_a(p, "peer.local", ip4);
        p->d[11] = 1;

        p = &b[i].p;
        b[i++].what = "good answer, then a bad record";
        pheader(p, 0x8400, 0, 2, 0, 0);
        pname(p, "peer.local");
        prr(p, MDNS_TYPE_A, 1, 120, ip4, 4);
        p16(p, 0xc00c);
        prr(p, MDNS_TYPE_AAAA, 1, 120, ip6, 15);

        *n = i;
}

static void test_malformed(void **state)
{
        (void)state;
        static struct bad_msg bad[32];
        size_t n;
        make_bad(bad, &n);
        struct mdns_resolver *r = mdns_resolver_new(NULL);
        struct mdns_response resp;
        struct mdns_output o;
        assert_int_equal(mdns_resolve(r, 0, "peer.local", 1), 0);
        while (mdns_poll_output(r, &o) == 1)
                ;
        for (size_t i = 0; i < n; i++) {
                int rc = mdns_response_parse(&resp, bad[i].p.d, bad[i].p.n);
                if (rc != -EBADMSG)
                        fail_msg("%s: parse returned %d", bad[i].what, rc);
                assert_int_equal(mdns_handle_input(r, 0, bad[i].p.d, bad[i].p.n), -EBADMSG);
                /* Every prefix of a bad message is bad or harmless, never a crash. */
                for (size_t k = 0; k < bad[i].p.n; k++)
                        mdns_handle_input(r, 0, bad[i].p.d, k);
        }
        assert_int_equal(mdns_poll_output(r, &o), 0);
        assert_int_equal(mdns_pending_count(r), 1);

        /* The boundary cases of the above are accepted: 255-byte name through a pointer. */
        struct pkt p;
        uint8_t lbl[63];
        memset(lbl, 'q', sizeof(lbl));
        pheader(&p, 0x8400, 1, 1, 0, 0);
        for (int k = 0; k < 3; k++) {
                p8(&p, 63);
                pbytes(&p, lbl, 63);
        }
        p8(&p, 0);
        p32(&p, 0x00010001);
        p8(&p, 61);
        pbytes(&p, lbl, 61);
        p16(&p, 0xc00c);
        prr(&p, MDNS_TYPE_A, 1, 120, ip4, 4);
        assert_int_equal(mdns_response_parse(&resp, p.d, p.n), 0);
        assert_int_equal(resp.rec[0].name_len, 255);
        mdns_resolver_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_query_bytes),         cmocka_unit_test(test_name_encode),
            cmocka_unit_test(test_parse_compression),   cmocka_unit_test(test_resolve_a_and_aaaa),
            cmocka_unit_test(test_answer_preference),   cmocka_unit_test(test_unrelated_ignored),
            cmocka_unit_test(test_retries_and_timeout), cmocka_unit_test(test_resolve_names),
            cmocka_unit_test(test_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
