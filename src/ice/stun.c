#include "ice/stun.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <zlib.h>

#include "core/rand.h"

/* Largest value the 16-bit header length can hold while staying a multiple of 4. */
#define STUN_MAX_BODY 65532u

static size_t pad4(size_t n)
{
        return (4 - (n & 3)) & 3;
}

uint16_t stun_msg_type(uint16_t method, enum stun_class cls)
{
        unsigned c = (unsigned)cls & 3;
        unsigned m = method & 0x0FFF;
        /* The two class bits sit at positions 4 and 8, splitting the method into three runs. */
        return (uint16_t)((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                          ((c & 1) << 4) | ((c & 2) << 7));
}

static void split_type(uint16_t type, uint16_t *method, uint8_t *cls)
{
        *method = (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
        *cls = (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
}

const char *stun_method_name(uint16_t method)
{
        switch (method) {
        case STUN_METHOD_BINDING:
                return "Binding";
        case STUN_METHOD_ALLOCATE:
                return "Allocate";
        case STUN_METHOD_REFRESH:
                return "Refresh";
        case STUN_METHOD_SEND:
                return "Send";
        case STUN_METHOD_DATA:
                return "Data";
        case STUN_METHOD_CREATE_PERMISSION:
                return "CreatePermission";
        case STUN_METHOD_CHANNEL_BIND:
                return "ChannelBind";
        default:
                return "Unknown";
        }
}

const char *stun_class_name(uint8_t cls)
{
        switch (cls) {
        case STUN_CLASS_REQUEST:
                return "request";
        case STUN_CLASS_INDICATION:
                return "indication";
        case STUN_CLASS_SUCCESS:
                return "success response";
        case STUN_CLASS_ERROR:
                return "error response";
        default:
                return "unknown";
        }
}

const char *stun_attr_name(uint16_t type)
{
        switch (type) {
        case STUN_ATTR_MAPPED_ADDRESS:
                return "MAPPED-ADDRESS";
        case STUN_ATTR_USERNAME:
                return "USERNAME";
        case STUN_ATTR_MESSAGE_INTEGRITY:
                return "MESSAGE-INTEGRITY";
        case STUN_ATTR_ERROR_CODE:
                return "ERROR-CODE";
        case STUN_ATTR_UNKNOWN_ATTRIBUTES:
                return "UNKNOWN-ATTRIBUTES";
        case STUN_ATTR_CHANNEL_NUMBER:
                return "CHANNEL-NUMBER";
        case STUN_ATTR_LIFETIME:
                return "LIFETIME";
        case STUN_ATTR_XOR_PEER_ADDRESS:
                return "XOR-PEER-ADDRESS";
        case STUN_ATTR_DATA:
                return "DATA";
        case STUN_ATTR_REALM:
                return "REALM";
        case STUN_ATTR_NONCE:
                return "NONCE";
        case STUN_ATTR_XOR_RELAYED_ADDRESS:
                return "XOR-RELAYED-ADDRESS";
        case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
                return "REQUESTED-ADDRESS-FAMILY";
        case STUN_ATTR_EVEN_PORT:
                return "EVEN-PORT";
        case STUN_ATTR_REQUESTED_TRANSPORT:
                return "REQUESTED-TRANSPORT";
        case STUN_ATTR_DONT_FRAGMENT:
                return "DONT-FRAGMENT";
        case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
                return "MESSAGE-INTEGRITY-SHA256";
        case STUN_ATTR_PASSWORD_ALGORITHM:
                return "PASSWORD-ALGORITHM";
        case STUN_ATTR_USERHASH:
                return "USERHASH";
        case STUN_ATTR_XOR_MAPPED_ADDRESS:
                return "XOR-MAPPED-ADDRESS";
        case STUN_ATTR_RESERVATION_TOKEN:
                return "RESERVATION-TOKEN";
        case STUN_ATTR_PRIORITY:
                return "PRIORITY";
        case STUN_ATTR_USE_CANDIDATE:
                return "USE-CANDIDATE";
        case STUN_ATTR_PASSWORD_ALGORITHMS:
                return "PASSWORD-ALGORITHMS";
        case STUN_ATTR_ALTERNATE_DOMAIN:
                return "ALTERNATE-DOMAIN";
        case STUN_ATTR_SOFTWARE:
                return "SOFTWARE";
        case STUN_ATTR_ALTERNATE_SERVER:
                return "ALTERNATE-SERVER";
        case STUN_ATTR_FINGERPRINT:
                return "FINGERPRINT";
        case STUN_ATTR_ICE_CONTROLLED:
                return "ICE-CONTROLLED";
        case STUN_ATTR_ICE_CONTROLLING:
                return "ICE-CONTROLLING";
        case STUN_ATTR_CHANGE_REQUEST:
                return "CHANGE-REQUEST";
        case STUN_ATTR_RESPONSE_PORT:
                return "RESPONSE-PORT";
        case STUN_ATTR_RESPONSE_ORIGIN:
                return "RESPONSE-ORIGIN";
        case STUN_ATTR_OTHER_ADDRESS:
                return "OTHER-ADDRESS";
        default:
                return "unknown";
        }
}

const char *stun_error_reason(uint16_t code)
{
        switch (code) {
        case STUN_ERR_TRY_ALTERNATE:
                return "Try Alternate";
        case STUN_ERR_BAD_REQUEST:
                return "Bad Request";
        case STUN_ERR_UNAUTHORIZED:
                return "Unauthorized";
        case STUN_ERR_FORBIDDEN:
                return "Forbidden";
        case STUN_ERR_UNKNOWN_ATTRIBUTE:
                return "Unknown Attribute";
        case STUN_ERR_ALLOCATION_MISMATCH:
                return "Allocation Mismatch";
        case STUN_ERR_STALE_NONCE:
                return "Stale Nonce";
        case STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED:
                return "Address Family not Supported";
        case STUN_ERR_WRONG_CREDENTIALS:
                return "Wrong Credentials";
        case STUN_ERR_UNSUPPORTED_TRANSPORT:
                return "Unsupported Transport Protocol";
        case STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH:
                return "Peer Address Family Mismatch";
        case STUN_ERR_ALLOCATION_QUOTA_REACHED:
                return "Allocation Quota Reached";
        case STUN_ERR_ROLE_CONFLICT:
                return "Role Conflict";
        case STUN_ERR_SERVER_ERROR:
                return "Server Error";
        case STUN_ERR_INSUFFICIENT_CAPACITY:
                return "Insufficient Capacity";
        default:
                return "Error";
        }
}

bool stun_is_message(const uint8_t *data, size_t len)
{
        if (!data || len < STUN_HEADER_SIZE || data[0] > 3)
                return false;
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        buf_rd_skip(&r, 4);
        return buf_rd_u32be(&r) == STUN_MAGIC_COOKIE;
}

bool stun_is_channel_data(const uint8_t *data, size_t len)
{
        return data && len >= 4 && data[0] >= 64 && data[0] <= 79;
}

bool stun_bytes_eq(struct stun_bytes v, const char *s)
{
        size_t n = s ? strlen(s) : 0;
        return v.len == n && (n == 0 || memcmp(v.data, s, n) == 0);
}

/*
 * Length rules for known attributes, shared by the parser and the builder. Returns true if a
 * value of len bytes is acceptable for type (unknown types accept anything).
 */
static bool attr_len_ok(uint16_t type, size_t len)
{
        switch (type) {
        case STUN_ATTR_MAPPED_ADDRESS:
        case STUN_ATTR_XOR_MAPPED_ADDRESS:
        case STUN_ATTR_XOR_PEER_ADDRESS:
        case STUN_ATTR_XOR_RELAYED_ADDRESS:
        case STUN_ATTR_ALTERNATE_SERVER:
        case STUN_ATTR_RESPONSE_ORIGIN:
        case STUN_ATTR_OTHER_ADDRESS:
                return len == 8 || len == 20;
        case STUN_ATTR_USERNAME:
                return len <= STUN_MAX_USERNAME;
        case STUN_ATTR_REALM:
        case STUN_ATTR_NONCE:
        case STUN_ATTR_SOFTWARE:
        case STUN_ATTR_ALTERNATE_DOMAIN:
                return len <= STUN_MAX_TEXT;
        case STUN_ATTR_MESSAGE_INTEGRITY:
                return len == STUN_HMAC_SHA1_SIZE;
        case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
                return len >= STUN_HMAC_SHA256_MIN && len <= STUN_HMAC_SHA256_MAX && len % 4 == 0;
        case STUN_ATTR_ERROR_CODE:
                return len >= 4 && len <= 4 + STUN_MAX_TEXT;
        case STUN_ATTR_UNKNOWN_ATTRIBUTES:
                return len % 2 == 0;
        case STUN_ATTR_CHANNEL_NUMBER:
        case STUN_ATTR_LIFETIME:
        case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
        case STUN_ATTR_REQUESTED_TRANSPORT:
        case STUN_ATTR_PRIORITY:
        case STUN_ATTR_FINGERPRINT:
        case STUN_ATTR_CHANGE_REQUEST:
        case STUN_ATTR_RESPONSE_PORT:
                return len == 4;
        case STUN_ATTR_EVEN_PORT:
                return len == 1;
        case STUN_ATTR_DONT_FRAGMENT:
        case STUN_ATTR_USE_CANDIDATE:
                return len == 0;
        case STUN_ATTR_USERHASH:
                return len == STUN_USERHASH_SIZE;
        case STUN_ATTR_RESERVATION_TOKEN:
        case STUN_ATTR_ICE_CONTROLLED:
        case STUN_ATTR_ICE_CONTROLLING:
                return len == 8;
        case STUN_ATTR_PASSWORD_ALGORITHM:
                return len >= 4;
        default:
                return true;
        }
}

/* ---- parsing ---- */

static int parse_addr(struct buf_rd *v, const uint8_t txid[STUN_TXID_SIZE], bool xor,
                      struct addr *out)
{
        uint8_t mask[16];
        uint8_t ip[16];
        buf_rd_u8(v); /* reserved, ignored on receipt */
        uint8_t family = buf_rd_u8(v);
        uint16_t port = buf_rd_u16be(v);
        size_t iplen = family == ADDR_FAMILY_IPV4 ? 4 : family == ADDR_FAMILY_IPV6 ? 16 : 0;
        if (!iplen || buf_rd_remaining(v) != iplen || buf_rd_copy(v, ip, iplen) < 0)
                return -EBADMSG;
        if (xor) {
                /* IPv4 is masked with the cookie, IPv6 with the cookie and the transaction id. */
                mask[0] = (uint8_t)(STUN_MAGIC_COOKIE >> 24);
                mask[1] = (uint8_t)(STUN_MAGIC_COOKIE >> 16);
                mask[2] = (uint8_t)(STUN_MAGIC_COOKIE >> 8);
                mask[3] = (uint8_t)STUN_MAGIC_COOKIE;
                memcpy(mask + 4, txid, STUN_TXID_SIZE);
                port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
                for (size_t i = 0; i < iplen; i++)
                        ip[i] ^= mask[i];
        }
        if (family == ADDR_FAMILY_IPV4)
                addr_set_ipv4(out, ip, port);
        else
                addr_set_ipv6(out, ip, port);
        return 0;
}

static struct stun_bytes view_rest(struct buf_rd *v)
{
        struct stun_bytes b;
        b.len = buf_rd_remaining(v);
        b.data = buf_rd_bytes(v, b.len);
        return b;
}

/* An algorithm entry: number, parameter length, parameters padded to 4. */
static uint16_t parse_alg_entry(struct buf_rd *v)
{
        uint16_t alg = buf_rd_u16be(v);
        uint16_t plen = buf_rd_u16be(v);
        buf_rd_skip(v, plen + pad4(plen));
        return alg;
}

/* Only the first occurrence of an attribute counts (RFC 8489 §14); XOR-PEER-ADDRESS repeats. */
static int parse_attr(struct stun_msg *m, uint16_t type, struct buf_rd *v)
{
        int rc = 0;
        switch (type) {
        case STUN_ATTR_MAPPED_ADDRESS:
                if (!m->has_mapped)
                        rc = parse_addr(v, m->txid, false, &m->mapped);
                m->has_mapped = true;
                break;
        case STUN_ATTR_ALTERNATE_SERVER:
                if (!m->has_alternate_server)
                        rc = parse_addr(v, m->txid, false, &m->alternate_server);
                m->has_alternate_server = true;
                break;
        case STUN_ATTR_XOR_MAPPED_ADDRESS:
                if (!m->has_xor_mapped)
                        rc = parse_addr(v, m->txid, true, &m->xor_mapped);
                m->has_xor_mapped = true;
                break;
        case STUN_ATTR_XOR_RELAYED_ADDRESS:
                if (!m->has_xor_relayed)
                        rc = parse_addr(v, m->txid, true, &m->xor_relayed);
                m->has_xor_relayed = true;
                break;
        case STUN_ATTR_XOR_PEER_ADDRESS: {
                struct addr a;
                rc = parse_addr(v, m->txid, true, &a);
                if (rc == 0 && m->xor_peer_count < STUN_MAX_PEER_ADDRS)
                        m->xor_peer[m->xor_peer_count] = a;
                m->xor_peer_count++;
                break;
        }
        case STUN_ATTR_USERNAME:
                if (!m->has_username)
                        m->username = view_rest(v);
                m->has_username = true;
                break;
        case STUN_ATTR_REALM:
                if (!m->has_realm)
                        m->realm = view_rest(v);
                m->has_realm = true;
                break;
        case STUN_ATTR_NONCE:
                if (!m->has_nonce)
                        m->nonce = view_rest(v);
                m->has_nonce = true;
                break;
        case STUN_ATTR_SOFTWARE:
                if (!m->has_software)
                        m->software = view_rest(v);
                m->has_software = true;
                break;
        case STUN_ATTR_ALTERNATE_DOMAIN:
                if (!m->has_alternate_domain)
                        m->alternate_domain = view_rest(v);
                m->has_alternate_domain = true;
                break;
        case STUN_ATTR_USERHASH:
                if (!m->has_userhash)
                        m->userhash = view_rest(v);
                m->has_userhash = true;
                break;
        case STUN_ATTR_DATA:
                if (!m->has_data)
                        m->data = view_rest(v);
                m->has_data = true;
                break;
        case STUN_ATTR_ERROR_CODE: {
                buf_rd_u16be(v); /* reserved */
                uint8_t cls = buf_rd_u8(v) & 7;
                uint8_t num = buf_rd_u8(v);
                if (cls < 3 || cls > 6 || num > 99)
                        return -EBADMSG;
                if (!m->has_error) {
                        m->error_code = (uint16_t)(cls * 100 + num);
                        m->error_reason = view_rest(v);
                }
                m->has_error = true;
                break;
        }
        case STUN_ATTR_UNKNOWN_ATTRIBUTES:
                if (!m->has_unknown_attributes) {
                        while (buf_rd_remaining(v) > 0) {
                                uint16_t t = buf_rd_u16be(v);
                                if (m->unknown_attrs_count < STUN_MAX_UNKNOWN)
                                        m->unknown_attrs[m->unknown_attrs_count++] = t;
                        }
                }
                m->has_unknown_attributes = true;
                break;
        case STUN_ATTR_PRIORITY:
                if (!m->has_priority)
                        m->priority = buf_rd_u32be(v);
                m->has_priority = true;
                break;
        case STUN_ATTR_USE_CANDIDATE:
                m->has_use_candidate = true;
                break;
        case STUN_ATTR_ICE_CONTROLLING:
                if (!m->has_ice_controlling)
                        m->ice_controlling = buf_rd_u64be(v);
                m->has_ice_controlling = true;
                break;
        case STUN_ATTR_ICE_CONTROLLED:
                if (!m->has_ice_controlled)
                        m->ice_controlled = buf_rd_u64be(v);
                m->has_ice_controlled = true;
                break;
        case STUN_ATTR_LIFETIME:
                if (!m->has_lifetime)
                        m->lifetime = buf_rd_u32be(v);
                m->has_lifetime = true;
                break;
        case STUN_ATTR_REQUESTED_TRANSPORT:
                if (!m->has_requested_transport)
                        m->requested_transport = buf_rd_u8(v);
                m->has_requested_transport = true;
                break;
        case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
                if (!m->has_requested_family)
                        m->requested_family = buf_rd_u8(v);
                m->has_requested_family = true;
                break;
        case STUN_ATTR_DONT_FRAGMENT:
                m->has_dont_fragment = true;
                break;
        case STUN_ATTR_EVEN_PORT:
                if (!m->has_even_port)
                        m->even_port_reserve = (buf_rd_u8(v) & 0x80) != 0;
                m->has_even_port = true;
                break;
        case STUN_ATTR_RESERVATION_TOKEN:
                if (!m->has_reservation_token)
                        buf_rd_copy(v, m->reservation_token, sizeof(m->reservation_token));
                m->has_reservation_token = true;
                break;
        case STUN_ATTR_CHANNEL_NUMBER:
                if (!m->has_channel_number)
                        m->channel_number = buf_rd_u16be(v);
                m->has_channel_number = true;
                break;
        case STUN_ATTR_CHANGE_REQUEST:
                if (!m->has_change_request) {
                        /* Flags in the last byte: 0x04 change IP, 0x02 change port. */
                        uint32_t f = buf_rd_u32be(v);
                        m->change_ip = (f & 0x04) != 0;
                        m->change_port = (f & 0x02) != 0;
                }
                m->has_change_request = true;
                break;
        case STUN_ATTR_RESPONSE_PORT:
                if (!m->has_response_port)
                        m->response_port = buf_rd_u16be(v);
                m->has_response_port = true;
                break;
        case STUN_ATTR_RESPONSE_ORIGIN:
                if (!m->has_response_origin)
                        rc = parse_addr(v, m->txid, false, &m->response_origin);
                m->has_response_origin = true;
                break;
        case STUN_ATTR_OTHER_ADDRESS:
                if (!m->has_other_address)
                        rc = parse_addr(v, m->txid, false, &m->other_address);
                m->has_other_address = true;
                break;
        case STUN_ATTR_PASSWORD_ALGORITHM: {
                uint16_t alg = parse_alg_entry(v);
                if (!buf_rd_ok(v) || buf_rd_remaining(v) != 0)
                        return -EBADMSG;
                if (!m->has_password_algorithm)
                        m->password_algorithm = alg;
                m->has_password_algorithm = true;
                break;
        }
        case STUN_ATTR_PASSWORD_ALGORITHMS: {
                struct buf_rd whole = *v;
                size_t n = 0;
                uint16_t algs[STUN_MAX_PASSWORD_ALG];
                while (buf_rd_ok(v) && buf_rd_remaining(v) > 0) {
                        uint16_t alg = parse_alg_entry(v);
                        if (n < STUN_MAX_PASSWORD_ALG)
                                algs[n++] = alg;
                }
                if (!buf_rd_ok(v))
                        return -EBADMSG;
                if (!m->has_password_algorithms) {
                        memcpy(m->password_algorithms, algs, n * sizeof(algs[0]));
                        m->password_algorithms_count = n;
                        m->password_algorithms_raw = view_rest(&whole);
                }
                m->has_password_algorithms = true;
                break;
        }
        default:
                /* Unknown: optional ones are ignored, required ones reported for a 420. */
                if (type < 0x8000) {
                        bool seen = false;
                        for (size_t i = 0; i < m->unknown_count; i++)
                                seen = seen || m->unknown[i] == type;
                        if (!seen && m->unknown_count < STUN_MAX_UNKNOWN)
                                m->unknown[m->unknown_count++] = type;
                }
                break;
        }
        if (rc == 0 && !buf_rd_ok(v))
                rc = -EBADMSG;
        return rc;
}

int stun_msg_parse(struct stun_msg *m, const uint8_t *data, size_t len)
{
        if (!m || (!data && len))
                return -EINVAL;
        memset(m, 0, sizeof(*m));

        struct buf_rd r;
        buf_rd_init(&r, data, len);
        uint16_t type = buf_rd_u16be(&r);
        uint16_t body = buf_rd_u16be(&r);
        uint32_t cookie = buf_rd_u32be(&r);
        buf_rd_copy(&r, m->txid, STUN_TXID_SIZE);
        if (!buf_rd_ok(&r) || (type & 0xC000) || cookie != STUN_MAGIC_COOKIE || body % 4 != 0 ||
            (size_t)body + STUN_HEADER_SIZE != len)
                return -EBADMSG;
        split_type(type, &m->method, &m->cls);
        m->raw_len = len;

        /* After MESSAGE-INTEGRITY(-SHA256) only the later integrity attributes count. */
        bool after_mi = false;
        while (buf_rd_remaining(&r) > 0) {
                if (m->has_fingerprint)
                        return -EBADMSG; /* FINGERPRINT must be last */
                size_t off = r.pos;
                uint16_t at = buf_rd_u16be(&r);
                uint16_t alen = buf_rd_u16be(&r);
                struct buf_rd v = buf_rd_sub(&r, alen);
                buf_rd_skip(&r, pad4(alen));
                if (!buf_rd_ok(&r))
                        return -EBADMSG;

                switch (at) {
                case STUN_ATTR_FINGERPRINT:
                        if (alen != 4)
                                return -EBADMSG;
                        m->has_fingerprint = true;
                        m->fingerprint_offset = off;
                        continue;
                case STUN_ATTR_MESSAGE_INTEGRITY:
                        if (m->has_integrity || !attr_len_ok(at, alen))
                                return -EBADMSG;
                        if (m->has_integrity_sha256)
                                continue; /* must precede the SHA-256 one; ignored otherwise */
                        m->has_integrity = true;
                        m->integrity_offset = off;
                        after_mi = true;
                        continue;
                case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
                        if (m->has_integrity_sha256 || !attr_len_ok(at, alen))
                                return -EBADMSG;
                        m->has_integrity_sha256 = true;
                        m->integrity_sha256_offset = off;
                        m->integrity_sha256_len = alen;
                        after_mi = true;
                        continue;
                default:
                        break;
                }
                if (after_mi)
                        continue;
                if (!attr_len_ok(at, alen))
                        return -EBADMSG;
                int rc = parse_attr(m, at, &v);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

/* ---- integrity ---- */

/*
 * HMAC over the message up to the attribute at attr_off, with the header length rewritten as if
 * that attribute (attr_len bytes with its header) ended the message (RFC 8489 §14.5).
 */
static int compute_hmac(gnutls_mac_algorithm_t alg, const uint8_t *key, size_t keylen,
                        const uint8_t *msg, size_t attr_off, size_t attr_len, uint8_t *out)
{
        static const uint8_t empty_key[1];
        uint8_t hdr[STUN_HEADER_SIZE];
        size_t body = attr_off - STUN_HEADER_SIZE + attr_len;
        memcpy(hdr, msg, STUN_HEADER_SIZE);
        hdr[2] = (uint8_t)(body >> 8);
        hdr[3] = (uint8_t)body;

        gnutls_hmac_hd_t h;
        if (gnutls_hmac_init(&h, alg, keylen ? key : empty_key, keylen) < 0)
                return -EIO;
        int rc = gnutls_hmac(h, hdr, sizeof(hdr));
        if (rc == 0)
                rc = gnutls_hmac(h, msg + STUN_HEADER_SIZE, attr_off - STUN_HEADER_SIZE);
        gnutls_hmac_deinit(h, out);
        return rc < 0 ? -EIO : 0;
}

static uint32_t compute_fingerprint(const uint8_t *msg, size_t fp_off)
{
        uint8_t hdr[STUN_HEADER_SIZE];
        size_t body = fp_off - STUN_HEADER_SIZE + 8;
        memcpy(hdr, msg, STUN_HEADER_SIZE);
        hdr[2] = (uint8_t)(body >> 8);
        hdr[3] = (uint8_t)body;
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, hdr, sizeof(hdr));
        crc = crc32(crc, msg + STUN_HEADER_SIZE, (uInt)(fp_off - STUN_HEADER_SIZE));
        return (uint32_t)crc ^ STUN_FINGERPRINT_XOR;
}

/* Constant-time compare: the HMAC must not leak how many leading bytes matched. */
static bool mem_equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
        uint8_t d = 0;
        for (size_t i = 0; i < n; i++)
                d |= (uint8_t)(a[i] ^ b[i]);
        return d == 0;
}

int stun_msg_check_integrity_ex(const struct stun_msg *msg, const uint8_t *raw, const uint8_t *key,
                                size_t keylen, enum stun_integrity *used)
{
        if (used)
                *used = STUN_INTEGRITY_NONE;
        if (!msg || !raw || (!key && keylen))
                return -EINVAL;
        uint8_t mac[STUN_HMAC_SHA256_MAX];
        size_t off, len;
        gnutls_mac_algorithm_t alg;
        enum stun_integrity kind;
        if (msg->has_integrity_sha256) {
                off = msg->integrity_sha256_offset;
                len = msg->integrity_sha256_len;
                alg = GNUTLS_MAC_SHA256;
                kind = STUN_INTEGRITY_SHA256;
        } else if (msg->has_integrity) {
                off = msg->integrity_offset;
                len = STUN_HMAC_SHA1_SIZE;
                alg = GNUTLS_MAC_SHA1;
                kind = STUN_INTEGRITY_SHA1;
        } else {
                return -ENOENT;
        }
        if (off < STUN_HEADER_SIZE || off + STUN_ATTR_HEADER + len > msg->raw_len)
                return -EINVAL;
        int rc = compute_hmac(alg, key, keylen, raw, off, STUN_ATTR_HEADER + len, mac);
        if (rc < 0)
                return rc;
        if (!mem_equal_ct(mac, raw + off + STUN_ATTR_HEADER, len))
                return -EACCES;
        if (used)
                *used = kind;
        return 0;
}

int stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *raw, const uint8_t *key,
                             size_t keylen)
{
        return stun_msg_check_integrity_ex(msg, raw, key, keylen, NULL);
}

int stun_msg_check_fingerprint(const struct stun_msg *msg, const uint8_t *raw)
{
        if (!msg || !raw)
                return -EINVAL;
        if (!msg->has_fingerprint)
                return -ENOENT;
        size_t off = msg->fingerprint_offset;
        if (off < STUN_HEADER_SIZE || off + 8 > msg->raw_len)
                return -EINVAL;
        struct buf_rd r;
        buf_rd_init(&r, raw + off + STUN_ATTR_HEADER, 4);
        return buf_rd_u32be(&r) == compute_fingerprint(raw, off) ? 0 : -EBADMSG;
}

static int long_term_key(gnutls_digest_algorithm_t alg, const char *username, const char *realm,
                         const char *password, uint8_t *key)
{
        if (!username || !realm || !password || !key)
                return -EINVAL;
        struct buf b = BUF_INIT;
        int rc = buf_printf(&b, "%s:%s:%s", username, realm, password);
        if (rc == 0 && gnutls_hash_fast(alg, b.data, b.len, key) < 0)
                rc = -EIO;
        if (b.data)
                gnutls_memset(b.data, 0, b.len); /* it holds the password */
        buf_free(&b);
        return rc;
}

int stun_long_term_key(const char *username, const char *realm, const char *password,
                       uint8_t key[STUN_MD5_KEY_SIZE])
{
        return long_term_key(GNUTLS_DIG_MD5, username, realm, password, key);
}

int stun_long_term_key_sha256(const char *username, const char *realm, const char *password,
                              uint8_t key[STUN_SHA256_KEY_SIZE])
{
        return long_term_key(GNUTLS_DIG_SHA256, username, realm, password, key);
}

int stun_txid_generate(uint8_t txid[STUN_TXID_SIZE])
{
        if (!txid)
                return -EINVAL;
        return rand_bytes(txid, STUN_TXID_SIZE);
}

/* ---- building ---- */

static uint8_t *msg_start(const struct stun_builder *b)
{
        return b->out->data + b->start;
}

static void set_body_len(struct stun_builder *b, size_t body)
{
        uint8_t *p = msg_start(b);
        p[2] = (uint8_t)(body >> 8);
        p[3] = (uint8_t)body;
}

size_t stun_build_len(const struct stun_builder *b)
{
        return b && b->out ? b->out->len - b->start : 0;
}

static int fail(struct stun_builder *b, int err)
{
        b->err = err;
        return err;
}

int stun_build_begin(struct stun_builder *b, struct buf *out, uint16_t method, enum stun_class cls,
                     const uint8_t txid[STUN_TXID_SIZE])
{
        if (!b)
                return -EINVAL;
        memset(b, 0, sizeof(*b));
        b->out = out;
        if (!out || !txid || method > 0x0FFF || (unsigned)cls > 3)
                return fail(b, -EINVAL);
        b->start = out->len;
        int rc = buf_append_u16be(out, stun_msg_type(method, cls));
        if (rc == 0)
                rc = buf_append_u16be(out, 0);
        if (rc == 0)
                rc = buf_append_u32be(out, STUN_MAGIC_COOKIE);
        if (rc == 0)
                rc = buf_append(out, txid, STUN_TXID_SIZE);
        if (rc < 0) {
                out->len = b->start;
                return fail(b, rc);
        }
        return 0;
}

/* Appends header + value + zero padding, then updates the message length. */
static int put_attr(struct stun_builder *b, uint16_t type, const void *v1, size_t l1,
                    const void *v2, size_t l2)
{
        static const uint8_t zeros[3];
        if (b->err)
                return b->err;
        size_t alen = l1 + l2;
        size_t body = stun_build_len(b) - STUN_HEADER_SIZE;
        if (alen > 0xFFFF || body + STUN_ATTR_HEADER + alen + pad4(alen) > STUN_MAX_BODY)
                return fail(b, -EMSGSIZE);
        size_t mark = b->out->len;
        int rc = buf_reserve(b->out, STUN_ATTR_HEADER + alen + 3);
        if (rc == 0)
                rc = buf_append_u16be(b->out, type);
        if (rc == 0)
                rc = buf_append_u16be(b->out, (uint16_t)alen);
        if (rc == 0)
                rc = buf_append(b->out, v1, l1);
        if (rc == 0)
                rc = buf_append(b->out, v2, l2);
        if (rc == 0)
                rc = buf_append(b->out, zeros, pad4(alen));
        if (rc < 0) {
                b->out->len = mark;
                return fail(b, rc);
        }
        set_body_len(b, b->out->len - b->start - STUN_HEADER_SIZE);
        return 0;
}

static int check_open(struct stun_builder *b, uint16_t type)
{
        if (!b || !b->out)
                return -EINVAL;
        if (b->err)
                return b->err;
        /* Integrity attributes go through their own functions, which compute the value. */
        if (type == STUN_ATTR_MESSAGE_INTEGRITY || type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
            type == STUN_ATTR_FINGERPRINT || b->sealed_mi || b->sealed_mi256 || b->sealed_fp)
                return fail(b, -EINVAL);
        return 0;
}

int stun_build_attr(struct stun_builder *b, uint16_t type, const void *data, size_t len)
{
        int rc = check_open(b, type);
        if (rc < 0)
                return rc;
        if ((!data && len) || !attr_len_ok(type, len))
                return fail(b, -EINVAL);
        return put_attr(b, type, data, len, NULL, 0);
}

int stun_build_str(struct stun_builder *b, uint16_t type, const char *s)
{
        if (!s)
                return b ? fail(b, -EINVAL) : -EINVAL;
        return stun_build_attr(b, type, s, strlen(s));
}

int stun_build_flag(struct stun_builder *b, uint16_t type)
{
        return stun_build_attr(b, type, NULL, 0);
}

int stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
        uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        return stun_build_attr(b, type, x, sizeof(x));
}

int stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
        uint8_t x[8];
        for (int i = 0; i < 8; i++)
                x[i] = (uint8_t)(v >> (56 - 8 * i));
        return stun_build_attr(b, type, x, sizeof(x));
}

static int build_addr(struct stun_builder *b, uint16_t type, const struct addr *a, bool xor)
{
        int rc = check_open(b, type);
        if (rc < 0)
                return rc;
        enum addr_family fam = addr_family(a);
        if (fam == ADDR_FAMILY_NONE)
                return fail(b, -EINVAL);
        size_t iplen = fam == ADDR_FAMILY_IPV4 ? 4 : 16;
        uint8_t v[20];
        uint16_t port = a->port;
        memcpy(v + 4, a->ip, iplen);
        if (xor) {
                const uint8_t *txid = msg_start(b) + 8;
                uint8_t mask[16] = {(uint8_t)(STUN_MAGIC_COOKIE >> 24),
                                    (uint8_t)(STUN_MAGIC_COOKIE >> 16),
                                    (uint8_t)(STUN_MAGIC_COOKIE >> 8), (uint8_t)STUN_MAGIC_COOKIE};
                memcpy(mask + 4, txid, STUN_TXID_SIZE);
                port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
                for (size_t i = 0; i < iplen; i++)
                        v[4 + i] ^= mask[i];
        }
        v[0] = 0;
        v[1] = (uint8_t)fam;
        v[2] = (uint8_t)(port >> 8);
        v[3] = (uint8_t)port;
        return stun_build_attr(b, type, v, 4 + iplen);
}

int stun_build_addr(struct stun_builder *b, uint16_t type, const struct addr *a)
{
        return build_addr(b, type, a, false);
}

int stun_build_xor_addr(struct stun_builder *b, uint16_t type, const struct addr *a)
{
        return build_addr(b, type, a, true);
}

int stun_build_error_code(struct stun_builder *b, uint16_t code, const char *reason)
{
        int rc = check_open(b, STUN_ATTR_ERROR_CODE);
        if (rc < 0)
                return rc;
        if (code < 300 || code > 699)
                return fail(b, -EINVAL);
        if (!reason)
                reason = stun_error_reason(code);
        size_t rlen = strlen(reason);
        if (rlen > STUN_MAX_TEXT)
                return fail(b, -EINVAL);
        uint8_t hdr[4] = {0, 0, (uint8_t)(code / 100), (uint8_t)(code % 100)};
        return put_attr(b, STUN_ATTR_ERROR_CODE, hdr, sizeof(hdr), reason, rlen);
}

int stun_build_unknown_attributes(struct stun_builder *b, const uint16_t *types, size_t n)
{
        uint8_t v[2 * STUN_MAX_UNKNOWN];
        if (n > STUN_MAX_UNKNOWN || (!types && n))
                return b ? fail(b, -EINVAL) : -EINVAL;
        for (size_t i = 0; i < n; i++) {
                v[2 * i] = (uint8_t)(types[i] >> 8);
                v[2 * i + 1] = (uint8_t)types[i];
        }
        return stun_build_attr(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, v, 2 * n);
}

int stun_build_requested_transport(struct stun_builder *b, uint8_t protocol)
{
        uint8_t v[4] = {protocol, 0, 0, 0};
        return stun_build_attr(b, STUN_ATTR_REQUESTED_TRANSPORT, v, sizeof(v));
}

int stun_build_requested_family(struct stun_builder *b, enum addr_family family)
{
        uint8_t v[4] = {(uint8_t)family, 0, 0, 0};
        if (family != ADDR_FAMILY_IPV4 && family != ADDR_FAMILY_IPV6)
                return b ? fail(b, -EINVAL) : -EINVAL;
        return stun_build_attr(b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, v, sizeof(v));
}

int stun_build_even_port(struct stun_builder *b, bool reserve)
{
        uint8_t v = reserve ? 0x80 : 0;
        return stun_build_attr(b, STUN_ATTR_EVEN_PORT, &v, 1);
}

int stun_build_channel_number(struct stun_builder *b, uint16_t channel)
{
        uint8_t v[4] = {(uint8_t)(channel >> 8), (uint8_t)channel, 0, 0};
        return stun_build_attr(b, STUN_ATTR_CHANNEL_NUMBER, v, sizeof(v));
}

int stun_build_password_algorithm(struct stun_builder *b, uint16_t alg)
{
        /* MD5 and SHA-256 take no parameters. */
        uint8_t v[4] = {(uint8_t)(alg >> 8), (uint8_t)alg, 0, 0};
        return stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHM, v, sizeof(v));
}

int stun_build_change_request(struct stun_builder *b, bool change_ip, bool change_port)
{
        uint8_t v[4] = {0, 0, 0, (uint8_t)((change_ip ? 0x04 : 0) | (change_port ? 0x02 : 0))};
        return stun_build_attr(b, STUN_ATTR_CHANGE_REQUEST, v, sizeof(v));
}

int stun_build_response_port(struct stun_builder *b, uint16_t port)
{
        /* The port, then two bytes of padding inside the value (RFC 5780 §7.5). */
        uint8_t v[4] = {(uint8_t)(port >> 8), (uint8_t)port, 0, 0};
        return stun_build_attr(b, STUN_ATTR_RESPONSE_PORT, v, sizeof(v));
}

int stun_build_password_algorithms(struct stun_builder *b, const uint16_t *algs, size_t n)
{
        uint8_t v[4 * STUN_MAX_PASSWORD_ALG];
        if (n > STUN_MAX_PASSWORD_ALG || (!algs && n))
                return b ? fail(b, -EINVAL) : -EINVAL;
        memset(v, 0, sizeof(v));
        for (size_t i = 0; i < n; i++) {
                v[4 * i] = (uint8_t)(algs[i] >> 8);
                v[4 * i + 1] = (uint8_t)algs[i];
        }
        return stun_build_attr(b, STUN_ATTR_PASSWORD_ALGORITHMS, v, 4 * n);
}

static int build_integrity(struct stun_builder *b, uint16_t type, gnutls_mac_algorithm_t alg,
                           size_t maclen, const uint8_t *key, size_t keylen)
{
        if (!b || !b->out)
                return -EINVAL;
        if (b->err)
                return b->err;
        if ((!key && keylen) || b->sealed_fp || b->sealed_mi256 ||
            (type == STUN_ATTR_MESSAGE_INTEGRITY && b->sealed_mi))
                return fail(b, -EINVAL);
        uint8_t mac[STUN_HMAC_SHA256_MAX];
        size_t off = b->out->len - b->start;
        int rc = compute_hmac(alg, key, keylen, msg_start(b), off, STUN_ATTR_HEADER + maclen, mac);
        if (rc < 0)
                return fail(b, rc);
        rc = put_attr(b, type, mac, maclen, NULL, 0);
        if (rc == 0 && type == STUN_ATTR_MESSAGE_INTEGRITY)
                b->sealed_mi = true;
        else if (rc == 0)
                b->sealed_mi256 = true;
        return rc;
}

int stun_build_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
        return build_integrity(b, STUN_ATTR_MESSAGE_INTEGRITY, GNUTLS_MAC_SHA1, STUN_HMAC_SHA1_SIZE,
                               key, keylen);
}

int stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
        return build_integrity(b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, GNUTLS_MAC_SHA256,
                               STUN_HMAC_SHA256_MAX, key, keylen);
}

int stun_build_fingerprint(struct stun_builder *b)
{
        if (!b || !b->out)
                return -EINVAL;
        if (b->err)
                return b->err;
        if (b->sealed_fp)
                return fail(b, -EINVAL);
        size_t off = b->out->len - b->start;
        if (off + 8 - STUN_HEADER_SIZE > STUN_MAX_BODY)
                return fail(b, -EMSGSIZE);
        uint32_t crc = compute_fingerprint(msg_start(b), off);
        uint8_t v[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                        (uint8_t)crc};
        int rc = put_attr(b, STUN_ATTR_FINGERPRINT, v, sizeof(v), NULL, 0);
        if (rc == 0)
                b->sealed_fp = true;
        return rc;
}

/* ---- ChannelData ---- */

int stun_channel_data_parse(struct stun_channel_data *cd, const uint8_t *raw, size_t len,
                            bool stream, size_t *frame_len)
{
        if (!cd || (!raw && len))
                return -EINVAL;
        memset(cd, 0, sizeof(*cd));
        struct buf_rd r;
        buf_rd_init(&r, raw, len);
        uint16_t channel = buf_rd_u16be(&r);
        uint16_t dlen = buf_rd_u16be(&r);
        const uint8_t *data = buf_rd_bytes(&r, dlen);
        if (!buf_rd_ok(&r) || channel < 0x4000 || channel > 0x4FFF)
                return -EBADMSG;
        size_t total = 4 + (size_t)dlen;
        if (stream) {
                /* On a stream the padding is part of the frame and must be there. */
                total += pad4(dlen);
                if (total > len)
                        return -EBADMSG;
        }
        cd->channel = channel;
        cd->data = data;
        cd->len = dlen;
        if (frame_len)
                *frame_len = total;
        return 0;
}

int stun_channel_data_build(struct buf *out, uint16_t channel, const uint8_t *data, size_t len,
                            bool pad)
{
        static const uint8_t zeros[3];
        if (!out || (!data && len) || len > 0xFFFF || channel < 0x4000 || channel > 0x4FFF)
                return -EINVAL;
        size_t mark = out->len;
        int rc = buf_reserve(out, 4 + len + 3);
        if (rc == 0)
                rc = buf_append_u16be(out, channel);
        if (rc == 0)
                rc = buf_append_u16be(out, (uint16_t)len);
        if (rc == 0)
                rc = buf_append(out, data, len);
        if (rc == 0 && pad)
                rc = buf_append(out, zeros, pad4(len));
        if (rc < 0)
                out->len = mark;
        return rc;
}

int stun_stream_frame_len(const uint8_t *data, size_t len, size_t *frame_len)
{
        if (!frame_len || (!data && len))
                return -EINVAL;
        struct buf_rd r;
        buf_rd_init(&r, data, len);
        uint8_t first = buf_rd_u8(&r);
        buf_rd_skip(&r, 1);
        uint16_t n = buf_rd_u16be(&r);
        if (!buf_rd_ok(&r))
                return -EAGAIN;
        if (first <= 3) {
                if (n % 4 != 0)
                        return -EBADMSG;
                *frame_len = STUN_HEADER_SIZE + (size_t)n;
                return 0;
        }
        if (first >= 0x40 && first <= 0x4F) {
                *frame_len = 4 + (size_t)n + pad4(n);
                return 0;
        }
        return -EBADMSG;
}
