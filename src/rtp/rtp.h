/*
 * RTP fixed header (RFC 3550 section 5.1) and header extensions (RFC 8285) codec. Pure functions
 * over bytes.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |                             SSRC                              |
 * |                        CSRC list (CC x 32 bits)               |
 * |   profile (0xBEDE or 0x100x)  |     length (32-bit words)     |
 * |                   extension elements...                       |
 * |                   payload ...     | padding ... | pad count   |
 *
 * One-byte elements (profile 0xBEDE): ID (4 bits, 1..14) and L (4 bits, length - 1). Two-byte
 * elements (profile 0x100 with 4 application bits): ID (8 bits, 1..255) and length (8 bits).
 * In both forms a zero byte between elements is padding.
 */
#ifndef RTCPEER_RTP_RTP_H
#define RTCPEER_RTP_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define RTP_VERSION        2
#define RTP_HEADER_MIN_LEN 12
#define RTP_MAX_CSRC       15
/* Elements kept per packet; further ones are skipped (still bounds-checked). */
#define RTP_MAX_EXT 16

#define RTP_EXT_PROFILE_ONE_BYTE 0xBEDE
#define RTP_EXT_PROFILE_TWO_BYTE 0x1000 /* the low 4 bits are application bits */

/* URIs of the extensions we negotiate, for the SDP layer's a=extmap lines. */
#define RTP_EXT_URI_MID  "urn:ietf:params:rtp-hdrext:sdes:mid"
#define RTP_EXT_URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

struct rtp_ext {
        uint8_t id;
        uint8_t len;
        /*
         * After rtp_parse: points into the packet. For rtp_build: caller storage that must live
         * until the build call, or NULL to take the value from val (small values such as the
         * transport-wide sequence number, so they need no storage of their own).
         */
        const uint8_t *data;
        uint8_t val[4];
};

struct rtp_header {
        bool padding; /* parse: the P bit; the count is in padding_len */
        bool marker;
        uint8_t pt;
        uint16_t seq;
        uint32_t ts;
        uint32_t ssrc;
        uint8_t csrc_count;
        uint32_t csrc[RTP_MAX_CSRC];
        bool extension;          /* X bit */
        uint16_t ext_profile;    /* 0xBEDE, 0x100x or another profile (elements then empty) */
        const uint8_t *ext_body; /* parse: the raw extension body (for foreign profiles) */
        size_t ext_body_len;     /* in bytes, a multiple of 4 */
        size_t ext_count;        /* elements in ext[] */
        struct rtp_ext ext[RTP_MAX_EXT];
        size_t header_len;   /* parse: bytes up to the payload */
        uint8_t padding_len; /* parse: trailing padding bytes including the count */
};

struct rtp_packet {
        struct rtp_header h;
        const uint8_t *payload; /* points into the parsed data */
        size_t payload_len;     /* without padding */
};

/*
 * Parses one RTP packet. Returns 0 or -EPROTO (version not 2, truncated header, CSRCs or
 * extension, padding count 0 or larger than the payload, malformed one/two-byte elements).
 * Elements with the reserved one-byte ID 15 end element parsing, as RFC 8285 section 4.2 says.
 */
int rtp_parse(struct rtp_packet *p, const void *data, size_t len);

/*
 * Appends a packet: h's version-2 fields, its CSRCs and extension elements, the payload and
 * pad_len bytes of padding (0 = none, else 1..255, the last byte being the count). The
 * elements use the one-byte form when every ID is 1..14 and every length 1..16, else the
 * two-byte form (IDs 1..255, lengths 0..255). h->ext_body is ignored. -EINVAL for a bad ID,
 * length or CSRC count.
 */
int rtp_build(struct buf *out, const struct rtp_header *h, const void *payload, size_t len,
              uint8_t pad_len);

/* Size rtp_build gives the header (fixed part, CSRCs and extension) of h. */
size_t rtp_header_size(const struct rtp_header *h);

/* The element with this ID, or NULL. */
const struct rtp_ext *rtp_header_find_ext(const struct rtp_header *h, uint8_t id);
/* Adds an element (data kept by pointer, see struct rtp_ext). -ENOSPC, -EINVAL (id 0). */
int rtp_header_add_ext(struct rtp_header *h, uint8_t id, const void *data, size_t len);

/* sdes:mid (RFC 9143): the value is the MID string itself. NUL-terminated into out. */
int rtp_header_get_mid(const struct rtp_header *h, uint8_t id, char *out, size_t cap);
int rtp_header_add_mid(struct rtp_header *h, uint8_t id, const char *mid);
/* transport-wide-cc: a 16-bit big-endian sequence number. -ENOENT when absent. */
int rtp_header_get_twcc_seq(const struct rtp_header *h, uint8_t id, uint16_t *seq);
int rtp_header_add_twcc_seq(struct rtp_header *h, uint8_t id, uint16_t seq);

/*
 * Offset and length in data of the value of element id in an RTP packet, so that a value
 * assigned at send time (the transport-wide sequence number) can be written in place.
 * -ENOENT when absent, -EPROTO when data does not parse.
 */
int rtp_find_ext_value(const void *data, size_t len, uint8_t id, size_t *offset, size_t *value_len);

/* Sequence number order with wrap-around: true when a comes after b (RFC 1982 style). */
bool rtp_seq_newer(uint16_t a, uint16_t b);

/*
 * Unwrappers turn 16-bit sequence numbers and 32-bit timestamps into monotonic 64-bit values by
 * taking the nearest candidate to the previous input; the first input is returned unchanged.
 * Zero-initialise.
 */
struct rtp_seq_unwrapper {
        bool started;
        int64_t last;
};
int64_t rtp_seq_unwrap(struct rtp_seq_unwrapper *u, uint16_t seq);

struct rtp_ts_unwrapper {
        bool started;
        int64_t last;
};
int64_t rtp_ts_unwrap(struct rtp_ts_unwrapper *u, uint32_t ts);

#endif
