#include "cli/expect.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/mediarecv.h"
#include "cli/stats.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "rtp/rtp_sender.h"

/* ---- setup times ---- */

static void mark(uint64_t *at, uint64_t now)
{
        if (!*at)
                *at = now ? now : 1;
}

void expect_note_event(struct setup_times *t, uint64_t now, const struct session_output *o,
                       bool own_channel)
{
        switch (o->event) {
        case SESSION_EV_GATHERING_DONE:
                mark(&t->gathering_done, now);
                break;
        case SESSION_EV_SELECTED_PAIR:
                mark(&t->ice_connected, now);
                break;
        case SESSION_EV_SECURE:
                mark(&t->dtls_connected, now);
                break;
        case SESSION_EV_MEDIA_READY:
                mark(&t->srtp_ready, now);
                break;
        case SESSION_EV_DC_READY:
                if (own_channel)
                        mark(&t->channel_open, now);
                break;
        case SESSION_EV_DC_OPEN:
                mark(&t->channel_open, now);
                break;
        case SESSION_EV_MEDIA_FRAME:
                /* Frames come out at their playout time: the arrival of the first packet of
                 * the first one is when RTP first came in. */
                if (!o->lost)
                        mark(&t->first_rtp_received,
                             o->first_arrival_us && o->first_arrival_us <= now ? o->first_arrival_us
                                                                               : now);
                break;
        default:
                break;
        }
}

void expect_note_sent(struct setup_times *t, uint64_t now, const struct session *s)
{
        if (t->first_rtp_sent)
                return;
        for (int k = 0; k < 2; k++) {
                struct rtp_sender_stats st;
                if (session_media_stats(s, (enum session_media)k, &st) == 0 && st.packets_sent) {
                        mark(&t->first_rtp_sent, now);
                        return;
                }
        }
}

void expect_note_decoded(struct setup_times *t, uint64_t now, const struct mediarecv *m)
{
        if (t->first_frame_decoded || !m)
                return;
        struct mediarecv_stats st;
        mediarecv_get_stats(m, &st);
        if (st.frames_decoded || st.total_samples_received > st.concealed_samples)
                mark(&t->first_frame_decoded, now);
}

static const struct setup_field {
        const char *name;
        size_t off;
} setup_fields[] = {
    {"gatheringDone", offsetof(struct setup_times, gathering_done)},
    {"iceConnected", offsetof(struct setup_times, ice_connected)},
    {"dtlsConnected", offsetof(struct setup_times, dtls_connected)},
    {"srtpReady", offsetof(struct setup_times, srtp_ready)},
    {"channelOpen", offsetof(struct setup_times, channel_open)},
    {"established", offsetof(struct setup_times, established)},
    {"firstRtpSent", offsetof(struct setup_times, first_rtp_sent)},
    {"firstRtpReceived", offsetof(struct setup_times, first_rtp_received)},
    {"firstFrameDecoded", offsetof(struct setup_times, first_frame_decoded)},
};
#define N_SETUP (sizeof(setup_fields) / sizeof(setup_fields[0]))

/* ms of one stage, or false when it was never reached. */
static bool setup_ms(const struct setup_times *t, const struct setup_field *f, double *ms)
{
        uint64_t at = *(const uint64_t *)((const char *)t + f->off);
        uint64_t zero =
            f->off == offsetof(struct setup_times, gathering_done) ? t->gather_start : t->applied;
        if (!at || !zero)
                return false;
        /* Rounded as the summary prints them, so a condition sees the figure written there. */
        *ms = round(((double)at - (double)zero) / 100.0) / 10.0;
        return true;
}

/* ---- a strict reader for the JSON of stats_format() ---- */

/*
 * The shape is fixed: {"timestamp":N,["final":true,]"stats":[{flat object},...]} where a flat
 * object holds strings, numbers and true/false only. Anything else is refused rather than
 * guessed at, so a change in the formatter shows up in the tests.
 */
enum jkind { J_STR, J_NUM, J_BOOL };

struct jfield {
        const char *key;
        enum jkind kind;
        const char *str;
        double num;
};

struct jobj {
        struct jfield *f;
        int n, cap;
};

struct jstats {
        char *text; /* a copy; keys and strings point into it, unescaped in place */
        struct jobj *obj;
        int n, cap;
};

struct jparser {
        char *p;
};

static void jstats_free(struct jstats *s)
{
        for (int i = 0; i < s->n; i++)
                free(s->obj[i].f);
        free(s->obj);
        free(s->text);
        memset(s, 0, sizeof(*s));
}

static void skip_ws(struct jparser *j)
{
        while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
                j->p++;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int read_hex4(const char *s, unsigned *out)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                int h = hexval(s[i]);
                if (h < 0)
                        return -EBADMSG;
                v = v << 4 | (unsigned)h;
        }
        *out = v;
        return 0;
}

/* A string, unescaped in place (never longer than its escaped form). */
static int read_string(struct jparser *j, const char **out)
{
        if (*j->p != '"')
                return -EBADMSG;
        char *w = ++j->p, *start = w;
        for (;;) {
                unsigned char c = (unsigned char)*j->p;
                if (c == '"')
                        break;
                if (c < 0x20)
                        return -EBADMSG; /* also the end of the text */
                if (c != '\\') {
                        *w++ = (char)c;
                        j->p++;
                        continue;
                }
                char e = j->p[1];
                j->p += 2;
                const char *simple = strchr("\"\\/bfnrt", e);
                if (e && simple) {
                        static const char to[] = "\"\\/\b\f\n\r\t";
                        *w++ = to[simple - "\"\\/bfnrt"];
                        continue;
                }
                unsigned u;
                if (e != 'u' || read_hex4(j->p, &u) < 0)
                        return -EBADMSG;
                j->p += 4;
                if (u >= 0xd800 && u < 0xdc00) {
                        unsigned lo;
                        if (j->p[0] != '\\' || j->p[1] != 'u' || read_hex4(j->p + 2, &lo) < 0 ||
                            lo < 0xdc00 || lo > 0xdfff)
                                return -EBADMSG;
                        j->p += 6;
                        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                } else if (u >= 0xdc00 && u <= 0xdfff) {
                        return -EBADMSG;
                }
                /* \u0000 would cut the string short: not something the formatter writes. */
                if (u == 0)
                        return -EBADMSG;
                if (u < 0x80) {
                        *w++ = (char)u;
                } else if (u < 0x800) {
                        *w++ = (char)(0xc0 | u >> 6);
                        *w++ = (char)(0x80 | (u & 0x3f));
                } else if (u < 0x10000) {
                        *w++ = (char)(0xe0 | u >> 12);
                        *w++ = (char)(0x80 | (u >> 6 & 0x3f));
                        *w++ = (char)(0x80 | (u & 0x3f));
                } else {
                        *w++ = (char)(0xf0 | u >> 18);
                        *w++ = (char)(0x80 | (u >> 12 & 0x3f));
                        *w++ = (char)(0x80 | (u >> 6 & 0x3f));
                        *w++ = (char)(0x80 | (u & 0x3f));
                }
        }
        j->p++;
        *w = 0; /* w < j->p: the closing quote or earlier */
        *out = start;
        return 0;
}

/* A JSON number, checked against the grammar before strtod reads it. */
static int read_number(struct jparser *j, double *out)
{
        const char *s = j->p;
        if (*s == '-')
                s++;
        if (*s == '0')
                s++;
        else if (*s >= '1' && *s <= '9')
                while (*s >= '0' && *s <= '9')
                        s++;
        else
                return -EBADMSG;
        if (*s == '.') {
                s++;
                if (!(*s >= '0' && *s <= '9'))
                        return -EBADMSG;
                while (*s >= '0' && *s <= '9')
                        s++;
        }
        if (*s == 'e' || *s == 'E') {
                s++;
                if (*s == '+' || *s == '-')
                        s++;
                if (!(*s >= '0' && *s <= '9'))
                        return -EBADMSG;
                while (*s >= '0' && *s <= '9')
                        s++;
        }
        char *end;
        errno = 0;
        double v = strtod(j->p, &end);
        if (end != s || !isfinite(v))
                return -EBADMSG;
        j->p = end;
        *out = v;
        return 0;
}

static int read_scalar(struct jparser *j, struct jfield *f)
{
        if (*j->p == '"') {
                f->kind = J_STR;
                return read_string(j, &f->str);
        }
        if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "false", 5) == 0) {
                f->kind = J_BOOL;
                f->num = j->p[0] == 't';
                f->str = f->num ? "true" : "false";
                j->p += f->num ? 4 : 5;
                return 0;
        }
        f->kind = J_NUM;
        return read_number(j, &f->num);
}

static int add_field(struct jobj *o, const struct jfield *f)
{
        if (o->n == o->cap) {
                int cap = o->cap ? o->cap * 2 : 16;
                struct jfield *nf = realloc(o->f, (size_t)cap * sizeof(*nf));
                if (!nf)
                        return -ENOMEM;
                o->f = nf;
                o->cap = cap;
        }
        o->f[o->n++] = *f;
        return 0;
}

static int read_flat_object(struct jparser *j, struct jobj *o)
{
        if (*j->p != '{')
                return -EBADMSG;
        j->p++;
        skip_ws(j);
        if (*j->p == '}') {
                j->p++;
                return 0;
        }
        for (;;) {
                struct jfield f = {0};
                int rc;
                skip_ws(j);
                if ((rc = read_string(j, &f.key)) < 0)
                        return rc;
                skip_ws(j);
                if (*j->p++ != ':')
                        return -EBADMSG;
                skip_ws(j);
                if ((rc = read_scalar(j, &f)) < 0 || (rc = add_field(o, &f)) < 0)
                        return rc;
                skip_ws(j);
                if (*j->p == '}') {
                        j->p++;
                        return 0;
                }
                if (*j->p++ != ',')
                        return -EBADMSG;
        }
}

static int read_stats_array(struct jparser *j, struct jstats *s)
{
        if (*j->p != '[')
                return -EBADMSG;
        j->p++;
        skip_ws(j);
        if (*j->p == ']') {
                j->p++;
                return 0;
        }
        for (;;) {
                if (s->n == s->cap) {
                        int cap = s->cap ? s->cap * 2 : 16;
                        struct jobj *no = realloc(s->obj, (size_t)cap * sizeof(*no));
                        if (!no)
                                return -ENOMEM;
                        s->obj = no;
                        s->cap = cap;
                }
                struct jobj *o = &s->obj[s->n++];
                memset(o, 0, sizeof(*o));
                skip_ws(j);
                int rc = read_flat_object(j, o);
                if (rc < 0)
                        return rc;
                skip_ws(j);
                if (*j->p == ']') {
                        j->p++;
                        return 0;
                }
                if (*j->p++ != ',')
                        return -EBADMSG;
        }
}

static int jstats_parse(const char *text, size_t len, struct jstats *s)
{
        memset(s, 0, sizeof(*s));
        if (memchr(text, 0, len))
                return -EBADMSG;
        s->text = malloc(len + 1);
        if (!s->text)
                return -ENOMEM;
        memcpy(s->text, text, len);
        s->text[len] = 0;
        struct jparser j = {s->text};
        bool have_stats = false;
        int rc = -EBADMSG;
        skip_ws(&j);
        if (*j.p++ != '{')
                goto fail;
        for (;;) {
                const char *key;
                skip_ws(&j);
                if ((rc = read_string(&j, &key)) < 0)
                        goto fail;
                skip_ws(&j);
                rc = -EBADMSG;
                if (*j.p++ != ':')
                        goto fail;
                skip_ws(&j);
                if (strcmp(key, "stats") == 0) {
                        if (have_stats || (rc = read_stats_array(&j, s)) < 0)
                                goto fail;
                        have_stats = true;
                } else {
                        struct jfield f;
                        if ((rc = read_scalar(&j, &f)) < 0)
                                goto fail;
                }
                skip_ws(&j);
                rc = -EBADMSG;
                if (*j.p == '}')
                        break;
                if (*j.p++ != ',')
                        goto fail;
        }
        j.p++;
        skip_ws(&j);
        if (*j.p || !have_stats)
                goto fail;
        return 0;
fail:
        jstats_free(s);
        return rc < 0 ? rc : -EBADMSG;
}

static const struct jfield *jfind(const struct jobj *o, const char *key)
{
        for (int i = 0; i < o->n; i++)
                if (strcmp(o->f[i].key, key) == 0)
                        return &o->f[i];
        return NULL;
}

static const char *jstr(const struct jobj *o, const char *key)
{
        const struct jfield *f = jfind(o, key);
        return f && f->kind == J_STR ? f->str : NULL;
}

/* The first object with this type (and kind, when given), or with this id. */
static const struct jobj *find_obj(const struct jstats *s, const char *type, const char *kind,
                                   const char *id)
{
        for (int i = 0; i < s->n; i++) {
                const struct jobj *o = &s->obj[i];
                const char *t = jstr(o, "type"), *k = jstr(o, "kind"), *oid = jstr(o, "id");
                if (id ? (oid && strcmp(oid, id) == 0)
                       : (t && strcmp(t, type) == 0 && (!kind[0] || (k && strcmp(k, kind) == 0))))
                        return o;
        }
        return NULL;
}

/* The object a condition reads (not for data-channel), or NULL when there is none. */
static const struct jobj *target(const struct jstats *s, const struct expect_cond *c)
{
        if (strcmp(c->type, "candidate-pair") != 0)
                return find_obj(s, c->type, c->kind, NULL);
        const struct jobj *tr = find_obj(s, "transport", "", NULL);
        const char *pair_id = tr ? jstr(tr, "selectedCandidatePairId") : NULL;
        const struct jobj *pair = pair_id ? find_obj(s, NULL, "", pair_id) : NULL;
        if (!pair || c->candidate == 0)
                return pair;
        const char *cid = jstr(pair, c->candidate == 1 ? "localCandidateId" : "remoteCandidateId");
        return cid ? find_obj(s, NULL, "", cid) : NULL;
}

/* Counters of data channels are summed; these numbers describe one channel and cannot be. */
static bool channel_field_ok(const char *field, enum jkind kind)
{
        return kind != J_NUM ||
               (strcmp(field, "timestamp") != 0 && strcmp(field, "dataChannelIdentifier") != 0);
}

/* ---- every name --stats can print ---- */

/*
 * A snapshot with every optional part present: formatted, it shows each field the formatter
 * can write, so the names accepted here are exactly those of --stats.
 */
static int known_stats(struct jstats *s)
{
        struct stats_snapshot st = {
            .timestamp_ms = 1,
            .ice_state = "connected",
            .dtls_state = "connected",
            .dtls_role = "client",
            .dtls_cipher = "x",
            .srtp_cipher = "x",
            .have_pair = true,
            .local_relay_protocol = "udp",
            .n_outbound = 2,
            .n_inbound = 2,
            .n_channels = 1,
        };
        st.pair.rtt_valid = true;
        st.pair.local.type = SDP_CAND_RELAY;
        st.pair.remote.type = SDP_CAND_RELAY;
        for (int k = 0; k < 2; k++) {
                const char *kind = k ? "video" : "audio";
                st.outbound[k].kind = kind;
                st.outbound[k].clock_rate = 90000;
                st.outbound[k].rtp.have_report = true;
                st.outbound[k].rtp.rtt_valid = true;
                st.inbound[k].kind = kind;
                st.inbound[k].clock_rate = 90000;
                st.inbound[k].have_media = true;
                st.inbound[k].media.g2g_frames = 1;
                st.inbound[k].media.sync_valid = true;
                st.inbound[k].media.have_sink = true;
        }
        snprintf(st.channels[0].label, sizeof(st.channels[0].label), "x");
        st.channels[0].state = "open";
        struct buf b = BUF_INIT;
        int rc = stats_format(&st, true, &b);
        if (rc == 0)
                rc = jstats_parse((const char *)b.data, b.len, s);
        buf_free(&b);
        return rc;
}

static const struct jstats *known(void)
{
        static struct jstats s;
        static int state; /* 0 not yet, 1 ready, <0 failed */
        if (state == 0)
                state = known_stats(&s) == 0 ? 1 : -1;
        return state == 1 ? &s : NULL;
}

/* ---- conditions ---- */

static int bad_cond(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_cond(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static const char *const types =
    "transport, candidate-pair, outbound-rtp, remote-inbound-rtp, inbound-rtp, data-channel, "
    "setup";

/* The field names of one object, for a message: "a, b, c". */
static void list_fields(const struct jobj *o, bool channel, char *out, size_t len)
{
        size_t n = 0;
        out[0] = 0;
        for (int i = 0; o && i < o->n && n < len; i++) {
                if (channel && !channel_field_ok(o->f[i].key, o->f[i].kind))
                        continue;
                int w = snprintf(out + n, len - n, "%s%s", n ? ", " : "", o->f[i].key);
                if (w < 0)
                        break;
                n += (size_t)w;
        }
}

static bool is_field_name(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

/* Splits c->name into type, kind, candidate and field. */
static int split_name(struct expect_cond *c, char *err, size_t errlen)
{
        char parts[5][64];
        int n = 0;
        const char *s = c->name;
        for (;;) {
                const char *dot = strchr(s, '.');
                size_t l = dot ? (size_t)(dot - s) : strlen(s);
                if (n == 5 || l == 0 || l >= sizeof(parts[0]))
                        return bad_cond(err, errlen,
                                        "\"%s\" is not a stats name like "
                                        "inbound-rtp.video.framesDecoded",
                                        c->name);
                memcpy(parts[n], s, l);
                parts[n++][l] = 0;
                if (!dot)
                        break;
                s = dot + 1;
        }
        const char *type = parts[0];
        snprintf(c->type, sizeof(c->type), "%s", type);
        int fi; /* index of the field */
        if (strcmp(type, "transport") == 0 || strcmp(type, "data-channel") == 0 ||
            strcmp(type, "setup") == 0) {
                fi = 1;
        } else if (strcmp(type, "candidate-pair") == 0) {
                if (n < 3 || strcmp(parts[1], "selected") != 0)
                        return bad_cond(err, errlen,
                                        "\"%s\": candidate-pair wants .selected., as in "
                                        "candidate-pair.selected.local.candidateType",
                                        c->name);
                fi = 2;
                if (n == 4 && strcmp(parts[2], "local") == 0)
                        c->candidate = 1, fi = 3;
                else if (n == 4 && strcmp(parts[2], "remote") == 0)
                        c->candidate = 2, fi = 3;
                else if (n == 4)
                        return bad_cond(err, errlen,
                                        "\"%s\": after candidate-pair.selected comes a field, "
                                        "local or remote",
                                        c->name);
        } else if (strcmp(type, "outbound-rtp") == 0 || strcmp(type, "remote-inbound-rtp") == 0 ||
                   strcmp(type, "inbound-rtp") == 0) {
                if (n < 2 || (strcmp(parts[1], "audio") != 0 && strcmp(parts[1], "video") != 0))
                        return bad_cond(err, errlen,
                                        "\"%s\": %s wants audio or video next, as in "
                                        "%s.video.packetsLost",
                                        c->name, type, type);
                snprintf(c->kind, sizeof(c->kind), "%s", parts[1][0] == 'a' ? "audio" : "video");
                fi = 2;
        } else {
                return bad_cond(err, errlen, "unknown stats type \"%s\" in \"%s\" (known: %s)",
                                type, c->name, types);
        }
        if (n != fi + 1 || !is_field_name(parts[fi]))
                return bad_cond(err, errlen,
                                "\"%s\" is not a stats name: TYPE[.SELECTOR].FIELD, as in "
                                "inbound-rtp.video.framesDecoded",
                                c->name);
        snprintf(c->field, sizeof(c->field), "%s", parts[fi]);
        return 0;
}

/* Is the field known, and is it a number? */
static int check_field(struct expect_cond *c, char *err, size_t errlen)
{
        char list[600];
        if (strcmp(c->type, "setup") == 0) {
                for (size_t i = 0; i < N_SETUP; i++)
                        if (strcmp(setup_fields[i].name, c->field) == 0) {
                                c->numeric = true;
                                return 0;
                        }
                size_t n = 0;
                list[0] = 0;
                for (size_t i = 0; i < N_SETUP; i++)
                        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                                              setup_fields[i].name);
                return bad_cond(err, errlen, "unknown name \"%s\": setup has %s", c->name, list);
        }
        const struct jstats *k = known();
        if (!k)
                return bad_cond(err, errlen, "cannot list the stats names");
        bool channel = strcmp(c->type, "data-channel") == 0;
        const struct jobj *o = channel ? find_obj(k, "data-channel", "", NULL) : target(k, c);
        const struct jfield *f = o ? jfind(o, c->field) : NULL;
        if (!f || (channel && !channel_field_ok(f->key, f->kind))) {
                list_fields(o, channel, list, sizeof(list));
                /* The name without its field: "inbound-rtp.audio has ..." */
                char where[128];
                snprintf(where, sizeof(where), "%s", c->name);
                char *dot = strrchr(where, '.');
                if (dot)
                        *dot = 0;
                return bad_cond(err, errlen, "unknown name \"%s\": %s has %s", c->name, where,
                                list);
        }
        c->numeric = f->kind == J_NUM;
        return 0;
}

int expect_parse(const char *text, struct expect_cond *out, char *err, size_t errlen)
{
        memset(out, 0, sizeof(*out));
        size_t len = strlen(text);
        if (len >= sizeof(out->text))
                return bad_cond(err, errlen, "\"%.40s...\" is longer than %zu bytes", text,
                                sizeof(out->text) - 1);
        memcpy(out->text, text, len + 1);
        size_t at = strcspn(text, "=!<>");
        if (!text[at])
                return bad_cond(err, errlen,
                                "\"%s\" has no comparison: NAME=VALUE, !=, <, <=, > or >=", text);
        const char *op = text + at, *value;
        if (op[0] == '!' && op[1] == '=')
                out->op = EXPECT_NE, value = op + 2;
        else if (op[0] == '<' && op[1] == '=')
                out->op = EXPECT_LE, value = op + 2;
        else if (op[0] == '>' && op[1] == '=')
                out->op = EXPECT_GE, value = op + 2;
        else if (op[0] == '<')
                out->op = EXPECT_LT, value = op + 1;
        else if (op[0] == '>')
                out->op = EXPECT_GT, value = op + 1;
        else if (op[0] == '=')
                out->op = EXPECT_EQ, value = op + 1;
        else
                return bad_cond(err, errlen, "\"%s\": \"!\" must be \"!=\"", text);
        if (strspn(text, " ") == at)
                return bad_cond(err, errlen, "\"%s\" names nothing before the comparison", text);
        if (*value == '=')
                return bad_cond(err, errlen, "\"%s\": equality is a single =", text);
        /* Spaces around the parts are allowed: "framesDecoded >= 250" is one quoted word. */
        size_t nl = at;
        while (nl && text[nl - 1] == ' ')
                nl--;
        while (*value == ' ')
                value++;
        size_t vl = strlen(value);
        while (vl && value[vl - 1] == ' ')
                vl--;
        while (*text == ' ')
                text++, nl--;
        if (!vl)
                return bad_cond(err, errlen, "\"%s\" has no value after the comparison", out->text);
        if (nl >= sizeof(out->name) || vl >= sizeof(out->str))
                return bad_cond(err, errlen, "\"%s\": the name or the value is too long",
                                out->text);
        memcpy(out->name, text, nl);
        out->name[nl] = 0;
        memcpy(out->str, value, vl);
        out->str[vl] = 0;
        value = out->str;
        text = out->text;
        int rc = split_name(out, err, errlen);
        if (rc == 0)
                rc = check_field(out, err, errlen);
        if (rc < 0)
                return rc;
        if (out->numeric) {
                char *end;
                errno = 0;
                out->num = strtod(value, &end);
                if (errno || end == value || *end || !isfinite(out->num))
                        return bad_cond(err, errlen, "\"%s\": %s is a number, not \"%s\"", text,
                                        out->field, value);
        } else if (out->op != EXPECT_EQ && out->op != EXPECT_NE) {
                return bad_cond(err, errlen,
                                "\"%s\": %s is not a number: compare it with = or != only", text,
                                out->field);
        }
        return 0;
}

static bool compare_num(enum expect_op op, double a, double b)
{
        switch (op) {
        case EXPECT_EQ:
                return a == b;
        case EXPECT_NE:
                return a != b;
        case EXPECT_LT:
                return a < b;
        case EXPECT_LE:
                return a <= b;
        case EXPECT_GT:
                return a > b;
        case EXPECT_GE:
                return a >= b;
        }
        return false;
}

static bool compare_str(enum expect_op op, const char *a, const char *b)
{
        return (strcmp(a, b) == 0) == (op == EXPECT_EQ);
}

static void set_value(struct expect_value *v, const struct jfield *f)
{
        v->present = true;
        v->numeric = f->kind == J_NUM;
        v->num = f->num;
        snprintf(v->str, sizeof(v->str), "%s", f->kind == J_NUM ? "" : f->str);
}

static int eval_parsed(const struct expect_cond *c, const struct jstats *s,
                       const struct setup_times *t, struct expect_value *v)
{
        memset(v, 0, sizeof(*v));
        if (strcmp(c->type, "setup") == 0) {
                for (size_t i = 0; i < N_SETUP; i++)
                        if (strcmp(setup_fields[i].name, c->field) == 0 && t &&
                            setup_ms(t, &setup_fields[i], &v->num))
                                v->present = v->numeric = true;
                return v->present && compare_num(c->op, v->num, c->num);
        }
        if (!s)
                return 0;
        if (strcmp(c->type, "data-channel") == 0) {
                /* Counters add up over the channels; a string must hold for each one. */
                bool holds = true;
                for (int i = 0; i < s->n; i++) {
                        const char *type = jstr(&s->obj[i], "type");
                        const struct jfield *f = jfind(&s->obj[i], c->field);
                        if (!type || strcmp(type, "data-channel") != 0 || !f)
                                continue;
                        if (c->numeric && f->kind == J_NUM) {
                                v->num += f->num;
                                v->present = v->numeric = true;
                        } else if (!c->numeric && f->kind != J_NUM && holds) {
                                /* Shows the first channel, or the first that fails. */
                                if (!v->present || !compare_str(c->op, f->str, c->str))
                                        set_value(v, f);
                                holds = compare_str(c->op, f->str, c->str);
                        }
                }
                if (!v->present)
                        return 0;
                return c->numeric ? compare_num(c->op, v->num, c->num) : holds;
        }
        const struct jobj *o = target(s, c);
        const struct jfield *f = o ? jfind(o, c->field) : NULL;
        if (!f)
                return 0;
        set_value(v, f);
        if (c->numeric != (f->kind == J_NUM))
                return 0;
        return c->numeric ? compare_num(c->op, f->num, c->num) : compare_str(c->op, f->str, c->str);
}

int expect_eval(const struct expect_cond *c, const char *stats, size_t len,
                const struct setup_times *t, struct expect_value *seen)
{
        struct jstats s;
        bool have = stats && len;
        if (have) {
                int rc = jstats_parse(stats, len, &s);
                if (rc < 0)
                        return rc;
        }
        int rc = eval_parsed(c, have ? &s : NULL, t, seen);
        if (have)
                jstats_free(&s);
        return rc;
}

/* ---- the summary ---- */

static void json_string(struct buf *b, const char *s)
{
        buf_append_u8(b, '"');
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch == '"' || ch == '\\')
                        buf_printf(b, "\\%c", ch);
                else if (ch < 0x20)
                        buf_printf(b, "\\u%04x", ch);
                else
                        buf_append_u8(b, ch);
        }
        buf_append_u8(b, '"');
}

static void json_value(struct buf *b, const struct expect_value *v)
{
        if (!v->present)
                buf_append_str(b, "null");
        else if (v->numeric)
                buf_printf(b, "%.15g", v->num);
        else if (strcmp(v->str, "true") == 0 || strcmp(v->str, "false") == 0)
                buf_append_str(b, v->str);
        else
                json_string(b, v->str);
}

/* Evaluates every condition into results[] (NULL: just count); returns how many failed. */
static int eval_all(const struct cli_opts *opts, const struct setup_times *t, const char *stats,
                    size_t len, bool results[], struct expect_value values[])
{
        struct jstats s;
        bool have = stats && len && jstats_parse(stats, len, &s) == 0;
        int failed = 0;
        for (int i = 0; i < opts->n_expect; i++) {
                struct expect_cond c;
                char err[1024];
                bool ok = expect_parse(opts->expect[i], &c, err, sizeof(err)) == 0 &&
                          eval_parsed(&c, have ? &s : NULL, t, &values[i]) == 1;
                results[i] = ok;
                failed += !ok;
        }
        if (have)
                jstats_free(&s);
        return failed;
}

static int summary_with(const struct cli_opts *opts, int exit_code, const struct setup_times *t,
                        const char *stats, size_t len, const bool results[],
                        const struct expect_value values[], struct buf *b)
{
        buf_printf(b, "{\"role\":\"%s\",\"exitCode\":%d,\"exitReason\":",
                   opts->role == CLI_OFFER ? "offer" : "answer", exit_code);
        json_string(b, exit_code_name(exit_code));
        if (t->applied && t->ended >= t->applied)
                buf_printf(b, ",\"durationMs\":%.1f", (double)(t->ended - t->applied) / 1000.0);
        else
                buf_append_str(b, ",\"durationMs\":null");
        buf_append_str(b, ",\"setup\":{");
        for (size_t i = 0; i < N_SETUP; i++) {
                double ms;
                buf_printf(b, "%s\"%s\":", i ? "," : "", setup_fields[i].name);
                if (setup_ms(t, &setup_fields[i], &ms))
                        buf_printf(b, "%.1f", ms);
                else
                        buf_append_str(b, "null");
        }
        buf_append_str(b, "},\"expect\":[");
        bool all = true;
        for (int i = 0; i < opts->n_expect; i++) {
                buf_append_str(b, i ? ",{\"condition\":" : "{\"condition\":");
                json_string(b, opts->expect[i]);
                buf_printf(b, ",\"passed\":%s,\"value\":", results[i] ? "true" : "false");
                json_value(b, &values[i]);
                buf_append_str(b, "}");
                all = all && results[i];
        }
        buf_printf(b, "],\"passed\":%s,\"stats\":", all ? "true" : "false");
        /* The final --stats line as it is, without its newline. */
        while (len && (stats[len - 1] == '\n' || stats[len - 1] == '\r'))
                len--;
        if (stats && len)
                buf_append(b, stats, len);
        else
                buf_append_str(b, "null");
        return buf_append_str(b, "}");
}

int expect_summary(const struct cli_opts *opts, int exit_code, const struct setup_times *t,
                   const char *stats, size_t len, struct buf *out)
{
        bool *results = calloc((size_t)opts->n_expect + 1, sizeof(*results));
        struct expect_value *values = calloc((size_t)opts->n_expect + 1, sizeof(*values));
        int rc = -ENOMEM;
        if (results && values) {
                eval_all(opts, t, stats, len, results, values);
                rc = summary_with(opts, exit_code, t, stats, len, results, values, out);
        }
        free(results);
        free(values);
        return rc;
}

/* What was seen, for the line of a failed condition. */
static void describe(const struct expect_value *v, const struct expect_cond *c, bool have_stats,
                     char *out, size_t len)
{
        if (v->present && v->numeric)
                snprintf(out, len, "the value is %.15g", v->num);
        else if (v->present)
                snprintf(out, len, "the value is \"%s\"", v->str);
        else if (strcmp(c->type, "setup") == 0)
                snprintf(out, len, "the call never reached that stage");
        else if (!have_stats)
                snprintf(out, len, "the call ended before its session started");
        else
                snprintf(out, len, "the final stats have no %s", c->name);
}

int expect_finish(const struct cli_opts *opts, int exit_code, const struct setup_times *t,
                  const struct buf *final_stats)
{
        const char *stats = final_stats ? (const char *)final_stats->data : NULL;
        size_t len = final_stats ? final_stats->len : 0;
        int n = opts->n_expect;
        bool *results = calloc((size_t)n + 1, sizeof(*results));
        struct expect_value *values = calloc((size_t)n + 1, sizeof(*values));
        if (!results || !values) {
                free(results);
                free(values);
                log_error(NULL, "out of memory while checking --expect");
                return exit_code ? exit_code : EXIT_FAILURE_INTERNAL;
        }
        int failed = eval_all(opts, t, stats, len, results, values);
        int code = exit_code;
        if (failed && exit_code == EXIT_OK) {
                /* A call that failed for its own reason has said so; these would be noise. */
                for (int i = 0; i < n; i++) {
                        struct expect_cond c;
                        char err[1024], seen[200];
                        if (results[i])
                                continue;
                        if (expect_parse(opts->expect[i], &c, err, sizeof(err)) < 0) {
                                log_error(NULL, "--expect %s: %s", opts->expect[i], err);
                                continue;
                        }
                        describe(&values[i], &c, stats && len, seen, sizeof(seen));
                        log_error(NULL, "--expect %s failed: %s", opts->expect[i], seen);
                }
                code = EXIT_EXPECT_FAILED;
        }
        if (opts->summary) {
                struct buf b = BUF_INIT;
                int rc = summary_with(opts, code, t, stats, len, results, values, &b);
                if (rc == 0)
                        rc = buf_append_u8(&b, '\n');
                bool to_stdout = strcmp(opts->summary, "-") == 0;
                FILE *f = rc < 0 ? NULL : to_stdout ? stdout : fopen(opts->summary, "w");
                bool written = f && fwrite(b.data, 1, b.len, f) == b.len;
                if (f && (to_stdout ? fflush(f) : fclose(f)) != 0)
                        written = false;
                if (!written) {
                        log_error(NULL, "cannot write the --summary to %s: %s",
                                  to_stdout ? "stdout" : opts->summary,
                                  rc < 0 ? strerror(-rc) : strerror(errno));
                        if (code == EXIT_OK)
                                code = EXIT_FAILURE_INTERNAL;
                }
                buf_free(&b);
        }
        free(results);
        free(values);
        return code;
}
