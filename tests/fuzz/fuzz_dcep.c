/*
 * DCEP codec fuzz target. Whatever parses is rebuilt from its decoded fields; the rebuilt bytes
 * must equal the input (the format has exactly one encoding, except the reliability parameter
 * of reliable channels, which the parser reports as 0) and parse to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "sctp/dcep.h"

static void check(bool ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct dcep_msg m;
        if (size >= 4) {
                uint32_t ppid = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                                (uint32_t)data[2] << 8 | data[3];
                (void)dcep_payload_of_ppid(ppid);
        }
        if (dcep_parse(&m, data, size) != 0)
                return 0;
        struct buf out = BUF_INIT;
        if (m.type == DCEP_MSG_ACK) {
                check(dcep_build_ack(&out) == 0);
                check(out.len == size && memcmp(out.data, data, size) == 0);
                buf_free(&out);
                return 0;
        }
        check(m.type == DCEP_MSG_OPEN);
        check(dcep_channel_type_valid(m.open.channel_type));
        check(DCEP_OPEN_HEADER_LEN + m.open.label_len + m.open.protocol_len == size);
        check(dcep_build_open(&out, &m.open) == 0);
        check(out.len == size);
        check(memcmp(out.data, data, 4) == 0 && memcmp(out.data + 8, data + 8, size - 8) == 0);
        struct dcep_msg m2;
        check(dcep_parse(&m2, out.data, out.len) == 0);
        check(m2.open.channel_type == m.open.channel_type);
        check(m2.open.priority == m.open.priority);
        check(m2.open.reliability_param == m.open.reliability_param);
        check(m2.open.label_len == m.open.label_len && m2.open.protocol_len == m.open.protocol_len);
        check(memcmp(m2.open.label, m.open.label, m.open.label_len) == 0);
        check(memcmp(m2.open.protocol, m.open.protocol, m.open.protocol_len) == 0);
        buf_free(&out);
        return 0;
}
