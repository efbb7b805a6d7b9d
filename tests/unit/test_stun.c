#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "ice/stun.h"
#include "ice/stun_txn.h"

/* ---- RFC 5769 test vectors ---- */

static const uint8_t rfc_txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                     0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const char rfc_password[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* §2.1: padding is 0x20 on purpose, receivers must ignore it. */
static const uint8_t rfc_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

/* §2.2 */
static const uint8_t rfc_response_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

/* §2.3 */
static const uint8_t rfc_response_v6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

/* §2.4: long-term credentials, no FINGERPRINT. */
static const uint8_t rfc_request_lt[] = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72,
    0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88,
    0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00,
    0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, 0x36, 0x34, 0x73,
    0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
    0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02,
    0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66};

static const uint8_t *pw(const char *s)
{
        return (const uint8_t *)s;
}

static void test_rfc5769_request(void **state)
{
        (void)state;
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, rfc_request, sizeof(rfc_request)), 0);
        assert_int_equal(m.method, STUN_METHOD_BINDING);
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        assert_memory_equal(m.txid, rfc_txid, 12);
        assert_true(m.has_software && stun_bytes_eq(m.software, "STUN test client"));
        assert_true(m.has_priority);
        assert_int_equal(m.priority, 0x6e0001ff);
        assert_true(m.has_ice_controlled && !m.has_ice_controlling);
        assert_true(m.ice_controlled == 0x932ff9b151263b36ull);
        assert_true(m.has_username && stun_bytes_eq(m.username, "evtj:h6vY"));
        assert_true(m.has_integrity && m.has_fingerprint && !m.has_integrity_sha256);
        assert_int_equal(m.unknown_count, 0);

        enum stun_integrity used;
        assert_int_equal(stun_msg_check_integrity_ex(&m, rfc_request, pw(rfc_password),
                                                     strlen(rfc_password), &used),
                         0);
        assert_int_equal(used, STUN_INTEGRITY_SHA1);
        assert_int_equal(stun_msg_check_integrity(&m, rfc_request, pw("VOkJxbRl1RmTxUk/WvJxBr"),
                                                  strlen(rfc_password)),
                         -EACCES);
        assert_int_equal(stun_msg_check_integrity(&m, rfc_request, pw(""), 0), -EACCES);
        assert_int_equal(stun_msg_check_fingerprint(&m, rfc_request), 0);
        assert_true(stun_is_message(rfc_request, sizeof(rfc_request)));
}

static void check_response(const uint8_t *raw, size_t len, const char *mapped)
{
        struct stun_msg m;
        struct addr want;
        assert_int_equal(stun_msg_parse(&m, raw, len), 0);
        assert_int_equal(m.method, STUN_METHOD_BINDING);
        assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
        assert_memory_equal(m.txid, rfc_txid, 12);
        assert_true(stun_bytes_eq(m.software, "test vector"));
        assert_true(m.has_xor_mapped && !m.has_mapped);
        assert_int_equal(addr_from_string(&want, mapped), 0);
        assert_true(addr_equal(&m.xor_mapped, &want));
        assert_int_equal(stun_msg_check_integrity(&m, raw, pw(rfc_password), strlen(rfc_password)),
                         0);
        assert_int_equal(stun_msg_check_fingerprint(&m, raw), 0);

        /* Our encoder XORs the address to the same bytes as the vector. */
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        assert_int_equal(stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, m.txid),
                         0);
        assert_int_equal(stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &want), 0);
        size_t alen = want.family == ADDR_FAMILY_IPV4 ? 12 : 24;
        assert_int_equal(b.len, 20 + alen);
        assert_memory_equal(b.data + 20, raw + 36, alen);
        buf_free(&b);
}

static void test_rfc5769_responses(void **state)
{
        (void)state;
        check_response(rfc_response_v4, sizeof(rfc_response_v4), "192.0.2.1:32853");
        check_response(rfc_response_v6, sizeof(rfc_response_v6),
                       "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

static void test_rfc5769_long_term(void **state)
{
        (void)state;
        /* "マトリックス"; the password after SASLprep ("The\u00adM\u00aatr\u2168" before). */
        static const char user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                   "\xe3\x82\xb9";
        struct stun_msg m;
        uint8_t key[STUN_MD5_KEY_SIZE];
        assert_int_equal(stun_msg_parse(&m, rfc_request_lt, sizeof(rfc_request_lt)), 0);
        assert_true(stun_bytes_eq(m.username, user));
        assert_true(stun_bytes_eq(m.nonce, "f//499k954d6OL34oL9FSTvy64sA"));
        assert_true(stun_bytes_eq(m.realm, "example.org"));
        assert_int_equal(stun_long_term_key(user, "example.org", "TheMatrIX", key), 0);
        assert_int_equal(stun_msg_check_integrity(&m, rfc_request_lt, key, sizeof(key)), 0);
        assert_int_equal(stun_long_term_key(user, "example.org", "TheMatrix", key), 0);
        assert_int_equal(stun_msg_check_integrity(&m, rfc_request_lt, key, sizeof(key)), -EACCES);
        assert_int_equal(stun_msg_check_fingerprint(&m, rfc_request_lt), -ENOENT);

        uint8_t k256[STUN_SHA256_KEY_SIZE], k256b[STUN_SHA256_KEY_SIZE];
        assert_int_equal(stun_long_term_key_sha256("u", "r", "p", k256), 0);
        assert_int_equal(stun_long_term_key_sha256("u", "r", "q", k256b), 0);
        assert_memory_not_equal(k256, k256b, sizeof(k256));
        assert_int_equal(stun_long_term_key(NULL, "r", "p", key), -EINVAL);
}

/* ---- message types ---- */

static void test_types(void **state)
{
        (void)state;
        assert_int_equal(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), 0x0001);
        assert_int_equal(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_INDICATION), 0x0011);
        assert_int_equal(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), 0x0101);
        assert_int_equal(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_ERROR), 0x0111);
        assert_int_equal(stun_msg_type(STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR), 0x0113);
        assert_int_equal(stun_msg_type(STUN_METHOD_SEND, STUN_CLASS_INDICATION), 0x0016);
        assert_int_equal(stun_msg_type(STUN_METHOD_DATA, STUN_CLASS_INDICATION), 0x0017);
        assert_int_equal(stun_msg_type(STUN_METHOD_CHANNEL_BIND, STUN_CLASS_SUCCESS), 0x0109);
        assert_int_equal(stun_msg_type(0xFFF, STUN_CLASS_ERROR), 0x3FFF);

        static const uint16_t methods[] = {STUN_METHOD_BINDING,
                                           STUN_METHOD_ALLOCATE,
                                           STUN_METHOD_REFRESH,
                                           STUN_METHOD_SEND,
                                           STUN_METHOD_DATA,
                                           STUN_METHOD_CREATE_PERMISSION,
                                           STUN_METHOD_CHANNEL_BIND,
                                           0x0ABC,
                                           0x0FFF};
        uint8_t txid[12];
        assert_int_equal(stun_txid_generate(txid), 0);
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
                for (int c = 0; c < 4; c++) {
                        struct buf b = BUF_INIT;
                        struct stun_builder sb;
                        struct stun_msg m;
                        assert_int_equal(
                            stun_build_begin(&sb, &b, methods[i], (enum stun_class)c, txid), 0);
                        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
                        assert_int_equal(m.method, methods[i]);
                        assert_int_equal(m.cls, c);
                        assert_memory_equal(m.txid, txid, 12);
                        buf_free(&b);
                }
        }
        assert_string_equal(stun_method_name(STUN_METHOD_CREATE_PERMISSION), "CreatePermission");
        assert_string_equal(stun_class_name(STUN_CLASS_ERROR), "error response");
        assert_string_equal(stun_attr_name(STUN_ATTR_XOR_PEER_ADDRESS), "XOR-PEER-ADDRESS");
        assert_string_equal(stun_error_reason(STUN_ERR_ROLE_CONFLICT), "Role Conflict");
        assert_string_equal(stun_error_reason(499), "Error");
}

/* ---- round trip ---- */

static void test_roundtrip_request(void **state)
{
        (void)state;
        uint8_t txid[12];
        static const uint8_t key[] = "secret-password";
        static const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        static const uint8_t payload[] = {0xde, 0xad, 0xbe, 0xef, 0x01};
        uint8_t hash[32];
        struct addr peer[3], fam;
        uint16_t algs[] = {STUN_PASSWORD_ALG_SHA256, STUN_PASSWORD_ALG_MD5};
        memset(hash, 0x5a, sizeof(hash));
        stun_txid_generate(txid);
        addr_from_string(&peer[0], "192.0.2.10:1");
        addr_from_string(&peer[1], "[2001:db8::10]:65535");
        addr_from_string(&peer[2], "203.0.113.1:40000");
        addr_from_string(&fam, "[fe80::1]:3478");

        struct buf b = BUF_INIT;
        buf_append_str(&b, "prefix"); /* the builder appends after existing bytes */
        struct stun_builder sb;
        assert_int_equal(stun_build_begin(&sb, &b, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST, txid),
                         0);
        stun_build_str(&sb, STUN_ATTR_USERNAME, "alice");
        stun_build_str(&sb, STUN_ATTR_REALM, "example.org");
        stun_build_str(&sb, STUN_ATTR_NONCE, "nonce-123");
        stun_build_str(&sb, STUN_ATTR_SOFTWARE, "rtcpeer");
        stun_build_u32(&sb, STUN_ATTR_PRIORITY, 0x6e7f00ff);
        stun_build_flag(&sb, STUN_ATTR_USE_CANDIDATE);
        stun_build_u64(&sb, STUN_ATTR_ICE_CONTROLLING, 0x0102030405060708ull);
        stun_build_u64(&sb, STUN_ATTR_ICE_CONTROLLED, 0xfffefdfcfbfaf9f8ull);
        stun_build_u32(&sb, STUN_ATTR_LIFETIME, 600);
        stun_build_requested_transport(&sb, STUN_TRANSPORT_UDP);
        stun_build_requested_family(&sb, ADDR_FAMILY_IPV6);
        stun_build_flag(&sb, STUN_ATTR_DONT_FRAGMENT);
        stun_build_even_port(&sb, true);
        stun_build_attr(&sb, STUN_ATTR_RESERVATION_TOKEN, token, sizeof(token));
        stun_build_channel_number(&sb, 0x4001);
        for (int i = 0; i < 3; i++)
                stun_build_xor_addr(&sb, STUN_ATTR_XOR_PEER_ADDRESS, &peer[i]);
        stun_build_attr(&sb, STUN_ATTR_DATA, payload, sizeof(payload));
        stun_build_password_algorithms(&sb, algs, 2);
        stun_build_password_algorithm(&sb, STUN_PASSWORD_ALG_SHA256);
        stun_build_attr(&sb, STUN_ATTR_USERHASH, hash, sizeof(hash));
        stun_build_addr(&sb, STUN_ATTR_MAPPED_ADDRESS, &fam);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &peer[0]);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_RELAYED_ADDRESS, &peer[1]);
        stun_build_addr(&sb, STUN_ATTR_ALTERNATE_SERVER, &peer[2]);
        assert_int_equal(sb.err, 0);
        assert_int_equal(stun_build_integrity(&sb, key, sizeof(key) - 1), 0);
        assert_int_equal(stun_build_integrity_sha256(&sb, key, sizeof(key) - 1), 0);
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        assert_int_equal(stun_build_len(&sb), b.len - 6);
        assert_memory_equal(b.data, "prefix", 6);

        const uint8_t *raw = b.data + 6;
        size_t len = b.len - 6;
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, raw, len), 0);
        assert_int_equal(m.method, STUN_METHOD_ALLOCATE);
        assert_int_equal(m.cls, STUN_CLASS_REQUEST);
        assert_true(stun_bytes_eq(m.username, "alice"));
        assert_true(stun_bytes_eq(m.realm, "example.org"));
        assert_true(stun_bytes_eq(m.nonce, "nonce-123"));
        assert_true(stun_bytes_eq(m.software, "rtcpeer"));
        assert_true(m.has_priority && m.priority == 0x6e7f00ff);
        assert_true(m.has_use_candidate);
        assert_true(m.has_ice_controlling && m.ice_controlling == 0x0102030405060708ull);
        assert_true(m.has_ice_controlled && m.ice_controlled == 0xfffefdfcfbfaf9f8ull);
        assert_true(m.has_lifetime && m.lifetime == 600);
        assert_true(m.has_requested_transport && m.requested_transport == 17);
        assert_true(m.has_requested_family && m.requested_family == ADDR_FAMILY_IPV6);
        assert_true(m.has_dont_fragment);
        assert_true(m.has_even_port && m.even_port_reserve);
        assert_true(m.has_reservation_token);
        assert_memory_equal(m.reservation_token, token, 8);
        assert_true(m.has_channel_number && m.channel_number == 0x4001);
        assert_int_equal(m.xor_peer_count, 3);
        for (int i = 0; i < 3; i++)
                assert_true(addr_equal(&m.xor_peer[i], &peer[i]));
        assert_true(m.has_data && m.data.len == sizeof(payload));
        assert_memory_equal(m.data.data, payload, sizeof(payload));
        assert_true(m.has_password_algorithms && m.password_algorithms_count == 2);
        assert_int_equal(m.password_algorithms[0], STUN_PASSWORD_ALG_SHA256);
        assert_int_equal(m.password_algorithms[1], STUN_PASSWORD_ALG_MD5);
        assert_int_equal(m.password_algorithms_raw.len, 8);
        assert_true(m.has_password_algorithm && m.password_algorithm == STUN_PASSWORD_ALG_SHA256);
        assert_true(m.has_userhash && m.userhash.len == 32);
        assert_memory_equal(m.userhash.data, hash, 32);
        assert_true(m.has_mapped && addr_equal(&m.mapped, &fam));
        assert_true(m.has_xor_mapped && addr_equal(&m.xor_mapped, &peer[0]));
        assert_true(m.has_xor_relayed && addr_equal(&m.xor_relayed, &peer[1]));
        assert_true(m.has_alternate_server && addr_equal(&m.alternate_server, &peer[2]));
        assert_int_equal(m.unknown_count, 0);
        assert_true(m.has_integrity && m.has_integrity_sha256 && m.has_fingerprint);
        assert_int_equal(m.integrity_sha256_len, 32);

        enum stun_integrity used;
        assert_int_equal(stun_msg_check_integrity_ex(&m, raw, key, sizeof(key) - 1, &used), 0);
        assert_int_equal(used, STUN_INTEGRITY_SHA256);
        assert_int_equal(stun_msg_check_integrity(&m, raw, key, sizeof(key) - 2), -EACCES);
        assert_int_equal(stun_msg_check_fingerprint(&m, raw), 0);

        /* The SHA-1 attribute alone verifies as well: drop the SHA-256 one from the view. */
        m.has_integrity_sha256 = false;
        assert_int_equal(stun_msg_check_integrity_ex(&m, raw, key, sizeof(key) - 1, &used), 0);
        assert_int_equal(used, STUN_INTEGRITY_SHA1);
        buf_free(&b);
}

static void test_roundtrip_error(void **state)
{
        (void)state;
        uint8_t txid[12] = {0};
        uint16_t unknown[] = {0x0003, 0x7777, 0x0005};
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct stun_msg m;

        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_ERROR, txid);
        stun_build_error_code(&sb, 420, NULL);
        stun_build_unknown_attributes(&sb, unknown, 3);
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_int_equal(m.cls, STUN_CLASS_ERROR);
        assert_true(m.has_error && m.error_code == 420);
        assert_true(stun_bytes_eq(m.error_reason, "Unknown Attribute"));
        assert_int_equal(m.unknown_attrs_count, 3);
        assert_memory_equal(m.unknown_attrs, unknown, sizeof(unknown));
        assert_int_equal(stun_msg_check_fingerprint(&m, b.data), 0);
        assert_int_equal(stun_msg_check_integrity(&m, b.data, pw("x"), 1), -ENOENT);

        /* Every class digit and the number boundaries. */
        static const uint16_t codes[] = {300, 399, 401, 438, 487, 500, 508, 699};
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                buf_reset(&b);
                stun_build_begin(&sb, &b, STUN_METHOD_REFRESH, STUN_CLASS_ERROR, txid);
                assert_int_equal(stun_build_error_code(&sb, codes[i], "why"), 0);
                assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
                assert_int_equal(m.error_code, codes[i]);
                assert_true(stun_bytes_eq(m.error_reason, "why"));
        }
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_ERROR, txid);
        assert_int_equal(stun_build_error_code(&sb, 299, NULL), -EINVAL);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_ERROR, txid);
        assert_int_equal(stun_build_error_code(&sb, 700, NULL), -EINVAL);
        buf_free(&b);
}

static void test_padding_lengths(void **state)
{
        (void)state;
        uint8_t txid[12] = {9};
        char s[16];
        for (size_t n = 0; n < 9; n++) {
                struct buf b = BUF_INIT;
                struct stun_builder sb;
                struct stun_msg m;
                memset(s, 'a' + (int)n, n);
                s[n] = 0;
                stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
                stun_build_str(&sb, STUN_ATTR_USERNAME, s);
                stun_build_str(&sb, STUN_ATTR_SOFTWARE, s);
                stun_build_integrity(&sb, pw("k"), 1);
                stun_build_fingerprint(&sb);
                assert_int_equal(sb.err, 0);
                assert_int_equal(b.len % 4, 0);
                assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
                assert_true(stun_bytes_eq(m.username, s));
                assert_true(stun_bytes_eq(m.software, s));
                assert_int_equal(stun_msg_check_integrity(&m, b.data, pw("k"), 1), 0);
                assert_int_equal(stun_msg_check_fingerprint(&m, b.data), 0);
                buf_free(&b);
        }
}

/* ---- builder rules ---- */

static void test_builder_rules(void **state)
{
        (void)state;
        uint8_t txid[12] = {1};
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct addr none;
        addr_clear(&none);

        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_integrity(&sb, pw("k"), 1), 0);
        assert_int_equal(stun_build_u32(&sb, STUN_ATTR_PRIORITY, 1), -EINVAL);
        /* Sticky: later calls keep failing, even valid ones. */
        assert_int_equal(stun_build_fingerprint(&sb), -EINVAL);

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        assert_int_equal(stun_build_integrity(&sb, pw("k"), 1), -EINVAL);

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_integrity(&sb, pw("k"), 1), 0);
        assert_int_equal(stun_build_integrity(&sb, pw("k"), 1), -EINVAL);

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_integrity_sha256(&sb, pw("k"), 1), 0);
        assert_int_equal(stun_build_integrity(&sb, pw("k"), 1), -EINVAL);

        static const struct {
                uint16_t type;
                size_t len;
        } bad_len[] = {
            {STUN_ATTR_PRIORITY, 3},        {STUN_ATTR_USE_CANDIDATE, 1},
            {STUN_ATTR_ICE_CONTROLLING, 4}, {STUN_ATTR_USERHASH, 31},
            {STUN_ATTR_USERNAME, 514},      {STUN_ATTR_REALM, 764},
            {STUN_ATTR_EVEN_PORT, 4},       {STUN_ATTR_XOR_MAPPED_ADDRESS, 12},
        };
        uint8_t big[800] = {0};
        for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
                buf_reset(&b);
                stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
                assert_int_equal(stun_build_attr(&sb, bad_len[i].type, big, bad_len[i].len),
                                 -EINVAL);
                assert_int_equal(b.len, 20);
        }
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_attr(&sb, STUN_ATTR_MESSAGE_INTEGRITY, big, 20), -EINVAL);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_xor_addr(&sb, STUN_ATTR_XOR_PEER_ADDRESS, &none), -EINVAL);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        assert_int_equal(stun_build_requested_family(&sb, ADDR_FAMILY_NONE), -EINVAL);
        assert_int_equal(stun_build_begin(&sb, &b, 0x1000, STUN_CLASS_REQUEST, txid), -EINVAL);

        /* The 16-bit length caps a message at 65535 + 20 bytes. */
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_SEND, STUN_CLASS_INDICATION, txid);
        static uint8_t huge[65536];
        assert_int_equal(stun_build_attr(&sb, STUN_ATTR_DATA, huge, 65528), 0);
        assert_int_equal(stun_build_attr(&sb, STUN_ATTR_DATA, huge, 1), -EMSGSIZE);
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_SEND, STUN_CLASS_INDICATION, txid);
        assert_int_equal(stun_build_attr(&sb, STUN_ATTR_DATA, huge, 65536), -EMSGSIZE);
        buf_free(&b);
}

/* ---- malformed input ---- */

/* Builds header + body with the given length field (or the real one when hdr_len < 0). */
static size_t raw_msg(uint8_t *out, uint16_t type, int hdr_len, const uint8_t *body, size_t n)
{
        size_t l = hdr_len < 0 ? n : (size_t)hdr_len;
        out[0] = (uint8_t)(type >> 8);
        out[1] = (uint8_t)type;
        out[2] = (uint8_t)(l >> 8);
        out[3] = (uint8_t)l;
        out[4] = 0x21;
        out[5] = 0x12;
        out[6] = 0xa4;
        out[7] = 0x42;
        memcpy(out + 8, rfc_txid, 12);
        memcpy(out + 20, body, n);
        return 20 + n;
}

struct bad_case {
        const char *name;
        uint16_t type;
        int hdr_len;
        size_t n;
        uint8_t body[64];
};

#define MI20 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

static const struct bad_case bad_cases[] = {
    {"length not multiple of 4", 0x0001, 2, 2, {0x80, 0x22}},
    {"length beyond datagram", 0x0001, 8, 4, {0x80, 0x22, 0, 0}},
    {"length short of datagram", 0x0001, 4, 8, {0x80, 0x22, 0, 0, 0x80, 0x22, 0, 0}},
    {"first bits set", 0xC001, -1, 0, {0}},
    {"second bit set", 0x4001, -1, 0, {0}},
    {"attribute overflow", 0x0001, -1, 8, {0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd'}},
    {"value past the end", 0x0001, -1, 8, {0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'}},
    {"huge attribute length", 0x0001, -1, 4, {0x80, 0x22, 0xff, 0xff}},
    {"MI too short", 0x0001, -1, 20, {0x00, 0x08, 0x00, 0x10, 0, 0, 0, 0, 0, 0,
                                      0,    0,    0,    0,    0, 0, 0, 0, 0, 0}},
    {"MI too long", 0x0001, -1, 28, {0x00, 0x08, 0x00, 0x18, MI20, 0, 0, 0, 0}},
    {"duplicate MI", 0x0001, -1, 48, {0x00, 0x08, 0x00, 0x14, MI20, 0x00, 0x08, 0x00, 0x14, MI20}},
    {"MI-SHA256 too short",
     0x0001,
     -1,
     16,
     {0x00, 0x1c, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"MI-SHA256 not multiple of 4", 0x0001, -1, 24, {0x00, 0x1c, 0x00, 0x12, MI20}},
    {"MI-SHA256 too long", 0x0001, -1, 40, {0x00, 0x1c, 0x00, 0x24, MI20, MI20}},
    {"duplicate MI-SHA256", 0x0001, -1, 40, {0x00, 0x1c, 0x00, 0x10, 0, 0, 0, 0, 0, 0,
                                             0,    0,    0,    0,    0, 0, 0, 0, 0, 0,
                                             0x00, 0x1c, 0x00, 0x10, 0, 0, 0, 0, 0, 0,
                                             0,    0,    0,    0,    0, 0, 0, 0, 0, 0}},
    {"FINGERPRINT not last",
     0x0001,
     -1,
     16,
     {0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4, 0x80, 0x22, 0x00, 0x04, 'a', 'b', 'c', 'd'}},
    {"two FINGERPRINTs",
     0x0001,
     -1,
     16,
     {0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4, 0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4}},
    {"FINGERPRINT wrong length", 0x0001, -1, 12, {0x80, 0x28, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}},
    {"XOR-MAPPED bad family",
     0x0101,
     -1,
     12,
     {0x00, 0x20, 0x00, 0x08, 0x00, 0x03, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}},
    {"XOR-MAPPED family 0",
     0x0101,
     -1,
     12,
     {0x00, 0x20, 0x00, 0x08, 0x00, 0x00, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}},
    {"XOR-MAPPED v6 family, v4 length",
     0x0101,
     -1,
     12,
     {0x00, 0x20, 0x00, 0x08, 0x00, 0x02, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}},
    {"XOR-MAPPED v4 family, v6 length",
     0x0101,
     -1,
     24,
     {0x00, 0x20, 0x00, 0x14, 0x00, 0x01, 0xa1, 0x47, MI20}},
    {"XOR-MAPPED odd length",
     0x0101,
     -1,
     12,
     {0x00, 0x20, 0x00, 0x06, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0, 0}},
    {"MAPPED bad family", 0x0101, -1, 12, {0x00, 0x01, 0x00, 0x08, 0x00, 0x05, 0, 1, 1, 2, 3, 4}},
    {"XOR-PEER bad family", 0x0016, -1, 12, {0x00, 0x12, 0x00, 0x08, 0x00, 0x09, 0, 1, 1, 2, 3, 4}},
    {"ALTERNATE-SERVER short", 0x0111, -1, 8, {0x80, 0x23, 0x00, 0x04, 0x00, 0x01, 0, 1}},
    {"PRIORITY wrong length", 0x0001, -1, 12, {0x00, 0x24, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 1}},
    {"USE-CANDIDATE with value", 0x0001, -1, 8, {0x00, 0x25, 0x00, 0x04, 0, 0, 0, 0}},
    {"ICE-CONTROLLING short", 0x0001, -1, 8, {0x80, 0x2a, 0x00, 0x04, 0, 0, 0, 1}},
    {"ICE-CONTROLLED long",
     0x0001,
     -1,
     16,
     {0x80, 0x29, 0x00, 0x0c, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}},
    {"LIFETIME short", 0x0004, -1, 8, {0x00, 0x0d, 0x00, 0x02, 0, 1, 0, 0}},
    {"REQUESTED-TRANSPORT short", 0x0003, -1, 8, {0x00, 0x19, 0x00, 0x01, 17, 0, 0, 0}},
    {"REQUESTED-ADDRESS-FAMILY long",
     0x0003,
     -1,
     12,
     {0x00, 0x17, 0x00, 0x08, 1, 0, 0, 0, 0, 0, 0, 0}},
    {"EVEN-PORT long", 0x0003, -1, 8, {0x00, 0x18, 0x00, 0x04, 0x80, 0, 0, 0}},
    {"RESERVATION-TOKEN short", 0x0003, -1, 8, {0x00, 0x22, 0x00, 0x04, 1, 2, 3, 4}},
    {"CHANNEL-NUMBER short", 0x0009, -1, 8, {0x00, 0x0c, 0x00, 0x02, 0x40, 0x00, 0, 0}},
    {"DONT-FRAGMENT with value", 0x0003, -1, 8, {0x00, 0x1a, 0x00, 0x04, 0, 0, 0, 0}},
    {"USERHASH short", 0x0001, -1, 20, {0x00, 0x1e, 0x00, 0x10, 0, 0, 0, 0, 0, 0,
                                        0,    0,    0,    0,    0, 0, 0, 0, 0, 0}},
    {"ERROR-CODE short", 0x0111, -1, 8, {0x00, 0x09, 0x00, 0x02, 0, 0, 0, 0}},
    {"ERROR-CODE class 2", 0x0111, -1, 8, {0x00, 0x09, 0x00, 0x04, 0, 0, 2, 0}},
    {"ERROR-CODE class 7", 0x0111, -1, 8, {0x00, 0x09, 0x00, 0x04, 0, 0, 7, 0}},
    {"ERROR-CODE number 100", 0x0111, -1, 8, {0x00, 0x09, 0x00, 0x04, 0, 0, 4, 100}},
    {"UNKNOWN-ATTRIBUTES odd", 0x0111, -1, 8, {0x00, 0x0a, 0x00, 0x03, 0, 3, 0, 0}},
    {"PASSWORD-ALGORITHM short", 0x0001, -1, 8, {0x00, 0x1d, 0x00, 0x02, 0, 1, 0, 0}},
    {"PASSWORD-ALGORITHM params overflow", 0x0001, -1, 8, {0x00, 0x1d, 0x00, 0x04, 0, 1, 0, 4}},
    {"PASSWORD-ALGORITHM trailing",
     0x0001,
     -1,
     12,
     {0x00, 0x1d, 0x00, 0x08, 0, 1, 0, 0, 0, 2, 0, 0}},
    {"PASSWORD-ALGORITHMS truncated",
     0x0111,
     -1,
     12,
     {0x80, 0x02, 0x00, 0x06, 0, 1, 0, 0, 0, 2, 0, 0}},
    {"PASSWORD-ALGORITHMS param overflow",
     0x0111,
     -1,
     12,
     {0x80, 0x02, 0x00, 0x08, 0, 1, 0, 0, 0, 2, 0, 1}},
};

static void test_malformed(void **state)
{
        (void)state;
        uint8_t raw[128];
        struct stun_msg m;
        for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
                const struct bad_case *c = &bad_cases[i];
                size_t len = raw_msg(raw, c->type, c->hdr_len, c->body, c->n);
                int rc = stun_msg_parse(&m, raw, len);
                if (rc != -EBADMSG)
                        fail_msg("case \"%s\": got %d, want -EBADMSG", c->name, rc);
        }
}

static void test_malformed_header(void **state)
{
        (void)state;
        uint8_t raw[256];
        struct stun_msg m;
        assert_int_equal(stun_msg_parse(&m, rfc_request, 0), -EBADMSG);
        for (size_t n = 1; n < sizeof(rfc_request); n++)
                assert_int_equal(stun_msg_parse(&m, rfc_request, n), -EBADMSG);
        /* A datagram with trailing bytes is not a STUN message either. */
        memcpy(raw, rfc_request, sizeof(rfc_request));
        memset(raw + sizeof(rfc_request), 0, 4);
        assert_int_equal(stun_msg_parse(&m, raw, sizeof(rfc_request) + 4), -EBADMSG);

        memcpy(raw, rfc_request, sizeof(rfc_request));
        raw[5] ^= 1; /* cookie */
        assert_int_equal(stun_msg_parse(&m, raw, sizeof(rfc_request)), -EBADMSG);
        assert_false(stun_is_message(raw, sizeof(rfc_request)));

        assert_int_equal(stun_msg_parse(NULL, raw, 20), -EINVAL);
        assert_int_equal(stun_msg_parse(&m, NULL, 20), -EINVAL);
        assert_false(stun_is_message(rfc_request, 19));
        raw[5] ^= 1;
        raw[0] = 4;
        assert_false(stun_is_message(raw, sizeof(rfc_request)));
}

static void test_integrity_tamper(void **state)
{
        (void)state;
        uint8_t raw[sizeof(rfc_request)];
        struct stun_msg m;
        /* Flip each byte covered by MESSAGE-INTEGRITY (outside the length field). */
        for (size_t i = 0; i < 100; i++) {
                if (i == 2 || i == 3)
                        continue;
                memcpy(raw, rfc_request, sizeof(raw));
                raw[i] ^= 0x01;
                if (stun_msg_parse(&m, raw, sizeof(raw)) < 0)
                        continue; /* some flips break the structure instead */
                /* Padding too: it is inside the HMAC. */
                int rc = stun_msg_check_integrity(&m, raw, pw(rfc_password), strlen(rfc_password));
                if (rc == 0)
                        fail_msg("flip at %zu: integrity %d", i, rc);
        }
        /* A flipped fingerprint byte. */
        memcpy(raw, rfc_request, sizeof(raw));
        raw[sizeof(raw) - 1] ^= 0x80;
        assert_int_equal(stun_msg_parse(&m, raw, sizeof(raw)), 0);
        assert_int_equal(stun_msg_check_fingerprint(&m, raw), -EBADMSG);
        assert_int_equal(stun_msg_check_integrity(&m, raw, pw(rfc_password), strlen(rfc_password)),
                         0);
}

static void test_after_integrity(void **state)
{
        (void)state;
        uint8_t txid[12] = {7};
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct stun_msg m;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        stun_build_u32(&sb, STUN_ATTR_PRIORITY, 5);
        stun_build_integrity(&sb, pw("k"), 1);
        assert_int_equal(sb.err, 0);
        /* Append by hand what the builder refuses: attributes after MESSAGE-INTEGRITY. */
        static const uint8_t tail[] = {0x00, 0x24, 0x00, 0x04, 0, 0, 0, 9, /* PRIORITY */
                                       0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0, /* CHANGE-REQUEST */
                                       0x00, 0x24, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0};
        buf_append(&b, tail, sizeof(tail));
        b.data[2] = (uint8_t)((b.len - 20) >> 8);
        b.data[3] = (uint8_t)(b.len - 20);
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_int_equal(m.priority, 5);
        assert_int_equal(m.unknown_count, 0);
        /* The HMAC covers only what precedes it, whatever the header length says now. */
        assert_int_equal(stun_msg_check_integrity(&m, b.data, pw("k"), 1), 0);
        buf_free(&b);
}

static void test_unknown_attributes(void **state)
{
        (void)state;
        uint8_t raw[128];
        struct stun_msg m;
        static const uint8_t body[] = {
            0x00, 0x04, 0x00, 0x04, 0,    0, 0, 0,    /* RESPONSE-ADDRESS: required, unknown */
            0xc0, 0x57, 0x00, 0x04, 0,    1, 0, 0,    /* GOOG-NETWORK-INFO: optional */
            0x7f, 0xff, 0x00, 0x00,                   /* required, unknown, empty */
            0x00, 0x04, 0x00, 0x04, 0,    0, 0, 0,    /* repeated: listed once */
            0x00, 0x24, 0x00, 0x04, 0x11, 0, 0, 0x22, /* PRIORITY */
            0x00, 0x24, 0x00, 0x04, 0x33, 0, 0, 0x44, /* second PRIORITY is ignored */
        };
        size_t len = raw_msg(raw, 0x0001, -1, body, sizeof(body));
        assert_int_equal(stun_msg_parse(&m, raw, len), 0);
        assert_int_equal(m.unknown_count, 2);
        assert_int_equal(m.unknown[0], 0x0004);
        assert_int_equal(m.unknown[1], 0x7fff);
        assert_int_equal(m.priority, 0x11000022);

        /* Answering 420 with the list. */
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct stun_msg r;
        stun_build_begin(&sb, &b, m.method, STUN_CLASS_ERROR, m.txid);
        stun_build_error_code(&sb, STUN_ERR_UNKNOWN_ATTRIBUTE, NULL);
        stun_build_unknown_attributes(&sb, m.unknown, m.unknown_count);
        assert_int_equal(stun_msg_parse(&r, b.data, b.len), 0);
        assert_int_equal(r.unknown_attrs_count, 2);
        assert_int_equal(r.unknown_attrs[1], 0x7fff);
        buf_free(&b);
}

/* RFC 5780 attributes: build, parse, and reject wrong lengths. */
static void test_rfc5780_attributes(void **state)
{
        (void)state;
        uint8_t txid[12] = {9, 8, 7};
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct stun_msg m;
        struct addr origin, other, v6;
        addr_from_string(&origin, "192.0.2.1:3478");
        addr_from_string(&other, "192.0.2.2:3479");
        addr_from_string(&v6, "[2001:db8::2]:3479");

        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        stun_build_change_request(&sb, true, false);
        stun_build_response_port(&sb, 40001);
        assert_int_equal(stun_build_fingerprint(&sb), 0);
        /* CHANGE-REQUEST value: 00 00 00 04 (change IP only). */
        static const uint8_t cr[] = {0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x04};
        assert_memory_equal(b.data + 20, cr, sizeof(cr));
        static const uint8_t rp[] = {0x00, 0x27, 0x00, 0x04, 0x9c, 0x41, 0, 0};
        assert_memory_equal(b.data + 28, rp, sizeof(rp));
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_true(m.has_change_request && m.change_ip && !m.change_port);
        assert_true(m.has_response_port && m.response_port == 40001);
        assert_int_equal(m.unknown_count, 0);

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        stun_build_change_request(&sb, false, true);
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_true(m.has_change_request && !m.change_ip && m.change_port);

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_xor_addr(&sb, STUN_ATTR_XOR_MAPPED_ADDRESS, &origin);
        stun_build_addr(&sb, STUN_ATTR_RESPONSE_ORIGIN, &origin);
        stun_build_addr(&sb, STUN_ATTR_OTHER_ADDRESS, &other);
        stun_build_addr(&sb, STUN_ATTR_OTHER_ADDRESS, &v6); /* a repeat does not count */
        assert_int_equal(sb.err, 0);
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_true(m.has_response_origin && addr_equal(&m.response_origin, &origin));
        assert_true(m.has_other_address && addr_equal(&m.other_address, &other));
        /* Plain (not XOR) encoding: the port is on the wire as is. */
        assert_int_equal(b.data[20 + 12 + 12 + 6], 0x0d);
        assert_int_equal(b.data[20 + 12 + 12 + 7], 0x97);
        assert_string_equal(stun_attr_name(STUN_ATTR_OTHER_ADDRESS), "OTHER-ADDRESS");
        assert_string_equal(stun_attr_name(STUN_ATTR_CHANGE_REQUEST), "CHANGE-REQUEST");

        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, txid);
        stun_build_addr(&sb, STUN_ATTR_OTHER_ADDRESS, &v6);
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_true(addr_equal(&m.other_address, &v6));

        /* Wrong lengths are refused both ways. */
        uint8_t raw[64];
        static const uint8_t short_cr[] = {0x00, 0x03, 0x00, 0x02, 0, 4, 0, 0};
        assert_int_equal(stun_msg_parse(&m, raw, raw_msg(raw, 0x0001, -1, short_cr, 8)), -EBADMSG);
        static const uint8_t long_rp[] = {0x00, 0x27, 0x00, 0x08, 0, 1, 0, 0, 0, 0, 0, 0};
        assert_int_equal(stun_msg_parse(&m, raw, raw_msg(raw, 0x0001, -1, long_rp, 12)), -EBADMSG);
        static const uint8_t bad_other[] = {0x80, 0x2c, 0x00, 0x08, 0, 9, 0, 1, 1, 2, 3, 4};
        assert_int_equal(stun_msg_parse(&m, raw, raw_msg(raw, 0x0101, -1, bad_other, 12)),
                         -EBADMSG);
        static const uint8_t short_origin[] = {0x80, 0x2b, 0x00, 0x04, 0, 1, 0, 1};
        assert_int_equal(stun_msg_parse(&m, raw, raw_msg(raw, 0x0101, -1, short_origin, 8)),
                         -EBADMSG);
        buf_reset(&b);
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        uint8_t two[2] = {0, 6};
        assert_int_equal(stun_build_attr(&sb, STUN_ATTR_CHANGE_REQUEST, two, 2), -EINVAL);
        buf_free(&b);
}

static void test_peer_address_limit(void **state)
{
        (void)state;
        uint8_t txid[12] = {3};
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        struct stun_msg m;
        struct addr a;
        addr_from_string(&a, "192.0.2.1:1");
        stun_build_begin(&sb, &b, STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST, txid);
        for (int i = 0; i < STUN_MAX_PEER_ADDRS + 2; i++) {
                a.port = (uint16_t)(i + 1);
                stun_build_xor_addr(&sb, STUN_ATTR_XOR_PEER_ADDRESS, &a);
        }
        assert_int_equal(stun_msg_parse(&m, b.data, b.len), 0);
        assert_int_equal(m.xor_peer_count, STUN_MAX_PEER_ADDRS + 2);
        assert_int_equal(m.xor_peer[STUN_MAX_PEER_ADDRS - 1].port, STUN_MAX_PEER_ADDRS);
        buf_free(&b);
}

/* ---- ChannelData ---- */

static void test_channel_data(void **state)
{
        (void)state;
        struct buf b = BUF_INIT;
        struct stun_channel_data cd;
        size_t frame;
        static const uint8_t payload[] = {1, 2, 3, 4, 5};

        assert_int_equal(stun_channel_data_build(&b, 0x4000, payload, 5, false), 0);
        assert_int_equal(b.len, 9);
        assert_true(stun_is_channel_data(b.data, b.len));
        assert_false(stun_is_message(b.data, b.len));
        assert_int_equal(stun_channel_data_parse(&cd, b.data, b.len, false, &frame), 0);
        assert_int_equal(cd.channel, 0x4000);
        assert_int_equal(cd.len, 5);
        assert_memory_equal(cd.data, payload, 5);
        assert_int_equal(frame, 9);
        /* Unpadded on a stream is short of its frame. */
        assert_int_equal(stun_channel_data_parse(&cd, b.data, b.len, true, &frame), -EBADMSG);

        buf_reset(&b);
        assert_int_equal(stun_channel_data_build(&b, 0x4FFF, payload, 5, true), 0);
        assert_int_equal(b.len, 12);
        assert_int_equal(stun_channel_data_parse(&cd, b.data, b.len, true, &frame), 0);
        assert_int_equal(frame, 12);
        assert_int_equal(cd.channel, 0x4FFF);
        /* Padding is allowed on UDP too. */
        assert_int_equal(stun_channel_data_parse(&cd, b.data, b.len, false, &frame), 0);
        assert_int_equal(cd.len, 5);
        assert_int_equal(stun_stream_frame_len(b.data, b.len, &frame), 0);
        assert_int_equal(frame, 12);
        assert_int_equal(stun_stream_frame_len(b.data, 3, &frame), -EAGAIN);

        /* Empty payload. */
        buf_reset(&b);
        assert_int_equal(stun_channel_data_build(&b, 0x4123, NULL, 0, true), 0);
        assert_int_equal(b.len, 4);
        assert_int_equal(stun_channel_data_parse(&cd, b.data, b.len, true, &frame), 0);
        assert_int_equal(cd.len, 0);

        static const uint8_t out_of_range[][8] = {
            {0x3f, 0xff, 0x00, 0x01, 9, 0, 0, 0},
            {0x50, 0x00, 0x00, 0x01, 9, 0, 0, 0},
            {0x7f, 0xff, 0x00, 0x01, 9, 0, 0, 0},
            {0x00, 0x01, 0x00, 0x01, 9, 0, 0, 0},
        };
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(stun_channel_data_parse(&cd, out_of_range[i], 8, false, NULL),
                                 -EBADMSG);
        static const uint8_t truncated[] = {0x40, 0x00, 0x00, 0x08, 1, 2, 3, 4};
        assert_int_equal(stun_channel_data_parse(&cd, truncated, sizeof(truncated), false, NULL),
                         -EBADMSG);
        assert_int_equal(stun_channel_data_parse(&cd, truncated, 3, false, NULL), -EBADMSG);

        assert_int_equal(stun_channel_data_build(&b, 0x3FFF, payload, 5, false), -EINVAL);
        assert_int_equal(stun_channel_data_build(&b, 0x5000, payload, 5, false), -EINVAL);

        /* Stream framing of a STUN message. */
        assert_int_equal(stun_stream_frame_len(rfc_request, 4, &frame), 0);
        assert_int_equal(frame, sizeof(rfc_request));
        static const uint8_t junk[] = {0x80, 0, 0, 0};
        assert_int_equal(stun_stream_frame_len(junk, 4, &frame), -EBADMSG);
        buf_free(&b);
}

/* ---- transactions ---- */

static struct buf make_request(uint8_t id)
{
        struct buf b = BUF_INIT;
        struct stun_builder sb;
        uint8_t txid[12] = {0};
        txid[11] = id;
        stun_build_begin(&sb, &b, STUN_METHOD_BINDING, STUN_CLASS_REQUEST, txid);
        stun_build_fingerprint(&sb);
        return b;
}

#define MS 1000ull

static void test_txn_schedule(void **state)
{
        (void)state;
        struct stun_txn_table *t = stun_txn_new();
        struct stun_txn_output out;
        struct buf req = make_request(1);
        struct addr dst;
        addr_from_string(&dst, "192.0.2.1:3478");
        const uint64_t t0 = 1000000;

        assert_int_equal(stun_txn_start(t, t0, req.data, req.len, &dst, 42, NULL), 0);
        assert_int_equal(stun_txn_start(t, t0, req.data, req.len, &dst, 42, NULL), -EEXIST);
        static const uint64_t sends_ms[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
        size_t nsend = 0;
        uint64_t timeout_at = 0;
        uint64_t now = t0;
        /* Drive it like an event loop: drain outputs, jump to the next deadline. */
        for (int guard = 0; guard < 100; guard++) {
                int r;
                while ((r = stun_txn_poll_output(t, &out)) == 1) {
                        if (out.kind == STUN_TXN_OUT_SEND) {
                                assert_true(nsend < 7);
                                assert_true(now - t0 == sends_ms[nsend] * MS);
                                assert_int_equal(out.transmission, nsend + 1);
                                assert_int_equal(out.len, req.len);
                                assert_memory_equal(out.data, req.data, req.len);
                                assert_true(addr_equal(&out.dst, &dst));
                                assert_true(out.tag == 42);
                                nsend++;
                        } else {
                                assert_int_equal(out.kind, STUN_TXN_OUT_TIMEOUT);
                                assert_true(out.tag == 42);
                                assert_memory_equal(out.txid, req.data + 8, 12);
                                timeout_at = now;
                        }
                }
                assert_int_equal(r, 0);
                uint64_t d = stun_txn_next_deadline(t);
                if (d == UINT64_MAX)
                        break;
                /* Nothing happens just before the deadline. */
                stun_txn_handle_timeout(t, d - 1);
                assert_int_equal(stun_txn_poll_output(t, &out), 0);
                now = d;
                stun_txn_handle_timeout(t, now);
        }
        assert_int_equal(nsend, 7);
        assert_true(timeout_at - t0 == 39500 * MS);
        assert_int_equal(stun_txn_count(t), 0);
        buf_free(&req);
        stun_txn_free(t);
}

static void test_txn_config(void **state)
{
        (void)state;
        struct stun_txn_table *t = stun_txn_new();
        struct stun_txn_output out;
        struct buf req = make_request(2);
        struct stun_txn_config cfg = {.rto_us = 100 * MS, .rc = 3, .rm = 4};

        /* RTO 100 ms, Rc 3, Rm 4: sends at 0, 100, 300; timeout at 700. */
        assert_int_equal(stun_txn_start(t, 0, req.data, req.len, NULL, 0, &cfg), 0);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_true(stun_txn_next_deadline(t) == 100 * MS);
        stun_txn_handle_timeout(t, 100 * MS);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_int_equal(out.transmission, 2);
        assert_true(stun_txn_next_deadline(t) == 300 * MS);
        stun_txn_handle_timeout(t, 300 * MS);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_int_equal(out.transmission, 3);
        assert_true(stun_txn_next_deadline(t) == 700 * MS);
        stun_txn_handle_timeout(t, 700 * MS);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_int_equal(out.kind, STUN_TXN_OUT_TIMEOUT);
        assert_int_equal(stun_txn_poll_output(t, &out), 0);

        /* A cap on the interval: 100, 200, 250, 250... */
        struct stun_txn_config capped = {.rto_us = 100 * MS, .rto_max_us = 250 * MS};
        assert_int_equal(stun_txn_start(t, 0, req.data, req.len, NULL, 0, &capped), 0);
        stun_txn_poll_output(t, &out);
        static const uint64_t at[] = {100, 300, 550, 800, 1050, 1300};
        for (size_t i = 0; i < 6; i++) {
                assert_true(stun_txn_next_deadline(t) == at[i] * MS);
                stun_txn_handle_timeout(t, at[i] * MS);
                assert_int_equal(stun_txn_poll_output(t, &out), 1);
        }
        /* After the 7th send: Rm * initial RTO = 1.6 s. */
        assert_true(stun_txn_next_deadline(t) == 2900 * MS);
        stun_txn_free(t);

        /* Reliable: one send, then a timeout after Ti. */
        t = stun_txn_new();
        struct stun_txn_config rel = {.reliable = true};
        assert_int_equal(stun_txn_start(t, 5, req.data, req.len, NULL, 0, &rel), 0);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_int_equal(out.kind, STUN_TXN_OUT_SEND);
        assert_true(stun_txn_next_deadline(t) == 5 + 39500 * MS);
        stun_txn_handle_timeout(t, 5 + 39500 * MS - 1);
        assert_int_equal(stun_txn_poll_output(t, &out), 0);
        stun_txn_handle_timeout(t, 5 + 39500 * MS);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_int_equal(out.kind, STUN_TXN_OUT_TIMEOUT);
        assert_true(stun_txn_next_deadline(t) == UINT64_MAX);
        buf_free(&req);
        stun_txn_free(t);
}

static void test_txn_match(void **state)
{
        (void)state;
        struct stun_txn_table *t = stun_txn_new();
        struct stun_txn_output out;
        struct stun_txn_match match;
        struct buf a = make_request(1), b = make_request(2), c = make_request(3);

        assert_int_equal(stun_txn_start(t, 0, a.data, a.len, NULL, 1, NULL), 0);
        assert_int_equal(stun_txn_start(t, 10 * MS, b.data, b.len, NULL, 2, NULL), 0);
        assert_int_equal(stun_txn_start(t, 20 * MS, c.data, c.len, NULL, 3, NULL), 0);
        assert_int_equal(stun_txn_count(t), 3);
        /* Outputs come in start order. */
        for (uint64_t i = 1; i <= 3; i++) {
                assert_int_equal(stun_txn_poll_output(t, &out), 1);
                assert_true(out.tag == i);
        }
        /* b answered after one send: RTT known. */
        assert_int_equal(stun_txn_match_response(t, 50 * MS, b.data + 8, &match), 0);
        assert_true(match.tag == 2 && match.rtt_valid && match.rtt_us == 40 * MS);
        assert_int_equal(stun_txn_match_response(t, 50 * MS, b.data + 8, &match), -ENOENT);
        assert_false(stun_txn_pending(t, b.data + 8));
        assert_true(stun_txn_pending(t, a.data + 8));

        /* a retransmitted once, then answered: no RTT (Karn). */
        stun_txn_handle_timeout(t, 500 * MS);
        assert_int_equal(stun_txn_poll_output(t, &out), 1);
        assert_true(out.tag == 1 && out.transmission == 2);
        assert_int_equal(stun_txn_match_response(t, 600 * MS, a.data + 8, &match), 0);
        assert_true(match.tag == 1 && !match.rtt_valid && match.transmissions == 2);

        /* c cancelled: no events at all. */
        assert_int_equal(stun_txn_cancel(t, c.data + 8), 0);
        assert_int_equal(stun_txn_cancel(t, c.data + 8), -ENOENT);
        stun_txn_handle_timeout(t, 100000 * MS);
        assert_int_equal(stun_txn_poll_output(t, &out), 0);
        assert_true(stun_txn_next_deadline(t) == UINT64_MAX);

        /* Only requests start transactions. */
        struct buf ind = BUF_INIT;
        struct stun_builder sb;
        uint8_t txid[12] = {4};
        stun_build_begin(&sb, &ind, STUN_METHOD_SEND, STUN_CLASS_INDICATION, txid);
        assert_int_equal(stun_txn_start(t, 0, ind.data, ind.len, NULL, 0, NULL), -EINVAL);
        assert_int_equal(stun_txn_start(t, 0, a.data, 10, NULL, 0, NULL), -EINVAL);

        /* A late answer to a timed-out transaction is stray. */
        assert_int_equal(stun_txn_start(t, 0, a.data, a.len, NULL, 9, NULL), 0);
        stun_txn_poll_output(t, &out);
        for (int i = 0; i < 8; i++)
                stun_txn_handle_timeout(t, stun_txn_next_deadline(t));
        while (stun_txn_poll_output(t, &out) == 1 && out.kind == STUN_TXN_OUT_SEND)
                ;
        assert_int_equal(out.kind, STUN_TXN_OUT_TIMEOUT);
        assert_int_equal(stun_txn_match_response(t, 0, a.data + 8, NULL), -ENOENT);

        stun_txn_free(NULL);
        buf_free(&ind);
        buf_free(&a);
        buf_free(&b);
        buf_free(&c);
        stun_txn_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc5769_request),    cmocka_unit_test(test_rfc5769_responses),
            cmocka_unit_test(test_rfc5769_long_term),  cmocka_unit_test(test_types),
            cmocka_unit_test(test_roundtrip_request),  cmocka_unit_test(test_roundtrip_error),
            cmocka_unit_test(test_padding_lengths),    cmocka_unit_test(test_builder_rules),
            cmocka_unit_test(test_malformed),          cmocka_unit_test(test_malformed_header),
            cmocka_unit_test(test_integrity_tamper),   cmocka_unit_test(test_after_integrity),
            cmocka_unit_test(test_unknown_attributes), cmocka_unit_test(test_peer_address_limit),
            cmocka_unit_test(test_channel_data),       cmocka_unit_test(test_txn_schedule),
            cmocka_unit_test(test_txn_config),         cmocka_unit_test(test_txn_match),
            cmocka_unit_test(test_rfc5780_attributes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
