/*
 * VP8 payload fuzz target: the descriptor and frame header parsers, the depacketizer over the
 * input cut into packets, and a packetize/depacketize round trip of the input as a frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rtp/vp8.h"

static void check(bool ok)
{
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vp8_descriptor d;
        if (vp8_descriptor_parse(&d, data, size) == 0) {
                check(d.len <= size && d.len <= VP8_DESC_MAX_LEN);
                uint8_t w[VP8_DESC_MAX_LEN];
                size_t n = vp8_descriptor_write(w, &d);
                /* X=1 with no optional field set is rewritten without the extension byte. */
                check(n <= d.len);
                struct vp8_descriptor e;
                check(vp8_descriptor_parse(&e, w, n) == 0);
                check(e.start == d.start && e.pid == d.pid && e.picture_id == d.picture_id &&
                      e.keyidx == d.keyidx && e.tid == d.tid && e.tl0picidx == d.tl0picidx);
        }
        (void)vp8_payload_is_keyframe(data, size);
        struct vp8_frame_header fh;
        if (vp8_frame_header_parse(&fh, data, size) == 0)
                check(fh.header_len <= size);

        /* First byte: packet count; each packet's length from the following bytes. */
        if (size >= 1) {
                size_t n = (size_t)(data[0] % 8) + 1;
                struct vp8_rtp_payload pk[8];
                size_t pos = 1 + n;
                size_t got = 0;
                for (size_t i = 0; i < n && 1 + i < size; i++) {
                        size_t len = data[1 + i];
                        if (pos > size || len > size - pos)
                                break;
                        pk[got] = (struct vp8_rtp_payload){.data = data + pos,
                                                           .len = len,
                                                           .seq = (uint16_t)(65534 + got),
                                                           .marker = i == n - 1};
                        pos += len;
                        got++;
                }
                struct buf f = BUF_INIT;
                struct vp8_frame_info info;
                if (got && vp8_depacketize(&f, pk, got, &info) == 0)
                        check(f.len > 0);
                buf_free(&f);
        }

        if (size == 0)
                return 0;
        struct vp8_packetizer pz;
        vp8_packetizer_init(&pz, (uint16_t)(size * 31));
        size_t maxp = 5 + size % 300;
        size_t cap = vp8_fragment_count_max(size, maxp);
        struct vp8_fragment *fr = calloc(cap, sizeof(*fr));
        struct vp8_rtp_payload *in = calloc(cap, sizeof(*in));
        uint8_t **bufs = calloc(cap, sizeof(*bufs));
        size_t n;
        check(vp8_packetize(&pz, data, size, maxp, fr, cap, &n) == 0);
        for (size_t i = 0; i < n; i++) {
                check(fr[i].len > 0 && fr[i].len + VP8_DESC_LEN <= maxp);
                bufs[i] = malloc(VP8_DESC_LEN + fr[i].len);
                memcpy(bufs[i], fr[i].desc, VP8_DESC_LEN);
                memcpy(bufs[i] + VP8_DESC_LEN, data + fr[i].offset, fr[i].len);
                in[i] = (struct vp8_rtp_payload){.data = bufs[i],
                                                 .len = VP8_DESC_LEN + fr[i].len,
                                                 .seq = (uint16_t)i,
                                                 .marker = fr[i].marker};
        }
        struct buf f = BUF_INIT;
        struct vp8_frame_info info;
        check(vp8_depacketize(&f, in, n, &info) == 0);
        check(f.len == size && memcmp(f.data, data, size) == 0);
        check(info.keyframe == !(data[0] & 1));
        buf_free(&f);
        for (size_t i = 0; i < n; i++)
                free(bufs[i]);
        free(bufs);
        free(in);
        free(fr);
        return 0;
}
