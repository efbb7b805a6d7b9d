/*
 * RTP header fuzz target. Whatever parses is rebuilt from its decoded fields (the extension
 * elements may change form and lose inter-element padding) and must parse back to the same
 * fields, payload and padding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rtp/rtp.h"

static void check(bool ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rtp_packet p;
        if (size >= 2) {
                struct rtp_seq_unwrapper u = {0};
                for (size_t i = 0; i + 1 < size && i < 64; i += 2)
                        (void)rtp_seq_unwrap(&u, (uint16_t)(data[i] << 8 | data[i + 1]));
        }
        if (rtp_parse(&p, data, size) != 0)
                return 0;
        check(p.h.header_len + p.payload_len + p.h.padding_len == size);
        for (size_t i = 0; i < p.h.ext_count; i++) {
                size_t off, n;
                check(rtp_find_ext_value(data, size, p.h.ext[i].id, &off, &n) == 0);
                check(off + n <= size);
        }
        char mid[300];
        (void)rtp_header_get_mid(&p.h, 1, mid, sizeof(mid));
        uint16_t tw;
        (void)rtp_header_get_twcc_seq(&p.h, 3, &tw);
        bool foreign = p.h.extension && p.h.ext_profile != RTP_EXT_PROFILE_ONE_BYTE &&
                       (p.h.ext_profile & 0xfff0) != RTP_EXT_PROFILE_TWO_BYTE;
        if (foreign)
                return 0;
        struct buf out = BUF_INIT;
        check(rtp_build(&out, &p.h, p.payload, p.payload_len, p.h.padding_len) == 0);
        check(out.len == rtp_header_size(&p.h) + p.payload_len + p.h.padding_len);
        struct rtp_packet q;
        check(rtp_parse(&q, out.data, out.len) == 0);
        check(q.h.marker == p.h.marker && q.h.pt == p.h.pt && q.h.seq == p.h.seq);
        check(q.h.ts == p.h.ts && q.h.ssrc == p.h.ssrc && q.h.csrc_count == p.h.csrc_count);
        check(memcmp(q.h.csrc, p.h.csrc, sizeof(p.h.csrc)) == 0);
        check(q.h.ext_count == p.h.ext_count);
        for (size_t i = 0; i < p.h.ext_count; i++) {
                check(q.h.ext[i].id == p.h.ext[i].id && q.h.ext[i].len == p.h.ext[i].len);
                if (p.h.ext[i].len)
                        check(memcmp(q.h.ext[i].data, p.h.ext[i].data, p.h.ext[i].len) == 0);
        }
        check(q.payload_len == p.payload_len && q.h.padding_len == p.h.padding_len);
        if (p.payload_len)
                check(memcmp(q.payload, p.payload, p.payload_len) == 0);
        buf_free(&out);
        return 0;
}
