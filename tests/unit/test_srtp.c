#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dtls/srtp.h"

static struct dtls_srtp_keys test_keys(enum dtls_srtp_profile profile)
{
        struct dtls_srtp_keys k = {.profile = profile};
        for (int i = 0; i < DTLS_SRTP_KEY_LEN; i++) {
                k.client_key[i] = (uint8_t)(0x10 + i);
                k.server_key[i] = (uint8_t)(0x80 + i);
        }
        for (int i = 0; i < DTLS_SRTP_SALT_LEN; i++) {
                k.client_salt[i] = (uint8_t)(0x40 + i);
                k.server_salt[i] = (uint8_t)(0xc0 + i);
        }
        return k;
}

static size_t make_rtp(uint8_t *p, uint16_t seq, size_t payload)
{
        static const uint8_t hdr[12] = {0x80, 0x60, 0, 0, 0, 0, 0x10, 0, 0x11, 0x22, 0x33, 0x44};
        memcpy(p, hdr, sizeof(hdr));
        p[2] = (uint8_t)(seq >> 8);
        p[3] = (uint8_t)seq;
        for (size_t i = 0; i < payload; i++)
                p[12 + i] = (uint8_t)(i * 3 + seq);
        return 12 + payload;
}

/* A receiver report with one block: 8-byte header, 24-byte block. */
static size_t make_rtcp(uint8_t *p)
{
        memset(p, 0, 32);
        p[0] = 0x81;
        p[1] = 201;
        p[3] = 7;
        p[4] = 0x11;
        p[5] = 0x22;
        p[6] = 0x33;
        p[7] = 0x44;
        for (int i = 8; i < 32; i++)
                p[i] = (uint8_t)i;
        return 32;
}

static void pair(enum dtls_srtp_profile profile, struct srtp_ctx **client, struct srtp_ctx **server)
{
        struct dtls_srtp_keys k = test_keys(profile);
        assert_int_equal(srtp_ctx_new(&k, DTLS_ROLE_CLIENT, client), 0);
        assert_int_equal(srtp_ctx_new(&k, DTLS_ROLE_SERVER, server), 0);
}

static void round_trip(enum dtls_srtp_profile profile, size_t rtp_tag)
{
        struct srtp_ctx *c, *s;
        pair(profile, &c, &s);
        /* Both directions: client to server and back. */
        struct srtp_ctx *from[2] = {c, s}, *to[2] = {s, c};
        for (int dir = 0; dir < 2; dir++) {
                for (uint16_t seq = 65530; seq != 10; seq++) { /* across the rollover */
                        uint8_t plain[1200], pkt[1200 + SRTP_CTX_MAX_TRAILER];
                        size_t len = make_rtp(plain, seq, 1000);
                        memcpy(pkt, plain, len);
                        size_t plen = len;
                        assert_int_equal(srtp_ctx_protect_rtp(from[dir], pkt, &plen, sizeof(pkt)),
                                         0);
                        assert_int_equal(plen, len + rtp_tag);
                        assert_memory_equal(pkt, plain, 12); /* header in clear */
                        assert_memory_not_equal(pkt + 12, plain + 12, 1000);
                        assert_int_equal(srtp_ctx_unprotect_rtp(to[dir], pkt, &plen), 0);
                        assert_int_equal(plen, len);
                        assert_memory_equal(pkt, plain, len);
                }
                for (int i = 0; i < 5; i++) {
                        uint8_t plain[64], pkt[64 + SRTP_CTX_MAX_TRAILER];
                        size_t len = make_rtcp(plain);
                        memcpy(pkt, plain, len);
                        size_t plen = len;
                        assert_int_equal(srtp_ctx_protect_rtcp(from[dir], pkt, &plen, sizeof(pkt)),
                                         0);
                        assert_int_equal(plen,
                                         len + 14); /* E|index and an 80-bit tag, both profiles */
                        assert_memory_not_equal(pkt + 8, plain + 8, len - 8);
                        assert_int_equal(srtp_ctx_unprotect_rtcp(to[dir], pkt, &plen), 0);
                        assert_int_equal(plen, len);
                        assert_memory_equal(pkt, plain, len);
                }
        }
        struct srtp_ctx_stats st;
        srtp_ctx_get_stats(c, &st);
        assert_int_equal(st.rtp_protected, 16);
        assert_int_equal(st.rtp_unprotected, 16);
        assert_int_equal(st.rtcp_protected, 5);
        assert_int_equal(st.rtcp_unprotected, 5);
        assert_int_equal(st.rejected_replay + st.rejected_auth + st.rejected_other, 0);
        srtp_ctx_free(c);
        srtp_ctx_free(s);
}

static void test_round_trip_80(void **state)
{
        (void)state;
        round_trip(DTLS_SRTP_AES128_CM_SHA1_80, 10);
}

static void test_round_trip_32(void **state)
{
        (void)state;
        round_trip(DTLS_SRTP_AES128_CM_SHA1_32, 4);
}

/* Each side sends with its own key: a packet looped back to its sender does not verify. */
static void test_direction_keys(void **state)
{
        (void)state;
        struct srtp_ctx *c, *s;
        pair(DTLS_SRTP_AES128_CM_SHA1_80, &c, &s);
        uint8_t pkt[200];
        size_t len = make_rtp(pkt, 1, 100);
        assert_int_equal(srtp_ctx_protect_rtp(c, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(srtp_ctx_unprotect_rtp(c, pkt, &len), -EBADMSG);
        srtp_ctx_free(c);
        srtp_ctx_free(s);
}

/*
 * libsrtp2's own AES_CM_128_HMAC_SHA1_80 test packet (srtp_validate): proves that key and salt
 * reach libsrtp2 in the order the RFC 5764 exporter defines, not just that both sides agree.
 */
static void test_known_answer(void **state)
{
        (void)state;
        static const uint8_t master[30] = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                           0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
                                           0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb,
                                           0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
        static const uint8_t expect[38] = {
            0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe, 0x4e,
            0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d,
            0x24, 0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb};
        struct dtls_srtp_keys k = test_keys(DTLS_SRTP_AES128_CM_SHA1_80);
        memcpy(k.client_key, master, 16);
        memcpy(k.client_salt, master + 16, 14);
        struct srtp_ctx *c, *s;
        assert_int_equal(srtp_ctx_new(&k, DTLS_ROLE_CLIENT, &c), 0);
        assert_int_equal(srtp_ctx_new(&k, DTLS_ROLE_SERVER, &s), 0);
        uint8_t pkt[64] = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe};
        memset(pkt + 12, 0xab, 16);
        size_t len = 28;
        assert_int_equal(srtp_ctx_protect_rtp(c, pkt, &len, sizeof(pkt)), 0);
        assert_int_equal(len, sizeof(expect));
        assert_memory_equal(pkt, expect, sizeof(expect));
        assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &len), 0);
        assert_int_equal(len, 28);
        srtp_ctx_free(c);
        srtp_ctx_free(s);
}

static void test_replay_rejected(void **state)
{
        (void)state;
        struct srtp_ctx *c, *s;
        pair(DTLS_SRTP_AES128_CM_SHA1_80, &c, &s);
        uint8_t pkt[200], copy[200];
        size_t len = make_rtp(pkt, 100, 100);
        assert_int_equal(srtp_ctx_protect_rtp(c, pkt, &len, sizeof(pkt)), 0);
        memcpy(copy, pkt, len);
        size_t l1 = len, l2 = len;
        assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &l1), 0);
        assert_int_equal(srtp_ctx_unprotect_rtp(s, copy, &l2), -EALREADY);

        /* Far behind the window: also a replay, even though never seen. */
        uint8_t old[200];
        size_t olen = make_rtp(old, 1, 100);
        struct srtp_ctx *c2, *s2;
        pair(DTLS_SRTP_AES128_CM_SHA1_80, &c2, &s2);
        for (uint16_t seq = 1; seq < 1000; seq++) {
                uint8_t p[200];
                size_t l = make_rtp(p, seq, 100);
                assert_int_equal(srtp_ctx_protect_rtp(c2, p, &l, sizeof(p)), 0);
                if (seq == 1)
                        memcpy(old, p, olen = l);
                else
                        assert_int_equal(srtp_ctx_unprotect_rtp(s2, p, &l), 0);
        }
        assert_int_equal(srtp_ctx_unprotect_rtp(s2, old, &olen), -EALREADY);

        /* RTCP has its own index and its own replay list. */
        uint8_t r[64], rcopy[64];
        size_t rlen = make_rtcp(r);
        assert_int_equal(srtp_ctx_protect_rtcp(c, r, &rlen, sizeof(r)), 0);
        memcpy(rcopy, r, rlen);
        size_t r1 = rlen, r2 = rlen;
        assert_int_equal(srtp_ctx_unprotect_rtcp(s, r, &r1), 0);
        assert_int_equal(srtp_ctx_unprotect_rtcp(s, rcopy, &r2), -EALREADY);

        struct srtp_ctx_stats st;
        srtp_ctx_get_stats(s, &st);
        assert_int_equal(st.rejected_replay, 2);
        assert_int_equal(st.rejected_auth, 0);
        assert_int_equal(st.rtp_unprotected, 1);
        assert_int_equal(st.rtcp_unprotected, 1);
        srtp_ctx_get_stats(s2, &st);
        assert_int_equal(st.rejected_replay, 1);
        srtp_ctx_free(c);
        srtp_ctx_free(s);
        srtp_ctx_free(c2);
        srtp_ctx_free(s2);
}

/* Any flipped bit, in header, payload or tag, fails authentication and is counted. */
static void test_tamper_rejected(void **state)
{
        (void)state;
        struct srtp_ctx *c, *s;
        pair(DTLS_SRTP_AES128_CM_SHA1_32, &c, &s);
        uint8_t orig[200];
        size_t len = make_rtp(orig, 7, 100);
        assert_int_equal(srtp_ctx_protect_rtp(c, orig, &len, sizeof(orig)), 0);
        size_t positions[] = {1, 4, 11, 12, 60, len - 5, len - 1};
        for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
                uint8_t pkt[200];
                memcpy(pkt, orig, len);
                pkt[positions[i]] ^= 0x01;
                size_t l = len;
                assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &l), -EBADMSG);
                assert_int_equal(l, len);
        }
        /* The genuine packet still passes: failures did not advance the replay window. */
        uint8_t pkt[200];
        memcpy(pkt, orig, len);
        size_t l = len;
        assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &l), 0);

        uint8_t r[64];
        size_t rlen = make_rtcp(r);
        assert_int_equal(srtp_ctx_protect_rtcp(c, r, &rlen, sizeof(r)), 0);
        r[10] ^= 0x80;
        assert_int_equal(srtp_ctx_unprotect_rtcp(s, r, &rlen), -EBADMSG);

        struct srtp_ctx_stats st;
        srtp_ctx_get_stats(s, &st);
        assert_int_equal(st.rejected_auth, 8);
        assert_int_equal(st.rejected_replay, 0);
        assert_int_equal(st.rejected_other, 0);
        assert_int_equal(st.rtp_unprotected, 1);
        srtp_ctx_free(c);
        srtp_ctx_free(s);
}

static void test_malformed(void **state)
{
        (void)state;
        struct srtp_ctx *c, *s;
        pair(DTLS_SRTP_AES128_CM_SHA1_80, &c, &s);
        uint8_t pkt[64] = {0x80, 0x60};
        size_t len;
        for (len = 0; len < 22; len++) { /* shorter than header + tag */
                size_t l = len;
                assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &l), -EINVAL);
        }
        pkt[0] = 0x40; /* version 1 */
        len = 40;
        assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &len), -EINVAL);
        pkt[0] = 0x8f; /* 15 CSRCs: 72 bytes of header in a 40-byte packet */
        assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &len), -EINVAL);
        pkt[0] = 0x90; /* extension claiming 0xffff words */
        pkt[12] = 0xbe;
        pkt[13] = 0xde;
        pkt[14] = 0xff;
        pkt[15] = 0xff;
        assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &len), -EINVAL);
        len = 21; /* RTCP: header 8 + index 4 + tag 10 is the minimum */
        pkt[0] = 0x81;
        pkt[1] = 201;
        assert_int_equal(srtp_ctx_unprotect_rtcp(s, pkt, &len), -EINVAL);
        struct srtp_ctx_stats st;
        srtp_ctx_get_stats(s, &st);
        assert_int_equal(st.rejected_other, 22 + 3 + 1);
        assert_int_equal(st.rejected_auth + st.rejected_replay, 0);

        /* Our own packets: too short to be RTP, or no room for the tag. */
        len = 11;
        assert_int_equal(srtp_ctx_protect_rtp(c, pkt, &len, sizeof(pkt)), -EINVAL);
        len = make_rtp(pkt, 1, 20);
        assert_int_equal(srtp_ctx_protect_rtp(c, pkt, &len, len + 9), -ENOSPC);
        len = make_rtcp(pkt);
        assert_int_equal(srtp_ctx_protect_rtcp(c, pkt, &len, len + 13), -ENOSPC);
        srtp_ctx_free(c);
        srtp_ctx_free(s);
}

/* A buffer with exactly the trailer's room: ASan reports any write past it. */
static void test_exact_room(void **state)
{
        (void)state;
        for (int p = 0; p < 2; p++) {
                enum dtls_srtp_profile prof =
                    p ? DTLS_SRTP_AES128_CM_SHA1_32 : DTLS_SRTP_AES128_CM_SHA1_80;
                size_t tag = p ? 4 : 10;
                struct srtp_ctx *c, *s;
                pair(prof, &c, &s);
                uint8_t tmp[300];
                size_t len = make_rtp(tmp, 5, 200);
                uint8_t *pkt = malloc(len + tag);
                memcpy(pkt, tmp, len);
                assert_int_equal(srtp_ctx_protect_rtp(c, pkt, &len, len + tag), 0);
                assert_int_equal(srtp_ctx_unprotect_rtp(s, pkt, &len), 0);
                free(pkt);
                len = make_rtcp(tmp);
                pkt = malloc(len + 14);
                memcpy(pkt, tmp, len);
                assert_int_equal(srtp_ctx_protect_rtcp(c, pkt, &len, len + 14), 0);
                assert_int_equal(srtp_ctx_unprotect_rtcp(s, pkt, &len), 0);
                free(pkt);
                srtp_ctx_free(c);
                srtp_ctx_free(s);
        }
}

static void test_bad_config(void **state)
{
        (void)state;
        struct dtls_srtp_keys k = test_keys(DTLS_SRTP_NONE);
        struct srtp_ctx *c = (struct srtp_ctx *)&k;
        assert_int_equal(srtp_ctx_new(&k, DTLS_ROLE_CLIENT, &c), -EINVAL);
        assert_null(c);
        k.profile = (enum dtls_srtp_profile)7; /* AEAD_AES_128_GCM: not offered by our DTLS */
        assert_int_equal(srtp_ctx_new(&k, DTLS_ROLE_CLIENT, &c), -EINVAL);
        srtp_ctx_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip_80),   cmocka_unit_test(test_round_trip_32),
            cmocka_unit_test(test_direction_keys),  cmocka_unit_test(test_known_answer),
            cmocka_unit_test(test_replay_rejected), cmocka_unit_test(test_tamper_rejected),
            cmocka_unit_test(test_malformed),       cmocka_unit_test(test_exact_room),
            cmocka_unit_test(test_bad_config),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
