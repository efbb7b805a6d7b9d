/*
 * SDP parser and writer. Input is split into lines; each line is copied into a bounded,
 * NUL-terminated scratch buffer and tokenized there, so no parsing step can run past the input.
 * The parser is a flat loop over lines (no recursion) with a hard cap on every count.
 */
#include "sdp/sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Grows arr so that index n is usable; capacity is implicit (the next power of two). */
static void *grow(void *arr, size_t n, size_t elem)
{
        if (n != 0 && (n & (n - 1)) != 0)
                return arr;
        size_t cap = n ? n * 2 : 1;
        return realloc(arr, cap * elem);
}

#define ARR_PUSH(arr, n, rc)                                                                       \
        do {                                                                                       \
                void *p_ = grow((arr), (n), sizeof(*(arr)));                                       \
                if (!p_) {                                                                         \
                        (rc) = -ENOMEM;                                                            \
                } else {                                                                           \
                        (arr) = p_;                                                                \
                        memset(&(arr)[(n)], 0, sizeof(*(arr)));                                    \
                        (n)++;                                                                     \
                        (rc) = 0;                                                                  \
                }                                                                                  \
        } while (0)

static char *xstrdup(const char *s)
{
        size_t n = strlen(s) + 1;
        char *d = malloc(n);
        if (d)
                memcpy(d, s, n);
        return d;
}

static int push_str(char ***arr, size_t *n, const char *s)
{
        int rc;
        char *d = xstrdup(s);
        if (!d)
                return -ENOMEM;
        ARR_PUSH(*arr, *n, rc);
        if (rc < 0) {
                free(d);
                return rc;
        }
        (*arr)[*n - 1] = d;
        return 0;
}

static void free_strs(char **arr, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(arr[i]);
        free(arr);
}

/* ---- character classes and numbers ---- */

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(char c)
{
        if (is_digit(c))
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return c - 'A' + 10;
}

/* RFC 8866 token-char: printable ASCII except a few separators. */
static bool is_token_char(char c)
{
        unsigned char u = (unsigned char)c;
        if (u <= 0x20 || u >= 0x7f)
                return false;
        return strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static bool is_token(const char *s, size_t max)
{
        size_t n = 0;
        for (; s[n]; n++)
                if (!is_token_char(s[n]))
                        return false;
        return n > 0 && n <= max;
}

static bool is_ice_char(char c)
{
        return is_alpha(c) || is_digit(c) || c == '+' || c == '/';
}

/* Decimal only: no sign, no spaces, no overflow. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
        uint64_t v = 0;
        if (!*s)
                return false;
        for (; *s; s++) {
                if (!is_digit(*s))
                        return false;
                unsigned d = (unsigned)(*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (v > max)
                return false;
        *out = v;
        return true;
}

static bool is_ipv4(const char *s)
{
        int parts = 0;
        while (parts < 4) {
                int n = 0, v = 0;
                while (is_digit(s[n]) && n < 3) {
                        v = v * 10 + (s[n] - '0');
                        n++;
                }
                if (n == 0 || v > 255 || is_digit(s[n]))
                        return false;
                s += n;
                parts++;
                if (parts < 4) {
                        if (*s != '.')
                                return false;
                        s++;
                }
        }
        return *s == '\0';
}

static bool is_ipv6(const char *s)
{
        size_t len = strlen(s);
        if (len < 2 || len > 45)
                return false;
        int groups = 0;
        bool dbl = false;
        const char *p = s;
        if (p[0] == ':') {
                if (p[1] != ':')
                        return false;
                dbl = true;
                p += 2;
                if (!*p)
                        return true;
        }
        for (;;) {
                size_t k = 0;
                while (is_hex(p[k]))
                        k++;
                if (p[k] == '.') {
                        /* Embedded IPv4 (::ffff:192.0.2.1) ends the address. */
                        if (!is_ipv4(p))
                                return false;
                        groups += 2;
                        break;
                }
                if (k == 0 || k > 4)
                        return false;
                groups++;
                p += k;
                if (!*p)
                        break;
                if (*p != ':')
                        return false;
                p++;
                if (*p == ':') {
                        if (dbl)
                                return false;
                        dbl = true;
                        p++;
                        if (!*p)
                                break;
                } else if (!*p) {
                        return false;
                }
        }
        return dbl ? groups <= 7 : groups == 8;
}

static bool is_hostname(const char *s)
{
        size_t n = 0;
        bool only_num = true;
        for (; s[n]; n++) {
                char c = s[n];
                if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'))
                        return false;
                if (!is_digit(c) && c != '.')
                        only_num = false;
        }
        /* Digits and dots only would be a malformed IPv4 address, not a name. */
        return n > 0 && n <= SDP_ADDR_MAX && !only_num && s[0] != '.' && s[0] != '-';
}

static bool is_address(const char *s)
{
        return is_ipv4(s) || is_ipv6(s) || is_hostname(s);
}

/* Splits off the next space-separated token (several spaces count as one). */
static char *next_tok(char **sp)
{
        char *s = *sp;
        while (*s == ' ' || *s == '\t')
                s++;
        if (!*s) {
                *sp = s;
                return NULL;
        }
        char *t = s;
        while (*s && *s != ' ' && *s != '\t')
                s++;
        if (*s)
                *s++ = '\0';
        *sp = s;
        return t;
}

static char *skip_ws(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
        size_t n = strlen(src);
        if (n >= cap)
                return false;
        memcpy(dst, src, n + 1);
        return true;
}

/* ---- names ---- */

static const struct {
        const char *name;
        enum sdp_hash hash;
        uint8_t len;
} hashes[] = {
    {"sha-1", SDP_HASH_SHA1, 20},     {"sha-224", SDP_HASH_SHA224, 28},
    {"sha-256", SDP_HASH_SHA256, 32}, {"sha-384", SDP_HASH_SHA384, 48},
    {"sha-512", SDP_HASH_SHA512, 64},
};

const char *sdp_hash_name(enum sdp_hash h)
{
        for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
                if (hashes[i].hash == h)
                        return hashes[i].name;
        return "";
}

const char *sdp_direction_name(enum sdp_direction d)
{
        switch (d) {
        case SDP_DIR_SENDRECV:
                return "sendrecv";
        case SDP_DIR_SENDONLY:
                return "sendonly";
        case SDP_DIR_RECVONLY:
                return "recvonly";
        case SDP_DIR_INACTIVE:
                return "inactive";
        default:
                return "";
        }
}

const char *sdp_setup_name(enum sdp_setup s)
{
        switch (s) {
        case SDP_SETUP_ACTPASS:
                return "actpass";
        case SDP_SETUP_ACTIVE:
                return "active";
        case SDP_SETUP_PASSIVE:
                return "passive";
        case SDP_SETUP_HOLDCONN:
                return "holdconn";
        default:
                return "";
        }
}

static enum sdp_direction direction_from(const char *s)
{
        static const enum sdp_direction all[] = {SDP_DIR_SENDRECV, SDP_DIR_SENDONLY,
                                                 SDP_DIR_RECVONLY, SDP_DIR_INACTIVE};
        for (size_t i = 0; i < 4; i++)
                if (strcmp(s, sdp_direction_name(all[i])) == 0)
                        return all[i];
        return SDP_DIR_NONE;
}

int sdp_fingerprint_from_text(const char *hash, const char *hex, struct sdp_fingerprint *fp)
{
        size_t h;
        for (h = 0; h < sizeof(hashes) / sizeof(hashes[0]); h++)
                if (strcasecmp(hash, hashes[h].name) == 0)
                        break;
        if (h == sizeof(hashes) / sizeof(hashes[0]))
                return -ENOENT;
        size_t n = 0;
        const char *p = hex;
        for (;;) {
                if (!is_hex(p[0]) || !is_hex(p[1]) || n >= hashes[h].len)
                        return -EBADMSG;
                fp->digest[n++] = (uint8_t)(hex_val(p[0]) << 4 | hex_val(p[1]));
                p += 2;
                if (!*p)
                        break;
                if (*p != ':')
                        return -EBADMSG;
                p++;
        }
        if (n != hashes[h].len)
                return -EBADMSG;
        fp->hash = hashes[h].hash;
        fp->len = hashes[h].len;
        return 0;
}

void sdp_fingerprint_hex(const struct sdp_fingerprint *fp, char out[SDP_FINGERPRINT_HEX_MAX])
{
        static const char digits[] = "0123456789ABCDEF";
        size_t o = 0;
        for (size_t i = 0; i < fp->len && i < SDP_FINGERPRINT_MAX; i++) {
                if (i)
                        out[o++] = ':';
                out[o++] = digits[fp->digest[i] >> 4];
                out[o++] = digits[fp->digest[i] & 15];
        }
        out[o] = '\0';
}

/* ---- candidates ---- */

static const char *const cand_types[] = {"host", "srflx", "prflx", "relay"};
static const char *const tcptypes[] = {"", "active", "passive", "so"};

static int cand_parse(char *s, struct sdp_candidate *c, char *why, size_t why_len)
{
        memset(c, 0, sizeof(*c));
        char *f[7];
        for (int i = 0; i < 7; i++) {
                f[i] = next_tok(&s);
                if (!f[i]) {
                        snprintf(why, why_len,
                                 "a=candidate needs foundation, component, transport, priority, "
                                 "address, port and typ");
                        return -EBADMSG;
                }
        }
        char *typ = next_tok(&s);
        uint64_t v;
        if (!copy_field(c->foundation, sizeof(c->foundation), f[0]) ||
            strspn(f[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/") !=
                strlen(f[0])) {
                snprintf(why, why_len, "bad candidate foundation \"%.40s\"", f[0]);
                return -EBADMSG;
        }
        if (!parse_u64(f[1], 256, &v) || v == 0) {
                snprintf(why, why_len, "bad candidate component \"%.40s\"", f[1]);
                return -EBADMSG;
        }
        c->component = (uint16_t)v;
        if (!is_token(f[2], SDP_TOKEN_MAX)) {
                snprintf(why, why_len, "bad candidate transport \"%.40s\"", f[2]);
                return -EBADMSG;
        }
        for (size_t i = 0; f[2][i]; i++)
                c->transport[i] =
                    (char)((f[2][i] >= 'A' && f[2][i] <= 'Z') ? f[2][i] + 32 : f[2][i]);
        if (!parse_u64(f[3], 0x7fffffff, &v) || v == 0) {
                snprintf(why, why_len, "bad candidate priority \"%.40s\"", f[3]);
                return -EBADMSG;
        }
        c->priority = (uint32_t)v;
        if (!is_address(f[4])) {
                snprintf(why, why_len, "bad candidate address \"%.60s\"", f[4]);
                return -EBADMSG;
        }
        copy_field(c->address, sizeof(c->address), f[4]);
        if (!parse_u64(f[5], 65535, &v)) {
                snprintf(why, why_len, "bad candidate port \"%.40s\"", f[5]);
                return -EBADMSG;
        }
        c->port = (uint16_t)v;
        if (strcmp(f[6], "typ") != 0) {
                snprintf(why, why_len, "candidate has \"%.40s\" where \"typ\" belongs", f[6]);
                return -EBADMSG;
        }
        size_t t;
        for (t = 0; typ && t < 4; t++)
                if (strcmp(typ, cand_types[t]) == 0)
                        break;
        if (!typ || t == 4) {
                snprintf(why, why_len, "bad candidate type \"%.40s\"", typ ? typ : "");
                return -EBADMSG;
        }
        c->type = (enum sdp_cand_type)t;

        bool has_raddr = false, has_rport = false;
        size_t ext_len = 0;
        char *name;
        while ((name = next_tok(&s))) {
                char *val = next_tok(&s);
                if (!val) {
                        snprintf(why, why_len, "candidate extension \"%.40s\" has no value", name);
                        return -EBADMSG;
                }
                if (strcmp(name, "raddr") == 0) {
                        if (has_raddr || !is_address(val)) {
                                snprintf(why, why_len, "bad candidate raddr \"%.60s\"", val);
                                return -EBADMSG;
                        }
                        copy_field(c->raddr, sizeof(c->raddr), val);
                        has_raddr = true;
                } else if (strcmp(name, "rport") == 0) {
                        if (has_rport || !parse_u64(val, 65535, &v)) {
                                snprintf(why, why_len, "bad candidate rport \"%.40s\"", val);
                                return -EBADMSG;
                        }
                        c->rport = (uint16_t)v;
                        has_rport = true;
                } else if (strcmp(name, "tcptype") == 0) {
                        size_t k;
                        for (k = 1; k < 4; k++)
                                if (strcmp(val, tcptypes[k]) == 0)
                                        break;
                        if (k == 4 || c->tcptype != SDP_TCPTYPE_NONE) {
                                snprintf(why, why_len, "bad candidate tcptype \"%.40s\"", val);
                                return -EBADMSG;
                        }
                        c->tcptype = (enum sdp_tcptype)k;
                } else {
                        size_t nl = strlen(name), vl = strlen(val);
                        if (!is_token(name, SDP_TOKEN_MAX) ||
                            ext_len + (ext_len ? 1 : 0) + nl + 1 + vl > SDP_CAND_EXT_MAX) {
                                snprintf(why, why_len,
                                         "candidate extension \"%.40s\" is malformed or "
                                         "too long",
                                         name);
                                return -EBADMSG;
                        }
                        if (ext_len)
                                c->ext[ext_len++] = ' ';
                        memcpy(c->ext + ext_len, name, nl);
                        ext_len += nl;
                        c->ext[ext_len++] = ' ';
                        memcpy(c->ext + ext_len, val, vl);
                        ext_len += vl;
                        c->ext[ext_len] = '\0';
                }
        }
        if (has_raddr != has_rport) {
                snprintf(why, why_len, "candidate has %s without %s", has_raddr ? "raddr" : "rport",
                         has_raddr ? "rport" : "raddr");
                return -EBADMSG;
        }
        return 0;
}

int sdp_candidate_parse(const char *value, struct sdp_candidate *c)
{
        char tmp[SDP_MAX_LINE + 1];
        char why[160];
        if (!value || !c)
                return -EINVAL;
        size_t n = strnlen(value, sizeof(tmp));
        if (n >= sizeof(tmp))
                return -EBADMSG;
        memcpy(tmp, value, n + 1);
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)tmp[i] < 0x20 && tmp[i] != '\t')
                        return -EBADMSG;
        return cand_parse(tmp, c, why, sizeof(why));
}

int sdp_candidate_write(const struct sdp_candidate *c, struct buf *out)
{
        if (!c->foundation[0] || !c->transport[0] || !c->address[0] || c->type > SDP_CAND_RELAY ||
            c->tcptype > SDP_TCPTYPE_SO)
                return -EINVAL;
        int rc = buf_printf(out, "%s %u %s %u %s %u typ %s", c->foundation, c->component,
                            c->transport, c->priority, c->address, c->port, cand_types[c->type]);
        if (rc == 0 && c->raddr[0])
                rc = buf_printf(out, " raddr %s rport %u", c->raddr, c->rport);
        if (rc == 0 && c->tcptype != SDP_TCPTYPE_NONE)
                rc = buf_printf(out, " tcptype %s", tcptypes[c->tcptype]);
        if (rc == 0 && c->ext[0])
                rc = buf_printf(out, " %s", c->ext);
        return rc;
}

int sdp_candidate_ext_get(const struct sdp_candidate *c, const char *name, char *val, size_t cap)
{
        const char *p = c->ext;
        size_t nl = strlen(name);
        while (*p) {
                const char *ne = strchr(p, ' ');
                if (!ne)
                        break;
                const char *v = ne + 1;
                const char *ve = strchr(v, ' ');
                size_t vl = ve ? (size_t)(ve - v) : strlen(v);
                if ((size_t)(ne - p) == nl && memcmp(p, name, nl) == 0) {
                        if (vl >= cap)
                                return -ENOSPC;
                        memcpy(val, v, vl);
                        val[vl] = '\0';
                        return 0;
                }
                if (!ve)
                        break;
                p = ve + 1;
        }
        return -ENOENT;
}

/* ---- construction and destruction ---- */

static void media_clear(struct sdp_media *m)
{
        for (size_t i = 0; i < m->n_codecs; i++) {
                free(m->codecs[i].fmtp);
                free_strs(m->codecs[i].fb, m->codecs[i].n_fb);
        }
        free(m->codecs);
        free_strs(m->fb_all, m->n_fb_all);
        free_strs(m->fmts, m->n_fmts);
        free(m->info);
        free_strs(m->bw, m->n_bw);
        free(m->ice_options);
        free(m->rtcp);
        free_strs(m->msid, m->n_msid);
        for (size_t i = 0; i < m->n_extmaps; i++) {
                free(m->extmaps[i].uri);
                free(m->extmaps[i].params);
        }
        free(m->extmaps);
        for (size_t i = 0; i < m->n_ssrc_groups; i++) {
                free(m->ssrc_groups[i].semantics);
                free(m->ssrc_groups[i].ssrcs);
        }
        free(m->ssrc_groups);
        for (size_t i = 0; i < m->n_ssrcs; i++) {
                free(m->ssrcs[i].attr);
                free(m->ssrcs[i].value);
        }
        free(m->ssrcs);
        free(m->candidates);
        for (size_t i = 0; i < m->n_attrs; i++) {
                free(m->attrs[i].name);
                free(m->attrs[i].value);
        }
        free(m->attrs);
}

void sdp_free(struct sdp *s)
{
        if (!s)
                return;
        free(s->name);
        free(s->info);
        free_strs(s->bw, s->n_bw);
        for (size_t i = 0; i < s->n_extra; i++)
                free(s->extra[i].value);
        free(s->extra);
        for (size_t i = 0; i < s->n_groups; i++) {
                free(s->groups[i].semantics);
                free_strs(s->groups[i].mids, s->groups[i].n_mids);
        }
        free(s->groups);
        free(s->msid_semantic);
        free(s->ice_options);
        for (size_t i = 0; i < s->n_attrs; i++) {
                free(s->attrs[i].name);
                free(s->attrs[i].value);
        }
        free(s->attrs);
        for (size_t i = 0; i < s->n_media; i++)
                media_clear(&s->media[i]);
        free(s->media);
        free(s);
}

struct sdp *sdp_new(void)
{
        struct sdp *s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        strcpy(s->origin_user, "-");
        strcpy(s->origin_nettype, "IN");
        strcpy(s->origin_addrtype, "IP4");
        strcpy(s->origin_addr, "127.0.0.1");
        return s;
}

struct sdp_media *sdp_add_media(struct sdp *s)
{
        int rc;
        if (s->n_media >= SDP_MAX_MEDIA)
                return NULL;
        ARR_PUSH(s->media, s->n_media, rc);
        if (rc < 0)
                return NULL;
        struct sdp_media *m = &s->media[s->n_media - 1];
        m->sctp_port = -1;
        return m;
}

/* ---- parser ---- */

struct parser {
        struct sdp *s;
        struct sdp_media *m; /* current section, NULL at session level */
        struct sdp_error *err;
        int line;
        bool seen_v, seen_o, seen_s, seen_t;
        int *group_lines; /* line of each a=group, for errors found at the end */
        size_t n_group_lines;
};

static int fail(struct parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, int code, const char *fmt, ...)
{
        if (p->err) {
                va_list ap;
                va_start(ap, fmt);
                p->err->line = p->line;
                vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
                va_end(ap);
        }
        return code;
}

static int add_attr(struct parser *p, struct sdp_attr **arr, size_t *n, const char *name,
                    const char *value)
{
        int rc;
        char *nd = xstrdup(name);
        char *vd = value ? xstrdup(value) : NULL;
        if (!nd || (value && !vd)) {
                free(nd);
                free(vd);
                return fail(p, -ENOMEM, "out of memory");
        }
        ARR_PUSH(*arr, *n, rc);
        if (rc < 0) {
                free(nd);
                free(vd);
                return fail(p, rc, "out of memory");
        }
        (*arr)[*n - 1].name = nd;
        (*arr)[*n - 1].value = vd;
        return 0;
}

static int set_str(struct parser *p, char **dst, const char *v, const char *what)
{
        if (*dst)
                return fail(p, -EBADMSG, "second %s in one section", what);
        *dst = xstrdup(v);
        if (!*dst)
                return fail(p, -ENOMEM, "out of memory");
        return 0;
}

static int parse_conn(struct parser *p, char *v, struct sdp_conn *c)
{
        if (c->present)
                return fail(p, -EBADMSG, "second c= line in one section");
        char *net = next_tok(&v), *type = next_tok(&v), *addr = next_tok(&v);
        if (!addr || next_tok(&v) || strcmp(net, "IN") != 0 ||
            (strcmp(type, "IP4") != 0 && strcmp(type, "IP6") != 0))
                return fail(p, -EBADMSG,
                            "c= line must be \"IN IP4 <address>\" or \"IN IP6 <address>\"");
        c->ip6 = type[2] == '6';
        bool ok =
            c->ip6 ? (is_ipv6(addr) || is_hostname(addr)) : (is_ipv4(addr) || is_hostname(addr));
        if (!ok)
                return fail(p, -EBADMSG, "bad address \"%.60s\" in c= line", addr);
        copy_field(c->addr, sizeof(c->addr), addr);
        c->present = true;
        return 0;
}

static int parse_origin(struct parser *p, char *v)
{
        struct sdp *s = p->s;
        char *f[6];
        for (int i = 0; i < 6; i++)
                f[i] = next_tok(&v);
        if (!f[5] || next_tok(&v))
                return fail(p, -EBADMSG,
                            "o= line needs 6 fields: username, session id, version, "
                            "network type, address type, address");
        if (!copy_field(s->origin_user, sizeof(s->origin_user), f[0]))
                return fail(p, -EBADMSG, "o= username is too long");
        if (!parse_u64(f[1], UINT64_MAX, &s->session_id))
                return fail(p, -EBADMSG, "bad session id \"%.40s\" in o= line", f[1]);
        if (!parse_u64(f[2], UINT64_MAX, &s->session_version))
                return fail(p, -EBADMSG, "bad session version \"%.40s\" in o= line", f[2]);
        if (!is_token(f[3], SDP_TOKEN_MAX) || !is_token(f[4], SDP_TOKEN_MAX) ||
            !copy_field(s->origin_addr, sizeof(s->origin_addr), f[5]))
                return fail(p, -EBADMSG, "bad network or address in o= line");
        copy_field(s->origin_nettype, sizeof(s->origin_nettype), f[3]);
        copy_field(s->origin_addrtype, sizeof(s->origin_addrtype), f[4]);
        return 0;
}

static int parse_m(struct parser *p, char *v)
{
        struct sdp *s = p->s;
        int rc;
        if (s->n_media >= SDP_MAX_MEDIA)
                return fail(p, -E2BIG, "more than %d m= sections", SDP_MAX_MEDIA);
        char *media = next_tok(&v), *port = next_tok(&v), *proto = next_tok(&v);
        if (!proto)
                return fail(p, -EBADMSG, "m= line needs media, port, proto and formats");
        struct sdp_media *m = sdp_add_media(s);
        if (!m)
                return fail(p, -ENOMEM, "out of memory");
        p->m = m;
        if (!is_token(media, SDP_TOKEN_MAX))
                return fail(p, -EBADMSG, "bad media type \"%.40s\" in m= line", media);
        copy_field(m->media, sizeof(m->media), media);
        if (strcmp(media, "audio") == 0)
                m->type = SDP_MEDIA_AUDIO;
        else if (strcmp(media, "video") == 0)
                m->type = SDP_MEDIA_VIDEO;
        else if (strcmp(media, "application") == 0)
                m->type = SDP_MEDIA_APPLICATION;
        uint64_t n;
        if (!parse_u64(port, 65535, &n))
                return fail(p, -EBADMSG, "bad port \"%.40s\" in m= line", port);
        m->port = (uint16_t)n;
        if (strspn(proto, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-") !=
                strlen(proto) ||
            strlen(proto) > SDP_TOKEN_MAX || proto[0] == '/')
                return fail(p, -EBADMSG, "bad proto \"%.40s\" in m= line", proto);
        copy_field(m->proto, sizeof(m->proto), proto);
        m->rtp = strstr(proto, "RTP/") != NULL;
        char *f;
        size_t count = 0;
        while ((f = next_tok(&v))) {
                if (++count > SDP_MAX_FORMATS)
                        return fail(p, -E2BIG, "more than %d formats in m= line", SDP_MAX_FORMATS);
                if (!m->rtp) {
                        if (!is_token(f, SDP_TOKEN_MAX))
                                return fail(p, -EBADMSG, "bad format \"%.40s\" in m= line", f);
                        rc = push_str(&m->fmts, &m->n_fmts, f);
                        if (rc < 0)
                                return fail(p, rc, "out of memory");
                        continue;
                }
                if (!parse_u64(f, UINT64_MAX, &n))
                        return fail(p, -EBADMSG, "bad payload type \"%.40s\" in m= line", f);
                if (n > 127)
                        return fail(p, -EBADMSG,
                                    "payload type %.40s out of range (0..127) in m= line", f);
                if (sdp_media_codec(m, (unsigned)n))
                        return fail(p, -EBADMSG, "payload type %u listed twice in m= line",
                                    (unsigned)n);
                ARR_PUSH(m->codecs, m->n_codecs, rc);
                if (rc < 0)
                        return fail(p, rc, "out of memory");
                m->codecs[m->n_codecs - 1].pt = (uint8_t)n;
        }
        if (count == 0)
                return fail(p, -EBADMSG, "m= line has no formats");
        return 0;
}

/* Parses the payload type that starts an rtpmap/fmtp/rtcp-fb value; NULL codec if not listed. */
static int attr_pt(struct parser *p, const char *name, const char *tok, struct sdp_codec **out)
{
        uint64_t n;
        *out = NULL;
        if (!tok || !parse_u64(tok, UINT64_MAX, &n))
                return fail(p, -EBADMSG, "bad payload type \"%.40s\" in a=%s", tok ? tok : "",
                            name);
        if (n > 127)
                return fail(p, -EBADMSG, "a=%s payload type %.40s out of range (0..127)", name,
                            tok);
        *out = (struct sdp_codec *)sdp_media_codec(p->m, (unsigned)n);
        return 0;
}

static int check_ice_cred(struct parser *p, const char *name, const char *v, size_t min)
{
        size_t n = strlen(v);
        for (size_t i = 0; i < n; i++)
                if (!is_ice_char(v[i]))
                        return fail(p, -EBADMSG,
                                    "a=%s \"%.40s\" has characters other than letters, digits, '+' "
                                    "and '/'",
                                    name, v);
        if (n < min || n > SDP_ICE_CRED_MAX)
                return fail(p, -EBADMSG, "a=%s \"%.40s\" is %zu characters, must be %zu to %d",
                            name, v, n, min, SDP_ICE_CRED_MAX);
        return 0;
}

static int parse_fingerprint(struct parser *p, char *v, struct sdp_fingerprint *arr, size_t *n)
{
        char *hash = next_tok(&v), *hex = next_tok(&v);
        if (!hex || next_tok(&v))
                return fail(p, -EBADMSG, "a=fingerprint must be \"<hash> <hex>\"");
        if (*n >= SDP_MAX_FINGERPRINTS)
                return fail(p, -E2BIG, "more than %d a=fingerprint lines", SDP_MAX_FINGERPRINTS);
        int rc = sdp_fingerprint_from_text(hash, hex, &arr[*n]);
        if (rc == -ENOENT)
                return fail(p, -EBADMSG,
                            "unknown fingerprint hash \"%.20s\" (sha-1, sha-224, "
                            "sha-256, sha-384 or sha-512)",
                            hash);
        if (rc < 0)
                return fail(p, -EBADMSG,
                            "bad fingerprint \"%.60s\" for %.20s (hex bytes separated "
                            "by colons)",
                            hex, hash);
        (*n)++;
        return 0;
}

static int parse_setup(struct parser *p, const char *v, enum sdp_setup *dst)
{
        static const enum sdp_setup all[] = {SDP_SETUP_ACTPASS, SDP_SETUP_ACTIVE, SDP_SETUP_PASSIVE,
                                             SDP_SETUP_HOLDCONN};
        if (*dst != SDP_SETUP_NONE)
                return fail(p, -EBADMSG, "second a=setup in one section");
        for (size_t i = 0; i < 4; i++)
                if (strcmp(v, sdp_setup_name(all[i])) == 0) {
                        *dst = all[i];
                        return 0;
                }
        return fail(p, -EBADMSG,
                    "bad a=setup value \"%.40s\" (actpass, active, passive or "
                    "holdconn)",
                    v);
}

static int set_cred(struct parser *p, const char *name, const char *v, char *dst, size_t min)
{
        if (dst[0])
                return fail(p, -EBADMSG, "second a=%s in one section", name);
        int rc = check_ice_cred(p, name, v, min);
        if (rc < 0)
                return rc;
        copy_field(dst, SDP_ICE_CRED_MAX + 1, v);
        return 0;
}

/* Attributes that may appear at both levels. Returns 1 when the name is not one of them. */
static int parse_common_attr(struct parser *p, const char *name, char *v)
{
        struct sdp *s = p->s;
        struct sdp_media *m = p->m;
        enum sdp_direction d = v ? SDP_DIR_NONE : direction_from(name);
        if (d != SDP_DIR_NONE) {
                enum sdp_direction *dst = m ? &m->direction : &s->direction;
                if (*dst != SDP_DIR_NONE)
                        return fail(p, -EBADMSG,
                                    "more than one direction attribute in one section");
                *dst = d;
                return 0;
        }
        if (!v && strcmp(name, "extmap-allow-mixed") == 0) {
                if (m)
                        m->extmap_allow_mixed = true;
                else
                        s->extmap_allow_mixed = true;
                return 0;
        }
        if (!v)
                return 1;
        if (strcmp(name, "ice-ufrag") == 0)
                return set_cred(p, name, v, m ? m->ice_ufrag : s->ice_ufrag, SDP_ICE_UFRAG_MIN);
        if (strcmp(name, "ice-pwd") == 0)
                return set_cred(p, name, v, m ? m->ice_pwd : s->ice_pwd, SDP_ICE_PWD_MIN);
        if (strcmp(name, "ice-options") == 0)
                return set_str(p, m ? &m->ice_options : &s->ice_options, v, "a=ice-options");
        if (strcmp(name, "fingerprint") == 0)
                return parse_fingerprint(p, v, m ? m->fingerprints : s->fingerprints,
                                         m ? &m->n_fingerprints : &s->n_fingerprints);
        if (strcmp(name, "setup") == 0)
                return parse_setup(p, v, m ? &m->setup : &s->setup);
        return 1;
}

static int parse_group(struct parser *p, char *v)
{
        struct sdp *s = p->s;
        int rc;
        char *sem = next_tok(&v);
        if (!sem || !is_token(sem, SDP_TOKEN_MAX))
                return fail(p, -EBADMSG, "a=group needs a semantics such as BUNDLE");
        ARR_PUSH(s->groups, s->n_groups, rc);
        if (rc == 0) {
                ARR_PUSH(p->group_lines, p->n_group_lines, rc);
                if (rc < 0)
                        s->n_groups--;
        }
        if (rc < 0)
                return fail(p, rc, "out of memory");
        p->group_lines[p->n_group_lines - 1] = p->line;
        struct sdp_group *g = &s->groups[s->n_groups - 1];
        g->semantics = xstrdup(sem);
        if (!g->semantics)
                return fail(p, -ENOMEM, "out of memory");
        char *mid;
        while ((mid = next_tok(&v))) {
                if (!is_token(mid, SDP_MID_MAX))
                        return fail(p, -EBADMSG, "bad mid \"%.40s\" in a=group", mid);
                for (size_t i = 0; i < g->n_mids; i++)
                        if (strcmp(g->mids[i], mid) == 0)
                                return fail(p, -EBADMSG, "a=group lists mid \"%.40s\" twice", mid);
                rc = push_str(&g->mids, &g->n_mids, mid);
                if (rc < 0)
                        return fail(p, rc, "out of memory");
        }
        return 0;
}

static int parse_session_attr(struct parser *p, const char *name, char *v)
{
        struct sdp *s = p->s;
        int rc = parse_common_attr(p, name, v);
        if (rc <= 0)
                return rc;
        if (v && strcmp(name, "group") == 0)
                return parse_group(p, v);
        if (v && strcmp(name, "msid-semantic") == 0)
                return set_str(p, &s->msid_semantic, skip_ws(v), "a=msid-semantic");
        if (!v && strcmp(name, "ice-lite") == 0) {
                s->ice_lite = true;
                return 0;
        }
        return 1;
}

static int parse_rtpmap(struct parser *p, char *v)
{
        char *tok = next_tok(&v);
        char *enc = next_tok(&v);
        struct sdp_codec *c;
        int rc = attr_pt(p, "rtpmap", tok, &c);
        if (rc < 0)
                return rc;
        if (!enc || next_tok(&v))
                return fail(p, -EBADMSG, "a=rtpmap must be \"<pt> <name>/<clock>[/<channels>]\"");
        if (!c)
                return 1; /* payload type not on the m= line: keep the line as it is */
        if (c->has_rtpmap)
                return fail(p, -EBADMSG, "second a=rtpmap for payload type %u", c->pt);
        char *slash = strchr(enc, '/');
        if (!slash)
                return fail(p, -EBADMSG, "a=rtpmap for payload type %u has no clock rate", c->pt);
        *slash = '\0';
        char *clock = slash + 1;
        char *chan = strchr(clock, '/');
        if (chan)
                *chan++ = '\0';
        if (!is_token(enc, SDP_TOKEN_MAX))
                return fail(p, -EBADMSG, "bad encoding name \"%.40s\" in a=rtpmap", enc);
        uint64_t n;
        if (!parse_u64(clock, UINT32_MAX, &n) || n == 0)
                return fail(p, -EBADMSG, "bad clock rate \"%.40s\" in a=rtpmap", clock);
        c->clock = (uint32_t)n;
        if (chan) {
                if (!parse_u64(chan, 255, &n) || n == 0)
                        return fail(p, -EBADMSG, "bad channel count \"%.40s\" in a=rtpmap", chan);
                c->channels = (uint16_t)n;
        }
        copy_field(c->name, sizeof(c->name), enc);
        c->has_rtpmap = true;
        return 0;
}

static int parse_fmtp(struct parser *p, char *v)
{
        char *tok = next_tok(&v);
        struct sdp_codec *c;
        int rc = attr_pt(p, "fmtp", tok, &c);
        if (rc < 0)
                return rc;
        if (!c)
                return 1;
        if (c->fmtp)
                return fail(p, -EBADMSG, "second a=fmtp for payload type %u", c->pt);
        c->fmtp = xstrdup(skip_ws(v));
        return c->fmtp ? 0 : fail(p, -ENOMEM, "out of memory");
}

static int parse_rtcp_fb(struct parser *p, char *v)
{
        char *tok = next_tok(&v);
        char *fb = skip_ws(v);
        if (!tok || !*fb)
                return fail(p, -EBADMSG, "a=rtcp-fb must be \"<pt> <feedback type>\"");
        int rc;
        if (strcmp(tok, "*") == 0) {
                /* A wildcard applies to every payload type of the section. */
                rc = sdp_media_add_fb_all(p->m, fb);
                return rc < 0 ? fail(p, rc, "out of memory") : 0;
        }
        struct sdp_codec *c;
        rc = attr_pt(p, "rtcp-fb", tok, &c);
        if (rc < 0)
                return rc;
        if (!c)
                return 1;
        rc = push_str(&c->fb, &c->n_fb, fb);
        return rc < 0 ? fail(p, rc, "out of memory") : 0;
}

static int parse_extmap(struct parser *p, char *v)
{
        struct sdp_media *m = p->m;
        char *idt = next_tok(&v), *uri = next_tok(&v);
        char *params = skip_ws(v);
        if (!uri)
                return fail(p, -EBADMSG, "a=extmap must be \"<id>[/<direction>] <uri>\"");
        enum sdp_direction d = SDP_DIR_NONE;
        char *slash = strchr(idt, '/');
        if (slash) {
                *slash = '\0';
                d = direction_from(slash + 1);
                if (d == SDP_DIR_NONE)
                        return fail(p, -EBADMSG, "bad direction \"%.40s\" in a=extmap", slash + 1);
        }
        uint64_t id;
        if (!parse_u64(idt, UINT64_MAX, &id))
                return fail(p, -EBADMSG, "bad a=extmap id \"%.40s\"", idt);
        if (id < 1 || id > 255)
                return fail(p, -EBADMSG, "a=extmap id %.40s out of range (1..255)", idt);
        for (size_t i = 0; i < m->n_extmaps; i++)
                if (m->extmaps[i].id == id)
                        return fail(p, -EBADMSG, "a=extmap id %u used twice in one section",
                                    (unsigned)id);
        int rc;
        ARR_PUSH(m->extmaps, m->n_extmaps, rc);
        if (rc < 0)
                return fail(p, rc, "out of memory");
        struct sdp_extmap *e = &m->extmaps[m->n_extmaps - 1];
        e->id = (uint16_t)id;
        e->dir = d;
        e->uri = xstrdup(uri);
        e->params = *params ? xstrdup(params) : NULL;
        if (!e->uri || (*params && !e->params))
                return fail(p, -ENOMEM, "out of memory");
        return 0;
}

static int parse_ssrc(struct parser *p, char *v)
{
        struct sdp_media *m = p->m;
        char *num = next_tok(&v);
        char *rest = skip_ws(v);
        uint64_t n;
        if (!num || !parse_u64(num, UINT32_MAX, &n))
                return fail(p, -EBADMSG, "bad ssrc \"%.40s\" in a=ssrc", num ? num : "");
        int rc;
        ARR_PUSH(m->ssrcs, m->n_ssrcs, rc);
        if (rc < 0)
                return fail(p, rc, "out of memory");
        struct sdp_ssrc *x = &m->ssrcs[m->n_ssrcs - 1];
        x->ssrc = (uint32_t)n;
        char *colon = strchr(rest, ':');
        if (colon)
                *colon = '\0';
        x->attr = xstrdup(rest);
        x->value = colon ? xstrdup(colon + 1) : NULL;
        if (!x->attr || (colon && !x->value))
                return fail(p, -ENOMEM, "out of memory");
        return 0;
}

static int parse_ssrc_group(struct parser *p, char *v)
{
        struct sdp_media *m = p->m;
        char *sem = next_tok(&v);
        if (!sem || !is_token(sem, SDP_TOKEN_MAX))
                return fail(p, -EBADMSG, "a=ssrc-group needs a semantics such as FID");
        int rc;
        ARR_PUSH(m->ssrc_groups, m->n_ssrc_groups, rc);
        if (rc < 0)
                return fail(p, rc, "out of memory");
        struct sdp_ssrc_group *g = &m->ssrc_groups[m->n_ssrc_groups - 1];
        g->semantics = xstrdup(sem);
        if (!g->semantics)
                return fail(p, -ENOMEM, "out of memory");
        char *t;
        while ((t = next_tok(&v))) {
                uint64_t n;
                if (!parse_u64(t, UINT32_MAX, &n))
                        return fail(p, -EBADMSG, "bad ssrc \"%.40s\" in a=ssrc-group", t);
                ARR_PUSH(g->ssrcs, g->n_ssrcs, rc);
                if (rc < 0)
                        return fail(p, rc, "out of memory");
                g->ssrcs[g->n_ssrcs - 1] = (uint32_t)n;
        }
        if (g->n_ssrcs == 0)
                return fail(p, -EBADMSG, "a=ssrc-group %.40s lists no ssrc", sem);
        return 0;
}

static int parse_mid(struct parser *p, const char *v)
{
        struct sdp_media *m = p->m;
        if (m->mid[0])
                return fail(p, -EBADMSG, "second a=mid in one section");
        if (!is_token(v, SDP_MID_MAX))
                return fail(p, -EBADMSG, "bad mid \"%.40s\" (1 to %d token characters)", v,
                            SDP_MID_MAX);
        if (sdp_find_mid(p->s, v))
                return fail(p, -EBADMSG, "duplicate mid \"%s\"", v);
        copy_field(m->mid, sizeof(m->mid), v);
        return 0;
}

static int parse_media_attr(struct parser *p, const char *name, char *v)
{
        struct sdp_media *m = p->m;
        uint64_t n;
        int rc = parse_common_attr(p, name, v);
        if (rc <= 0)
                return rc;
        if (!v) {
                if (strcmp(name, "rtcp-mux") == 0)
                        m->rtcp_mux = true;
                else if (strcmp(name, "rtcp-rsize") == 0)
                        m->rtcp_rsize = true;
                else if (strcmp(name, "end-of-candidates") == 0)
                        m->end_of_candidates = true;
                else
                        return 1;
                return 0;
        }
        rc = 1;
        if (strcmp(name, "mid") == 0) {
                rc = parse_mid(p, v);
        } else if (strcmp(name, "msid") == 0) {
                v = skip_ws(v);
                if (!*v)
                        return fail(p, -EBADMSG, "empty a=msid");
                rc = push_str(&m->msid, &m->n_msid, v);
                if (rc < 0)
                        return fail(p, rc, "out of memory");
        } else if (strcmp(name, "rtcp") == 0) {
                char tmp[32];
                size_t k = strcspn(v, " \t");
                if (k >= sizeof(tmp))
                        k = sizeof(tmp) - 1;
                memcpy(tmp, v, k);
                tmp[k] = '\0';
                if (!parse_u64(tmp, 65535, &n))
                        return fail(p, -EBADMSG, "bad port \"%.40s\" in a=rtcp", tmp);
                rc = set_str(p, &m->rtcp, v, "a=rtcp");
        } else if (strcmp(name, "candidate") == 0) {
                char why[160];
                if (m->n_candidates >= SDP_MAX_CANDIDATES)
                        return fail(p, -E2BIG, "more than %d candidates in one m= section",
                                    SDP_MAX_CANDIDATES);
                struct sdp_candidate c;
                if (cand_parse(v, &c, why, sizeof(why)) < 0)
                        return fail(p, -EBADMSG, "%s", why);
                ARR_PUSH(m->candidates, m->n_candidates, rc);
                if (rc < 0)
                        return fail(p, rc, "out of memory");
                m->candidates[m->n_candidates - 1] = c;
        } else if (strcmp(name, "sctp-port") == 0) {
                if (m->sctp_port >= 0)
                        return fail(p, -EBADMSG, "second a=sctp-port in one section");
                if (!parse_u64(v, 65535, &n))
                        return fail(p, -EBADMSG, "bad sctp-port \"%.40s\"", v);
                m->sctp_port = (int32_t)n;
                rc = 0;
        } else if (strcmp(name, "max-message-size") == 0) {
                if (m->has_max_message_size)
                        return fail(p, -EBADMSG, "second a=max-message-size in one section");
                if (!parse_u64(v, UINT64_MAX, &m->max_message_size))
                        return fail(p, -EBADMSG, "bad max-message-size \"%.40s\"", v);
                m->has_max_message_size = true;
                rc = 0;
        } else if (m->rtp && strcmp(name, "rtpmap") == 0) {
                rc = parse_rtpmap(p, v);
        } else if (m->rtp && strcmp(name, "fmtp") == 0) {
                rc = parse_fmtp(p, v);
        } else if (m->rtp && strcmp(name, "rtcp-fb") == 0) {
                rc = parse_rtcp_fb(p, v);
        } else if (strcmp(name, "extmap") == 0) {
                rc = parse_extmap(p, v);
        } else if (strcmp(name, "ssrc") == 0) {
                rc = parse_ssrc(p, v);
        } else if (strcmp(name, "ssrc-group") == 0) {
                rc = parse_ssrc_group(p, v);
        }
        return rc;
}

static int parse_attr(struct parser *p, char *v)
{
        char *colon = strchr(v, ':');
        char *value = NULL;
        if (colon) {
                *colon = '\0';
                value = colon + 1;
        }
        if (!is_token(v, SDP_TOKEN_MAX))
                return fail(p, -EBADMSG, "bad attribute name \"%.40s\"", v);
        /* Tokenizers below modify the value; keep the original for preserved attributes. */
        char orig[SDP_MAX_LINE + 1];
        orig[0] = '\0';
        if (value) {
                size_t n = strlen(value);
                memcpy(orig, value, n + 1);
        }
        int rc = p->m ? parse_media_attr(p, v, value) : parse_session_attr(p, v, value);
        if (rc != 1)
                return rc;
        /* Not interpreted (or an rtpmap/fmtp/rtcp-fb for a payload type the m= line lacks). */
        if (p->m)
                return add_attr(p, &p->m->attrs, &p->m->n_attrs, v, value ? orig : NULL);
        return add_attr(p, &p->s->attrs, &p->s->n_attrs, v, value ? orig : NULL);
}

static int add_extra(struct parser *p, char type, const char *v)
{
        struct sdp *s = p->s;
        int rc;
        char *d = xstrdup(v);
        if (!d)
                return fail(p, -ENOMEM, "out of memory");
        ARR_PUSH(s->extra, s->n_extra, rc);
        if (rc < 0) {
                free(d);
                return fail(p, rc, "out of memory");
        }
        s->extra[s->n_extra - 1].type = type;
        s->extra[s->n_extra - 1].value = d;
        return 0;
}

static int parse_line(struct parser *p, char *line)
{
        struct sdp *s = p->s;
        char type = line[0];
        if (!(line[1] == '=' && type >= 'a' && type <= 'z')) {
                if (line[1] == '=' && type >= 'A' && type <= 'Z')
                        return fail(p, -EBADMSG, "line type '%c' must be a lowercase letter", type);
                return fail(p, -EBADMSG, "line does not start with a type letter and '='");
        }
        char *v = line + 2;
        if (!p->seen_v && type != 'v')
                return fail(p, -EBADMSG, "missing v=0 line (the first line is \"%c=\")", type);
        if (p->m && strchr("vostuepzr", type))
                return fail(p, -EBADMSG, "%c= line inside a media section", type);
        uint64_t a, b;
        int rc;
        switch (type) {
        case 'v':
                if (p->seen_v)
                        return fail(p, -EBADMSG, "second v= line");
                if (strcmp(v, "0") != 0)
                        return fail(p, -EBADMSG, "bad version \"%.40s\" in v= line (must be 0)", v);
                p->seen_v = true;
                return 0;
        case 'o':
                if (p->seen_o)
                        return fail(p, -EBADMSG, "second o= line");
                p->seen_o = true;
                return parse_origin(p, v);
        case 's':
                if (p->seen_s)
                        return fail(p, -EBADMSG, "second s= line");
                p->seen_s = true;
                s->name = xstrdup(v);
                return s->name ? 0 : fail(p, -ENOMEM, "out of memory");
        case 'i':
                return set_str(p, p->m ? &p->m->info : &s->info, v, "i= line");
        case 'c':
                return parse_conn(p, v, p->m ? &p->m->conn : &s->conn);
        case 'b': {
                char *colon = strchr(v, ':');
                if (!colon || colon == v || !parse_u64(colon + 1, UINT64_MAX, &a))
                        return fail(p, -EBADMSG, "bad bandwidth \"%.40s\" in b= line", v);
                rc = p->m ? push_str(&p->m->bw, &p->m->n_bw, v) : push_str(&s->bw, &s->n_bw, v);
                return rc < 0 ? fail(p, rc, "out of memory") : 0;
        }
        case 't':
                if (p->seen_t)
                        return add_extra(p, type, v);
                {
                        char *t1 = next_tok(&v), *t2 = next_tok(&v);
                        if (!t2 || next_tok(&v) || !parse_u64(t1, UINT64_MAX, &a) ||
                            !parse_u64(t2, UINT64_MAX, &b))
                                return fail(p, -EBADMSG, "t= line must be \"<start> <stop>\"");
                }
                s->t_start = a;
                s->t_stop = b;
                p->seen_t = true;
                return 0;
        case 'u':
        case 'e':
        case 'p':
        case 'r':
        case 'z':
                return add_extra(p, type, v);
        case 'k':
                /* Obsolete (RFC 8866 section 5.12): kept at session level, ignored in sections. */
                return p->m ? 0 : add_extra(p, type, v);
        case 'm':
                return parse_m(p, v);
        case 'a':
                return parse_attr(p, v);
        default:
                return fail(p, -EBADMSG, "unknown line type \"%c=\"", type);
        }
}

static int check_groups(struct parser *p)
{
        struct sdp *s = p->s;
        for (size_t g = 0; g < s->n_groups; g++) {
                if (strcmp(s->groups[g].semantics, "BUNDLE") != 0)
                        continue;
                p->line = p->group_lines[g];
                for (size_t i = 0; i < s->groups[g].n_mids; i++) {
                        const char *mid = s->groups[g].mids[i];
                        if (!sdp_find_mid(s, mid))
                                return fail(
                                    p, -EBADMSG,
                                    "BUNDLE group names mid \"%s\" but no m= section has it", mid);
                        for (size_t h = 0; h < g; h++) {
                                if (strcmp(s->groups[h].semantics, "BUNDLE") != 0)
                                        continue;
                                for (size_t j = 0; j < s->groups[h].n_mids; j++)
                                        if (strcmp(s->groups[h].mids[j], mid) == 0)
                                                return fail(p, -EBADMSG,
                                                            "mid \"%s\" is in two BUNDLE groups",
                                                            mid);
                        }
                }
        }
        return 0;
}

static int parse_all(struct parser *p, const char *text, size_t len, char *line)
{
        size_t pos = 0;
        bool any = false;
        while (pos < len) {
                const char *start = text + pos;
                const char *nl = memchr(start, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - start) : len - pos;
                pos += n + (nl ? 1 : 0);
                if (p->line >= SDP_MAX_LINES) {
                        p->line++;
                        return fail(p, -E2BIG, "more than %d lines", SDP_MAX_LINES);
                }
                p->line++;
                if (n > 0 && start[n - 1] == '\r')
                        n--;
                if (n > SDP_MAX_LINE)
                        return fail(p, -E2BIG, "line is longer than %d bytes", SDP_MAX_LINE);
                for (size_t i = 0; i < n; i++) {
                        unsigned char c = (unsigned char)start[i];
                        if (c == 0)
                                return fail(p, -EBADMSG, "NUL byte in line");
                        if ((c < 0x20 && c != '\t') || c == 0x7f)
                                return fail(p, -EBADMSG, "control character 0x%02x in line", c);
                }
                memcpy(line, start, n);
                /* Tolerate trailing blanks, and blank lines (often a final empty line). */
                while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
                        n--;
                line[n] = '\0';
                if (n == 0)
                        continue;
                any = true;
                int rc = parse_line(p, line);
                if (rc < 0)
                        return rc;
        }
        p->line = 0;
        if (!any)
                return fail(p, -EBADMSG, "empty session description");
        if (!p->seen_o)
                return fail(p, -EBADMSG, "missing o= line");
        if (!p->seen_s)
                return fail(p, -EBADMSG, "missing s= line");
        if (!p->seen_t)
                return fail(p, -EBADMSG, "missing t= line");
        return check_groups(p);
}

int sdp_parse(const char *text, size_t len, struct sdp **out, struct sdp_error *err)
{
        struct parser p = {.err = err};
        if (err) {
                err->line = 0;
                err->msg[0] = '\0';
        }
        if (!out || (!text && len))
                return fail(&p, -EINVAL, "no input");
        *out = NULL;
        if (len > SDP_MAX_TEXT)
                return fail(&p, -E2BIG, "session description is %zu bytes, the limit is %d", len,
                            SDP_MAX_TEXT);
        p.s = sdp_new();
        char *line = malloc(SDP_MAX_LINE + 1);
        if (!p.s || !line) {
                sdp_free(p.s);
                free(line);
                return fail(&p, -ENOMEM, "out of memory");
        }
        int rc = parse_all(&p, text ? text : "", len, line);
        free(line);
        free(p.group_lines);
        if (rc < 0) {
                if (err)
                        log_debug("sdp", "parse error at line %d: %s", err->line, err->msg);
                sdp_free(p.s);
                return rc;
        }
        *out = p.s;
        return 0;
}

/* ---- lookups ---- */

const struct sdp_media *sdp_find_mid(const struct sdp *s, const char *mid)
{
        if (!mid || !*mid)
                return NULL;
        for (size_t i = 0; i < s->n_media; i++)
                if (strcmp(s->media[i].mid, mid) == 0)
                        return &s->media[i];
        return NULL;
}

const struct sdp_group *sdp_bundle_group(const struct sdp *s)
{
        for (size_t i = 0; i < s->n_groups; i++)
                if (strcmp(s->groups[i].semantics, "BUNDLE") == 0)
                        return &s->groups[i];
        return NULL;
}

const char *sdp_media_ice_ufrag(const struct sdp *s, const struct sdp_media *m)
{
        if (m && m->ice_ufrag[0])
                return m->ice_ufrag;
        return s->ice_ufrag[0] ? s->ice_ufrag : NULL;
}

const char *sdp_media_ice_pwd(const struct sdp *s, const struct sdp_media *m)
{
        if (m && m->ice_pwd[0])
                return m->ice_pwd;
        return s->ice_pwd[0] ? s->ice_pwd : NULL;
}

const struct sdp_fingerprint *sdp_media_fingerprint(const struct sdp *s, const struct sdp_media *m)
{
        if (m && m->n_fingerprints)
                return &m->fingerprints[0];
        return s->n_fingerprints ? &s->fingerprints[0] : NULL;
}

enum sdp_setup sdp_media_setup(const struct sdp *s, const struct sdp_media *m)
{
        if (m && m->setup != SDP_SETUP_NONE)
                return m->setup;
        return s->setup;
}

enum sdp_direction sdp_media_direction(const struct sdp *s, const struct sdp_media *m)
{
        if (m && m->direction != SDP_DIR_NONE)
                return m->direction;
        return s->direction != SDP_DIR_NONE ? s->direction : SDP_DIR_SENDRECV;
}

const struct sdp_codec *sdp_media_codec(const struct sdp_media *m, unsigned pt)
{
        for (size_t i = 0; i < m->n_codecs; i++)
                if (m->codecs[i].pt == pt)
                        return &m->codecs[i];
        return NULL;
}

int sdp_media_add_fb_all(struct sdp_media *m, const char *fb)
{
        int rc = push_str(&m->fb_all, &m->n_fb_all, fb);
        for (size_t i = 0; i < m->n_codecs && rc == 0; i++)
                rc = push_str(&m->codecs[i].fb, &m->codecs[i].n_fb, fb);
        return rc;
}

static bool in_strs(char *const *arr, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(arr[i], s) == 0)
                        return true;
        return false;
}

const char *sdp_media_attr(const struct sdp_media *m, const char *name)
{
        for (size_t i = 0; i < m->n_attrs; i++)
                if (strcmp(m->attrs[i].name, name) == 0)
                        return m->attrs[i].value ? m->attrs[i].value : "";
        return NULL;
}

/* ---- writer ---- */

/* Ends the line begun at `start`; a value carrying its own line break would forge lines. */
static int end_line(struct buf *out, size_t start)
{
        for (size_t i = start; i < out->len; i++) {
                if (out->data[i] == '\r' || out->data[i] == '\n' || out->data[i] == '\0') {
                        out->len = start;
                        return -EINVAL;
                }
        }
        return buf_append(out, "\r\n", 2);
}

static int put(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int put(struct buf *out, const char *fmt, ...)
{
        size_t start = out->len;
        va_list ap;
        va_start(ap, fmt);
        int rc = buf_vprintf(out, fmt, ap);
        va_end(ap);
        return rc < 0 ? rc : end_line(out, start);
}

static int put_conn(struct buf *out, const struct sdp_conn *c)
{
        if (!c->present)
                return 0;
        return put(out, "c=IN %s %s", c->ip6 ? "IP6" : "IP4", c->addr);
}

static int put_attrs(struct buf *out, const struct sdp_attr *a, size_t n)
{
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
                rc = a[i].value ? put(out, "a=%s:%s", a[i].name, a[i].value)
                                : put(out, "a=%s", a[i].name);
        return rc;
}

static int put_transport(struct buf *out, const char *ufrag, const char *pwd, const char *options,
                         const struct sdp_fingerprint *fps, size_t n_fps, enum sdp_setup setup)
{
        int rc = 0;
        if (ufrag[0])
                rc = put(out, "a=ice-ufrag:%s", ufrag);
        if (rc == 0 && pwd[0])
                rc = put(out, "a=ice-pwd:%s", pwd);
        if (rc == 0 && options)
                rc = put(out, "a=ice-options:%s", options);
        for (size_t i = 0; i < n_fps && rc == 0; i++) {
                char hex[SDP_FINGERPRINT_HEX_MAX];
                if (fps[i].len == 0 || fps[i].len > SDP_FINGERPRINT_MAX)
                        return -EINVAL;
                sdp_fingerprint_hex(&fps[i], hex);
                rc = put(out, "a=fingerprint:%s %s", sdp_hash_name(fps[i].hash), hex);
        }
        if (rc == 0 && setup != SDP_SETUP_NONE)
                rc = put(out, "a=setup:%s", sdp_setup_name(setup));
        return rc;
}

static int write_media(const struct sdp_media *m, struct buf *out)
{
        int rc;
        if (!m->media[0] || !m->proto[0] || (m->rtp ? m->n_codecs : m->n_fmts) == 0)
                return -EINVAL;
        size_t ls = out->len;
        rc = buf_printf(out, "m=%s %u %s", m->media, m->port, m->proto);
        for (size_t i = 0; i < m->n_codecs && m->rtp && rc == 0; i++)
                rc = buf_printf(out, " %u", m->codecs[i].pt);
        for (size_t i = 0; i < m->n_fmts && !m->rtp && rc == 0; i++)
                rc = buf_printf(out, " %s", m->fmts[i]);
        if (rc == 0)
                rc = end_line(out, ls);
        if (rc == 0 && m->info)
                rc = put(out, "i=%s", m->info);
        if (rc == 0)
                rc = put_conn(out, &m->conn);
        for (size_t i = 0; i < m->n_bw && rc == 0; i++)
                rc = put(out, "b=%s", m->bw[i]);
        if (rc == 0 && m->rtcp)
                rc = put(out, "a=rtcp:%s", m->rtcp);
        for (size_t i = 0; i < m->n_candidates && rc == 0; i++) {
                ls = out->len;
                rc = buf_append_str(out, "a=candidate:");
                if (rc == 0)
                        rc = sdp_candidate_write(&m->candidates[i], out);
                if (rc == 0)
                        rc = end_line(out, ls);
        }
        if (rc == 0 && m->end_of_candidates)
                rc = put(out, "a=end-of-candidates");
        if (rc == 0)
                rc = put_transport(out, m->ice_ufrag, m->ice_pwd, m->ice_options, m->fingerprints,
                                   m->n_fingerprints, m->setup);
        if (rc == 0 && m->mid[0])
                rc = put(out, "a=mid:%s", m->mid);
        for (size_t i = 0; i < m->n_extmaps && rc == 0; i++) {
                const struct sdp_extmap *e = &m->extmaps[i];
                if (!e->uri)
                        return -EINVAL;
                rc = put(out, "a=extmap:%u%s%s %s%s%s", e->id, e->dir ? "/" : "",
                         sdp_direction_name(e->dir), e->uri, e->params ? " " : "",
                         e->params ? e->params : "");
        }
        if (rc == 0 && m->extmap_allow_mixed)
                rc = put(out, "a=extmap-allow-mixed");
        if (rc == 0 && m->direction != SDP_DIR_NONE)
                rc = put(out, "a=%s", sdp_direction_name(m->direction));
        for (size_t i = 0; i < m->n_msid && rc == 0; i++)
                rc = put(out, "a=msid:%s", m->msid[i]);
        if (rc == 0 && m->rtcp_mux)
                rc = put(out, "a=rtcp-mux");
        if (rc == 0 && m->rtcp_rsize)
                rc = put(out, "a=rtcp-rsize");
        for (size_t i = 0; i < m->n_codecs && m->rtp && rc == 0; i++) {
                const struct sdp_codec *c = &m->codecs[i];
                if (c->has_rtpmap) {
                        if (!c->name[0] || !c->clock)
                                return -EINVAL;
                        rc = c->channels ? put(out, "a=rtpmap:%u %s/%u/%u", c->pt, c->name,
                                               c->clock, c->channels)
                                         : put(out, "a=rtpmap:%u %s/%u", c->pt, c->name, c->clock);
                }
                for (size_t j = 0; j < c->n_fb && rc == 0; j++)
                        if (!in_strs(m->fb_all, m->n_fb_all, c->fb[j]))
                                rc = put(out, "a=rtcp-fb:%u %s", c->pt, c->fb[j]);
                if (rc == 0 && c->fmtp)
                        rc = put(out, "a=fmtp:%u %s", c->pt, c->fmtp);
        }
        /* After the rtpmap lines: some parsers apply a wildcard only to codecs seen so far. */
        for (size_t i = 0; i < m->n_fb_all && m->rtp && rc == 0; i++)
                rc = put(out, "a=rtcp-fb:* %s", m->fb_all[i]);
        for (size_t i = 0; i < m->n_ssrc_groups && rc == 0; i++) {
                const struct sdp_ssrc_group *g = &m->ssrc_groups[i];
                if (!g->n_ssrcs)
                        return -EINVAL;
                ls = out->len;
                rc = buf_printf(out, "a=ssrc-group:%s", g->semantics);
                for (size_t j = 0; j < g->n_ssrcs && rc == 0; j++)
                        rc = buf_printf(out, " %u", g->ssrcs[j]);
                if (rc == 0)
                        rc = end_line(out, ls);
        }
        for (size_t i = 0; i < m->n_ssrcs && rc == 0; i++) {
                const struct sdp_ssrc *x = &m->ssrcs[i];
                const char *attr = x->attr ? x->attr : "";
                if (x->value)
                        rc = put(out, "a=ssrc:%u %s:%s", x->ssrc, attr, x->value);
                else if (attr[0])
                        rc = put(out, "a=ssrc:%u %s", x->ssrc, attr);
                else
                        rc = put(out, "a=ssrc:%u", x->ssrc);
        }
        if (rc == 0 && m->sctp_port >= 0)
                rc = put(out, "a=sctp-port:%d", (int)m->sctp_port);
        if (rc == 0 && m->has_max_message_size)
                rc = put(out, "a=max-message-size:%llu", (unsigned long long)m->max_message_size);
        if (rc == 0)
                rc = put_attrs(out, m->attrs, m->n_attrs);
        return rc;
}

static int write_extra(const struct sdp *s, struct buf *out, const char *types)
{
        int rc = 0;
        for (size_t i = 0; i < s->n_extra && rc == 0; i++)
                if (strchr(types, s->extra[i].type))
                        rc = put(out, "%c=%s", s->extra[i].type, s->extra[i].value);
        return rc;
}

int sdp_write(const struct sdp *s, struct buf *out)
{
        if (!s || !out)
                return -EINVAL;
        size_t start = out->len;
        int rc = put(out, "v=0");
        if (rc == 0)
                rc = put(out, "o=%s %llu %llu %s %s %s", s->origin_user[0] ? s->origin_user : "-",
                         (unsigned long long)s->session_id, (unsigned long long)s->session_version,
                         s->origin_nettype[0] ? s->origin_nettype : "IN",
                         s->origin_addrtype[0] ? s->origin_addrtype : "IP4",
                         s->origin_addr[0] ? s->origin_addr : "127.0.0.1");
        if (rc == 0)
                rc = put(out, "s=%s", s->name && s->name[0] ? s->name : "-");
        if (rc == 0 && s->info)
                rc = put(out, "i=%s", s->info);
        if (rc == 0)
                rc = write_extra(s, out, "uep");
        if (rc == 0)
                rc = put_conn(out, &s->conn);
        for (size_t i = 0; i < s->n_bw && rc == 0; i++)
                rc = put(out, "b=%s", s->bw[i]);
        if (rc == 0)
                rc = put(out, "t=%llu %llu", (unsigned long long)s->t_start,
                         (unsigned long long)s->t_stop);
        if (rc == 0)
                rc = write_extra(s, out, "trz");
        if (rc == 0)
                rc = write_extra(s, out, "k");
        for (size_t i = 0; i < s->n_groups && rc == 0; i++) {
                const struct sdp_group *g = &s->groups[i];
                size_t ls = out->len;
                rc = buf_printf(out, "a=group:%s", g->semantics);
                for (size_t j = 0; j < g->n_mids && rc == 0; j++)
                        rc = buf_printf(out, " %s", g->mids[j]);
                if (rc == 0)
                        rc = end_line(out, ls);
        }
        if (rc == 0 && s->extmap_allow_mixed)
                rc = put(out, "a=extmap-allow-mixed");
        if (rc == 0 && s->msid_semantic)
                rc = put(out, "a=msid-semantic: %s", s->msid_semantic);
        if (rc == 0 && s->ice_lite)
                rc = put(out, "a=ice-lite");
        if (rc == 0)
                rc = put_transport(out, s->ice_ufrag, s->ice_pwd, s->ice_options, s->fingerprints,
                                   s->n_fingerprints, s->setup);
        if (rc == 0 && s->direction != SDP_DIR_NONE)
                rc = put(out, "a=%s", sdp_direction_name(s->direction));
        if (rc == 0)
                rc = put_attrs(out, s->attrs, s->n_attrs);
        for (size_t i = 0; i < s->n_media && rc == 0; i++)
                rc = write_media(&s->media[i], out);
        if (rc < 0)
                out->len = start;
        return rc;
}
