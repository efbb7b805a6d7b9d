/*
 * Data Channel Establishment Protocol (RFC 8832) codec and the WebRTC payload protocol
 * identifiers (RFC 8831 section 8). Pure functions over bytes: no association state here.
 *
 * Wire format of DATA_CHANNEL_OPEN (all integers big-endian):
 *   u8 message type (0x03) | u8 channel type | u16 priority | u32 reliability parameter |
 *   u16 label length | u16 protocol length | label | protocol
 * DATA_CHANNEL_ACK is the single byte 0x02.
 */
#ifndef RTCPEER_SCTP_DCEP_H
#define RTCPEER_SCTP_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* SCTP payload protocol identifiers used by WebRTC (host byte order). */
#define DCEP_PPID_CONTROL        50 /* DCEP messages */
#define DCEP_PPID_STRING         51
#define DCEP_PPID_BINARY_PARTIAL 52 /* deprecated, still accepted on receive */
#define DCEP_PPID_BINARY         53
#define DCEP_PPID_STRING_PARTIAL 54 /* deprecated, still accepted on receive */
#define DCEP_PPID_STRING_EMPTY   56
#define DCEP_PPID_BINARY_EMPTY   57

#define DCEP_MSG_ACK  0x02
#define DCEP_MSG_OPEN 0x03

/* Channel types: the high bit selects unordered delivery. */
#define DCEP_CHANNEL_RELIABLE                    0x00
#define DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT     0x01
#define DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED      0x02
#define DCEP_CHANNEL_UNORDERED_BIT               0x80
#define DCEP_CHANNEL_RELIABLE_UNORDERED          0x80
#define DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNO 0x81
#define DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNO  0x82

/* Priorities from RFC 8832 section 5.1 (any 16-bit value is legal on the wire). */
#define DCEP_PRIORITY_BELOW_NORMAL 128
#define DCEP_PRIORITY_NORMAL       256
#define DCEP_PRIORITY_HIGH         512
#define DCEP_PRIORITY_EXTRA_HIGH   1024

#define DCEP_OPEN_HEADER_LEN 12

struct dcep_open {
        uint8_t channel_type;
        uint16_t priority;
        uint32_t reliability_param; /* retransmissions or lifetime in ms; 0 for reliable */
        const uint8_t *label;       /* UTF-8, not NUL-terminated; points into the input */
        size_t label_len;
        const uint8_t *protocol;
        size_t protocol_len;
};

struct dcep_msg {
        uint8_t type; /* DCEP_MSG_OPEN or DCEP_MSG_ACK */
        struct dcep_open open;
};

/* What a PPID means for a data channel receiver. */
enum dcep_payload {
        DCEP_PAYLOAD_UNKNOWN,
        DCEP_PAYLOAD_CONTROL,
        DCEP_PAYLOAD_STRING,
        DCEP_PAYLOAD_BINARY,
        DCEP_PAYLOAD_STRING_PARTIAL,
        DCEP_PAYLOAD_BINARY_PARTIAL,
        DCEP_PAYLOAD_STRING_EMPTY,
        DCEP_PAYLOAD_BINARY_EMPTY,
};

/*
 * Parses one DCEP message (the whole SCTP message with PPID 50). Returns 0; -EPROTO when it is
 * truncated, has bytes after its end, an unknown channel type or a label/protocol that is not
 * UTF-8; -ENOTSUP for an unknown message type. On success the label and protocol of an OPEN
 * point into data.
 */
int dcep_parse(struct dcep_msg *m, const void *data, size_t len);

/* Appends an encoded OPEN. -EINVAL for an unknown channel type, over-long or non-UTF-8 text. */
int dcep_build_open(struct buf *out, const struct dcep_open *o);
int dcep_build_ack(struct buf *out);

bool dcep_channel_type_valid(uint8_t type);
enum dcep_payload dcep_payload_of_ppid(uint32_t ppid);
/* True when data/len is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool dcep_utf8_valid(const uint8_t *data, size_t len);

#endif
