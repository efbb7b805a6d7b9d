/*
 * JSEP offer/answer for the one configuration rtcpeer speaks: max-bundle, rtcp-mux, DTLS-SRTP,
 * opus, VP8 (+rtx) and SCTP data channels. Everything is built as a struct sdp, so the writer
 * and the parser's invariants cover what we send too.
 */
#include "sdp/negotiate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

static void *grow(void *arr, size_t n, size_t elem)
{
        if (n != 0 && (n & (n - 1)) != 0)
                return arr;
        size_t cap = n ? n * 2 : 1;
        return realloc(arr, cap * elem);
}

/*
 * Appends a zeroed element to a growable array and returns it (NULL when out of memory). The
 * array pointer is read and written with memcpy so one helper serves every element type.
 */
static void *arr_add(void *arrp, size_t *n, size_t elem)
{
        void *arr;
        memcpy(&arr, arrp, sizeof(arr));
        void *p = grow(arr, *n, elem);
        if (!p)
                return NULL;
        memcpy(arrp, &p, sizeof(p));
        char *slot = (char *)p + *n * elem;
        memset(slot, 0, elem);
        (*n)++;
        return slot;
}

#define ARR_ADD(arr, n) arr_add(&(arr), &(n), sizeof(*(arr)))

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
        char *d = xstrdup(s);
        if (!d)
                return -ENOMEM;
        char **slot = ARR_ADD(*arr, *n);
        if (!slot) {
                free(d);
                return -ENOMEM;
        }
        *slot = d;
        return 0;
}

static int set_err(struct sdp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct sdp_error *err, int code, const char *fmt, ...)
{
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                err->line = 0;
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
        }
        return code;
}

static bool sends(enum sdp_direction d)
{
        return d == SDP_DIR_SENDRECV || d == SDP_DIR_SENDONLY;
}

static bool receives(enum sdp_direction d)
{
        return d == SDP_DIR_SENDRECV || d == SDP_DIR_RECVONLY;
}

static enum sdp_direction make_dir(bool send, bool recv)
{
        if (send && recv)
                return SDP_DIR_SENDRECV;
        if (send)
                return SDP_DIR_SENDONLY;
        return recv ? SDP_DIR_RECVONLY : SDP_DIR_INACTIVE;
}

/* JSEP 5.3.1: the answer's direction mirrors the offer's, limited by what we can do. */
static enum sdp_direction answer_dir(enum sdp_direction offered, enum sdp_direction cap)
{
        return make_dir(sends(cap) && receives(offered), receives(cap) && sends(offered));
}

static bool ice_cred_ok(const char *v, size_t min)
{
        if (!v)
                return false;
        size_t n = strlen(v);
        if (n < min || n > SDP_ICE_CRED_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = v[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '+' || c == '/'))
                        return false;
        }
        return true;
}

static bool token_ok(const char *v, size_t max)
{
        if (!v || !*v || strlen(v) > max)
                return false;
        for (; *v; v++)
                if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
                        return false;
        return true;
}

static bool dir_ok(enum sdp_direction d)
{
        return (int)d >= (int)SDP_DIR_NONE && (int)d <= (int)SDP_DIR_INACTIVE;
}

static int check_local(const struct sdp_local *l, struct sdp_fingerprint *fp)
{
        if (!l || !ice_cred_ok(l->ice_ufrag, SDP_ICE_UFRAG_MIN) ||
            !ice_cred_ok(l->ice_pwd, SDP_ICE_PWD_MIN) || !l->fingerprint_algo || !l->fingerprint ||
            sdp_fingerprint_from_text(l->fingerprint_algo, l->fingerprint, fp) < 0)
                return -EINVAL;
        if (l->n_candidates && !l->candidates)
                return -EINVAL;
        if (!dir_ok(l->audio) || !dir_ok(l->video))
                return -EINVAL;
        if ((sends(l->audio) || sends(l->video)) && !token_ok(l->cname, 255))
                return -EINVAL;
        if (l->stream_id && l->stream_id[0] && !token_ok(l->stream_id, 64))
                return -EINVAL;
        if ((l->audio_track && !token_ok(l->audio_track, 64)) ||
            (l->video_track && !token_ok(l->video_track, 64)))
                return -EINVAL;
        return 0;
}

static bool is_ip_literal(const char *a)
{
        /* Names (mDNS) cannot go in c=; only dotted IPv4 or IPv6 qualify. */
        if (strchr(a, ':'))
                return true;
        for (; *a; a++)
                if (!((*a >= '0' && *a <= '9') || *a == '.'))
                        return false;
        return true;
}

/* RFC 8839 5.1: the default destination is a candidate; we prefer the best UDP one. */
static const struct sdp_candidate *default_candidate(const struct sdp_local *l)
{
        const struct sdp_candidate *best = NULL;
        for (size_t i = 0; i < l->n_candidates; i++) {
                const struct sdp_candidate *c = &l->candidates[i];
                if (c->component != 1 || strcmp(c->transport, "udp") != 0 ||
                    !is_ip_literal(c->address))
                        continue;
                if (!best || c->priority > best->priority)
                        best = c;
        }
        return best;
}

static const char *stream_id(const struct sdp_local *l)
{
        return l->stream_id && l->stream_id[0] ? l->stream_id : "-";
}

/* Transport lines shared by every section; `first` carries candidates and the real port. */
static int add_transport(struct sdp_media *m, const struct sdp_local *l,
                         const struct sdp_fingerprint *fp, enum sdp_setup setup, bool first)
{
        const struct sdp_candidate *def = first ? default_candidate(l) : NULL;
        m->conn.present = true;
        if (def) {
                m->port = def->port;
                m->conn.ip6 = strchr(def->address, ':') != NULL;
                snprintf(m->conn.addr, sizeof(m->conn.addr), "%s", def->address);
        } else {
                m->port = 9;
                strcpy(m->conn.addr, "0.0.0.0");
        }
        if (first) {
                if (l->n_candidates > SDP_MAX_CANDIDATES)
                        return -EINVAL;
                for (size_t i = 0; i < l->n_candidates; i++) {
                        struct sdp_candidate *c = ARR_ADD(m->candidates, m->n_candidates);
                        if (!c)
                                return -ENOMEM;
                        *c = l->candidates[i];
                }
                m->end_of_candidates = l->end_of_candidates;
        }
        snprintf(m->ice_ufrag, sizeof(m->ice_ufrag), "%s", l->ice_ufrag);
        snprintf(m->ice_pwd, sizeof(m->ice_pwd), "%s", l->ice_pwd);
        m->ice_options = xstrdup("trickle");
        m->fingerprints[0] = *fp;
        m->n_fingerprints = 1;
        m->setup = setup;
        return m->ice_options ? 0 : -ENOMEM;
}

static struct sdp_codec *add_codec(struct sdp_media *m, unsigned pt, const char *name,
                                   uint32_t clock, uint16_t channels, const char *fmtp)
{
        struct sdp_codec *c = ARR_ADD(m->codecs, m->n_codecs);
        if (!c)
                return NULL;
        c->pt = (uint8_t)pt;
        c->has_rtpmap = true;
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->clock = clock;
        c->channels = channels;
        if (fmtp) {
                c->fmtp = xstrdup(fmtp);
                if (!c->fmtp)
                        return NULL;
        }
        return c;
}

static int add_extmap(struct sdp_media *m, unsigned id, enum sdp_direction dir, const char *uri)
{
        struct sdp_extmap *e = ARR_ADD(m->extmaps, m->n_extmaps);
        if (!e)
                return -ENOMEM;
        e->id = (uint16_t)id;
        e->dir = dir;
        e->uri = xstrdup(uri);
        return e->uri ? 0 : -ENOMEM;
}

static int add_ssrc(struct sdp_media *m, uint32_t ssrc, const char *attr, const char *value)
{
        struct sdp_ssrc *x = ARR_ADD(m->ssrcs, m->n_ssrcs);
        if (!x)
                return -ENOMEM;
        x->ssrc = ssrc;
        x->attr = xstrdup(attr);
        x->value = xstrdup(value);
        return x->attr && x->value ? 0 : -ENOMEM;
}

static const char *const audio_fb[] = {"transport-cc"};
static const char *const video_fb[] = {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"};
#define OPUS_FMTP "minptime=10;useinbandfec=1"

/* What the caller asked for; both kinds unless told otherwise. */
static enum sdp_feedback feedback_of(const struct sdp_local *l)
{
        return l->feedback != SDP_FEEDBACK_DEFAULT ? l->feedback : SDP_FEEDBACK_BOTH;
}

static bool fb_supported(enum sdp_media_type t, const char *fb)
{
        const char *const *list = t == SDP_MEDIA_AUDIO ? audio_fb : video_fb;
        size_t n = t == SDP_MEDIA_AUDIO ? 1 : sizeof(video_fb) / sizeof(video_fb[0]);
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], fb) == 0)
                        return true;
        return false;
}

/* msid and a=ssrc lines for what we send in an audio or video section. */
static int add_send_ids(struct sdp_media *m, const struct sdp_local *l, enum sdp_media_type t)
{
        char msid[160];
        const char *track = t == SDP_MEDIA_AUDIO ? l->audio_track : l->video_track;
        if (track)
                snprintf(msid, sizeof(msid), "%s %s", stream_id(l), track);
        else
                snprintf(msid, sizeof(msid), "%s %s-%s", stream_id(l), stream_id(l),
                         t == SDP_MEDIA_AUDIO ? "audio" : "video");
        int rc = push_str(&m->msid, &m->n_msid, msid);
        uint32_t main_ssrc = t == SDP_MEDIA_AUDIO ? l->audio_ssrc : l->video_ssrc;
        /* Announce the rtx stream only when the section has an rtx payload type. */
        bool rtx = false;
        for (size_t i = 0; t == SDP_MEDIA_VIDEO && l->video_rtx_ssrc && i < m->n_codecs; i++)
                rtx = rtx || strcasecmp(m->codecs[i].name, "rtx") == 0;
        if (rc == 0 && rtx) {
                struct sdp_ssrc_group *g = ARR_ADD(m->ssrc_groups, m->n_ssrc_groups);
                if (!g)
                        return -ENOMEM;
                g->semantics = xstrdup("FID");
                g->ssrcs = malloc(2 * sizeof(uint32_t));
                if (!g->semantics || !g->ssrcs)
                        return -ENOMEM;
                g->ssrcs[0] = main_ssrc;
                g->ssrcs[1] = l->video_rtx_ssrc;
                g->n_ssrcs = 2;
        }
        for (int k = 0; k < (rtx ? 2 : 1) && rc == 0; k++) {
                uint32_t ssrc = k ? l->video_rtx_ssrc : main_ssrc;
                rc = add_ssrc(m, ssrc, "cname", l->cname);
                if (rc == 0)
                        rc = add_ssrc(m, ssrc, "msid", msid);
        }
        return rc;
}

static int offer_rtp_section(struct sdp_media *m, const struct sdp_local *l, enum sdp_media_type t)
{
        enum sdp_direction dir = t == SDP_MEDIA_AUDIO ? l->audio : l->video;
        int rc = 0;
        m->rtp = true;
        m->rtcp = xstrdup("9 IN IP4 0.0.0.0");
        if (!m->rtcp)
                return -ENOMEM;
        enum sdp_feedback fb = feedback_of(l);
        rc = add_extmap(m, SDP_EXT_MID_ID, SDP_DIR_NONE, SDP_EXT_MID_URI);
        if (rc == 0 && fb != SDP_FEEDBACK_CCFB)
                rc = add_extmap(m, SDP_EXT_TWCC_ID, SDP_DIR_NONE, SDP_EXT_TWCC_URI);
        m->direction = dir;
        m->rtcp_mux = true;
        m->rtcp_rsize = true;
        struct sdp_codec *c;
        if (t == SDP_MEDIA_AUDIO) {
                c = add_codec(m, SDP_PT_OPUS, "opus", 48000, 2, OPUS_FMTP);
                if (!c)
                        return -ENOMEM;
                for (size_t i = 0; i < sizeof(audio_fb) / sizeof(audio_fb[0]) && rc == 0; i++)
                        if (fb != SDP_FEEDBACK_CCFB || strcmp(audio_fb[i], SDP_FB_TWCC) != 0)
                                rc = push_str(&c->fb, &c->n_fb, audio_fb[i]);
        } else {
                c = add_codec(m, SDP_PT_VP8, "VP8", 90000, 0, NULL);
                if (!c)
                        return -ENOMEM;
                for (size_t i = 0; i < sizeof(video_fb) / sizeof(video_fb[0]) && rc == 0; i++)
                        if (fb != SDP_FEEDBACK_CCFB || strcmp(video_fb[i], SDP_FB_TWCC) != 0)
                                rc = push_str(&c->fb, &c->n_fb, video_fb[i]);
                char apt[16];
                snprintf(apt, sizeof(apt), "apt=%d", SDP_PT_VP8);
                if (rc == 0 && !add_codec(m, SDP_PT_RTX, "rtx", 90000, 0, apt))
                        return -ENOMEM;
        }
        /* RFC 8888 section 6: the wildcard, since it covers every payload type (rtx too). */
        if (rc == 0 && fb != SDP_FEEDBACK_TWCC)
                rc = sdp_media_add_fb_all(m, SDP_FB_CCFB);
        if (rc == 0 && sends(dir))
                rc = add_send_ids(m, l, t);
        return rc;
}

static int offer_data_section(struct sdp_media *m, const struct sdp_local *l)
{
        m->sctp_port = SDP_SCTP_PORT;
        m->has_max_message_size = true;
        m->max_message_size = l->max_message_size ? l->max_message_size : SDP_MAX_MESSAGE_SIZE;
        return push_str(&m->fmts, &m->n_fmts, "webrtc-datachannel");
}

static struct sdp *new_session(const struct sdp_local *l)
{
        struct sdp *s = sdp_new();
        if (!s)
                return NULL;
        s->session_id = l->session_id;
        s->session_version = 2;
        s->name = xstrdup("-");
        if (!s->name) {
                sdp_free(s);
                return NULL;
        }
        return s;
}

static int add_group(struct sdp *s, struct sdp_group **out)
{
        struct sdp_group *g = ARR_ADD(s->groups, s->n_groups);
        if (!g)
                return -ENOMEM;
        g->semantics = xstrdup("BUNDLE");
        *out = g;
        return g->semantics ? 0 : -ENOMEM;
}

static int set_msid_semantic(struct sdp *s, const struct sdp_local *l)
{
        char v[96];
        if (strcmp(stream_id(l), "-") == 0)
                snprintf(v, sizeof(v), "WMS");
        else
                snprintf(v, sizeof(v), "WMS %s", stream_id(l));
        s->msid_semantic = xstrdup(v);
        return s->msid_semantic ? 0 : -ENOMEM;
}

int sdp_create_offer(const struct sdp_local *local, struct sdp **out)
{
        struct sdp_fingerprint fp;
        if (!out)
                return -EINVAL;
        *out = NULL;
        int rc = check_local(local, &fp);
        if (rc < 0)
                return rc;
        if (local->audio == SDP_DIR_NONE && local->video == SDP_DIR_NONE && !local->data)
                return -EINVAL;
        struct sdp *s = new_session(local);
        if (!s)
                return -ENOMEM;
        struct sdp_group *g;
        rc = add_group(s, &g);
        if (rc == 0 && (local->audio != SDP_DIR_NONE || local->video != SDP_DIR_NONE))
                rc = set_msid_semantic(s, local);
        static const enum sdp_media_type order[] = {SDP_MEDIA_AUDIO, SDP_MEDIA_VIDEO,
                                                    SDP_MEDIA_APPLICATION};
        for (size_t i = 0; i < 3 && rc == 0; i++) {
                enum sdp_media_type t = order[i];
                if ((t == SDP_MEDIA_AUDIO && local->audio == SDP_DIR_NONE) ||
                    (t == SDP_MEDIA_VIDEO && local->video == SDP_DIR_NONE) ||
                    (t == SDP_MEDIA_APPLICATION && !local->data))
                        continue;
                bool first = s->n_media == 0;
                struct sdp_media *m = sdp_add_media(s);
                if (!m) {
                        rc = -ENOMEM;
                        break;
                }
                m->type = t;
                snprintf(m->media, sizeof(m->media), "%s",
                         t == SDP_MEDIA_AUDIO   ? "audio"
                         : t == SDP_MEDIA_VIDEO ? "video"
                                                : "application");
                snprintf(m->proto, sizeof(m->proto), "%s",
                         t == SDP_MEDIA_APPLICATION ? "UDP/DTLS/SCTP" : "UDP/TLS/RTP/SAVPF");
                snprintf(m->mid, sizeof(m->mid), "%zu", s->n_media - 1);
                rc = add_transport(m, local, &fp, SDP_SETUP_ACTPASS, first);
                if (rc == 0)
                        rc = t == SDP_MEDIA_APPLICATION ? offer_data_section(m, local)
                                                        : offer_rtp_section(m, local, t);
                if (rc == 0)
                        rc = push_str(&s->groups[0].mids, &s->groups[0].n_mids, m->mid);
        }
        if (rc < 0) {
                sdp_free(s);
                return rc;
        }
        *out = s;
        return 0;
}

/* ---- answer ---- */

struct verdict {
        bool accept;
        char reason[64];
        int pt_main;   /* opus or VP8 payload type in the offer */
        int pt_rtx;    /* rtx for pt_main, -1 when none */
        bool old_sctp; /* DTLS/SCTP with a=sctpmap (pre RFC 8841 form) */
};

static bool proto_is(const char *proto, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(proto, list[i]) == 0)
                        return true;
        return false;
}

static int find_codec(const struct sdp_media *m, const char *name, uint32_t clock,
                      uint16_t channels)
{
        for (size_t i = 0; i < m->n_codecs; i++) {
                const struct sdp_codec *c = &m->codecs[i];
                if (!c->has_rtpmap || strcasecmp(c->name, name) != 0 || c->clock != clock)
                        continue;
                /* No channel count means one channel (RFC 4566 6); opus is always "/2". */
                if (channels && (c->channels ? c->channels : 1) != channels)
                        continue;
                return c->pt;
        }
        return -1;
}

static int find_rtx(const struct sdp_media *m, int apt)
{
        char want[16];
        snprintf(want, sizeof(want), "apt=%d", apt);
        for (size_t i = 0; i < m->n_codecs; i++) {
                const struct sdp_codec *c = &m->codecs[i];
                if (c->has_rtpmap && strcasecmp(c->name, "rtx") == 0 && c->clock == 90000 &&
                    c->fmtp && strcmp(c->fmtp, want) == 0)
                        return c->pt;
        }
        return -1;
}

static bool in_group(const struct sdp_group *g, const char *mid)
{
        for (size_t i = 0; g && mid[0] && i < g->n_mids; i++)
                if (strcmp(g->mids[i], mid) == 0)
                        return true;
        return false;
}

/* Port 0 means rejected, except for JSEP bundle-only sections inside the bundle. */
static bool offered_open(const struct sdp *offer, const struct sdp_media *m)
{
        return m->port != 0 ||
               (sdp_media_attr(m, "bundle-only") && in_group(sdp_bundle_group(offer), m->mid));
}

static void judge(const struct sdp *offer, size_t idx, const struct sdp_local *l, bool data_taken,
                  struct verdict *v)
{
        static const char *const rtp_protos[] = {"UDP/TLS/RTP/SAVPF", "TCP/DTLS/RTP/SAVPF",
                                                 "RTP/SAVPF"};
        static const char *const sctp_protos[] = {"UDP/DTLS/SCTP", "TCP/DTLS/SCTP"};
        const struct sdp_media *m = &offer->media[idx];
        const struct sdp_group *bundle = sdp_bundle_group(offer);
        v->accept = false;
        v->pt_main = v->pt_rtx = -1;
        v->old_sctp = false;
#define REJECT(...)                                                                                \
        do {                                                                                       \
                snprintf(v->reason, sizeof(v->reason), __VA_ARGS__);                               \
                return;                                                                            \
        } while (0)
        if (!offered_open(offer, m))
                REJECT("rejected in the offer");
        if (m->type == SDP_MEDIA_AUDIO || m->type == SDP_MEDIA_VIDEO) {
                bool audio = m->type == SDP_MEDIA_AUDIO;
                if ((audio ? l->audio : l->video) == SDP_DIR_NONE)
                        REJECT("%s not enabled", audio ? "audio" : "video");
                if (!m->rtp || !proto_is(m->proto, rtp_protos, 3))
                        REJECT("unsupported proto %.40s", m->proto);
                if (!m->rtcp_mux)
                        REJECT("no rtcp-mux");
                v->pt_main =
                    audio ? find_codec(m, "opus", 48000, 2) : find_codec(m, "VP8", 90000, 0);
                if (v->pt_main < 0)
                        REJECT("no common codec");
                if (!audio)
                        v->pt_rtx = find_rtx(m, v->pt_main);
        } else if (m->type == SDP_MEDIA_APPLICATION) {
                if (!l->data)
                        REJECT("data channels not enabled");
                if (proto_is(m->proto, sctp_protos, 2)) {
                        bool dc = false;
                        for (size_t i = 0; i < m->n_fmts; i++)
                                dc = dc || strcmp(m->fmts[i], "webrtc-datachannel") == 0;
                        if (!dc)
                                REJECT("no webrtc-datachannel format");
                } else if (strcasecmp(m->proto, "DTLS/SCTP") == 0) {
                        v->old_sctp = true;
                } else {
                        REJECT("unsupported proto %.40s", m->proto);
                }
                if (data_taken)
                        REJECT("a second data section");
        } else {
                REJECT("%.30s not supported", m->media);
        }
        if (bundle && !in_group(bundle, m->mid))
                REJECT("not in the BUNDLE group");
#undef REJECT
        v->accept = true;
}

static const char *section_name(const struct sdp_media *m, size_t idx, char *buf, size_t cap)
{
        if (m->mid[0])
                snprintf(buf, cap, "mid \"%s\"", m->mid);
        else
                snprintf(buf, cap, "m= section %zu", idx + 1);
        return buf;
}

static int answer_rtp_section(struct sdp_media *am, const struct sdp *offer,
                              const struct sdp_media *om, const struct sdp_local *l,
                              const struct verdict *v)
{
        bool audio = om->type == SDP_MEDIA_AUDIO;
        int rc = 0;
        am->rtp = true;
        am->rtcp = xstrdup("9 IN IP4 0.0.0.0");
        if (!am->rtcp)
                return -ENOMEM;
        enum sdp_feedback fb = feedback_of(l);
        for (size_t i = 0; i < om->n_extmaps && rc == 0; i++) {
                const struct sdp_extmap *e = &om->extmaps[i];
                bool twcc = strcmp(e->uri, SDP_EXT_TWCC_URI) == 0;
                if ((strcmp(e->uri, SDP_EXT_MID_URI) != 0 && !twcc) ||
                    (twcc && fb == SDP_FEEDBACK_CCFB))
                        continue;
                enum sdp_direction d = e->dir;
                if (d == SDP_DIR_SENDONLY || d == SDP_DIR_RECVONLY)
                        d = d == SDP_DIR_SENDONLY ? SDP_DIR_RECVONLY : SDP_DIR_SENDONLY;
                rc = add_extmap(am, e->id, d, e->uri);
        }
        enum sdp_direction cap = audio ? l->audio : l->video;
        am->direction = answer_dir(sdp_media_direction(offer, om), cap);
        am->rtcp_mux = true;
        am->rtcp_rsize = om->rtcp_rsize;
        const struct sdp_codec *oc = sdp_media_codec(om, (unsigned)v->pt_main);
        struct sdp_codec *c =
            rc == 0 ? add_codec(am, (unsigned)v->pt_main, audio ? "opus" : "VP8",
                                audio ? 48000 : 90000, audio ? 2 : 0, audio ? OPUS_FMTP : NULL)
                    : NULL;
        if (!c)
                return -ENOMEM;
        bool ccfb = false;
        for (size_t i = 0; oc && i < oc->n_fb && rc == 0; i++) {
                if (strcmp(oc->fb[i], SDP_FB_CCFB) == 0)
                        ccfb = fb != SDP_FEEDBACK_TWCC;
                else if (fb_supported(om->type, oc->fb[i]) &&
                         (fb != SDP_FEEDBACK_CCFB || strcmp(oc->fb[i], SDP_FB_TWCC) != 0))
                        rc = push_str(&c->fb, &c->n_fb, oc->fb[i]);
        }
        if (rc == 0 && v->pt_rtx >= 0) {
                char apt[16];
                snprintf(apt, sizeof(apt), "apt=%d", v->pt_main);
                if (!add_codec(am, (unsigned)v->pt_rtx, "rtx", 90000, 0, apt))
                        return -ENOMEM;
        }
        /* Offered per payload type or as the wildcard: answered as the wildcard (RFC 8888 6). */
        if (rc == 0 && ccfb)
                rc = sdp_media_add_fb_all(am, SDP_FB_CCFB);
        if (rc == 0 && sends(am->direction))
                rc = add_send_ids(am, l, om->type);
        return rc;
}

static int answer_data_section(struct sdp_media *am, const struct sdp_media *om,
                               const struct sdp_local *l, const struct verdict *v)
{
        uint64_t ours = l->max_message_size ? l->max_message_size : SDP_MAX_MESSAGE_SIZE;
        uint64_t theirs =
            om->has_max_message_size ? om->max_message_size : SDP_DEFAULT_MAX_MESSAGE_SIZE;
        /* 0 means "any size" (RFC 8841 6). */
        am->has_max_message_size = true;
        am->max_message_size = theirs == 0 ? ours : (ours < theirs ? ours : theirs);
        if (v->old_sctp) {
                char port[16];
                snprintf(port, sizeof(port), "%d", SDP_SCTP_PORT);
                struct sdp_attr *a = ARR_ADD(am->attrs, am->n_attrs);
                if (!a)
                        return -ENOMEM;
                a->name = xstrdup("sctpmap");
                a->value = xstrdup("5000 webrtc-datachannel 1024");
                if (!a->name || !a->value)
                        return -ENOMEM;
                return push_str(&am->fmts, &am->n_fmts, port);
        }
        am->sctp_port = SDP_SCTP_PORT;
        return push_str(&am->fmts, &am->n_fmts, "webrtc-datachannel");
}

/*
 * JSEP 5.3.1: a rejected section keeps its media, proto and mid, with port 0. Deployed stacks
 * parse it like any other section before they see the port, so it also carries the transport
 * lines (aiortc wants ICE credentials, GStreamer a fingerprint) and one offered payload type
 * with its rtpmap (Pion looks the type up).
 */
static int reject_section(struct sdp_media *am, const struct sdp_media *om,
                          const struct sdp_local *l, const struct sdp_fingerprint *fp,
                          enum sdp_setup setup)
{
        int rc = add_transport(am, l, fp, setup, false);
        if (rc < 0)
                return rc;
        am->port = 0;
        am->rtcp_mux = om->rtp;
        /* aiortc gathers per section and waits for this even on a rejected one. */
        am->end_of_candidates = l->end_of_candidates;
        if (om->n_codecs > 0) {
                const struct sdp_codec *oc = &om->codecs[0];
                struct sdp_codec *c = ARR_ADD(am->codecs, am->n_codecs);
                if (!c)
                        return -ENOMEM;
                c->pt = oc->pt;
                c->has_rtpmap = oc->has_rtpmap;
                memcpy(c->name, oc->name, sizeof(c->name));
                c->clock = oc->clock;
                c->channels = oc->channels;
        }
        for (size_t i = 0; i < om->n_fmts; i++)
                if (push_str(&am->fmts, &am->n_fmts, om->fmts[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int build_answer(const struct sdp *offer, const struct sdp_local *l,
                        const struct sdp_fingerprint *fp, const struct verdict *vs,
                        enum sdp_setup setup, struct sdp *s)
{
        const struct sdp_group *ob = sdp_bundle_group(offer);
        bool any_rtp = false;
        int rc = 0;
        if (ob) {
                struct sdp_group *g;
                rc = add_group(s, &g);
                /* Accepted mids in the order of the offer's group. */
                for (size_t i = 0; i < ob->n_mids && rc == 0; i++) {
                        const struct sdp_media *om = sdp_find_mid(offer, ob->mids[i]);
                        size_t idx = om ? (size_t)(om - offer->media) : 0;
                        if (om && vs[idx].accept)
                                rc = push_str(&g->mids, &g->n_mids, ob->mids[i]);
                }
        }
        bool first = true;
        for (size_t i = 0; i < offer->n_media && rc == 0; i++) {
                const struct sdp_media *om = &offer->media[i];
                struct sdp_media *am = sdp_add_media(s);
                if (!am)
                        return -ENOMEM;
                am->type = om->type;
                memcpy(am->media, om->media, sizeof(am->media));
                memcpy(am->proto, om->proto, sizeof(am->proto));
                memcpy(am->mid, om->mid, sizeof(am->mid));
                am->rtp = om->rtp;
                if (!vs[i].accept) {
                        rc = reject_section(am, om, l, fp, setup);
                        continue;
                }
                rc = add_transport(am, l, fp, setup, first);
                first = false;
                if (rc < 0)
                        break;
                if (om->type == SDP_MEDIA_APPLICATION) {
                        rc = answer_data_section(am, om, l, &vs[i]);
                } else {
                        any_rtp = true;
                        rc = answer_rtp_section(am, offer, om, l, &vs[i]);
                }
        }
        if (rc == 0 && any_rtp)
                rc = set_msid_semantic(s, l);
        return rc;
}

int sdp_create_answer(const struct sdp *offer, const struct sdp_local *local, struct sdp **out,
                      struct sdp_error *err)
{
        struct sdp_fingerprint fp;
        char name[96];
        if (err) {
                err->line = 0;
                err->msg[0] = '\0';
        }
        if (!out || !offer)
                return set_err(err, -EINVAL, "no offer");
        *out = NULL;
        if (check_local(local, &fp) < 0)
                return set_err(err, -EINVAL, "incomplete local parameters");
        if (offer->n_media == 0)
                return set_err(err, -ENOTSUP, "the offer has no m= sections");
        struct verdict *vs = calloc(offer->n_media, sizeof(*vs));
        if (!vs)
                return set_err(err, -ENOMEM, "out of memory");
        bool data_taken = false, any = false;
        const struct sdp_media *tag = NULL;
        for (size_t i = 0; i < offer->n_media; i++) {
                judge(offer, i, local, data_taken, &vs[i]);
                /* Without BUNDLE we take only the first section we can use: rtcpeer runs a single
                 * transport, and a second unbundled section would need its own. */
                if (vs[i].accept && !sdp_bundle_group(offer) && any) {
                        vs[i].accept = false;
                        snprintf(vs[i].reason, sizeof(vs[i].reason), "no BUNDLE, one section only");
                }
                if (vs[i].accept) {
                        any = true;
                        data_taken = data_taken || offer->media[i].type == SDP_MEDIA_APPLICATION;
                        if (!tag)
                                tag = &offer->media[i];
                }
        }
        int rc = 0;
        if (!any) {
                struct buf b = BUF_INIT;
                buf_append_str(&b, "the offer has nothing rtcpeer can accept:");
                for (size_t i = 0; i < offer->n_media; i++)
                        buf_printf(&b, "%s %s rejected (%s)", i ? "," : "",
                                   offer->media[i].type == SDP_MEDIA_APPLICATION
                                       ? "data"
                                       : offer->media[i].media,
                                   vs[i].reason);
                buf_terminate(&b);
                rc = set_err(err, -ENOTSUP, "%s", b.data ? (char *)b.data : "no usable section");
                buf_free(&b);
                free(vs);
                return rc;
        }
        /* Every accepted section that carries its own transport must be complete. */
        for (size_t i = 0; i < offer->n_media && rc == 0; i++) {
                const struct sdp_media *m = &offer->media[i];
                if (!vs[i].accept || (m->port == 0 && sdp_media_attr(m, "bundle-only")))
                        continue;
                section_name(m, i, name, sizeof(name));
                if (!sdp_media_ice_ufrag(offer, m) || !sdp_media_ice_pwd(offer, m))
                        rc = set_err(err, -EBADMSG, "%s in the offer has no ice-ufrag/ice-pwd",
                                     name);
                else if (!sdp_media_fingerprint(offer, m))
                        rc = set_err(err, -EBADMSG, "%s in the offer has no fingerprint", name);
                else if (sdp_media_setup(offer, m) == SDP_SETUP_HOLDCONN)
                        rc = set_err(err, -EBADMSG, "%s in the offer says a=setup:holdconn", name);
        }
        /* RFC 4145: no a=setup means the offerer is active, so we listen. */
        enum sdp_setup their = sdp_media_setup(offer, tag);
        enum sdp_setup ours = (their == SDP_SETUP_ACTIVE || their == SDP_SETUP_NONE)
                                  ? SDP_SETUP_PASSIVE
                                  : SDP_SETUP_ACTIVE;
        struct sdp *s = NULL;
        if (rc == 0) {
                s = new_session(local);
                rc = s ? build_answer(offer, local, &fp, vs, ours, s) : -ENOMEM;
                if (rc < 0)
                        set_err(err, rc,
                                rc == -ENOMEM ? "out of memory" : "cannot build the answer");
        }
        for (size_t i = 0; i < offer->n_media && rc == 0; i++)
                if (!vs[i].accept)
                        log_debug("sdp", "answer rejects %s %s: %s", offer->media[i].media,
                                  section_name(&offer->media[i], i, name, sizeof(name)),
                                  vs[i].reason);
        free(vs);
        if (rc < 0) {
                sdp_free(s);
                return rc;
        }
        *out = s;
        return 0;
}

/* ---- checking an answer to our offer ---- */

static int check_rtp_answer(const struct sdp *offer, const struct sdp_media *om,
                            const struct sdp *answer, const struct sdp_media *am, const char *name,
                            struct sdp_error *err)
{
        for (size_t i = 0; i < am->n_codecs; i++)
                if (!sdp_media_codec(om, am->codecs[i].pt))
                        return set_err(err, -EBADMSG,
                                       "the answer uses payload type %u in %s, which the offer did "
                                       "not list",
                                       am->codecs[i].pt, name);
        if (!am->rtcp_mux)
                return set_err(err, -EBADMSG, "the answer lacks a=rtcp-mux in %s", name);
        enum sdp_direction od = sdp_media_direction(offer, om);
        enum sdp_direction ad = sdp_media_direction(answer, am);
        /*
         * Some stacks (Pion) answer sendrecv to a sendonly offer. What they would send we do not
         * receive anyway, so the direction that matters still works: accept it with a note.
         */
        bool lenient = ad == SDP_DIR_SENDRECV && od == SDP_DIR_SENDONLY;
        if (lenient)
                log_info("sdp",
                         "the answer says sendrecv in %s to a sendonly offer: taken as "
                         "recvonly",
                         name);
        if (!lenient && ((sends(ad) && !receives(od)) || (receives(ad) && !sends(od))))
                return set_err(err, -EBADMSG, "the answer says %s in %s, the offer said %s",
                               sdp_direction_name(ad), name, sdp_direction_name(od));
        for (size_t i = 0; i < am->n_extmaps; i++) {
                bool ok = false;
                for (size_t j = 0; j < om->n_extmaps && !ok; j++)
                        ok = om->extmaps[j].id == am->extmaps[i].id &&
                             strcmp(om->extmaps[j].uri, am->extmaps[i].uri) == 0;
                if (!ok)
                        return set_err(err, -EBADMSG,
                                       "the answer maps extension id %u in %s to %.60s, which the "
                                       "offer did not",
                                       am->extmaps[i].id, name, am->extmaps[i].uri);
        }
        return 0;
}

int sdp_check_answer(const struct sdp *offer, const struct sdp *answer, struct sdp_error *err)
{
        char name[96];
        if (err) {
                err->line = 0;
                err->msg[0] = '\0';
        }
        if (!offer || !answer)
                return set_err(err, -EINVAL, "nothing to check");
        if (answer->n_media != offer->n_media)
                return set_err(err, -EBADMSG, "the answer has %zu m= sections, the offer had %zu",
                               answer->n_media, offer->n_media);
        size_t accepted = 0;
        for (size_t i = 0; i < offer->n_media; i++) {
                const struct sdp_media *om = &offer->media[i], *am = &answer->media[i];
                section_name(om, i, name, sizeof(name));
                if (strcmp(om->media, am->media) != 0)
                        return set_err(err, -EBADMSG,
                                       "m= section %zu is %s in the answer but %s in the offer",
                                       i + 1, am->media, om->media);
                if (strcmp(om->mid, am->mid) != 0)
                        return set_err(err, -EBADMSG,
                                       "m= section %zu has mid \"%s\" in the answer but \"%s\" in "
                                       "the offer",
                                       i + 1, am->mid, om->mid);
                if (am->port == 0)
                        continue;
                if (!offered_open(offer, om))
                        return set_err(err, -EBADMSG,
                                       "the answer accepts %s, which the offer rejected", name);
                if (strcasecmp(om->proto, am->proto) != 0)
                        return set_err(err, -EBADMSG, "the answer changes the proto of %s to %s",
                                       name, am->proto);
                enum sdp_setup setup = sdp_media_setup(answer, am);
                if (setup == SDP_SETUP_ACTPASS || setup == SDP_SETUP_HOLDCONN)
                        return set_err(err, -EBADMSG,
                                       "the answer says a=setup:%s in %s (must be active or "
                                       "passive)",
                                       sdp_setup_name(setup), name);
                if (!sdp_media_ice_ufrag(answer, am) || !sdp_media_ice_pwd(answer, am))
                        return set_err(err, -EBADMSG, "%s in the answer has no ice-ufrag/ice-pwd",
                                       name);
                if (!sdp_media_fingerprint(answer, am))
                        return set_err(err, -EBADMSG, "%s in the answer has no fingerprint", name);
                if (om->rtp) {
                        int rc = check_rtp_answer(offer, om, answer, am, name, err);
                        if (rc < 0)
                                return rc;
                }
                accepted++;
        }
        const struct sdp_group *ob = sdp_bundle_group(offer), *ab = sdp_bundle_group(answer);
        for (size_t i = 0; ab && i < ab->n_mids; i++) {
                const struct sdp_media *am = sdp_find_mid(answer, ab->mids[i]);
                if (!in_group(ob, ab->mids[i]) || !am || am->port == 0)
                        return set_err(
                            err, -EBADMSG,
                            "the answer's BUNDLE group names mid \"%s\", which is not an "
                            "accepted section of the offer's bundle",
                            ab->mids[i]);
        }
        if (accepted == 0)
                return set_err(err, -ENOTSUP, "the answer rejected every m= section");
        return 0;
}

/* ---- summary ---- */

static const char *main_codec(const struct sdp_media *m, char *buf, size_t cap)
{
        for (size_t i = 0; i < m->n_codecs; i++)
                if (m->codecs[i].has_rtpmap)
                        return m->codecs[i].name;
        snprintf(buf, cap, "pt %u", m->n_codecs ? m->codecs[0].pt : 0);
        return buf;
}

int sdp_describe(const struct sdp *s, struct buf *out)
{
        int rc = 0;
        char tmp[16];
        if (!s || !out)
                return -EINVAL;
        if (s->n_media == 0)
                rc = buf_append_str(out, "no media");
        for (size_t i = 0; i < s->n_media && rc == 0; i++) {
                const struct sdp_media *m = &s->media[i];
                const char *sep = i ? ", " : "";
                const char *kind = m->type == SDP_MEDIA_APPLICATION ? "data" : m->media;
                if (m->port == 0 && !sdp_media_attr(m, "bundle-only"))
                        rc = buf_printf(out, "%s%s rejected", sep, kind);
                else if (m->type == SDP_MEDIA_APPLICATION)
                        rc = buf_printf(out, "%sdata sctp:%d", sep,
                                        m->sctp_port >= 0 ? (int)m->sctp_port : SDP_SCTP_PORT);
                else if (m->rtp)
                        rc = buf_printf(out, "%s%s %s %s", sep, kind,
                                        main_codec(m, tmp, sizeof(tmp)),
                                        sdp_direction_name(sdp_media_direction(s, m)));
                else
                        rc = buf_printf(out, "%s%s %s", sep, kind, m->proto);
        }
        const struct sdp_group *g = sdp_bundle_group(s);
        if (rc == 0 && g) {
                rc = buf_append_str(out, " (bundle");
                for (size_t i = 0; i < g->n_mids && rc == 0; i++)
                        rc = buf_printf(out, " %s", g->mids[i]);
                if (rc == 0)
                        rc = buf_append_str(out, ")");
        }
        return rc;
}
