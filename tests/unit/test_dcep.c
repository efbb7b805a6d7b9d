#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "sctp/dcep.h"

static struct buf build_open(uint8_t type, uint16_t prio, uint32_t param, const char *label,
                             const char *protocol)
{
        struct buf b = BUF_INIT;
        struct dcep_open o = {
            .channel_type = type,
            .priority = prio,
            .reliability_param = param,
            .label = (const uint8_t *)label,
            .label_len = strlen(label),
            .protocol = (const uint8_t *)protocol,
            .protocol_len = strlen(protocol),
        };
        assert_int_equal(dcep_build_open(&b, &o), 0);
        return b;
}

static void test_open_wire_format(void **state)
{
        (void)state;
        struct buf b = build_open(DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNO, 512, 3, "chat", "j");
        static const uint8_t want[] = {0x03, 0x81, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
                                       0x04, 0x00, 0x01, 'c',  'h',  'a',  't',  'j'};
        assert_int_equal(b.len, sizeof(want));
        assert_memory_equal(b.data, want, sizeof(want));
        buf_free(&b);

        struct buf ack = BUF_INIT;
        assert_int_equal(dcep_build_ack(&ack), 0);
        assert_int_equal(ack.len, 1);
        assert_int_equal(ack.data[0], 0x02);
        struct dcep_msg m;
        assert_int_equal(dcep_parse(&m, ack.data, ack.len), 0);
        assert_int_equal(m.type, DCEP_MSG_ACK);
        buf_free(&ack);
}

static void test_open_round_trip(void **state)
{
        (void)state;
        static const uint8_t types[] = {0x00, 0x01, 0x02, 0x80, 0x81, 0x82};
        const char *labels[] = {"", "a", "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e", "x y z"};
        for (size_t t = 0; t < sizeof(types); t++) {
                for (size_t l = 0; l < 4; l++) {
                        struct buf b = build_open(types[t], (uint16_t)(100 + t), 1000 + (uint32_t)t,
                                                  labels[l], labels[3 - l]);
                        struct dcep_msg m;
                        assert_int_equal(dcep_parse(&m, b.data, b.len), 0);
                        assert_int_equal(m.type, DCEP_MSG_OPEN);
                        assert_int_equal(m.open.channel_type, types[t]);
                        assert_int_equal(m.open.priority, 100 + t);
                        /* Reliable channels carry 0 whatever the builder was given. */
                        bool reliable = (types[t] & 0x7f) == 0;
                        assert_int_equal(m.open.reliability_param, reliable ? 0 : 1000 + t);
                        uint32_t wire = (uint32_t)b.data[4] << 24 | (uint32_t)b.data[5] << 16 |
                                        (uint32_t)b.data[6] << 8 | b.data[7];
                        assert_int_equal(wire, reliable ? 0 : 1000 + t);
                        assert_int_equal(m.open.label_len, strlen(labels[l]));
                        assert_memory_equal(m.open.label, labels[l], m.open.label_len);
                        assert_int_equal(m.open.protocol_len, strlen(labels[3 - l]));
                        assert_memory_equal(m.open.protocol, labels[3 - l], m.open.protocol_len);
                        buf_free(&b);
                }
        }
}

static void test_long_label(void **state)
{
        (void)state;
        static char label[65536];
        memset(label, 'L', 65535);
        label[65535] = 0;
        struct buf b = build_open(0, 256, 0, label, "p");
        struct dcep_msg m;
        assert_int_equal(dcep_parse(&m, b.data, b.len), 0);
        assert_int_equal(m.open.label_len, 65535);
        buf_free(&b);

        struct dcep_open o = {
            .channel_type = 0, .label = (const uint8_t *)label, .label_len = 65536};
        struct buf too = BUF_INIT;
        assert_int_equal(dcep_build_open(&too, &o), -EINVAL);
        o.label_len = 3;
        o.channel_type = 0x03;
        assert_int_equal(dcep_build_open(&too, &o), -EINVAL);
        o.channel_type = 0;
        o.label = (const uint8_t *)"\xff";
        o.label_len = 1;
        assert_int_equal(dcep_build_open(&too, &o), -EINVAL);
        assert_int_equal(too.len, 0);
        buf_free(&too);
}

static void test_truncated(void **state)
{
        (void)state;
        struct buf b = build_open(0x01, 256, 7, "label", "protocol");
        struct dcep_msg m;
        for (size_t n = 0; n < b.len; n++)
                assert_int_equal(dcep_parse(&m, b.data, n), -EPROTO);
        assert_int_equal(dcep_parse(&m, b.data, b.len), 0);
        buf_free(&b);
}

static void test_length_fields(void **state)
{
        (void)state;
        struct buf b = build_open(0x00, 256, 0, "abc", "de");
        struct dcep_msg m;
        /* Label length pointing past the end. */
        b.data[8] = 0xff;
        b.data[9] = 0xff;
        assert_int_equal(dcep_parse(&m, b.data, b.len), -EPROTO);
        /* Lengths that each fit but together overrun. */
        b.data[8] = 0;
        b.data[9] = 5;
        assert_int_equal(dcep_parse(&m, b.data, b.len), -EPROTO);
        /* Lengths shorter than the message: trailing garbage. */
        b.data[9] = 2;
        assert_int_equal(dcep_parse(&m, b.data, b.len), -EPROTO);
        b.data[9] = 3;
        assert_int_equal(dcep_parse(&m, b.data, b.len), 0);
        /* One extra byte after the protocol. */
        buf_append_u8(&b, 0);
        assert_int_equal(dcep_parse(&m, b.data, b.len), -EPROTO);
        buf_free(&b);

        static const uint8_t ack_trailing[] = {0x02, 0x00};
        assert_int_equal(dcep_parse(&m, ack_trailing, 2), -EPROTO);
}

static void test_unknown_types(void **state)
{
        (void)state;
        struct dcep_msg m;
        static const uint8_t empty[1] = {0};
        assert_int_equal(dcep_parse(&m, empty, 0), -EPROTO);
        for (unsigned t = 0; t < 256; t++) {
                uint8_t msg[1] = {(uint8_t)t};
                int rc = dcep_parse(&m, msg, 1);
                if (t == DCEP_MSG_ACK)
                        assert_int_equal(rc, 0);
                else if (t == DCEP_MSG_OPEN)
                        assert_int_equal(rc, -EPROTO);
                else
                        assert_int_equal(rc, -ENOTSUP);
        }
        struct buf b = build_open(0x00, 256, 0, "x", "");
        for (unsigned ct = 0; ct < 256; ct++) {
                b.data[1] = (uint8_t)ct;
                bool known = ct == 0x00 || ct == 0x01 || ct == 0x02 || ct == 0x80 || ct == 0x81 ||
                             ct == 0x82;
                assert_int_equal(dcep_parse(&m, b.data, b.len), known ? 0 : -EPROTO);
                assert_int_equal(dcep_channel_type_valid((uint8_t)ct), known);
        }
        buf_free(&b);
}

static void test_utf8(void **state)
{
        (void)state;
        const char *good[] = {"",
                              "ascii",
                              "\xc2\x80",
                              "\xdf\xbf",
                              "\xe0\xa0\x80",
                              "\xef\xbf\xbf",
                              "\xf0\x90\x80\x80",
                              "\xf4\x8f\xbf\xbf"};
        const char *bad[] = {"\x80",
                             "\xc0\x80",
                             "\xc1\xbf",
                             "\xe0\x80\x80",
                             "\xed\xa0\x80",
                             "\xf0\x80\x80\x80",
                             "\xf4\x90\x80\x80",
                             "\xf8\x88\x80\x80\x80",
                             "\xc2",
                             "\xe2\x82",
                             "\xff"};
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_true(dcep_utf8_valid((const uint8_t *)good[i], strlen(good[i])));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_false(dcep_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])));
                /* The same bytes as a label or a protocol make the OPEN malformed. */
                struct buf b = build_open(0, 256, 0, "ok", "ok");
                struct buf m = BUF_INIT;
                size_t n = strlen(bad[i]);
                buf_append(&m, b.data, 8);
                buf_append_u16be(&m, (uint16_t)n);
                buf_append_u16be(&m, 0);
                buf_append(&m, bad[i], n);
                struct dcep_msg msg;
                assert_int_equal(dcep_parse(&msg, m.data, m.len), -EPROTO);
                buf_reset(&m);
                buf_append(&m, b.data, 8);
                buf_append_u16be(&m, 0);
                buf_append_u16be(&m, (uint16_t)n);
                buf_append(&m, bad[i], n);
                assert_int_equal(dcep_parse(&msg, m.data, m.len), -EPROTO);
                buf_free(&m);
                buf_free(&b);
        }
}

static void test_ppids(void **state)
{
        (void)state;
        assert_int_equal(dcep_payload_of_ppid(50), DCEP_PAYLOAD_CONTROL);
        assert_int_equal(dcep_payload_of_ppid(51), DCEP_PAYLOAD_STRING);
        assert_int_equal(dcep_payload_of_ppid(52), DCEP_PAYLOAD_BINARY_PARTIAL);
        assert_int_equal(dcep_payload_of_ppid(53), DCEP_PAYLOAD_BINARY);
        assert_int_equal(dcep_payload_of_ppid(54), DCEP_PAYLOAD_STRING_PARTIAL);
        assert_int_equal(dcep_payload_of_ppid(56), DCEP_PAYLOAD_STRING_EMPTY);
        assert_int_equal(dcep_payload_of_ppid(57), DCEP_PAYLOAD_BINARY_EMPTY);
        static const uint32_t unknown[] = {0, 1, 49, 55, 58, 0x33000000u, UINT32_MAX};
        for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
                assert_int_equal(dcep_payload_of_ppid(unknown[i]), DCEP_PAYLOAD_UNKNOWN);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_open_wire_format),
            cmocka_unit_test(test_open_round_trip),
            cmocka_unit_test(test_long_label),
            cmocka_unit_test(test_truncated),
            cmocka_unit_test(test_length_fields),
            cmocka_unit_test(test_unknown_types),
            cmocka_unit_test(test_utf8),
            cmocka_unit_test(test_ppids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
