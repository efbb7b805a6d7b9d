/*
 * NAT behaviour discovery against a simulated network: a STUN server with two IPs and two
 * ports, and a NAT whose mapping and filtering behaviour each test picks. Virtual clock; every
 * datagram takes 10 ms each way.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "ice/natprobe.h"
#include "ice/stun.h"

#define MS 1000u
#define S  1000000u

enum sim_mapping { MAP_NONE, MAP_EI, MAP_AD, MAP_APD };
enum sim_filtering { FILT_EI, FILT_AD, FILT_APD };
enum sim_server { SRV_RFC5780, SRV_PLAIN, SRV_DOWN, SRV_IGNORES_CHANGE };

struct delivery {
        uint64_t at;
        struct addr from;
        uint8_t data[256];
        size_t len;
};

struct sim {
        enum sim_mapping mapping;
        enum sim_filtering filtering;
        enum sim_server server;
        struct addr local, nat_ip, srv[2][2]; /* srv[ip][port] */
        struct {
                struct addr key;
                uint16_t port;
        } maps[16];
        size_t nmaps;
        struct {
                uint16_t port;
                struct addr dst;
        } perms[64];
        size_t nperms;
        uint16_t next_port;
        struct delivery inflight[16];
        size_t ninflight;
        size_t transmits;
        uint64_t now;
        struct natprobe *p;
        const struct natprobe_result *result;
};

static void sim_init(struct sim *s, enum sim_mapping m, enum sim_filtering f, enum sim_server sv)
{
        memset(s, 0, sizeof(*s));
        s->mapping = m;
        s->filtering = f;
        s->server = sv;
        addr_from_string(&s->local, "192.168.1.10:5000");
        addr_from_string(&s->nat_ip, "203.0.113.5:0");
        addr_from_string(&s->srv[0][0], "198.51.100.1:3478");
        addr_from_string(&s->srv[0][1], "198.51.100.1:3479");
        addr_from_string(&s->srv[1][0], "198.51.100.2:3478");
        addr_from_string(&s->srv[1][1], "198.51.100.2:3479");
        s->next_port = 40000;
        s->now = 1000 * S;
        struct natprobe_config cfg = {.local = s->local, .server = s->srv[0][0]};
        s->p = natprobe_new(&cfg);
        assert_non_null(s->p);
}

/* The NAT's public address for a datagram from the base to dst. */
static struct addr nat_out(struct sim *s, const struct addr *dst)
{
        if (s->mapping == MAP_NONE)
                return s->local;
        struct addr key;
        addr_clear(&key);
        if (s->mapping == MAP_AD)
                key = *dst, key.port = 0;
        else if (s->mapping == MAP_APD)
                key = *dst;
        size_t i;
        for (i = 0; i < s->nmaps; i++)
                if (addr_equal(&s->maps[i].key, &key))
                        break;
        if (i == s->nmaps) {
                assert_true(s->nmaps < 16);
                s->maps[i].key = key;
                s->maps[i].port = s->next_port++;
                s->nmaps++;
        }
        struct addr pub = s->nat_ip;
        pub.port = s->maps[i].port;
        assert_true(s->nperms < 64);
        s->perms[s->nperms].port = pub.port;
        s->perms[s->nperms++].dst = *dst;
        return pub;
}

static bool nat_in_allowed(const struct sim *s, const struct addr *from, uint16_t port)
{
        if (s->mapping == MAP_NONE)
                return true;
        bool mapped = false;
        for (size_t i = 0; i < s->nmaps; i++)
                mapped = mapped || s->maps[i].port == port;
        if (!mapped)
                return false;
        if (s->filtering == FILT_EI)
                return true;
        for (size_t i = 0; i < s->nperms; i++) {
                if (s->perms[i].port != port)
                        continue;
                if (s->filtering == FILT_AD ? addr_equal_ip(&s->perms[i].dst, from)
                                            : addr_equal(&s->perms[i].dst, from))
                        return true;
        }
        return false;
}

static void server_handle(struct sim *s, const struct addr *to, const struct addr *src,
                          const uint8_t *data, size_t len)
{
        int ip = -1, port = -1;
        for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                        if (addr_equal(to, &s->srv[i][j]))
                                ip = i, port = j;
        if (ip < 0 || s->server == SRV_DOWN)
                return;
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, data, len), 0);
        assert_int_equal(stun_msg_check_fingerprint(&m, data), 0);
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        int rip = ip, rport = port;
        if (m.has_change_request && s->server == SRV_RFC5780) {
                rip = m.change_ip ? 1 - ip : ip;
                rport = m.change_port ? 1 - port : port;
        }
        if (m.has_change_request && s->server == SRV_PLAIN) {
                uint16_t unk = STUN_ATTR_CHANGE_REQUEST;
                stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_ERROR, m.txid);
                stun_build_error_code(&sb, 420, NULL);
                stun_build_unknown_attributes(&sb, &unk, 1);
        } else {
                stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid);
                stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, src);
                if (s->server != SRV_PLAIN) {
                        stun_build_addr(&sb, STUN_ATTR_RESPONSE_ORIGIN, &s->srv[rip][rport]);
                        stun_build_addr(&sb, STUN_ATTR_OTHER_ADDRESS, &s->srv[1 - ip][1 - port]);
                }
        }
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        /* Back through the NAT to the base, if its filter lets it in. */
        if (addr_equal(src, &s->local) || nat_in_allowed(s, &s->srv[rip][rport], src->port)) {
                assert_true(s->ninflight < 16 && b.len <= 256);
                struct delivery *d = &s->inflight[s->ninflight++];
                d->at = s->now + 20 * MS;
                d->from = s->srv[rip][rport];
                memcpy(d->data, b.data, b.len);
                d->len = b.len;
        }
        buf_free(&b);
}

static bool drain(struct sim *s)
{
        struct natprobe_output o;
        while (natprobe_poll_output(s->p, &o) == 1) {
                if (o.kind == NATPROBE_OUT_DONE) {
                        assert_null(s->result);
                        s->result = o.result;
                        assert_int_equal(natprobe_poll_output(s->p, &o), 0);
                        return true;
                }
                assert_int_equal(o.kind, NATPROBE_OUT_TRANSMIT);
                s->transmits++;
                struct addr src = nat_out(s, &o.to);
                server_handle(s, &o.to, &src, o.data, o.len);
        }
        return false;
}

/* Runs the probe to its end; returns the virtual time it took. */
static uint64_t sim_run(struct sim *s)
{
        uint64_t start = s->now;
        assert_int_equal(natprobe_start(s->p, s->now), 0);
        for (int guard = 0; guard < 1000; guard++) {
                if (drain(s)) {
                        assert_true(natprobe_done(s->p));
                        assert_true(natprobe_next_deadline(s->p) == UINT64_MAX);
                        assert_ptr_equal(s->result, natprobe_result(s->p));
                        return s->now - start;
                }
                uint64_t next = natprobe_next_deadline(s->p);
                for (size_t i = 0; i < s->ninflight; i++)
                        if (s->inflight[i].at < next)
                                next = s->inflight[i].at;
                assert_true(next != UINT64_MAX && next >= s->now);
                s->now = next;
                for (size_t i = 0; i < s->ninflight;) {
                        struct delivery d = s->inflight[i];
                        if (d.at > s->now) {
                                i++;
                                continue;
                        }
                        s->inflight[i] = s->inflight[--s->ninflight];
                        assert_int_equal(
                            natprobe_handle_input(s->p, s->now, &d.from, d.data, d.len), 0);
                }
                if (natprobe_next_deadline(s->p) <= s->now)
                        natprobe_handle_timeout(s->p, s->now);
        }
        fail_msg("probe did not finish");
        return 0;
}

static void sim_free(struct sim *s)
{
        natprobe_free(s->p);
}

static void test_no_nat(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_NONE, FILT_EI, SRV_RFC5780);
        uint64_t t = sim_run(&s);
        const struct natprobe_result *r = s.result;
        assert_int_equal(r->error, 0);
        assert_true(r->mapped_valid && addr_equal(&r->mapped, &s.local));
        assert_false(r->nat_present);
        assert_true(r->rfc5780 && addr_equal(&r->other, &s.srv[1][1]));
        assert_int_equal(r->mapping, NATPROBE_MAPPING_ENDPOINT_INDEPENDENT);
        assert_int_equal(r->filtering, NATPROBE_FILTERING_ENDPOINT_INDEPENDENT);
        assert_string_equal(r->verdict, "no NAT: direct connections likely");
        /* Test I and one filtering test; no mapping tests without a NAT. */
        assert_int_equal(s.transmits, 2);
        assert_true(t == 40 * MS);
        sim_free(&s);
}

static void test_eim_eif(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_EI, FILT_EI, SRV_RFC5780);
        uint64_t t = sim_run(&s);
        const struct natprobe_result *r = s.result;
        assert_int_equal(r->error, 0);
        assert_true(r->nat_present && r->rfc5780);
        assert_int_equal(r->mapped.port, 40000);
        assert_true(addr_equal_ip(&r->mapped, &s.nat_ip));
        assert_int_equal(r->mapping, NATPROBE_MAPPING_ENDPOINT_INDEPENDENT);
        assert_int_equal(r->filtering, NATPROBE_FILTERING_ENDPOINT_INDEPENDENT);
        assert_string_equal(r->verdict, "direct connections likely");
        assert_string_equal(r->note, "");
        /* test I, filtering II, mapping II; all answered at once. */
        assert_int_equal(s.transmits, 3);
        assert_true(t == 60 * MS);
        sim_free(&s);
}

static void test_eim_apdf(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_EI, FILT_APD, SRV_RFC5780);
        uint64_t t = sim_run(&s);
        const struct natprobe_result *r = s.result;
        assert_int_equal(r->error, 0);
        assert_int_equal(r->mapping, NATPROBE_MAPPING_ENDPOINT_INDEPENDENT);
        assert_int_equal(r->filtering, NATPROBE_FILTERING_ADDRESS_PORT_DEPENDENT);
        assert_non_null(strstr(r->verdict, "symmetric NATs"));
        /* Both filtering tests unanswered: 4 sends and 2.2 s each. */
        assert_int_equal(s.transmits, 1 + 4 + 4 + 1);
        assert_true(t == 20 * MS + 2 * 2200 * MS + 20 * MS);
        sim_free(&s);
}

static void test_eim_adf(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_EI, FILT_AD, SRV_RFC5780);
        sim_run(&s);
        assert_int_equal(s.result->mapping, NATPROBE_MAPPING_ENDPOINT_INDEPENDENT);
        assert_int_equal(s.result->filtering, NATPROBE_FILTERING_ADDRESS_DEPENDENT);
        sim_free(&s);
}

static void test_symmetric(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_APD, FILT_APD, SRV_RFC5780);
        sim_run(&s);
        const struct natprobe_result *r = s.result;
        assert_int_equal(r->error, 0);
        assert_true(r->nat_present);
        assert_int_equal(r->mapping, NATPROBE_MAPPING_ADDRESS_PORT_DEPENDENT);
        assert_int_equal(r->filtering, NATPROBE_FILTERING_ADDRESS_PORT_DEPENDENT);
        assert_non_null(strstr(r->verdict, "TURN needed"));
        /* Three destinations, three mappings. */
        assert_int_equal(s.nmaps, 3);
        sim_free(&s);

        sim_init(&s, MAP_AD, FILT_AD, SRV_RFC5780);
        sim_run(&s);
        assert_int_equal(s.result->mapping, NATPROBE_MAPPING_ADDRESS_DEPENDENT);
        assert_int_equal(s.result->filtering, NATPROBE_FILTERING_ADDRESS_DEPENDENT);
        assert_non_null(strstr(s.result->verdict, "TURN needed"));
        sim_free(&s);
}

static void test_server_without_rfc5780(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_EI, FILT_APD, SRV_PLAIN);
        sim_run(&s);
        const struct natprobe_result *r = s.result;
        assert_int_equal(r->error, 0);
        assert_true(r->mapped_valid && r->nat_present);
        assert_false(r->rfc5780);
        assert_int_equal(r->mapping, NATPROBE_MAPPING_UNKNOWN);
        assert_int_equal(r->filtering, NATPROBE_FILTERING_UNKNOWN);
        assert_string_equal(r->note, "the server does not support RFC 5780 (no OTHER-ADDRESS)");
        assert_non_null(strstr(r->verdict, "unknown"));
        assert_int_equal(s.transmits, 1);
        sim_free(&s);

        sim_init(&s, MAP_NONE, FILT_EI, SRV_PLAIN);
        sim_run(&s);
        assert_false(s.result->nat_present);
        assert_int_equal(s.result->mapping, NATPROBE_MAPPING_ENDPOINT_INDEPENDENT);
        assert_string_equal(s.result->verdict, "no NAT: direct connections likely");
        sim_free(&s);
}

static void test_server_down_and_bad_change(void **state)
{
        (void)state;
        struct sim s;
        sim_init(&s, MAP_EI, FILT_EI, SRV_DOWN);
        uint64_t t = sim_run(&s);
        assert_int_equal(s.result->error, -ETIMEDOUT);
        assert_false(s.result->mapped_valid);
        assert_non_null(strstr(s.result->verdict, "no answer from the STUN server"));
        assert_int_equal(s.transmits, 4);
        assert_true(t == 2200 * MS);
        sim_free(&s);

        /* A server that answers CHANGE-REQUEST from its primary address proves nothing. */
        sim_init(&s, MAP_EI, FILT_EI, SRV_IGNORES_CHANGE);
        sim_run(&s);
        assert_int_equal(s.result->filtering, NATPROBE_FILTERING_UNKNOWN);
        assert_int_equal(s.result->mapping, NATPROBE_MAPPING_ENDPOINT_INDEPENDENT);
        assert_string_equal(s.result->note, "the server did not honour CHANGE-REQUEST");
        sim_free(&s);
}

static void test_stray_input(void **state)
{
        (void)state;
        struct sim s;
        struct natprobe_output o;
        sim_init(&s, MAP_EI, FILT_EI, SRV_RFC5780);
        assert_int_equal(natprobe_start(s.p, s.now), 0);
        assert_int_equal(natprobe_start(s.p, s.now), -EINVAL);
        assert_int_equal(natprobe_poll_output(s.p, &o), 1);
        assert_int_equal(o.kind, NATPROBE_OUT_TRANSMIT);
        assert_true(addr_equal(&o.to, &s.srv[0][0]));
        uint8_t txid[12];
        memcpy(txid, o.data + 8, 12);
        const struct addr *from = &s.srv[0][0];

        /* Not STUN, truncated STUN, a response with another id, a request with ours. */
        static const uint8_t junk[] = "\x17\x03\x03\x00\x10 not a stun message";
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, junk, sizeof(junk)), -EBADMSG);
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct addr mapped;
        addr_from_string(&mapped, "203.0.113.5:1234");
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len - 1), -EBADMSG);
        b.data[8] ^= 1;
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len), -ENOENT);
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len), -ENOENT);
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS, txid);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len), -ENOENT);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, NULL, 0), -EBADMSG);
        assert_int_equal(natprobe_poll_output(s.p, &o), 0);
        assert_false(natprobe_done(s.p));
        assert_true(natprobe_next_deadline(s.p) == s.now + 200 * MS);

        /* The real answer still works, and a duplicate of it is stray. */
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len), 0);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len), -ENOENT);
        assert_int_equal(natprobe_poll_output(s.p, &o), 1);
        assert_int_equal(o.kind, NATPROBE_OUT_DONE);
        assert_true(o.result->nat_present && o.result->mapped.port == 1234);
        assert_int_equal(o.result->mapping, NATPROBE_MAPPING_UNKNOWN);
        buf_free(&b);
        sim_free(&s);

        /* An error response to test I ends the probe. */
        sim_init(&s, MAP_EI, FILT_EI, SRV_RFC5780);
        natprobe_start(s.p, s.now);
        natprobe_poll_output(s.p, &o);
        memcpy(txid, o.data + 8, 12);
        b = (struct buf)BUF_INIT;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_ERROR, txid);
        stun_build_error_code(&sb, 500, NULL);
        assert_int_equal(natprobe_handle_input(s.p, s.now, from, b.data, b.len), 0);
        assert_int_equal(natprobe_poll_output(s.p, &o), 1);
        assert_int_equal(o.kind, NATPROBE_OUT_DONE);
        assert_int_equal(o.result->error, -EPROTO);
        buf_free(&b);
        sim_free(&s);

        /* Bad configurations. */
        struct natprobe_config cfg;
        memset(&cfg, 0, sizeof(cfg));
        assert_null(natprobe_new(NULL));
        struct natprobe *p = natprobe_new(&cfg);
        assert_int_equal(natprobe_start(p, 0), -EINVAL);
        natprobe_free(p);
        addr_from_string(&cfg.server, "198.51.100.1:3478");
        addr_from_string(&cfg.local, "0.0.0.0:5000");
        p = natprobe_new(&cfg);
        assert_int_equal(natprobe_start(p, 0), -EINVAL);
        natprobe_free(p);
        addr_from_string(&cfg.local, "[2001:db8::1]:5000");
        p = natprobe_new(&cfg);
        assert_int_equal(natprobe_start(p, 0), -EINVAL);
        natprobe_free(p);
        natprobe_free(NULL);
        assert_string_equal(natprobe_mapping_name(NATPROBE_MAPPING_ADDRESS_DEPENDENT),
                            "address-dependent");
        assert_string_equal(natprobe_filtering_name(NATPROBE_FILTERING_UNKNOWN), "unknown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_no_nat),
            cmocka_unit_test(test_eim_eif),
            cmocka_unit_test(test_eim_apdf),
            cmocka_unit_test(test_eim_adf),
            cmocka_unit_test(test_symmetric),
            cmocka_unit_test(test_server_without_rfc5780),
            cmocka_unit_test(test_server_down_and_bad_change),
            cmocka_unit_test(test_stray_input),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
