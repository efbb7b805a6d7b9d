/*
 * VP8 RTP payload format (RFC 7741): the payload descriptor, a packetizer that splits an encoded
 * frame into RTP payloads and a depacketizer that joins one frame's payloads back together.
 * Works on encoded bytes only.
 *
 * Payload descriptor (the fields after the first byte are present when the bit above says so):
 *     |X|R|N|S|R| PID |   X: extended control bits follow, S: start of a partition
 *  X: |I|L|T|K| RSV   |   I: PictureID, L: TL0PICIDX, T: TID, K: KEYIDX
 *  I: |M| PictureID   |   M: 15-bit PictureID (one more byte), else 7 bits
 *     |  PictureID    |
 *  L: |  TL0PICIDX    |
 * T/K:|TID|Y| KEYIDX  |
 *
 * Our packetizer always writes X=1, I=1, M=1 (4 bytes), PID 0 and S=1 on the frame's first
 * packet only. The first packet ends exactly at the end of partition 0 (the frame header and
 * first partition) when that needs no more packets than plain fragmentation; the remaining
 * bytes are spread evenly (sizes differ by at most one byte), which avoids a tiny last packet.
 */
#ifndef RTCPEER_RTP_VP8_H
#define RTCPEER_RTP_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define VP8_DESC_LEN           4 /* the descriptor our packetizer writes */
#define VP8_DESC_MAX_LEN       6
#define VP8_PICTURE_ID_MASK    0x7fff
#define VP8_KEYFRAME_HDR_LEN   10
#define VP8_INTERFRAME_HDR_LEN 3

struct vp8_descriptor {
        bool non_reference; /* N */
        bool start;         /* S */
        uint8_t pid;        /* partition index, 0..7 */
        bool has_picture_id;
        bool picture_id_15bit;
        uint16_t picture_id;
        bool has_tl0picidx;
        uint8_t tl0picidx;
        bool has_tid;
        uint8_t tid;
        bool layer_sync; /* Y */
        bool has_keyidx;
        uint8_t keyidx;
        size_t len; /* descriptor bytes; the VP8 payload follows */
};

/* The uncompressed VP8 frame header (RFC 6386 section 9.1). */
struct vp8_frame_header {
        bool keyframe;
        uint8_t version;
        bool show_frame;
        uint32_t first_part_size;
        uint16_t width, height; /* key frames only */
        uint8_t hscale, vscale;
        size_t header_len; /* 10 for key frames, 3 otherwise; partition 0 continues after it */
};

/* 0 or -EPROTO (truncated, reserved bits of the extension byte are ignored). */
int vp8_descriptor_parse(struct vp8_descriptor *d, const void *payload, size_t len);
/* Writes d (its has_* fields and picture_id_15bit decide the form). Returns the length. */
size_t vp8_descriptor_write(uint8_t out[VP8_DESC_MAX_LEN], const struct vp8_descriptor *d);
/* 0 or -EPROTO: truncated, or a key frame without the 9d 01 2a start code. */
int vp8_frame_header_parse(struct vp8_frame_header *h, const void *frame, size_t len);
/* True when payload is the first packet of a key frame (S=1, PID 0 and the P bit clear). */
bool vp8_payload_is_keyframe(const void *payload, size_t len);

struct vp8_packetizer {
        uint16_t picture_id; /* of the next frame */
};

/* One RTP payload: desc followed by frame[offset .. offset + len). */
struct vp8_fragment {
        uint8_t desc[VP8_DESC_LEN];
        size_t offset;
        size_t len;
        bool marker; /* last packet of the frame */
};

void vp8_packetizer_init(struct vp8_packetizer *p, uint16_t first_picture_id);
/* Enough fragments for any frame of frame_len bytes; 0 when max_payload is too small. */
size_t vp8_fragment_count_max(size_t frame_len, size_t max_payload);
/*
 * Splits one encoded frame into payloads of at most max_payload bytes (descriptor included),
 * into frags (cap entries), and advances the PictureID (wrapping from 0x7FFF to 0). -EINVAL for
 * an empty frame or max_payload <= VP8_DESC_LEN, -ENOSPC when cap is too small (nothing
 * changes then).
 */
int vp8_packetize(struct vp8_packetizer *p, const void *frame, size_t len, size_t max_payload,
                  struct vp8_fragment *frags, size_t cap, size_t *count);

/* One received RTP packet of a frame, in sequence number order. */
struct vp8_rtp_payload {
        const uint8_t *data;
        size_t len;
        uint16_t seq;
        bool marker;
};

struct vp8_frame_info {
        bool keyframe;
        bool has_picture_id;
        uint16_t picture_id;
};

/*
 * Appends the frame carried by pkts[0..n) to frame. The packets must be exactly one frame:
 * consecutive sequence numbers, S=1 with PID 0 on the first and on no other, the marker on the
 * last only, one PictureID, no empty payload. 0, -EPROTO or -ENOMEM; frame is unchanged on
 * error.
 */
int vp8_depacketize(struct buf *frame, const struct vp8_rtp_payload *pkts, size_t n,
                    struct vp8_frame_info *info);

#endif
