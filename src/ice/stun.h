/*
 * STUN message codec (RFC 8489, compatible with RFC 5389) with the attributes of ICE (RFC 8445)
 * and TURN (RFC 8656), plus TURN ChannelData framing. Pure functions over bytes: no sockets, no
 * clock, no allocation while parsing.
 *
 * A parsed struct stun_msg borrows from the input: its string and byte views point into the
 * datagram, which the caller keeps alive (and unchanged) as long as it uses the message.
 */
#ifndef RTCPEER_ICE_STUN_H
#define RTCPEER_ICE_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/buf.h"

#define STUN_HEADER_SIZE     20
#define STUN_ATTR_HEADER     4
#define STUN_MAGIC_COOKIE    0x2112A442u
#define STUN_TXID_SIZE       12
#define STUN_FINGERPRINT_XOR 0x5354554eu
#define STUN_HMAC_SHA1_SIZE  20
#define STUN_HMAC_SHA256_MAX 32
#define STUN_HMAC_SHA256_MIN 16
#define STUN_USERHASH_SIZE   32
#define STUN_MD5_KEY_SIZE    16
#define STUN_SHA256_KEY_SIZE 32

/* Largest lengths RFC 8489 allows (USERNAME: 513 as in RFC 5389, the looser of the two). */
#define STUN_MAX_USERNAME 513
#define STUN_MAX_TEXT     763

/* Bounds on repeated values kept in a parsed message; further ones are counted but not stored. */
#define STUN_MAX_PEER_ADDRS   8
#define STUN_MAX_UNKNOWN      16
#define STUN_MAX_PASSWORD_ALG 8

enum stun_class {
        STUN_CLASS_REQUEST = 0,
        STUN_CLASS_INDICATION = 1,
        STUN_CLASS_SUCCESS = 2,
        STUN_CLASS_ERROR = 3,
};

enum stun_method {
        STUN_METHOD_BINDING = 0x001,
        STUN_METHOD_ALLOCATE = 0x003,
        STUN_METHOD_REFRESH = 0x004,
        STUN_METHOD_SEND = 0x006,
        STUN_METHOD_DATA = 0x007,
        STUN_METHOD_CREATE_PERMISSION = 0x008,
        STUN_METHOD_CHANNEL_BIND = 0x009,
};

enum stun_attr_type {
        STUN_ATTR_MAPPED_ADDRESS = 0x0001,
        STUN_ATTR_CHANGE_REQUEST = 0x0003, /* RFC 5780 */
        STUN_ATTR_USERNAME = 0x0006,
        STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
        STUN_ATTR_ERROR_CODE = 0x0009,
        STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
        STUN_ATTR_CHANNEL_NUMBER = 0x000C,
        STUN_ATTR_LIFETIME = 0x000D,
        STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
        STUN_ATTR_DATA = 0x0013,
        STUN_ATTR_REALM = 0x0014,
        STUN_ATTR_NONCE = 0x0015,
        STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
        STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
        STUN_ATTR_EVEN_PORT = 0x0018,
        STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
        STUN_ATTR_DONT_FRAGMENT = 0x001A,
        STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
        STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
        STUN_ATTR_USERHASH = 0x001E,
        STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
        STUN_ATTR_RESERVATION_TOKEN = 0x0022,
        STUN_ATTR_PRIORITY = 0x0024,
        STUN_ATTR_USE_CANDIDATE = 0x0025,
        STUN_ATTR_RESPONSE_PORT = 0x0027, /* RFC 5780 */
        STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
        STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
        STUN_ATTR_SOFTWARE = 0x8022,
        STUN_ATTR_ALTERNATE_SERVER = 0x8023,
        STUN_ATTR_FINGERPRINT = 0x8028,
        STUN_ATTR_ICE_CONTROLLED = 0x8029,
        STUN_ATTR_ICE_CONTROLLING = 0x802A,
        STUN_ATTR_RESPONSE_ORIGIN = 0x802B, /* RFC 5780 */
        STUN_ATTR_OTHER_ADDRESS = 0x802C,   /* RFC 5780 */
};

enum stun_error_code {
        STUN_ERR_TRY_ALTERNATE = 300,
        STUN_ERR_BAD_REQUEST = 400,
        STUN_ERR_UNAUTHORIZED = 401,
        STUN_ERR_FORBIDDEN = 403,
        STUN_ERR_UNKNOWN_ATTRIBUTE = 420,
        STUN_ERR_ALLOCATION_MISMATCH = 437,
        STUN_ERR_STALE_NONCE = 438,
        STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED = 440,
        STUN_ERR_WRONG_CREDENTIALS = 441,
        STUN_ERR_UNSUPPORTED_TRANSPORT = 442,
        STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH = 443,
        STUN_ERR_ALLOCATION_QUOTA_REACHED = 486,
        STUN_ERR_ROLE_CONFLICT = 487,
        STUN_ERR_SERVER_ERROR = 500,
        STUN_ERR_INSUFFICIENT_CAPACITY = 508,
};

enum stun_password_alg {
        STUN_PASSWORD_ALG_MD5 = 0x0001,
        STUN_PASSWORD_ALG_SHA256 = 0x0002,
};

/* REQUESTED-TRANSPORT protocol numbers. */
#define STUN_TRANSPORT_UDP 17
#define STUN_TRANSPORT_TCP 6

/* A view into the parsed datagram; not NUL-terminated. */
struct stun_bytes {
        const uint8_t *data;
        size_t len;
};

/* Which integrity attribute stun_msg_check_integrity verified. */
enum stun_integrity {
        STUN_INTEGRITY_NONE = 0,
        STUN_INTEGRITY_SHA1,
        STUN_INTEGRITY_SHA256,
};

struct stun_msg {
        uint16_t method; /* enum stun_method, or any 12-bit value */
        uint8_t cls;     /* enum stun_class */
        uint8_t txid[STUN_TXID_SIZE];
        size_t raw_len; /* whole datagram, header included */

        /* Presence flags for the attributes that carry no other "is set" marker. */
        bool has_mapped, has_xor_mapped, has_alternate_server, has_xor_relayed;
        bool has_username, has_realm, has_nonce, has_software, has_userhash;
        bool has_error, has_priority, has_use_candidate, has_ice_controlling, has_ice_controlled;
        bool has_lifetime, has_requested_transport, has_requested_family, has_dont_fragment;
        bool has_even_port, has_reservation_token, has_channel_number, has_data;
        bool has_password_algorithm, has_password_algorithms, has_unknown_attributes;
        bool has_alternate_domain;
        bool has_change_request, has_response_port, has_response_origin, has_other_address;

        struct addr mapped, xor_mapped, alternate_server, xor_relayed;
        struct addr xor_peer[STUN_MAX_PEER_ADDRS];
        size_t xor_peer_count; /* how many appeared; only the first STUN_MAX_PEER_ADDRS are kept */

        struct stun_bytes username, realm, nonce, software, userhash, data, alternate_domain;

        uint16_t error_code; /* class * 100 + number, 300..699 */
        struct stun_bytes error_reason;

        /* The UNKNOWN-ATTRIBUTES attribute as received (in an error response). */
        uint16_t unknown_attrs[STUN_MAX_UNKNOWN];
        size_t unknown_attrs_count;

        /*
         * Comprehension-required attributes (type < 0x8000) this parser does not know. A server
         * answers a request carrying any with 420 and UNKNOWN-ATTRIBUTES listing them.
         */
        uint16_t unknown[STUN_MAX_UNKNOWN];
        size_t unknown_count;

        uint32_t priority;
        uint64_t ice_controlling, ice_controlled; /* tie-breakers */
        uint32_t lifetime;                        /* seconds */
        uint8_t requested_transport;              /* protocol number */
        uint8_t requested_family;                 /* 0x01 IPv4, 0x02 IPv6 (not validated) */
        bool even_port_reserve;                   /* the R bit */
        uint8_t reservation_token[8];
        uint16_t channel_number;

        /* RFC 5780 NAT behaviour discovery. */
        bool change_ip, change_port; /* CHANGE-REQUEST flags */
        uint16_t response_port;
        struct addr response_origin, other_address;

        uint16_t password_algorithm; /* PASSWORD-ALGORITHM chosen by the client */
        uint16_t password_algorithms[STUN_MAX_PASSWORD_ALG];
        size_t password_algorithms_count;
        /* The PASSWORD-ALGORITHMS value as received: a client echoes it verbatim. */
        struct stun_bytes password_algorithms_raw;

        /* Offsets in the datagram of each integrity attribute's header, for the checks below. */
        bool has_integrity, has_integrity_sha256, has_fingerprint;
        size_t integrity_offset, integrity_sha256_offset, fingerprint_offset;
        size_t integrity_sha256_len; /* 16..32 */
};

/* Type field helpers: 14-bit message type <-> method and class. */
uint16_t stun_msg_type(uint16_t method, enum stun_class cls);
const char *stun_method_name(uint16_t method);
const char *stun_class_name(uint8_t cls);
const char *stun_attr_name(uint16_t type);
/* The RFC reason phrase for an error code, or "Error" for ones without a standard phrase. */
const char *stun_error_reason(uint16_t code);

/* Demux helper: could these bytes be a STUN message? (first byte 0..3, magic cookie) */
bool stun_is_message(const uint8_t *data, size_t len);
/* Demux helper: first byte 64..79, the TURN channel range of RFC 7983. */
bool stun_is_channel_data(const uint8_t *data, size_t len);

/*
 * Parses and strictly validates one whole message (len must be the datagram or the TCP frame).
 * Returns 0, -EINVAL (NULL arguments) or -EBADMSG. Unknown comprehension-required attributes do
 * not fail the parse: they are listed in msg->unknown.
 */
int stun_msg_parse(struct stun_msg *msg, const uint8_t *data, size_t len);
/*
 * Verifies MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY. raw is the datagram
 * msg was parsed from. Short-term credentials: key = password; long-term: stun_long_term_key().
 * Returns 0, -ENOENT (no integrity attribute), -EACCES (mismatch) or -EINVAL.
 */
int stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *raw, const uint8_t *key,
                             size_t keylen);
/* Like the above, also telling which attribute was verified. */
int stun_msg_check_integrity_ex(const struct stun_msg *msg, const uint8_t *raw, const uint8_t *key,
                                size_t keylen, enum stun_integrity *used);
/* Returns 0, -ENOENT (no FINGERPRINT) or -EBADMSG (mismatch). */
int stun_msg_check_fingerprint(const struct stun_msg *msg, const uint8_t *raw);

/*
 * Long-term credential key: MD5(username ":" realm ":" password), 16 bytes (RFC 8489 §9.2.2).
 * The strings are used as given: any OpaqueString/SASLprep processing is the caller's.
 */
int stun_long_term_key(const char *username, const char *realm, const char *password,
                       uint8_t key[STUN_MD5_KEY_SIZE]);
/* The same with SHA-256 (PASSWORD-ALGORITHM 0x0002), 32 bytes. */
int stun_long_term_key_sha256(const char *username, const char *realm, const char *password,
                              uint8_t key[STUN_SHA256_KEY_SIZE]);

/* Fresh random transaction id. */
int stun_txid_generate(uint8_t txid[STUN_TXID_SIZE]);

/* True if the view equals the NUL-terminated string s. */
bool stun_bytes_eq(struct stun_bytes v, const char *s);

/*
 * Builder: appends one message to a struct buf (after whatever it already holds). The header
 * length is kept current after every attribute. The first failure sticks: later calls return it
 * and do nothing, so a caller may check only the last one. After MESSAGE-INTEGRITY only
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT may follow; after FINGERPRINT nothing.
 */
struct stun_builder {
        struct buf *out;
        size_t start; /* offset of the message in out */
        int err;
        bool sealed_mi, sealed_mi256, sealed_fp;
};

int stun_build_begin(struct stun_builder *b, struct buf *out, uint16_t method, enum stun_class cls,
                     const uint8_t txid[STUN_TXID_SIZE]);
/* Any attribute from raw bytes, padded with zeros; fixed-size known types are length-checked. */
int stun_build_attr(struct stun_builder *b, uint16_t type, const void *data, size_t len);
int stun_build_str(struct stun_builder *b, uint16_t type, const char *s);
int stun_build_flag(struct stun_builder *b, uint16_t type); /* zero-length: USE-CANDIDATE... */
int stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v);
int stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v);
/* MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS. */
int stun_build_addr(struct stun_builder *b, uint16_t type, const struct addr *a);
/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS. */
int stun_build_xor_addr(struct stun_builder *b, uint16_t type, const struct addr *a);
/* code 300..699; reason NULL picks stun_error_reason(code). */
int stun_build_error_code(struct stun_builder *b, uint16_t code, const char *reason);
int stun_build_unknown_attributes(struct stun_builder *b, const uint16_t *types, size_t n);
int stun_build_requested_transport(struct stun_builder *b, uint8_t protocol);
int stun_build_requested_family(struct stun_builder *b, enum addr_family family);
int stun_build_even_port(struct stun_builder *b, bool reserve);
int stun_build_channel_number(struct stun_builder *b, uint16_t channel);
int stun_build_password_algorithm(struct stun_builder *b, uint16_t alg);
/* RFC 5780: ask the server to answer from its other IP and/or port. */
int stun_build_change_request(struct stun_builder *b, bool change_ip, bool change_port);
int stun_build_response_port(struct stun_builder *b, uint16_t port);
int stun_build_password_algorithms(struct stun_builder *b, const uint16_t *algs, size_t n);
int stun_build_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen);
int stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t keylen);
int stun_build_fingerprint(struct stun_builder *b);
/* Length of the message built so far (header included). */
size_t stun_build_len(const struct stun_builder *b);

/*
 * TURN ChannelData (RFC 8656 §12): channel number 0x4000..0x4FFF, 16-bit length, data. Over UDP
 * trailing bytes after the data are allowed (padding is optional); over TCP the frame is padded
 * to a multiple of 4 and *frame_len tells how many bytes it occupies.
 */
struct stun_channel_data {
        uint16_t channel;
        const uint8_t *data; /* points into the input */
        size_t len;
};

int stun_channel_data_parse(struct stun_channel_data *cd, const uint8_t *raw, size_t len,
                            bool stream, size_t *frame_len);
/* Appends a ChannelData message; pad for stream transports. */
int stun_channel_data_build(struct buf *out, uint16_t channel, const uint8_t *data, size_t len,
                            bool pad);

/*
 * Stream framing (STUN or ChannelData over TCP/TLS): how many bytes the next frame occupies.
 * Returns 0 with *frame_len, -EAGAIN when fewer than 4 bytes are available, -EBADMSG when the
 * bytes start neither frame kind.
 */
int stun_stream_frame_len(const uint8_t *data, size_t len, size_t *frame_len);

#endif
