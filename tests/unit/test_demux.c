#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dtls/demux.h"

/* Every first byte against the RFC 7983 table, written out independently of the code. */
static void test_first_byte_ranges(void **state)
{
        (void)state;
        for (int b = 0; b < 256; b++) {
                uint8_t pkt[12] = {(uint8_t)b, 96};
                enum demux_kind want = DEMUX_UNKNOWN;
                if (b <= 3)
                        want = DEMUX_STUN;
                else if (b >= 16 && b <= 19)
                        want = DEMUX_ZRTP;
                else if (b >= 20 && b <= 63)
                        want = DEMUX_DTLS;
                else if (b >= 64 && b <= 79)
                        want = DEMUX_TURN_CHANNEL;
                else if (b >= 128 && b <= 191)
                        want = DEMUX_RTP;
                assert_int_equal(demux_classify(pkt, sizeof(pkt)), want);
        }
}

static void test_boundaries(void **state)
{
        (void)state;
        static const struct {
                uint8_t b0;
                enum demux_kind kind;
        } cases[] = {
            {0, DEMUX_STUN},          {3, DEMUX_STUN},          {4, DEMUX_UNKNOWN},
            {15, DEMUX_UNKNOWN},      {16, DEMUX_ZRTP},         {19, DEMUX_ZRTP},
            {20, DEMUX_DTLS},         {22, DEMUX_DTLS},         {63, DEMUX_DTLS},
            {64, DEMUX_TURN_CHANNEL}, {79, DEMUX_TURN_CHANNEL}, {80, DEMUX_UNKNOWN},
            {127, DEMUX_UNKNOWN},     {128, DEMUX_RTP},         {191, DEMUX_RTP},
            {192, DEMUX_UNKNOWN},     {255, DEMUX_UNKNOWN},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t pkt[2] = {cases[i].b0, 0};
                assert_int_equal(demux_classify(pkt, sizeof(pkt)), cases[i].kind);
        }
}

/* RFC 5761: RTCP types 192..223 sit where the marker bit and payload types 64..95 would. */
static void test_rtp_rtcp_split(void **state)
{
        (void)state;
        static const struct {
                uint8_t b1;
                enum demux_kind kind;
        } cases[] = {
            {0, DEMUX_RTP},         /* PCMU */
            {96, DEMUX_RTP},        /* dynamic */
            {0x80 | 96, DEMUX_RTP}, /* dynamic with marker */
            {63, DEMUX_RTP},        {0x80 | 63, DEMUX_RTP}, {64, DEMUX_RTCP},
            {95, DEMUX_RTCP},       {192, DEMUX_RTCP}, /* FIR */
            {200, DEMUX_RTCP},                         /* SR */
            {201, DEMUX_RTCP},                         /* RR */
            {205, DEMUX_RTCP},                         /* RTPFB */
            {206, DEMUX_RTCP},                         /* PSFB */
            {223, DEMUX_RTCP},      {224, DEMUX_RTP},  /* PT 96 + marker */
            {127, DEMUX_RTP},       {255, DEMUX_RTP},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t pkt[12] = {0x80, cases[i].b1};
                assert_int_equal(demux_classify(pkt, sizeof(pkt)), cases[i].kind);
                pkt[0] = 0xbf; /* padding, extension, 15 CSRCs: still version 2 */
                assert_int_equal(demux_classify(pkt, sizeof(pkt)), cases[i].kind);
        }
}

static void test_short_input(void **state)
{
        (void)state;
        uint8_t one[1] = {0x80};
        assert_int_equal(demux_classify(NULL, 0), DEMUX_UNKNOWN);
        assert_int_equal(demux_classify(one, 0), DEMUX_UNKNOWN);
        assert_int_equal(demux_classify(one, 1), DEMUX_UNKNOWN); /* RTP or RTCP cannot tell */
        one[0] = 22;
        assert_int_equal(demux_classify(one, 1), DEMUX_DTLS);
        one[0] = 0;
        assert_int_equal(demux_classify(one, 1), DEMUX_STUN);
}

static void test_names(void **state)
{
        (void)state;
        assert_string_equal(demux_kind_name(DEMUX_STUN), "stun");
        assert_string_equal(demux_kind_name(DEMUX_DTLS), "dtls");
        assert_string_equal(demux_kind_name(DEMUX_RTP), "rtp");
        assert_string_equal(demux_kind_name(DEMUX_RTCP), "rtcp");
        assert_string_equal(demux_kind_name(DEMUX_TURN_CHANNEL), "turn-channel");
        assert_string_equal(demux_kind_name(DEMUX_ZRTP), "zrtp");
        assert_string_equal(demux_kind_name(DEMUX_UNKNOWN), "unknown");
        assert_string_equal(demux_kind_name((enum demux_kind)99), "unknown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_byte_ranges),
            cmocka_unit_test(test_boundaries),
            cmocka_unit_test(test_rtp_rtcp_split),
            cmocka_unit_test(test_short_input),
            cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
