#include "rtp/vp8.h"

#include <errno.h>
#include <string.h>

int vp8_descriptor_parse(struct vp8_descriptor *d, const void *payload, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, payload, len);
        memset(d, 0, sizeof(*d));
        uint8_t b = buf_rd_u8(&r);
        d->non_reference = b & 0x20;
        d->start = b & 0x10;
        d->pid = b & 0x07;
        if (b & 0x80) {
                uint8_t x = buf_rd_u8(&r);
                d->has_picture_id = x & 0x80;
                d->has_tl0picidx = x & 0x40;
                d->has_tid = x & 0x20;
                d->has_keyidx = x & 0x10;
                if (d->has_picture_id) {
                        uint8_t p = buf_rd_u8(&r);
                        if (p & 0x80) {
                                d->picture_id_15bit = true;
                                d->picture_id = (uint16_t)((p & 0x7f) << 8 | buf_rd_u8(&r));
                        } else {
                                d->picture_id = p;
                        }
                }
                if (d->has_tl0picidx)
                        d->tl0picidx = buf_rd_u8(&r);
                if (d->has_tid || d->has_keyidx) {
                        uint8_t t = buf_rd_u8(&r);
                        if (d->has_tid) {
                                d->tid = t >> 6;
                                d->layer_sync = t & 0x20;
                        }
                        if (d->has_keyidx)
                                d->keyidx = t & 0x1f;
                }
        }
        if (!buf_rd_ok(&r))
                return -EPROTO;
        d->len = r.pos;
        return 0;
}

size_t vp8_descriptor_write(uint8_t out[VP8_DESC_MAX_LEN], const struct vp8_descriptor *d)
{
        bool x = d->has_picture_id || d->has_tl0picidx || d->has_tid || d->has_keyidx;
        size_t n = 0;
        out[n++] = (uint8_t)((x ? 0x80 : 0) | (d->non_reference ? 0x20 : 0) |
                             (d->start ? 0x10 : 0) | (d->pid & 0x07));
        if (!x)
                return n;
        out[n++] = (uint8_t)((d->has_picture_id ? 0x80 : 0) | (d->has_tl0picidx ? 0x40 : 0) |
                             (d->has_tid ? 0x20 : 0) | (d->has_keyidx ? 0x10 : 0));
        if (d->has_picture_id) {
                if (d->picture_id_15bit) {
                        out[n++] = (uint8_t)(0x80 | ((d->picture_id >> 8) & 0x7f));
                        out[n++] = (uint8_t)d->picture_id;
                } else {
                        out[n++] = (uint8_t)(d->picture_id & 0x7f);
                }
        }
        if (d->has_tl0picidx)
                out[n++] = d->tl0picidx;
        if (d->has_tid || d->has_keyidx)
                out[n++] =
                    (uint8_t)((d->has_tid ? (d->tid & 3) << 6 | (d->layer_sync ? 0x20 : 0) : 0) |
                              (d->has_keyidx ? d->keyidx & 0x1f : 0));
        return n;
}

int vp8_frame_header_parse(struct vp8_frame_header *h, const void *frame, size_t len)
{
        struct buf_rd r;
        buf_rd_init(&r, frame, len);
        memset(h, 0, sizeof(*h));
        uint8_t t0 = buf_rd_u8(&r), t1 = buf_rd_u8(&r), t2 = buf_rd_u8(&r);
        /* The frame tag is a little-endian 24-bit field. */
        uint32_t tag = (uint32_t)t0 | (uint32_t)t1 << 8 | (uint32_t)t2 << 16;
        h->keyframe = !(tag & 1);
        h->version = (tag >> 1) & 7;
        h->show_frame = (tag >> 4) & 1;
        h->first_part_size = tag >> 5;
        h->header_len = VP8_INTERFRAME_HDR_LEN;
        if (h->keyframe) {
                const uint8_t *sc = buf_rd_bytes(&r, 3);
                uint8_t w0 = buf_rd_u8(&r), w1 = buf_rd_u8(&r);
                uint8_t h0 = buf_rd_u8(&r), h1 = buf_rd_u8(&r);
                if (!buf_rd_ok(&r))
                        return -EPROTO;
                if (sc[0] != 0x9d || sc[1] != 0x01 || sc[2] != 0x2a)
                        return -EPROTO;
                h->width = (uint16_t)((w0 | w1 << 8) & 0x3fff);
                h->hscale = w1 >> 6;
                h->height = (uint16_t)((h0 | h1 << 8) & 0x3fff);
                h->vscale = h1 >> 6;
                h->header_len = VP8_KEYFRAME_HDR_LEN;
        }
        return buf_rd_ok(&r) ? 0 : -EPROTO;
}

bool vp8_payload_is_keyframe(const void *payload, size_t len)
{
        struct vp8_descriptor d;
        if (vp8_descriptor_parse(&d, payload, len) < 0 || !d.start || d.pid != 0)
                return false;
        struct buf_rd r;
        buf_rd_init(&r, payload, len);
        buf_rd_skip(&r, d.len);
        uint8_t b = buf_rd_u8(&r);
        return buf_rd_ok(&r) && !(b & 1);
}

void vp8_packetizer_init(struct vp8_packetizer *p, uint16_t first_picture_id)
{
        p->picture_id = first_picture_id & VP8_PICTURE_ID_MASK;
}

size_t vp8_fragment_count_max(size_t frame_len, size_t max_payload)
{
        if (max_payload <= VP8_DESC_LEN)
                return 0;
        size_t room = max_payload - VP8_DESC_LEN;
        return (frame_len + room - 1) / room + 1;
}

static size_t div_up(size_t a, size_t b)
{
        return (a + b - 1) / b;
}

/* Spreads len bytes from offset over n fragments whose sizes differ by at most one. */
static void spread(struct vp8_fragment *f, size_t offset, size_t len, size_t n)
{
        size_t base = len / n, extra = len % n;
        for (size_t i = 0; i < n; i++) {
                f[i].offset = offset;
                f[i].len = base + (i < extra ? 1 : 0);
                offset += f[i].len;
        }
}

int vp8_packetize(struct vp8_packetizer *p, const void *frame, size_t len, size_t max_payload,
                  struct vp8_fragment *frags, size_t cap, size_t *count)
{
        if (len == 0 || !frame || max_payload <= VP8_DESC_LEN)
                return -EINVAL;
        size_t room = max_payload - VP8_DESC_LEN;
        size_t n = div_up(len, room);
        if (n > cap)
                return -ENOSPC;
        /* Ending the first packet at the end of partition 0 lets a receiver decode the modes
         * and motion vectors of a frame whose later packets were lost. */
        struct vp8_frame_header fh;
        size_t p0 = 0;
        if (n > 1 && vp8_frame_header_parse(&fh, frame, len) == 0 &&
            fh.first_part_size <= len - fh.header_len)
                p0 = fh.header_len + fh.first_part_size;
        if (p0 > 0 && p0 < len && p0 <= room && 1 + div_up(len - p0, room) == n) {
                frags[0].offset = 0;
                frags[0].len = p0;
                spread(frags + 1, p0, len - p0, n - 1);
        } else {
                spread(frags, 0, len, n);
        }
        for (size_t i = 0; i < n; i++) {
                struct vp8_descriptor d = {
                    .start = i == 0,
                    .has_picture_id = true,
                    .picture_id_15bit = true,
                    .picture_id = p->picture_id,
                };
                uint8_t tmp[VP8_DESC_MAX_LEN];
                vp8_descriptor_write(tmp, &d);
                memcpy(frags[i].desc, tmp, VP8_DESC_LEN);
                frags[i].marker = i == n - 1;
        }
        *count = n;
        p->picture_id = (uint16_t)((p->picture_id + 1) & VP8_PICTURE_ID_MASK);
        return 0;
}

int vp8_depacketize(struct buf *frame, const struct vp8_rtp_payload *pkts, size_t n,
                    struct vp8_frame_info *info)
{
        if (n == 0)
                return -EPROTO;
        memset(info, 0, sizeof(*info));
        size_t total = 0;
        struct vp8_descriptor first = {0};
        for (size_t i = 0; i < n; i++) {
                struct vp8_descriptor d;
                if (vp8_descriptor_parse(&d, pkts[i].data, pkts[i].len) < 0 || d.len >= pkts[i].len)
                        return -EPROTO;
                if (i == 0) {
                        if (!d.start || d.pid != 0)
                                return -EPROTO;
                        first = d;
                } else {
                        /* A new partition may start, but not a new frame. */
                        if ((d.start && d.pid == 0) ||
                            pkts[i].seq != (uint16_t)(pkts[i - 1].seq + 1))
                                return -EPROTO;
                        if (d.has_picture_id != first.has_picture_id ||
                            (d.has_picture_id && d.picture_id != first.picture_id))
                                return -EPROTO;
                }
                if (pkts[i].marker != (i == n - 1))
                        return -EPROTO;
                total += pkts[i].len - d.len;
        }
        size_t start = frame->len;
        int rc = buf_reserve(frame, total);
        if (rc < 0)
                return rc;
        for (size_t i = 0; i < n; i++) {
                struct vp8_descriptor d;
                vp8_descriptor_parse(&d, pkts[i].data, pkts[i].len);
                struct buf_rd r;
                buf_rd_init(&r, pkts[i].data, pkts[i].len);
                buf_rd_skip(&r, d.len);
                size_t rest = buf_rd_remaining(&r);
                buf_append(frame, buf_rd_bytes(&r, rest), rest);
        }
        info->keyframe = !(frame->data[start] & 1);
        info->has_picture_id = first.has_picture_id;
        info->picture_id = first.picture_id;
        return 0;
}
