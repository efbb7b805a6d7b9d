/*
 * STUN codec fuzz target: every input goes through the message parser, the integrity and
 * fingerprint checks, and the ChannelData and stream framing parsers. A message that parses is
 * re-encoded from its decoded fields and parsed again; the two decodings must agree, which
 * checks the builder against the parser on shapes no unit test thought of.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ice/stun.h"

static const uint8_t key[] = "fuzz-key";

static bool bytes_same(struct stun_bytes a, struct stun_bytes b)
{
        return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static void check(bool ok)
{
        if (!ok)
                abort();
}

static int reencode(const struct stun_msg *m, struct buf *out)
{
        struct stun_builder b;
        stun_build_begin(&b, out, m->method, (enum stun_class)m->cls, m->txid);
        if (m->has_mapped)
                stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &m->mapped);
        if (m->has_xor_mapped)
                stun_build_xor_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &m->xor_mapped);
        if (m->has_alternate_server)
                stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER, &m->alternate_server);
        if (m->has_xor_relayed)
                stun_build_xor_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS, &m->xor_relayed);
        for (size_t i = 0; i < m->xor_peer_count && i < STUN_MAX_PEER_ADDRS; i++)
                stun_build_xor_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, &m->xor_peer[i]);
        if (m->has_username)
                stun_build_attr(&b, STUN_ATTR_USERNAME, m->username.data, m->username.len);
        if (m->has_realm)
                stun_build_attr(&b, STUN_ATTR_REALM, m->realm.data, m->realm.len);
        if (m->has_nonce)
                stun_build_attr(&b, STUN_ATTR_NONCE, m->nonce.data, m->nonce.len);
        if (m->has_software)
                stun_build_attr(&b, STUN_ATTR_SOFTWARE, m->software.data, m->software.len);
        if (m->has_alternate_domain)
                stun_build_attr(&b, STUN_ATTR_ALTERNATE_DOMAIN, m->alternate_domain.data,
                                m->alternate_domain.len);
        if (m->has_userhash)
                stun_build_attr(&b, STUN_ATTR_USERHASH, m->userhash.data, m->userhash.len);
        if (m->has_data)
                stun_build_attr(&b, STUN_ATTR_DATA, m->data.data, m->data.len);
        if (m->has_error) {
                /* The reason phrase is bytes, not a C string: build the value by hand. */
                uint8_t v[4 + STUN_MAX_TEXT];
                v[0] = v[1] = 0;
                v[2] = (uint8_t)(m->error_code / 100);
                v[3] = (uint8_t)(m->error_code % 100);
                memcpy(v + 4, m->error_reason.data, m->error_reason.len);
                stun_build_attr(&b, STUN_ATTR_ERROR_CODE, v, 4 + m->error_reason.len);
        }
        if (m->has_unknown_attributes)
                stun_build_unknown_attributes(&b, m->unknown_attrs, m->unknown_attrs_count);
        if (m->has_priority)
                stun_build_u32(&b, STUN_ATTR_PRIORITY, m->priority);
        if (m->has_use_candidate)
                stun_build_flag(&b, STUN_ATTR_USE_CANDIDATE);
        if (m->has_ice_controlling)
                stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLING, m->ice_controlling);
        if (m->has_ice_controlled)
                stun_build_u64(&b, STUN_ATTR_ICE_CONTROLLED, m->ice_controlled);
        if (m->has_lifetime)
                stun_build_u32(&b, STUN_ATTR_LIFETIME, m->lifetime);
        if (m->has_requested_transport)
                stun_build_requested_transport(&b, m->requested_transport);
        if (m->has_requested_family) {
                uint8_t v[4] = {m->requested_family, 0, 0, 0};
                stun_build_attr(&b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, v, sizeof(v));
        }
        if (m->has_dont_fragment)
                stun_build_flag(&b, STUN_ATTR_DONT_FRAGMENT);
        if (m->has_even_port)
                stun_build_even_port(&b, m->even_port_reserve);
        if (m->has_reservation_token)
                stun_build_attr(&b, STUN_ATTR_RESERVATION_TOKEN, m->reservation_token, 8);
        if (m->has_channel_number)
                stun_build_channel_number(&b, m->channel_number);
        if (m->has_password_algorithm)
                stun_build_password_algorithm(&b, m->password_algorithm);
        if (m->has_password_algorithms)
                stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS, m->password_algorithms_raw.data,
                                m->password_algorithms_raw.len);
        stun_build_integrity(&b, key, sizeof(key) - 1);
        stun_build_integrity_sha256(&b, key, sizeof(key) - 1);
        return stun_build_fingerprint(&b);
}

static void compare(const struct stun_msg *a, const struct stun_msg *b)
{
        check(a->method == b->method && a->cls == b->cls);
        check(memcmp(a->txid, b->txid, STUN_TXID_SIZE) == 0);
        check(a->has_mapped == b->has_mapped && a->has_xor_mapped == b->has_xor_mapped);
        check(!a->has_mapped || addr_equal(&a->mapped, &b->mapped));
        check(!a->has_xor_mapped || addr_equal(&a->xor_mapped, &b->xor_mapped));
        check(!a->has_alternate_server || addr_equal(&a->alternate_server, &b->alternate_server));
        check(!a->has_xor_relayed || addr_equal(&a->xor_relayed, &b->xor_relayed));
        size_t peers =
            a->xor_peer_count < STUN_MAX_PEER_ADDRS ? a->xor_peer_count : STUN_MAX_PEER_ADDRS;
        check(b->xor_peer_count == peers);
        for (size_t i = 0; i < peers; i++)
                check(addr_equal(&a->xor_peer[i], &b->xor_peer[i]));
        check(bytes_same(a->username, b->username) && bytes_same(a->realm, b->realm));
        check(bytes_same(a->nonce, b->nonce) && bytes_same(a->software, b->software));
        check(bytes_same(a->userhash, b->userhash) && bytes_same(a->data, b->data));
        check(bytes_same(a->alternate_domain, b->alternate_domain));
        check(a->has_error == b->has_error && a->error_code == b->error_code);
        check(bytes_same(a->error_reason, b->error_reason));
        check(a->unknown_attrs_count == b->unknown_attrs_count);
        check(memcmp(a->unknown_attrs, b->unknown_attrs,
                     a->unknown_attrs_count * sizeof(a->unknown_attrs[0])) == 0);
        check(b->unknown_count == 0);
        check(a->has_priority == b->has_priority && a->priority == b->priority);
        check(a->has_use_candidate == b->has_use_candidate);
        check(a->ice_controlling == b->ice_controlling && a->ice_controlled == b->ice_controlled);
        check(a->has_lifetime == b->has_lifetime && a->lifetime == b->lifetime);
        check(a->requested_transport == b->requested_transport);
        check(a->requested_family == b->requested_family);
        check(a->has_dont_fragment == b->has_dont_fragment);
        check(a->has_even_port == b->has_even_port && a->even_port_reserve == b->even_port_reserve);
        check(memcmp(a->reservation_token, b->reservation_token, 8) == 0);
        check(a->has_channel_number == b->has_channel_number &&
              a->channel_number == b->channel_number);
        check(a->password_algorithm == b->password_algorithm);
        check(a->password_algorithms_count == b->password_algorithms_count);
        check(bytes_same(a->password_algorithms_raw, b->password_algorithms_raw));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct stun_msg m;
        (void)stun_is_message(data, size);
        if (stun_msg_parse(&m, data, size) == 0) {
                stun_msg_check_integrity(&m, data, key, sizeof(key) - 1);
                stun_msg_check_fingerprint(&m, data);

                struct buf out = BUF_INIT;
                if (reencode(&m, &out) == 0) {
                        struct stun_msg m2;
                        check(stun_msg_parse(&m2, out.data, out.len) == 0);
                        compare(&m, &m2);
                        check(stun_msg_check_integrity(&m2, out.data, key, sizeof(key) - 1) == 0);
                        check(stun_msg_check_fingerprint(&m2, out.data) == 0);
                }
                buf_free(&out);
        }

        struct stun_channel_data cd;
        size_t frame = 0;
        for (int stream = 0; stream < 2; stream++) {
                if (stun_channel_data_parse(&cd, data, size, stream, &frame) == 0) {
                        check(frame <= size || !stream);
                        check(cd.len <= size - 4);
                        struct buf out = BUF_INIT;
                        check(stun_channel_data_build(&out, cd.channel, cd.data, cd.len, stream) ==
                              0);
                        check(out.len == (stream ? frame : 4 + cd.len));
                        check(memcmp(out.data, data, 4 + cd.len) == 0);
                        buf_free(&out);
                }
        }
        if (stun_stream_frame_len(data, size, &frame) == 0)
                check(frame >= 4);
        return 0;
}
