/*
 * SDP for WebRTC: parser and writer (RFC 8866 syntax, JSEP RFC 8829 usage, ICE RFC 8839).
 *
 * The parsed form is a transparent tree of structs so that ICE, DTLS and the session layer read
 * the fields they need directly. Attributes rtcpeer does not interpret are kept, in order, in
 * `attrs`, so that writing a parsed description keeps them. The writer emits known fields in a
 * fixed order (the one browsers use) followed by the preserved attributes, with CRLF line ends;
 * therefore write(parse(write(parse(x)))) == write(parse(x)) byte for byte.
 *
 * Limits (inputs beyond them fail with -E2BIG):
 *   SDP_MAX_TEXT bytes of text, SDP_MAX_LINES lines, SDP_MAX_LINE bytes per line,
 *   SDP_MAX_MEDIA m= sections, SDP_MAX_CANDIDATES candidates per m= section.
 * Field sizes (longer values fail with -EBADMSG): see the *_MAX constants below.
 */
#ifndef RTCPEER_SDP_SDP_H
#define RTCPEER_SDP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SDP_MAX_TEXT       (256 * 1024)
#define SDP_MAX_LINES      4096
#define SDP_MAX_LINE       8192
#define SDP_MAX_MEDIA      64
#define SDP_MAX_CANDIDATES 256
/* Formats listed on one m= line (RTP payload types are 0..127 and unique, so 128 suffices). */
#define SDP_MAX_FORMATS 128
/* Fingerprint lines per level (RFC 8122 allows several, e.g. one per hash). */
#define SDP_MAX_FINGERPRINTS 4

#define SDP_ICE_UFRAG_MIN   4
#define SDP_ICE_PWD_MIN     22
#define SDP_ICE_CRED_MAX    256 /* both ufrag and pwd, RFC 8839 */
#define SDP_MID_MAX         64
#define SDP_TOKEN_MAX       63  /* media type, proto, codec name, candidate transport */
#define SDP_ADDR_MAX        255 /* IP literal or FQDN (mDNS names) */
#define SDP_FOUNDATION_MAX  32
#define SDP_CAND_EXT_MAX    511 /* candidate extension text "name value name value" */
#define SDP_FINGERPRINT_MAX 64  /* bytes, sha-512 */
/* Text form of a fingerprint: 64 bytes as "AB:" each, minus the last colon, plus NUL. */
#define SDP_FINGERPRINT_HEX_MAX (SDP_FINGERPRINT_MAX * 3)

struct sdp_error {
        int line; /* 1-based; 0 when the problem is not tied to one line */
        char msg[200];
};

enum sdp_direction {
        /* In a parsed section: no direction attribute (the default is sendrecv). In struct
         * sdp_local: the media is not supported at all. */
        SDP_DIR_NONE = 0,
        SDP_DIR_SENDRECV,
        SDP_DIR_SENDONLY,
        SDP_DIR_RECVONLY,
        SDP_DIR_INACTIVE,
};

enum sdp_setup {
        SDP_SETUP_NONE = 0, /* no a=setup */
        SDP_SETUP_ACTPASS,
        SDP_SETUP_ACTIVE,
        SDP_SETUP_PASSIVE,
        SDP_SETUP_HOLDCONN,
};

enum sdp_hash {
        SDP_HASH_SHA1 = 1,
        SDP_HASH_SHA224,
        SDP_HASH_SHA256,
        SDP_HASH_SHA384,
        SDP_HASH_SHA512,
};

enum sdp_media_type {
        SDP_MEDIA_OTHER = 0, /* anything else ("text", "message"...): kept, rejected in answers */
        SDP_MEDIA_AUDIO,
        SDP_MEDIA_VIDEO,
        SDP_MEDIA_APPLICATION,
};

enum sdp_cand_type {
        SDP_CAND_HOST = 0,
        SDP_CAND_SRFLX,
        SDP_CAND_PRFLX,
        SDP_CAND_RELAY,
};

enum sdp_tcptype {
        SDP_TCPTYPE_NONE = 0,
        SDP_TCPTYPE_ACTIVE,
        SDP_TCPTYPE_PASSIVE,
        SDP_TCPTYPE_SO,
};

/* A plain value (no pointers) so that the ICE agent can copy it freely. */
struct sdp_candidate {
        char foundation[SDP_FOUNDATION_MAX + 1];
        uint16_t component;                /* 1..256 */
        char transport[SDP_TOKEN_MAX + 1]; /* lowercased: "udp", "tcp" */
        uint32_t priority;                 /* 1..2^31-1 */
        char address[SDP_ADDR_MAX + 1];    /* IPv4, IPv6 or a hostname such as "<uuid>.local" */
        uint16_t port;
        enum sdp_cand_type type;
        char raddr[SDP_ADDR_MAX + 1]; /* "" when absent */
        uint16_t rport;               /* meaningful when raddr[0] */
        enum sdp_tcptype tcptype;
        /* Extension pairs in order, single-spaced: "generation 0 network-id 1". */
        char ext[SDP_CAND_EXT_MAX + 1];
};

struct sdp_fingerprint {
        enum sdp_hash hash;
        uint8_t len; /* digest bytes: 20, 28, 32, 48 or 64 */
        uint8_t digest[SDP_FINGERPRINT_MAX];
};

struct sdp_conn {
        bool present;
        bool ip6;
        char addr[SDP_ADDR_MAX + 1];
};

struct sdp_attr {
        char *name;
        char *value; /* NULL for a flag attribute ("a=foo") */
};

/* One RTP payload type of an m= line, with what a=rtpmap/fmtp/rtcp-fb say about it. */
struct sdp_codec {
        uint8_t pt;
        bool has_rtpmap;
        char name[SDP_TOKEN_MAX + 1]; /* encoding name as written, "" without rtpmap */
        uint32_t clock;
        uint16_t channels; /* 0 when not given */
        char *fmtp;        /* NULL when none */
        char **fb;         /* rtcp-fb values, e.g. "nack pli" */
        size_t n_fb;
};

struct sdp_extmap {
        uint16_t id;            /* 1..255 */
        enum sdp_direction dir; /* SDP_DIR_NONE when not given */
        char *uri;
        char *params; /* extension attributes after the URI, or NULL */
};

struct sdp_ssrc {
        uint32_t ssrc;
        char *attr;  /* "cname", "msid"...; "" when the line has only the number */
        char *value; /* NULL for a flag */
};

struct sdp_ssrc_group {
        char *semantics; /* "FID", "SIM"... */
        uint32_t *ssrcs;
        size_t n_ssrcs;
};

struct sdp_group {
        char *semantics; /* "BUNDLE", "LS"... */
        char **mids;
        size_t n_mids;
};

struct sdp_media {
        enum sdp_media_type type;
        char media[SDP_TOKEN_MAX + 1]; /* as written */
        uint16_t port;
        char proto[SDP_TOKEN_MAX + 1];
        bool rtp; /* proto is an RTP profile: formats are payload types, kept in codecs[] */
        struct sdp_codec *codecs; /* RTP: one per format, in m= line order */
        size_t n_codecs;
        /* a=rtcp-fb:* values. Parsing also adds them to every codec's fb, and writing puts them
         * once as a=rtcp-fb:* (after the codecs), not per payload type. */
        char **fb_all;
        size_t n_fb_all;
        char **fmts; /* non-RTP: the format tokens ("webrtc-datachannel", "5000") */
        size_t n_fmts;

        char *info; /* i= */
        struct sdp_conn conn;
        char **bw; /* b= values, "AS:30" */
        size_t n_bw;

        char mid[SDP_MID_MAX + 1]; /* "" when absent */
        char ice_ufrag[SDP_ICE_CRED_MAX + 1];
        char ice_pwd[SDP_ICE_CRED_MAX + 1];
        char *ice_options;
        struct sdp_fingerprint fingerprints[SDP_MAX_FINGERPRINTS];
        size_t n_fingerprints;
        enum sdp_setup setup;
        enum sdp_direction direction;
        bool rtcp_mux;
        bool rtcp_rsize;
        bool extmap_allow_mixed;
        bool end_of_candidates;
        char *rtcp; /* a=rtcp value ("9 IN IP4 0.0.0.0") or NULL */
        char **msid;
        size_t n_msid;
        struct sdp_extmap *extmaps;
        size_t n_extmaps;
        struct sdp_ssrc_group *ssrc_groups;
        size_t n_ssrc_groups;
        struct sdp_ssrc *ssrcs;
        size_t n_ssrcs;
        int32_t sctp_port; /* -1 when absent */
        bool has_max_message_size;
        uint64_t max_message_size;
        struct sdp_candidate *candidates;
        size_t n_candidates;
        struct sdp_attr *attrs; /* everything else, in order */
        size_t n_attrs;
};

/* Lines rtcpeer keeps but does not use (u=, e=, p=, r=, z=, k=, extra t=). */
struct sdp_line {
        char type;
        char *value;
};

struct sdp {
        char origin_user[SDP_TOKEN_MAX + 1];
        uint64_t session_id;
        uint64_t session_version;
        char origin_nettype[SDP_TOKEN_MAX + 1];
        char origin_addrtype[SDP_TOKEN_MAX + 1];
        char origin_addr[SDP_ADDR_MAX + 1];
        char *name; /* s= */
        char *info; /* i= */
        struct sdp_conn conn;
        char **bw;
        size_t n_bw;
        uint64_t t_start;
        uint64_t t_stop;
        struct sdp_line *extra;
        size_t n_extra;

        struct sdp_group *groups;
        size_t n_groups;
        char *msid_semantic; /* "WMS *", without the optional leading space */
        bool ice_lite;
        char ice_ufrag[SDP_ICE_CRED_MAX + 1];
        char ice_pwd[SDP_ICE_CRED_MAX + 1];
        char *ice_options;
        struct sdp_fingerprint fingerprints[SDP_MAX_FINGERPRINTS];
        size_t n_fingerprints;
        enum sdp_setup setup;
        enum sdp_direction direction;
        bool extmap_allow_mixed;
        struct sdp_attr *attrs;
        size_t n_attrs;

        struct sdp_media *media;
        size_t n_media;
};

/*
 * Parses len bytes of text (LF or CRLF lines). On success *out is a new description to free with
 * sdp_free. On failure returns -EBADMSG (malformed), -E2BIG (over a limit) or -ENOMEM, and fills
 * err (which may be NULL) with the line and a message naming the field.
 */
int sdp_parse(const char *text, size_t len, struct sdp **out, struct sdp_error *err);
/* Appends the description as text with CRLF line ends. -EINVAL if a field cannot be written
 * (e.g. a string with a line break, a missing required value). */
int sdp_write(const struct sdp *s, struct buf *out);
void sdp_free(struct sdp *s);

/* An empty description (v=0, s=-, t=0 0) to fill in; sdp_free releases it. */
struct sdp *sdp_new(void);
/* Appends a zeroed m= section (sctp_port -1) and returns it, or NULL on -ENOMEM/too many. The
 * pointer stays valid until the next sdp_add_media call. */
struct sdp_media *sdp_add_media(struct sdp *s);

/* value = text after "candidate:". Returns 0 or -EBADMSG. */
int sdp_candidate_parse(const char *value, struct sdp_candidate *c);
/* Appends the value (without "a=candidate:" and without a line end). */
int sdp_candidate_write(const struct sdp_candidate *c, struct buf *out);
/* Copies the value of extension `name` (e.g. "generation") into val. 0, -ENOENT or -ENOSPC. */
int sdp_candidate_ext_get(const struct sdp_candidate *c, const char *name, char *val, size_t cap);

/* Fingerprint text helpers: "sha-256" and "AB:CD:..." (any case) to a struct, and back. */
int sdp_fingerprint_from_text(const char *hash, const char *hex, struct sdp_fingerprint *fp);
const char *sdp_hash_name(enum sdp_hash h);
/* Writes uppercase hex with colons into out (SDP_FINGERPRINT_HEX_MAX bytes). */
void sdp_fingerprint_hex(const struct sdp_fingerprint *fp, char out[SDP_FINGERPRINT_HEX_MAX]);

const char *sdp_direction_name(enum sdp_direction d); /* "sendrecv"...; "" for NONE */
const char *sdp_setup_name(enum sdp_setup s);

/* Lookups. Section values fall back to session-level ones as JSEP says. */
const struct sdp_media *sdp_find_mid(const struct sdp *s, const char *mid);
/* The first a=group:BUNDLE, or NULL. */
const struct sdp_group *sdp_bundle_group(const struct sdp *s);
const char *sdp_media_ice_ufrag(const struct sdp *s, const struct sdp_media *m); /* NULL: none */
const char *sdp_media_ice_pwd(const struct sdp *s, const struct sdp_media *m);
const struct sdp_fingerprint *sdp_media_fingerprint(const struct sdp *s, const struct sdp_media *m);
enum sdp_setup sdp_media_setup(const struct sdp *s, const struct sdp_media *m);
/* Never SDP_DIR_NONE: an absent attribute means sendrecv. */
enum sdp_direction sdp_media_direction(const struct sdp *s, const struct sdp_media *m);
const struct sdp_codec *sdp_media_codec(const struct sdp_media *m, unsigned pt);
/* Value of the first preserved attribute `name` ("" for a flag), or NULL. */
const char *sdp_media_attr(const struct sdp_media *m, const char *name);
/* Adds an a=rtcp-fb:* value: to fb_all and to every codec the section has now. 0 or -ENOMEM. */
int sdp_media_add_fb_all(struct sdp_media *m, const char *fb);

#endif
