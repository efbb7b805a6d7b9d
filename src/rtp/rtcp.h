/*
 * RTCP codec: compound packets (RFC 3550 section 6) with SR, RR, SDES, BYE, the feedback
 * messages WebRTC uses (RFC 4585 generic NACK and PLI, RFC 5104 FIR, REMB, transport-wide
 * congestion control feedback) and reduced-size RTCP (RFC 5506). Pure functions over bytes.
 *
 * Every packet starts with
 *   |V=2|P| count/FMT |  packet type  |    length (32-bit words - 1)   |
 * and a compound packet is several of them back to back in one datagram.
 *
 * Receiving: rtcp_iter_init() validates the whole datagram first (RFC 3550 A.2: a compound with
 * one bad packet is dropped as a whole), so rtcp_iter_next() then cannot fail. The first packet
 * need not be SR/RR (reduced-size RTCP). The padding bit is accepted on any packet as long as
 * its count is sane, since some senders pad each feedback packet of a batch.
 *
 * Sending: each rtcp_build_* appends one packet to a struct buf; appending several builds a
 * compound packet.
 */
#ifndef RTCPEER_RTP_RTCP_H
#define RTCPEER_RTP_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define RTCP_PT_SR    200
#define RTCP_PT_RR    201
#define RTCP_PT_SDES  202
#define RTCP_PT_BYE   203
#define RTCP_PT_APP   204
#define RTCP_PT_RTPFB 205 /* transport layer feedback (RFC 4585) */
#define RTCP_PT_PSFB  206 /* payload-specific feedback (RFC 4585) */
#define RTCP_PT_XR    207

#define RTCP_RTPFB_NACK 1
#define RTCP_RTPFB_TWCC 15
#define RTCP_PSFB_PLI   1
#define RTCP_PSFB_FIR   4
#define RTCP_PSFB_AFB   15 /* application layer feedback; REMB is one */

#define RTCP_SDES_END   0
#define RTCP_SDES_CNAME 1

#define RTCP_MAX_COUNT 31 /* the 5-bit count field */

enum rtcp_kind {
        RTCP_KIND_SR = 1,
        RTCP_KIND_RR,
        RTCP_KIND_SDES,
        RTCP_KIND_BYE,
        RTCP_KIND_NACK,
        RTCP_KIND_TWCC,
        RTCP_KIND_PLI,
        RTCP_KIND_FIR,
        RTCP_KIND_REMB,
        RTCP_KIND_OTHER, /* APP, XR, other feedback types: header and raw bytes only */
};

struct rtcp_report_block {
        uint32_t ssrc;
        uint8_t fraction_lost;    /* fixed point, /256 */
        int32_t cumulative_lost;  /* 24-bit signed on the wire */
        uint32_t ext_highest_seq; /* cycles << 16 | highest sequence number */
        uint32_t jitter;          /* RTP timestamp units */
        uint32_t lsr;             /* middle 32 bits of the NTP time of the last SR, 0 = none */
        uint32_t dlsr;            /* delay since that SR, 1/65536 s */
};

struct rtcp_sr {
        uint32_t ssrc;
        uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
        uint32_t rtp_ts;
        uint32_t packet_count;
        uint32_t octet_count;
        uint8_t rb_count;
        struct rtcp_report_block rb[RTCP_MAX_COUNT];
};

struct rtcp_rr {
        uint32_t ssrc;
        uint8_t rb_count;
        struct rtcp_report_block rb[RTCP_MAX_COUNT];
};

struct rtcp_sdes_chunk {
        uint32_t ssrc;
        const uint8_t *cname; /* into the packet, not NUL-terminated; NULL when absent */
        size_t cname_len;
};

struct rtcp_sdes {
        uint8_t count;
        struct rtcp_sdes_chunk chunk[RTCP_MAX_COUNT];
};

struct rtcp_bye {
        uint8_t count;
        uint32_t ssrc[RTCP_MAX_COUNT];
        const uint8_t *reason; /* into the packet; NULL when absent */
        size_t reason_len;
};

/* Generic NACK: FCI entries of a packet id and a bitmask of the 16 following losses. */
struct rtcp_nack {
        uint32_t sender_ssrc;
        uint32_t media_ssrc;
        size_t count;         /* FCI entries, at least 1 */
        const uint8_t *items; /* count * 4 bytes into the packet */
};

struct rtcp_pli {
        uint32_t sender_ssrc;
        uint32_t media_ssrc;
};

struct rtcp_fir_entry {
        uint32_t ssrc;
        uint8_t seq;
};

struct rtcp_fir {
        uint32_t sender_ssrc;
        size_t count;           /* FCI entries, at least 1 */
        const uint8_t *entries; /* count * 8 bytes into the packet */
};

struct rtcp_remb {
        uint32_t sender_ssrc;
        uint64_t bitrate_bps; /* mantissa << exponent; up to 2^18 << 63 is clamped to UINT64_MAX */
        uint8_t ssrc_count;
        uint32_t ssrc[255];
};

/* Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions). */
struct rtcp_twcc {
        uint32_t sender_ssrc;
        uint32_t media_ssrc;
        uint16_t base_seq;
        uint16_t status_count;
        int32_t reference_time; /* 24-bit signed, in units of 64 ms */
        uint8_t fb_pkt_count;
        const uint8_t *body; /* packet chunks and receive deltas, into the packet */
        size_t body_len;
};

struct rtcp_twcc_status {
        uint16_t seq;
        bool received;
        int32_t delta_us; /* receive time minus the previous received one (or reference time) */
};

struct rtcp_packet {
        enum rtcp_kind kind;
        uint8_t pt;
        uint8_t count;      /* the 5-bit count/FMT field */
        const uint8_t *raw; /* the whole packet including its header and padding */
        size_t raw_len;
        union {
                struct rtcp_sr sr;
                struct rtcp_rr rr;
                struct rtcp_sdes sdes;
                struct rtcp_bye bye;
                struct rtcp_nack nack;
                struct rtcp_pli pli;
                struct rtcp_fir fir;
                struct rtcp_remb remb;
                struct rtcp_twcc twcc;
        } u;
};

struct rtcp_iter {
        struct buf_rd rd;
};

/* Validates a whole (compound or reduced-size) RTCP datagram. 0 or -EPROTO. */
int rtcp_validate(const void *data, size_t len);
/* Validates, then prepares iteration. 0 or -EPROTO. data must outlive the iteration. */
int rtcp_iter_init(struct rtcp_iter *it, const void *data, size_t len);
/* 1 = *p filled (pointers into the datagram), 0 = no more packets. */
int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_packet *p);
/* Parses exactly one RTCP packet of len bytes. 0 or -EPROTO. */
int rtcp_parse_packet(struct rtcp_packet *p, const void *data, size_t len);

/* NACK entry i (< count): the packet id and the bitmask of following lost packets. */
void rtcp_nack_item(const struct rtcp_nack *n, size_t i, uint16_t *pid, uint16_t *blp);
/*
 * Writes the lost sequence numbers (a NACK names at most 17 per entry) to seqs, at most cap of
 * them, and returns how many the NACK names in all (which may exceed cap).
 */
size_t rtcp_nack_lost(const struct rtcp_nack *n, uint16_t *seqs, size_t cap);
void rtcp_fir_get(const struct rtcp_fir *f, size_t i, struct rtcp_fir_entry *e);
/*
 * Decodes the status of the twcc's status_count packets into out (cap entries; NULL to only
 * check). Returns status_count or -EPROTO. The arrival time of a received packet is
 * reference_time * 64 ms plus the sum of the deltas up to and including its own.
 */
int rtcp_twcc_decode(const struct rtcp_twcc *t, struct rtcp_twcc_status *out, size_t cap);

/* Builders append one packet each. -EINVAL for counts over 31 or lengths over the format. */
int rtcp_build_sr(struct buf *out, const struct rtcp_sr *sr);
int rtcp_build_rr(struct buf *out, const struct rtcp_rr *rr);
/* One chunk per SSRC, each with a CNAME item (cnames[i] up to 255 bytes). */
int rtcp_build_sdes_cname(struct buf *out, const uint32_t *ssrcs, const char *const *cnames,
                          size_t count);
int rtcp_build_bye(struct buf *out, const uint32_t *ssrcs, size_t count, const char *reason);
/*
 * seqs: lost sequence numbers in increasing order (with wrap-around); each entry covers a
 * packet id and the 16 following it. -EINVAL when count is 0.
 */
int rtcp_build_nack(struct buf *out, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const uint16_t *seqs, size_t count);
int rtcp_build_pli(struct buf *out, uint32_t sender_ssrc, uint32_t media_ssrc);
int rtcp_build_fir(struct buf *out, uint32_t sender_ssrc, const struct rtcp_fir_entry *entries,
                   size_t count);
int rtcp_build_remb(struct buf *out, uint32_t sender_ssrc, uint64_t bitrate_bps,
                    const uint32_t *ssrcs, size_t count);

/* NTP 32.32 time from microseconds since 1900, and its middle 32 bits (the LSR field). */
uint64_t rtcp_ntp_from_us(uint64_t us);
uint32_t rtcp_ntp_mid32(uint64_t ntp);

#endif
