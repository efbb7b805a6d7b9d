#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/rand.h"
#include "dtls/demux.h"
#include "dtls/dtls.h"
#include "dtls/srtp.h"
#include "rtp/ccfb.h"
#include "rtp/gcc.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtp_receiver.h"
#include "rtp/rtp_sender.h"
#if __has_include("rtp/twcc.h")
#include "rtp/twcc.h"
#define SESSION_TWCC 1
#endif
#include "sdp/negotiate.h"

/* DTLS flights that arrive before ICE has a selected pair wait here (a few handshake records). */
#define SESSION_MAX_PENDING 16

struct session_item {
        struct session_output out;
        uint8_t *copy;
};

struct session {
        struct session_config cfg;
        char ufrag[ICE_CRED_MAX + 1];
        char pwd[ICE_CRED_MAX + 1];
        struct ice_agent *ice;
        struct dtls *dtls;
        struct sctp_assoc *sctp;
        struct srtp_ctx *srtp; /* keyed from DTLS-SRTP once the handshake is done */
        /* Media we send, configured from the answer; senders exist once SRTP is keyed. */
        struct rtp_sender_config media_cfg[2];
        char media_mid[2][SDP_MID_MAX + 1];
        bool media_on[2];
        uint16_t twcc_seq;
        struct rtp_sender *sender[2];
        /* Media we receive, configured from the answer like the senders. */
        struct rtp_receiver_config recv_cfg[2];
        bool recv_on[2];
        struct rtp_receiver *receiver[2];
        /* Transport-wide feedback for what we receive, so the peer's estimator can ramp up. */
        uint8_t twcc_recv_id;
        uint32_t twcc_local_ssrc;
        struct twcc_recv *twcc;
        /*
         * RFC 8888 feedback (ccfb) for what we receive, when negotiated and transport-cc is not;
         * and for what we send, the (SSRC, sequence number) -> transport-wide number map that
         * turns the peer's ccfb into reports for gcc.
         */
        bool ccfb_recv_on, ccfb_send_on;
        uint32_t ccfb_local_ssrc;
        struct ccfb_recv *ccfb;
        struct ccfb_send *ccfb_tx;
        enum gcc_feedback fb_kind; /* the transport feedback gcc is fed */
        /*
         * Congestion control of what we send (transport-wide feedback, else REMB and receiver
         * reports): the estimate sets the video sender's pacing and, through
         * SESSION_EV_BITRATE, the encoders.
         */
        struct gcc *gcc;
        uint32_t sent_target[2]; /* the last bitrates told to the shell */
        uint64_t sent_at[2];     /* when */
        uint8_t sent_loss;
        /*
         * Data channels share the estimate (apply_estimate): gcc counts the DTLS records that
         * carry SCTP, and while data flows beside media the data gets a budget, which the shell
         * paces session_dc_send to. gcc_max is gcc's maximum for media alone (0: its default).
         */
        bool delay_bwe; /* transport feedback negotiated: gcc sees the queue data builds */
        uint32_t gcc_max;
        bool have_dc_send, have_media_sent;
        uint64_t dc_last_send, media_last_sent;
        bool dc_limited; /* as of the last apply_estimate: data active beside media */
        uint32_t dc_budget;
        /* Video's send rate over the last second or so, for the share it leaves unused. */
        bool have_vmark;
        uint64_t vmark_us, vmark_bytes;
        uint32_t video_rate;
        struct {
                bool active;
                uint16_t id;
                uint32_t bps;
                int64_t bytes_left;
                uint32_t packets_left;
                uint64_t next_us;
        } probe;
        struct session_dc_stats dcs[16];
        int n_dcs;
        enum dtls_role role;
        struct sctp_config sctp_cfg;
        bool want_sctp;
        bool want_srtp; /* an audio or video section is accepted: SRTP contexts are needed */
        bool sctp_start_pending; /* DTLS is up: start SCTP once our last flight has left */
        struct turn_client *turn[SESSION_MAX_TURN];
        bool turn_stream[SESSION_MAX_TURN];
        bool turn_started;
        int n_turn;
        bool applied;
        bool ice_up;
        bool dtls_started;
        bool secure;
        bool over;
        struct session_item *q;
        size_t qhead, qlen, qcap;
        uint8_t *polled; /* data of the last polled TRANSMIT, freed on the next poll */
        struct {
                uint8_t *data;
                size_t len;
        } pending[SESSION_MAX_PENDING];
        size_t n_pending;
};

static int push(struct session *s, const struct session_output *o, const uint8_t *data, size_t len)
{
        if (s->qhead + s->qlen == s->qcap) {
                if (s->qhead > 0) {
                        memmove(s->q, s->q + s->qhead, s->qlen * sizeof(*s->q));
                        s->qhead = 0;
                } else {
                        size_t cap = s->qcap ? s->qcap * 2 : 32;
                        struct session_item *q = realloc(s->q, cap * sizeof(*q));
                        if (!q)
                                return -ENOMEM;
                        s->q = q;
                        s->qcap = cap;
                }
        }
        struct session_item *it = &s->q[s->qhead + s->qlen];
        it->out = *o;
        it->copy = NULL;
        if (data && len) {
                it->copy = malloc(len);
                if (!it->copy)
                        return -ENOMEM;
                memcpy(it->copy, data, len);
                it->out.data = it->copy;
                it->out.len = len;
        }
        s->qlen++;
        return 0;
}

static void event(struct session *s, struct session_output *o)
{
        o->kind = SESSION_OUT_EVENT;
        push(s, o, NULL, 0);
}

static void fail(struct session *s, int exit_code, const char *fmt, const char *detail)
{
        if (s->over)
                return;
        s->over = true;
        struct session_output o = {.event = SESSION_EV_FAILED, .exit_code = exit_code};
        snprintf(o.message, sizeof(o.message), fmt, detail);
        event(s, &o);
}

static int route_datagram(struct session *s, uint64_t now, int base, const struct addr *from,
                          const uint8_t *data, size_t len);

int session_new(const struct session_config *cfg, struct session **out)
{
        *out = NULL;
        struct session *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->cfg = *cfg;
        snprintf(s->ufrag, sizeof(s->ufrag), "%s", cfg->ice_ufrag ? cfg->ice_ufrag : "");
        snprintf(s->pwd, sizeof(s->pwd), "%s", cfg->ice_pwd ? cfg->ice_pwd : "");
        struct ice_config ic = {
            .controlling = cfg->controlling,
            .local_ufrag = s->ufrag,
            .local_pwd = s->pwd,
            .policy = cfg->policy,
        };
        s->ice = ice_agent_new(&ic);
        if (!s->ice) {
                free(s);
                return -EINVAL;
        }
        *out = s;
        return 0;
}

void session_free(struct session *s)
{
        if (!s)
                return;
        ice_agent_free(s->ice);
        sctp_assoc_free(s->sctp);
        srtp_ctx_free(s->srtp);
        for (int i = 0; i < 2; i++) {
                rtp_sender_free(s->sender[i]);
                rtp_receiver_free(s->receiver[i]);
        }
#ifdef SESSION_TWCC
        twcc_recv_free(s->twcc);
#endif
        ccfb_recv_free(s->ccfb);
        ccfb_send_free(s->ccfb_tx);
        gcc_free(s->gcc);
        dtls_free(s->dtls);
        for (int i = 0; i < s->n_turn; i++)
                turn_client_free(s->turn[i]);
        for (size_t i = 0; i < s->qlen; i++)
                free(s->q[s->qhead + i].copy);
        for (size_t i = 0; i < s->n_pending; i++)
                free(s->pending[i].data);
        free(s->q);
        free(s->polled);
        free(s);
}

int session_add_host(struct session *s, int base, const struct addr *addr)
{
        return ice_agent_add_host_candidate(s->ice, base, addr);
}

int session_add_stun_server(struct session *s, const struct addr *server)
{
        return ice_agent_add_stun_server(s->ice, server);
}

static void pump(struct session *s, uint64_t now);
static void start_sctp(struct session *s, uint64_t now);
static void start_sctp_if_pending(struct session *s, uint64_t now);

/*
 * What we send on an accepted audio or video section, from the answer: its payload types and
 * header extension ids are the ones both sides agreed on.
 */
static void configure_media(struct session *s, const struct sdp *answer, const struct sdp *local)
{
        for (size_t i = 0; i < answer->n_media && i < local->n_media; i++) {
                const struct sdp_media *am = &answer->media[i], *lm = &local->media[i];
                int k = am->type == SDP_MEDIA_AUDIO   ? SESSION_AUDIO
                        : am->type == SDP_MEDIA_VIDEO ? SESSION_VIDEO
                                                      : -1;
                if (k < 0 || am->port == 0 || s->media_on[k] || !s->cfg.ssrc[k])
                        continue;
                /* Our own direction attribute says whether we send on this section. */
                enum sdp_direction ld = sdp_media_direction(local, lm);
                enum sdp_direction ad = sdp_media_direction(answer, am);
                if ((ld != SDP_DIR_SENDRECV && ld != SDP_DIR_SENDONLY) || ad == SDP_DIR_INACTIVE)
                        continue;
                struct rtp_sender_config *c = &s->media_cfg[k];
                memset(c, 0, sizeof(*c));
                const char *want = k == SESSION_AUDIO ? "opus" : "VP8";
                for (size_t j = 0; j < am->n_codecs; j++) {
                        const struct sdp_codec *cd = &am->codecs[j];
                        if (!c->pt && strcasecmp(cd->name, want) == 0)
                                c->pt = cd->pt;
                }
                if (!c->pt)
                        continue;
                for (size_t j = 0; j < am->n_codecs && k == SESSION_VIDEO; j++) {
                        const struct sdp_codec *cd = &am->codecs[j];
                        char apt[16];
                        snprintf(apt, sizeof(apt), "apt=%u", c->pt);
                        if (strcasecmp(cd->name, "rtx") == 0 && cd->fmtp && strstr(cd->fmtp, apt) &&
                            s->cfg.rtx_ssrc) {
                                c->rtx = true;
                                c->rtx_pt = cd->pt;
                                c->rtx_ssrc = s->cfg.rtx_ssrc;
                        }
                }
                for (size_t j = 0; j < am->n_extmaps; j++) {
                        if (strcmp(am->extmaps[j].uri, SDP_EXT_MID_URI) == 0)
                                c->mid_ext_id = (uint8_t)am->extmaps[j].id;
                        else if (strcmp(am->extmaps[j].uri, SDP_EXT_TWCC_URI) == 0)
                                c->twcc_ext_id = (uint8_t)am->extmaps[j].id;
                }
                const struct sdp_codec *sc = sdp_media_codec(am, c->pt);
                for (size_t j = 0; sc && j < sc->n_fb; j++)
                        if (strcasecmp(sc->fb[j], SDP_FB_CCFB) == 0)
                                s->ccfb_send_on = true;
                c->codec = k == SESSION_AUDIO ? RTP_SENDER_CODEC_OPUS : RTP_SENDER_CODEC_VP8;
                /* RFC 3550: random initial sequence numbers and timestamp offset. */
                c->first_seq = (uint16_t)rand_u32();
                c->rtx_first_seq = (uint16_t)rand_u32();
                c->ts_offset = rand_u32();
                c->first_picture_id = (uint16_t)(rand_u32() & 0x7fff);
                c->ssrc = s->cfg.ssrc[k];
                c->cname = s->cfg.cname;
                snprintf(s->media_mid[k], sizeof(s->media_mid[k]), "%s", am->mid);
                c->mid = s->media_mid[k];
                c->ntp_offset_us = s->cfg.ntp_offset_us;
                c->target_bitrate_bps = s->cfg.bitrate[k];
                s->media_on[k] = true;
                log_debug("rtp", "%s: mid %s, pt %u%s, ssrc %08x", want, am->mid, c->pt,
                          c->rtx ? " with rtx" : "", c->ssrc);
        }
}

static bool codec_has_fb(const struct sdp_codec *c, const char *fb)
{
        for (size_t i = 0; i < c->n_fb; i++)
                if (strcasecmp(c->fb[i], fb) == 0)
                        return true;
        return false;
}

/*
 * What we receive: sections where our direction includes receiving and the peer's includes
 * sending. Payload types and feedback come from the answer; the peer's SSRCs (media first,
 * its RTX partner from an FID group) from its own description when it announces them, else
 * the first packet with the payload type fixes them.
 */
static void configure_receivers(struct session *s, const struct sdp *answer,
                                const struct sdp *local, const struct sdp *remote)
{
        for (size_t i = 0; i < answer->n_media && i < local->n_media && i < remote->n_media; i++) {
                const struct sdp_media *am = &answer->media[i], *lm = &local->media[i];
                const struct sdp_media *rm = &remote->media[i];
                int k = am->type == SDP_MEDIA_AUDIO   ? SESSION_AUDIO
                        : am->type == SDP_MEDIA_VIDEO ? SESSION_VIDEO
                                                      : -1;
                if (k < 0 || am->port == 0 || lm->port == 0 || s->recv_on[k])
                        continue;
                enum sdp_direction ld = sdp_media_direction(local, lm);
                enum sdp_direction rd = sdp_media_direction(remote, rm);
                if ((ld != SDP_DIR_SENDRECV && ld != SDP_DIR_RECVONLY) ||
                    (rd != SDP_DIR_SENDRECV && rd != SDP_DIR_SENDONLY))
                        continue;
                struct rtp_receiver_config *c = &s->recv_cfg[k];
                memset(c, 0, sizeof(*c));
                const char *want = k == SESSION_AUDIO ? "opus" : "VP8";
                const struct sdp_codec *codec = NULL;
                for (size_t j = 0; j < am->n_codecs && !codec; j++)
                        if (strcasecmp(am->codecs[j].name, want) == 0)
                                codec = &am->codecs[j];
                if (!codec)
                        continue;
                c->codec = k == SESSION_AUDIO ? RTP_RECEIVER_CODEC_OPUS : RTP_RECEIVER_CODEC_VP8;
                /* Two Opus packets of playout delay at least: when one is lost, the next (which
                 * may carry it as in-band FEC) is then usually there in time. */
                if (k == SESSION_AUDIO)
                        c->min_delay_us = 40000;
                c->pt = codec->pt;
                c->clock_rate = codec->clock;
                c->nack = codec_has_fb(codec, "nack");
                c->pli = codec_has_fb(codec, "nack pli");
                c->fir = codec_has_fb(codec, "ccm fir");
                for (size_t j = 0; j < am->n_codecs && k == SESSION_VIDEO; j++) {
                        const struct sdp_codec *cd = &am->codecs[j];
                        char apt[16];
                        snprintf(apt, sizeof(apt), "apt=%u", c->pt);
                        if (strcasecmp(cd->name, "rtx") == 0 && cd->fmtp && strstr(cd->fmtp, apt))
                                c->rtx_pt = cd->pt;
                }
                for (size_t j = 0; j < rm->n_ssrc_groups; j++) {
                        const struct sdp_ssrc_group *g = &rm->ssrc_groups[j];
                        if (strcasecmp(g->semantics, "FID") == 0 && g->n_ssrcs >= 2 && !c->ssrc) {
                                c->ssrc = g->ssrcs[0];
                                c->rtx_ssrc = g->ssrcs[1];
                        }
                }
                if (!c->ssrc && rm->n_ssrcs > 0)
                        c->ssrc = rm->ssrcs[0].ssrc;
                /* A receive-only track still needs an SSRC of ours for its reports. */
                c->local_ssrc = s->cfg.ssrc[k] ? s->cfg.ssrc[k] : rand_u32() | 1;
                s->recv_on[k] = true;
                if (!s->twcc_recv_id && codec_has_fb(codec, SDP_FB_TWCC)) {
                        for (size_t j = 0; j < am->n_extmaps; j++)
                                if (strcmp(am->extmaps[j].uri, SDP_EXT_TWCC_URI) == 0 &&
                                    am->extmaps[j].id > 0 && am->extmaps[j].id < 15)
                                        s->twcc_recv_id = (uint8_t)am->extmaps[j].id;
                        s->twcc_local_ssrc = c->local_ssrc;
                }
                if (!s->ccfb_recv_on && codec_has_fb(codec, SDP_FB_CCFB)) {
                        s->ccfb_recv_on = true;
                        s->ccfb_local_ssrc = c->local_ssrc;
                }
                log_debug("rtp", "receiving %s: mid %s, pt %u%s, ssrc %08x%s%s%s", want, am->mid,
                          c->pt, c->rtx_pt ? " with rtx" : "", c->ssrc, c->nack ? ", nack" : "",
                          c->pli ? ", pli" : "", c->fir ? ", fir" : "");
        }
}

static void apply_estimate(struct session *s, uint64_t now);

static void start_media(struct session *s, uint64_t now)
{
        const char *no_fb = getenv("RTCPEER_NO_TWCC_FEEDBACK"); /* test aid, rtcpeer(1) */
        bool send_fb = !(no_fb && strcmp(no_fb, "1") == 0);
#ifdef SESSION_TWCC
        if (s->twcc_recv_id && !s->twcc && send_fb) {
                struct twcc_recv_config tc = {.sender_ssrc = s->twcc_local_ssrc};
                s->twcc = twcc_recv_new(&tc);
        }
#endif
        /*
         * When both transport-cc and RFC 8888 ccfb are negotiated, we send transport-cc only:
         * every WebRTC stack implements it and feeds its estimator with it (Chromium offers
         * ccfb only behind a field trial), its 250 us arrival times are finer than ccfb's
         * 1/1024 s, and its reports are smaller. ccfb is sent when it alone was negotiated
         * (rtcpeer with RTCPEER_FEEDBACK=ccfb, or a ccfb-only peer).
         */
        if (!s->twcc_recv_id && s->ccfb_recv_on && !s->ccfb && send_fb) {
                struct ccfb_recv_config cc = {.sender_ssrc = s->ccfb_local_ssrc,
                                              .ntp_offset_us = s->cfg.ntp_offset_us};
                s->ccfb = ccfb_recv_new(&cc);
        }
        if (s->ccfb_send_on && !s->ccfb_tx)
                s->ccfb_tx = ccfb_send_new();
        for (int k = 0; k < 2; k++) {
                if (!s->recv_on[k] || s->receiver[k])
                        continue;
                s->receiver[k] = rtp_receiver_new(&s->recv_cfg[k]);
                if (!s->receiver[k])
                        log_warn("rtp", "cannot set up the %s receiver",
                                 k == SESSION_AUDIO ? "audio" : "video");
        }
        for (int k = 0; k < 2; k++) {
                if (!s->media_on[k] || s->sender[k])
                        continue;
                s->sender[k] = rtp_sender_new(&s->media_cfg[k]);
                if (!s->sender[k])
                        log_warn("rtp", "cannot set up the %s sender",
                                 k == SESSION_AUDIO ? "audio" : "video");
        }
        if ((s->sender[0] || s->sender[1]) && !s->gcc) {
                /* The configured bitrates are the most we send; the estimate may lower them. */
                uint32_t max = s->cfg.bitrate[SESSION_VIDEO] + s->cfg.bitrate[SESSION_AUDIO];
                struct gcc_config gc = {.max_bps = max ? max + max / 10 : 0};
                if (gc.max_bps && gc.max_bps < GCC_DEFAULT_START_BPS)
                        gc.start_bps = gc.max_bps;
                /* Without transport-wide feedback there is nothing to ramp up with: start at
                 * the configured rate and let loss and REMB bring it down. */
                bool twcc = s->ccfb_tx != NULL;
                for (int k = 0; k < 2; k++)
                        twcc |= s->sender[k] && s->media_cfg[k].twcc_ext_id;
                if (!twcc && gc.max_bps)
                        gc.start_bps = gc.max_bps;
                s->delay_bwe = twcc;
                s->gcc_max = gc.max_bps;
                /* Media is about to flow: data opening meanwhile must not rush ahead of it. */
                s->have_media_sent = true;
                s->media_last_sent = now;
                s->gcc = gcc_new(&gc);
                /* The encoders and the pacer start at the estimate, not at the configured
                 * maximum: a first key frame at full rate would only flood the path. */
                apply_estimate(s, now);
        }
        if (s->sender[0] || s->sender[1] || s->receiver[0] || s->receiver[1]) {
                struct session_output o = {.event = SESSION_EV_MEDIA_READY};
                event(s, &o);
        }
}

static void send_rtcp(struct session *s, const uint8_t *data, size_t len)
{
        uint8_t pkt[1500 + SRTP_CTX_MAX_TRAILER];
        size_t n = len;
        if (!s->srtp || n > 1500)
                return;
        memcpy(pkt, data, n);
        if (srtp_ctx_protect_rtcp(s->srtp, pkt, &n, sizeof(pkt)) == 0)
                ice_agent_send(s->ice, pkt, n);
}

/* One datagram per RTCP packet of a feedback batch: together they may not fit. */
static void send_rtcp_each(struct session *s, const struct buf *fb)
{
        for (size_t off = 0; off + 4 <= fb->len;) {
                size_t plen = ((size_t)(fb->data[off + 2] << 8 | fb->data[off + 3]) + 1) * 4;
                if (off + plen > fb->len)
                        break;
                send_rtcp(s, fb->data + off, plen);
                off += plen;
        }
}

/* Sends the receivers' reports and feedback; hands their frames to the shell. */
static bool drain_receivers(struct session *s)
{
        bool any = false;
        for (int k = 0; k < 2; k++) {
                if (!s->receiver[k])
                        continue;
                struct rtp_receiver_output ro;
                while (rtp_receiver_poll_output(s->receiver[k], &ro) == 1) {
                        any = true;
                        if (ro.kind == RTP_RECEIVER_OUT_RTCP) {
                                send_rtcp(s, ro.data, ro.len);
                                continue;
                        }
                        struct session_output o = {.kind = SESSION_OUT_EVENT,
                                                   .event = SESSION_EV_MEDIA_FRAME,
                                                   .media = k,
                                                   .rtp_ts = ro.rtp_ts,
                                                   .keyframe = ro.keyframe,
                                                   .playout_us = ro.playout_us,
                                                   .first_arrival_us = ro.first_arrival_us};
                        if (ro.kind == RTP_RECEIVER_OUT_FRAME) {
                                push(s, &o, ro.data, ro.len);
                        } else {
                                o.lost = true;
                                o.samples = ro.samples;
                                o.frames_skipped = ro.frames_skipped;
                                push(s, &o, ro.fec_data, ro.fec_data ? ro.fec_len : 0);
                        }
                }
        }
        return any;
}

/* Data counts as flowing this long after it was last handed to session_dc_send. */
#define DC_ACTIVE_US 500000
/* Media counts as sent this long after its last packet with a transport-wide number. */
#define MEDIA_ACTIVE_US 1000000
#define DC_MIN_BPS      30000

static uint64_t since(uint64_t now, uint64_t t)
{
        return now > t ? now - t : 0;
}

/*
 * Whether data is to be kept to a budget: media is being sent and its transport feedback lets
 * gcc see the queue data builds. Otherwise SCTP's own congestion control alone paces it.
 */
static bool dc_budgeted(const struct session *s, uint64_t now)
{
        return s->gcc && s->delay_bwe && s->have_media_sent &&
               since(now, s->media_last_sent) <= MEDIA_ACTIVE_US;
}

/* Measures what video sends (payload, as its target counts), over about a second. */
static void video_rate_update(struct session *s, uint64_t now)
{
        if (!s->sender[SESSION_VIDEO])
                return;
        struct rtp_sender_stats ss;
        rtp_sender_get_stats(s->sender[SESSION_VIDEO], &ss);
        if (!s->have_vmark || now < s->vmark_us || ss.bytes_sent < s->vmark_bytes) {
                s->have_vmark = true;
                s->vmark_us = now;
                s->vmark_bytes = ss.bytes_sent;
                s->video_rate = UINT32_MAX; /* unknown: nothing to hand on */
                return;
        }
        if (now - s->vmark_us < 1000000)
                return;
        uint64_t bps = (ss.bytes_sent - s->vmark_bytes) * 8 * 1000000 / (now - s->vmark_us);
        s->video_rate = bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
        s->vmark_us = now;
        s->vmark_bytes = ss.bytes_sent;
}

/* Data flows beside media: sent lately, or not yet acknowledged. */
static bool dc_sharing(struct session *s, uint64_t now)
{
        if (!s->sctp || !dc_budgeted(s, now))
                return false;
        return (s->have_dc_send && since(now, s->dc_last_send) <= DC_ACTIVE_US) ||
               sctp_assoc_buffered(s->sctp, -1) > 0;
}

/*
 * Splits the estimate between the tracks and data and tells the shell when it moved: audio
 * keeps its configured rate (it is small and matters most) unless the path is very slow; video
 * gets the rest, bounded by what it was configured to use. The video sender paces at its share.
 * While data flows beside media, video and data split what audio leaves evenly (a fair share,
 * not first come first served), and the part video cannot use (its maximum) is the data's; the
 * data's budget is kept while it is idle for when it starts.
 */
static void apply_estimate(struct session *s, uint64_t now)
{
        if (!s->gcc)
                return;
        bool sharing = dc_sharing(s, now);
        if (sharing != s->dc_limited) {
                /* The estimate covers data too then: it may grow past media's maximum. */
                gcc_set_max_bps(s->gcc, sharing ? GCC_DEFAULT_MAX_BPS : s->gcc_max);
                s->dc_limited = sharing;
        }
        uint32_t total = gcc_target_bps(s->gcc);
        struct gcc_stats gs;
        gcc_get_stats(s->gcc, &gs);
        uint32_t want[2] = {0, 0};
        uint32_t audio = s->sender[SESSION_AUDIO] ? s->cfg.bitrate[SESSION_AUDIO] : 0;
        if (s->sender[SESSION_AUDIO] && !audio)
                audio = 32000;
        if (audio && total < 150000)
                audio = audio < 16000 ? audio : 16000;
        want[SESSION_AUDIO] = audio;
        uint32_t rest = total > audio + 30000 ? total - audio : 30000;
        uint32_t vmax = s->cfg.bitrate[SESSION_VIDEO];
        uint32_t vhalf = 0; /* video's part while data flows */
        if (s->sender[SESSION_VIDEO]) {
                vhalf = rest / 2 > 30000 ? rest / 2 : 30000;
                if (vmax && vhalf > vmax)
                        vhalf = vmax;
                uint32_t v = sharing ? vhalf : rest;
                want[SESSION_VIDEO] = vmax && v > vmax ? vmax : v;
        }
        s->dc_budget = 0;
        if (dc_budgeted(s, now))
                s->dc_budget = rest > vhalf + DC_MIN_BPS ? rest - vhalf : DC_MIN_BPS;
        /*
         * What video leaves of its share (a static picture, an encoder far below its target) is
         * the data's too; video's target stays, so it gets the share back by using it. Half as
         * much again as video sent in the last second stays its own: an encoder ramping up (at
         * the start, after a resize) must not find the path full of data for a second.
         */
        video_rate_update(s, now);
        uint64_t vused = (uint64_t)s->video_rate * 3 / 2;
        if (sharing && want[SESSION_VIDEO] && vused < want[SESSION_VIDEO])
                s->dc_budget += want[SESSION_VIDEO] - (uint32_t)vused;
        uint8_t loss = gs.loss_ratio >= 1 ? 100 : (uint8_t)(gs.loss_ratio * 100.0 + 0.5);
        for (int k = 0; k < 2; k++) {
                if (!s->sender[k] || !want[k])
                        continue;
                uint32_t old = s->sent_target[k];
                /*
                 * Small moves are noise: the encoders are told of changes over 5% at once, of
                 * smaller ones (over 1%) after a second. Told of every 2% move, calls through a
                 * 3 Mbit/s link sent less (83-92% of it in 5 calls, against 86-91%); told only in
                 * 5% steps, libvpx fed a rising sawtooth offline came out 2.2% short of it, from
                 * lagging each rise.
                 */
                uint32_t d = want[k] > old ? want[k] - old : old - want[k];
                bool moved =
                    !old || d > old / 20 || (d > old / 100 && since(now, s->sent_at[k]) >= 1000000);
                bool loss_moved = k == SESSION_AUDIO && (loss >= 3) != (s->sent_loss >= 3);
                if (!moved && !loss_moved)
                        continue;
                s->sent_target[k] = want[k];
                s->sent_at[k] = now;
                if (k == SESSION_VIDEO)
                        rtp_sender_set_target_bitrate(s->sender[k], now, want[k]);
                struct session_output o = {.event = SESSION_EV_BITRATE,
                                           .media = k,
                                           .bitrate_bps = want[k],
                                           .loss_percent = loss};
                event(s, &o);
        }
        s->sent_loss = loss;
}

/*
 * Which transport feedback drives gcc. transport-cc is preferred (see start_media): once it
 * arrives, RFC 8888 feedback is ignored; ccfb counts only while no transport-cc came. A peer
 * sends one of them, so this matters only for an odd peer that sends both.
 */
static bool feedback_kind_ok(struct session *s, enum gcc_feedback kind)
{
        if (kind == GCC_FEEDBACK_TWCC)
                s->fb_kind = kind;
        else if (s->fb_kind == GCC_FEEDBACK_NONE)
                s->fb_kind = kind;
        return s->fb_kind == kind;
}

/* Sender reports' loss and RTT, REMB and transport feedback about what we send. */
static void feedback_in(struct session *s, uint64_t now, const uint8_t *pkt, size_t n)
{
        if (!s->gcc)
                return;
        struct rtcp_iter it;
        struct rtcp_packet p;
        if (rtcp_iter_init(&it, pkt, n) < 0)
                return;
        while (rtcp_iter_next(&it, &p) == 1) {
                const struct rtcp_report_block *rb = NULL;
                uint8_t count = 0;
                if (p.kind == RTCP_KIND_TWCC) {
                        if (feedback_kind_ok(s, GCC_FEEDBACK_TWCC))
                                gcc_on_twcc(s->gcc, now, &p.u.twcc);
                } else if (p.kind == RTCP_KIND_OTHER && p.pt == RTCP_PT_RTPFB &&
                           p.count == CCFB_FMT) {
                        const struct gcc_packet_report *r;
                        int nr;
                        if (s->ccfb_tx && feedback_kind_ok(s, GCC_FEEDBACK_CCFB) &&
                            (nr = ccfb_send_feedback(s->ccfb_tx, p.raw, p.raw_len, &r)) >= 0)
                                gcc_on_feedback(s->gcc, now, GCC_FEEDBACK_CCFB, r, (size_t)nr);
                } else if (p.kind == RTCP_KIND_REMB) {
                        gcc_on_remb(s->gcc, now, p.u.remb.bitrate_bps);
                } else if (p.kind == RTCP_KIND_RR) {
                        rb = p.u.rr.rb;
                        count = p.u.rr.rb_count;
                } else if (p.kind == RTCP_KIND_SR) {
                        rb = p.u.sr.rb;
                        count = p.u.sr.rb_count;
                }
                for (uint8_t i = 0; i < count; i++) {
                        for (int k = 0; k < 2; k++) {
                                if (!s->sender[k] || rb[i].ssrc != s->media_cfg[k].ssrc)
                                        continue;
                                struct rtp_sender_stats ss;
                                rtp_sender_get_stats(s->sender[k], &ss);
                                gcc_on_receiver_report(s->gcc, now, rb[i].fraction_lost,
                                                       ss.rtt_valid ? ss.rtt_us : 0);
                        }
                }
        }
        apply_estimate(s, now);
}

static void note_sent(struct session *s, uint64_t now, uint16_t seq, const uint8_t *rtp,
                      size_t size);

/* Sends what is due of a bandwidth probe: padding on the video RTX stream at the probe rate. */
static void run_probe(struct session *s, uint64_t now)
{
        if (!s->gcc || s->over)
                return;
        struct gcc_probe gp;
        if (!s->probe.active && gcc_poll_probe(s->gcc, now, &gp) == 1) {
                s->probe.active = true;
                s->probe.id = gp.id;
                s->probe.bps = gp.bps ? gp.bps : 1;
                s->probe.bytes_left = (int64_t)gp.bytes;
                s->probe.packets_left = gp.min_packets;
                s->probe.next_us = now;
        }
        struct rtp_sender *v = s->sender[SESSION_VIDEO];
        while (s->probe.active && now >= s->probe.next_us) {
                if (s->probe.bytes_left <= 0 && !s->probe.packets_left) {
                        s->probe.active = false;
                        break;
                }
                struct buf pad = BUF_INIT;
                size_t off = 0;
                /* Numbered by the transport-wide extension, else known by SSRC and sequence
                 * number for RFC 8888 feedback. */
                if (!v || !s->srtp || rtp_sender_build_padding(v, 300, &pad, &off) < 0 ||
                    (!off && !s->ccfb_tx) || off + 2 > pad.len || pad.len < 12 || pad.len > 1500) {
                        /* No RTX stream to carry padding: the estimate ramps up without probes. */
                        buf_free(&pad);
                        s->probe.active = false;
                        break;
                }
                uint8_t pkt[1500 + SRTP_CTX_MAX_TRAILER];
                size_t n = pad.len;
                memcpy(pkt, pad.data, n);
                buf_free(&pad);
                uint16_t seq = s->twcc_seq++;
                if (off) {
                        pkt[off] = (uint8_t)(seq >> 8);
                        pkt[off + 1] = (uint8_t)seq;
                }
                uint8_t head[12];
                memcpy(head, pkt, sizeof(head));
                if (srtp_ctx_protect_rtp(s->srtp, pkt, &n, sizeof(pkt)) == 0) {
                        ice_agent_send(s->ice, pkt, n);
                        note_sent(s, now, seq, head, n);
                }
                s->probe.next_us += (uint64_t)n * 8 * 1000000 / s->probe.bps;
        }
}

/*
 * A packet with our transport-wide number went out: the estimator (and a probe) count it, and
 * for RFC 8888 feedback its SSRC and sequence number (rtp: at least its 12 header bytes) map
 * to that number.
 */
static void note_sent(struct session *s, uint64_t now, uint16_t seq, const uint8_t *rtp,
                      size_t size)
{
        if (!s->gcc)
                return;
        gcc_on_packet_sent(s->gcc, now, seq, size);
        s->have_media_sent = true;
        s->media_last_sent = now;
        if (s->ccfb_tx)
                ccfb_send_packet(s->ccfb_tx,
                                 (uint32_t)rtp[8] << 24 | (uint32_t)rtp[9] << 16 |
                                     (uint32_t)rtp[10] << 8 | rtp[11],
                                 (uint16_t)(rtp[2] << 8 | rtp[3]), seq);
        if (s->probe.active) {
                gcc_probe_sent(s->gcc, seq, s->probe.id);
                s->probe.bytes_left -= (int64_t)size;
                if (s->probe.packets_left)
                        s->probe.packets_left--;
        }
}

/* Protects and sends what the RTP senders produced; reports key frame requests. */
static bool drain_media(struct session *s, uint64_t now)
{
        bool any = drain_receivers(s);
        for (int k = 0; k < 2; k++) {
                if (!s->sender[k])
                        continue;
                struct rtp_sender_output ro;
                while (rtp_sender_poll_output(s->sender[k], &ro) == 1) {
                        any = true;
                        if (ro.kind == RTP_SENDER_OUT_RTP || ro.kind == RTP_SENDER_OUT_RTCP) {
                                uint8_t pkt[1500 + SRTP_CTX_MAX_TRAILER];
                                size_t n = ro.len;
                                if (!s->srtp || n > 1500)
                                        continue;
                                memcpy(pkt, ro.data, n);
                                /* One transport-wide sequence across every stream we send; with
                                 * RFC 8888 feedback every RTP packet takes a number, whether
                                 * the packet carries it (the extension) or not. */
                                bool rtp = ro.kind == RTP_SENDER_OUT_RTP && n >= 12;
                                bool ext = rtp && ro.twcc_offset && ro.twcc_offset + 2 <= n;
                                bool numbered = ext || (rtp && s->ccfb_tx);
                                uint16_t seq = s->twcc_seq;
                                uint8_t head[12] = {0};
                                if (ext) {
                                        pkt[ro.twcc_offset] = (uint8_t)(seq >> 8);
                                        pkt[ro.twcc_offset + 1] = (uint8_t)seq;
                                }
                                if (numbered) {
                                        memcpy(head, pkt, sizeof(head));
                                        s->twcc_seq++;
                                }
                                int rc = ro.kind == RTP_SENDER_OUT_RTP
                                             ? srtp_ctx_protect_rtp(s->srtp, pkt, &n, sizeof(pkt))
                                             : srtp_ctx_protect_rtcp(s->srtp, pkt, &n, sizeof(pkt));
                                if (rc == 0) {
                                        ice_agent_send(s->ice, pkt, n);
                                        if (numbered)
                                                note_sent(s, now, seq, head, n);
                                }
                        } else if (ro.kind == RTP_SENDER_OUT_KEYFRAME_REQUEST) {
                                struct session_output o = {.event = SESSION_EV_KEYFRAME_REQUEST};
                                o.base = k;
                                event(s, &o);
                        }
                }
        }
        return any;
}

int session_send_frame(struct session *s, uint64_t now, enum session_media media,
                       uint64_t capture_us, const uint8_t *data, size_t len)
{
        if ((int)media < 0 || media > SESSION_VIDEO || !s->sender[media] || s->over)
                return -ENOTCONN;
        int rc = rtp_sender_send_frame(s->sender[media], now, capture_us, data, len);
        pump(s, now);
        if (s->gcc && !s->probe.active)
                run_probe(s, now);
        return rc;
}

uint32_t session_media_ssrc(const struct session *s, enum session_media media)
{
        return (int)media >= 0 && media <= SESSION_VIDEO ? s->media_cfg[media].ssrc : 0;
}

bool session_sends(const struct session *s, enum session_media media)
{
        return (int)media >= 0 && media <= SESSION_VIDEO && s->media_on[media];
}

void session_set_bitrate(struct session *s, uint64_t now, enum session_media media, uint32_t bps)
{
        if ((int)media >= 0 && media <= SESSION_VIDEO && s->sender[media])
                rtp_sender_set_target_bitrate(s->sender[media], now, bps);
}

int session_media_stats(const struct session *s, enum session_media media,
                        struct rtp_sender_stats *out)
{
        if ((int)media < 0 || media > SESSION_VIDEO || !s->sender[media])
                return -ENOENT;
        rtp_sender_get_stats(s->sender[media], out);
        return 0;
}

int session_add_turn(struct session *s, const struct turn_config *cfg)
{
        if (s->n_turn == SESSION_MAX_TURN)
                return -ENOSPC;
        struct turn_client *c = turn_client_new(cfg);
        if (!c)
                return -EINVAL;
        int k = s->n_turn;
        int rc = ice_agent_add_pending_relay(s->ice, SESSION_RELAY_BASE + k);
        if (rc < 0) {
                turn_client_free(c);
                return rc;
        }
        s->turn[k] = c;
        s->turn_stream[k] = cfg->transport != TURN_TRANSPORT_UDP;
        s->n_turn++;
        return k;
}

int session_handle_turn_input(struct session *s, uint64_t now, int index, const uint8_t *data,
                              size_t len)
{
        if (index < 0 || index >= s->n_turn)
                return -EINVAL;
        int rc = s->turn_stream[index]
                     ? turn_client_handle_stream(s->turn[index], now, data, len)
                     : turn_client_handle_datagram(s->turn[index], now, data, len);
        pump(s, now);
        return rc;
}

void session_turn_closed(struct session *s, uint64_t now, int index)
{
        if (index < 0 || index >= s->n_turn)
                return;
        turn_client_handle_stream_closed(s->turn[index], now);
        pump(s, now);
}

/* The selected pair is relayed through TURN server k, in a session still running. */
static bool relay_carries_call(const struct session *s, int k)
{
        struct ice_pair_stats ps;
        return !s->over && ice_agent_get_selected_stats(s->ice, &ps) == 0 &&
               ps.local.base == SESSION_RELAY_BASE + k;
}

static bool drain_turn(struct session *s, uint64_t now)
{
        bool any = false;
        for (int k = 0; k < s->n_turn; k++) {
                struct turn_output t;
                while (turn_client_poll_output(s->turn[k], &t) == 1) {
                        any = true;
                        struct session_output o = {0};
                        switch (t.kind) {
                        case TURN_OUT_TRANSMIT:
                                o.kind = SESSION_OUT_TRANSMIT;
                                o.base = SESSION_TURN_BASE + k;
                                o.dest = t.dst;
                                push(s, &o, t.data, t.len);
                                break;
                        case TURN_OUT_ALLOCATED:
                                ice_agent_add_relay_candidate(s->ice, SESSION_RELAY_BASE + k,
                                                              &t.relayed, &t.mapped);
                                o.event = SESSION_EV_RELAY_READY;
                                o.base = k;
                                o.local.type = SDP_CAND_RELAY;
                                o.local.addr = t.relayed;
                                event(s, &o);
                                break;
                        case TURN_OUT_FAILED:
                                ice_agent_relay_failed(s->ice, SESSION_RELAY_BASE + k);
                                if (relay_carries_call(s, k)) {
                                        /* No ICE restart: the selected pair was the only path. */
                                        fail(s, EXIT_TURN, "%s",
                                             t.reason ? t.reason : "TURN allocation failed");
                                        break;
                                }
                                o.event = SESSION_EV_RELAY_FAILED;
                                o.base = k;
                                o.exit_code = EXIT_TURN;
                                snprintf(o.message, sizeof(o.message), "%s",
                                         t.reason ? t.reason : "TURN allocation failed");
                                event(s, &o);
                                break;
                        case TURN_OUT_DATA:
                                /* What the relay received is a datagram on the relay candidate. */
                                route_datagram(s, now, SESSION_RELAY_BASE + k, &t.peer, t.data,
                                               t.len);
                                break;
                        case TURN_OUT_PERMISSION_FAILED:
                        case TURN_OUT_CHANNEL_FAILED:
                                log_debug("turn", "%s",
                                          t.reason ? t.reason : "TURN request failed");
                                break;
                        case TURN_OUT_PERMISSION_OK:
                        case TURN_OUT_CHANNEL_OK:
                        case TURN_OUT_CLOSED:
                                break;
                        }
                }
        }
        return any;
}

int session_gather(struct session *s, uint64_t now)
{
        for (int k = 0; k < s->n_turn && !s->turn_started; k++)
                turn_client_start(s->turn[k], now);
        s->turn_started = true;
        int rc = ice_agent_gather(s->ice, now);
        pump(s, now);
        return rc;
}

bool session_gathering_done(const struct session *s)
{
        return ice_agent_gathering_state(s->ice) == ICE_GATHERING_COMPLETE;
}

int session_local_candidates(const struct session *s, struct sdp_candidate *out, size_t max)
{
        return ice_agent_get_local_candidates(s->ice, out, max);
}

/* Sends a DTLS datagram on the selected pair, or keeps it until there is one. */
static void send_dtls(struct session *s, const uint8_t *data, size_t len)
{
        int rc = ice_agent_send(s->ice, data, len);
        if (rc != -ENOTCONN)
                return;
        if (s->n_pending == SESSION_MAX_PENDING)
                return; /* DTLS retransmits what is lost here */
        uint8_t *copy = malloc(len);
        if (!copy)
                return;
        memcpy(copy, data, len);
        s->pending[s->n_pending].data = copy;
        s->pending[s->n_pending].len = len;
        s->n_pending++;
}

static void flush_pending(struct session *s)
{
        for (size_t i = 0; i < s->n_pending; i++) {
                ice_agent_send(s->ice, s->pending[i].data, s->pending[i].len);
                free(s->pending[i].data);
        }
        s->n_pending = 0;
}

/*
 * The first DTLS retransmission waits two round trips of the ICE route (as libwebrtc does),
 * not GnuTLS's fixed second: on a lossy path a lost final flight of the server, which starts
 * sending media at once, otherwise leaves the client unable to decrypt for a second or more.
 */
#define DTLS_RTO_MIN_MS 50
#define DTLS_RTO_MAX_MS 3000

static void start_dtls(struct session *s, uint64_t now)
{
        if (s->dtls_started || !s->dtls)
                return;
        s->dtls_started = true;
        uint64_t rtt;
        if (ice_agent_rtt(s->ice, &rtt) == 0) {
                uint64_t ms = 2 * rtt / 1000;
                ms = ms < DTLS_RTO_MIN_MS   ? DTLS_RTO_MIN_MS
                     : ms > DTLS_RTO_MAX_MS ? DTLS_RTO_MAX_MS
                                            : ms;
                dtls_set_retransmit_ms(s->dtls, (unsigned)ms);
                log_debug("dtls", "first retransmission after %u ms (ICE round trip %.1f ms)",
                          (unsigned)ms, (double)rtt / 1000);
        }
        dtls_start(s->dtls, now);
}

static bool drain_ice(struct session *s, uint64_t now)
{
        struct ice_output io;
        bool any = false;
        while (ice_agent_poll_output(s->ice, &io) == 1) {
                any = true;
                struct session_output o = {0};
                switch (io.kind) {
                case ICE_OUT_TRANSMIT:
                        if (io.u.transmit.base >= SESSION_RELAY_BASE) {
                                int k = io.u.transmit.base - SESSION_RELAY_BASE;
                                if (k < s->n_turn)
                                        turn_client_send(s->turn[k], now, &io.u.transmit.dest,
                                                         io.u.transmit.data, io.u.transmit.len);
                                break;
                        }
                        o.kind = SESSION_OUT_TRANSMIT;
                        o.base = io.u.transmit.base;
                        o.dest = io.u.transmit.dest;
                        push(s, &o, io.u.transmit.data, io.u.transmit.len);
                        break;
                case ICE_OUT_STATE:
                        o.event = SESSION_EV_ICE_STATE;
                        o.ice_state = io.u.state.state;
                        o.reason = io.u.state.reason;
                        event(s, &o);
                        if (io.u.state.state == ICE_STATE_FAILED)
                                fail(s, EXIT_ICE_FAILED, "peer unreachable: %s",
                                     io.u.state.reason ? io.u.state.reason : "ICE failed");
                        if ((io.u.state.state == ICE_STATE_CONNECTED ||
                             io.u.state.state == ICE_STATE_COMPLETED) &&
                            !s->ice_up) {
                                s->ice_up = true;
                                flush_pending(s);
                                start_dtls(s, now);
                        }
                        break;
                case ICE_OUT_SELECTED_PAIR:
                        o.event = SESSION_EV_SELECTED_PAIR;
                        o.local = io.u.selected.local;
                        o.remote = io.u.selected.remote;
                        event(s, &o);
                        /* ChannelData costs 4 bytes a packet where a Send indication costs 36. */
                        if (o.local.base >= SESSION_RELAY_BASE &&
                            o.local.base - SESSION_RELAY_BASE < s->n_turn) {
                                uint16_t ch;
                                turn_client_bind_channel(s->turn[o.local.base - SESSION_RELAY_BASE],
                                                         now, &o.remote.addr, &ch);
                        }
                        /* The server carrying the call is checked as soon as it falls silent. */
                        for (int k = 0; k < s->n_turn; k++)
                                turn_client_set_watched(s->turn[k],
                                                        o.local.base == SESSION_RELAY_BASE + k);
                        flush_pending(s);
                        break;
                case ICE_OUT_GATHERING_DONE:
                        o.event = SESSION_EV_GATHERING_DONE;
                        event(s, &o);
                        break;
                case ICE_OUT_LOCAL_CANDIDATE:
                        break; /* descriptions carry the complete list; no trickle here */
                }
        }
        /* A check succeeded both ways: DTLS need not wait for nomination (see ice.h). */
        if (!s->ice_up && s->applied && ice_agent_writable(s->ice)) {
                s->ice_up = true;
                flush_pending(s);
                start_dtls(s, now);
                any = true;
        }
        return any;
}

static struct session_dc_stats *dc_find(struct session *s, uint16_t id, bool create)
{
        /* Newest first: a closed channel's id may be used again. */
        for (int i = s->n_dcs - 1; i >= 0; i--)
                if (s->dcs[i].id == id && (s->dcs[i].open || !create))
                        return &s->dcs[i];
        if (!create)
                return NULL;
        if (s->n_dcs == (int)(sizeof(s->dcs) / sizeof(s->dcs[0])))
                return NULL;
        struct session_dc_stats *d = &s->dcs[s->n_dcs++];
        memset(d, 0, sizeof(*d));
        d->id = id;
        d->open = true;
        return d;
}

int session_dc_stats(const struct session *s, struct session_dc_stats *out, int max)
{
        for (int i = 0; i < s->n_dcs && i < max; i++)
                out[i] = s->dcs[i];
        return s->n_dcs;
}

/* Makes the association when the descriptions are applied: one step less once DTLS is up. */
static int make_sctp(struct session *s)
{
        if (!s->want_sctp || s->sctp)
                return 0;
        return sctp_assoc_new(&s->sctp_cfg, &s->sctp);
}

static void start_sctp(struct session *s, uint64_t now)
{
        if (!s->want_sctp)
                return;
        int rc = make_sctp(s);
        if (rc == 0)
                rc = sctp_assoc_set_mtu(s->sctp, (unsigned)dtls_max_payload(s->dtls));
        if (rc == -EALREADY)
                return; /* started before */
        if (rc < 0) {
                fail(s, EXIT_FAILURE_INTERNAL, "cannot start SCTP: %s", strerror(-rc));
                return;
        }
        sctp_assoc_start(s->sctp, now);
}

static bool drain_sctp(struct session *s)
{
        if (!s->sctp)
                return false;
        struct sctp_output so;
        bool any = false;
        while (sctp_assoc_poll_output(s->sctp, &so) == 1) {
                any = true;
                struct session_output o = {0};
                switch (so.kind) {
                case SCTP_OUTPUT_TRANSMIT:
                        if (s->dtls && dtls_send(s->dtls, so.data, so.len) < 0)
                                log_debug("sctp", "a %zu-byte packet did not fit DTLS", so.len);
                        break;
                case SCTP_OUTPUT_ASSOC_UP:
                        o.event = SESSION_EV_DC_READY;
                        event(s, &o);
                        break;
                case SCTP_OUTPUT_ASSOC_DOWN:
                        log_debug("sctp", "association shut down");
                        break;
                case SCTP_OUTPUT_ASSOC_FAILED:
                        /*
                         * Browsers and aiortc abort the association when they close, just
                         * before their close_notify: an ABORT from the peer over an
                         * authenticated DTLS session is its hang-up, not a failure.
                         */
                        if (so.error == -ECONNRESET && s->secure && !s->over) {
                                log_info("sctp", "the peer aborted the SCTP association: "
                                                 "taking it as a hang-up");
                                s->over = true;
                                o.event = SESSION_EV_PEER_CLOSED;
                                event(s, &o);
                                break;
                        }
                        fail(s, EXIT_ICE_FAILED, "data channel transport failed: %s", so.reason);
                        break;
                case SCTP_OUTPUT_CHANNEL_OPEN: {
                        struct session_dc_stats *dc = dc_find(s, so.id, true);
                        if (dc)
                                snprintf(dc->label, sizeof(dc->label), "%s",
                                         so.label ? so.label : "");
                }
                        o.event = SESSION_EV_DC_OPEN;
                        o.dc_id = so.id;
                        snprintf(o.dc_label, sizeof(o.dc_label), "%s", so.label ? so.label : "");
                        snprintf(o.dc_protocol, sizeof(o.dc_protocol), "%s",
                                 so.protocol ? so.protocol : "");
                        event(s, &o);
                        break;
                case SCTP_OUTPUT_CHANNEL_MESSAGE: {
                        struct session_dc_stats *dc = dc_find(s, so.id, false);
                        if (dc) {
                                dc->messages_received++;
                                dc->bytes_received += so.len;
                        }
                }
                        o.kind = SESSION_OUT_EVENT;
                        o.event = SESSION_EV_DC_MESSAGE;
                        o.dc_id = so.id;
                        o.dc_binary = so.binary;
                        push(s, &o, so.data, so.len);
                        break;
                case SCTP_OUTPUT_CHANNEL_CLOSED: {
                        struct session_dc_stats *dc = dc_find(s, so.id, false);
                        if (dc)
                                dc->open = false;
                }
                        o.event = SESSION_EV_DC_CLOSED;
                        o.dc_id = so.id;
                        event(s, &o);
                        break;
                case SCTP_OUTPUT_BUFFERED_LOW:
                        o.event = SESSION_EV_DC_BUFFERED_LOW;
                        o.dc_id = so.id;
                        event(s, &o);
                        break;
                }
        }
        return any;
}

int session_dc_open(struct session *s, uint64_t now, const char *label,
                    const struct dc_options *opt, uint16_t *id)
{
        if (!s->sctp || !sctp_assoc_is_up(s->sctp))
                return -ENOTCONN;
        int rc = sctp_channel_open(s->sctp, label, "", opt, id);
        if (rc == 0) {
                struct session_dc_stats *dc = dc_find(s, *id, true);
                if (dc) {
                        snprintf(dc->label, sizeof(dc->label), "%s", label);
                        dc->ours = true;
                }
        }
        pump(s, now);
        return rc;
}

int session_dc_send(struct session *s, uint64_t now, uint16_t id, bool binary, const uint8_t *data,
                    size_t len)
{
        if (!s->sctp)
                return -ENOTCONN;
        int rc = sctp_channel_send(s->sctp, id, binary, data, len);
        struct session_dc_stats *dc = rc == 0 ? dc_find(s, id, false) : NULL;
        if (dc) {
                dc->messages_sent++;
                dc->bytes_sent += len;
        }
        if (rc == 0) {
                s->have_dc_send = true;
                s->dc_last_send = now;
        }
        /* Data starting or media stopping changes the split now, not at the next feedback. */
        if (s->gcc &&
            (dc_sharing(s, now) != s->dc_limited || dc_budgeted(s, now) != (s->dc_budget != 0)))
                apply_estimate(s, now);
        pump(s, now);
        return rc;
}

uint32_t session_dc_budget_bps(const struct session *s)
{
        return s->dc_budget;
}

int session_dc_close(struct session *s, uint64_t now, uint16_t id)
{
        if (!s->sctp)
                return -ENOTCONN;
        int rc = sctp_channel_close(s->sctp, id);
        pump(s, now);
        return rc;
}

size_t session_dc_buffered(struct session *s)
{
        return s->sctp ? sctp_assoc_buffered(s->sctp, -1) : 0;
}

size_t session_dc_max_message(const struct session *s)
{
        return s->sctp ? sctp_assoc_max_message_size(s->sctp) : 0;
}

size_t session_dc_max_unfragmented(const struct session *s)
{
        return s->sctp ? sctp_assoc_max_unfragmented(s->sctp) : 0;
}

bool session_dc_peer_finished(const struct session *s, uint16_t id)
{
        return s->sctp && sctp_channel_peer_finished(s->sctp, id);
}

bool session_dc_sent_all(struct session *s, uint16_t id)
{
        return s->sctp && sctp_channel_sent_all(s->sctp, id);
}

void session_dc_pause(struct session *s, bool paused)
{
        if (s->sctp)
                sctp_assoc_set_receive_paused(s->sctp, paused);
}

static bool drain_dtls(struct session *s, uint64_t now)
{
        if (!s->dtls)
                return false;
        struct dtls_output d;
        bool any = false;
        while (dtls_poll_output(s->dtls, &d) == 1) {
                any = true;
                struct session_output o = {0};
                switch (d.kind) {
                case DTLS_OUTPUT_TRANSMIT:
                        send_dtls(s, d.data, d.len);
                        /* Once secure, records carry SCTP: data on the path media estimates. */
                        if (s->secure && s->gcc)
                                gcc_on_other_sent(s->gcc, now, d.len);
                        break;
                case DTLS_OUTPUT_CONNECTED:
                        s->secure = true;
                        /* SRTP and SRTCP contexts both ways, replay protection on. */
                        /* Not for data alone: 0.1-0.5 ms before our Finished or INIT-ACK leaves. */
                        if (d.keys.profile != DTLS_SRTP_NONE && !s->srtp && s->want_srtp &&
                            srtp_ctx_new(&d.keys, s->role, &s->srtp) < 0)
                                log_warn("srtp", "cannot create the SRTP sessions");
                        if (s->srtp)
                                start_media(s, now);
                        /*
                         * Not now: making the association (0.1 ms) would hold back the Finished
                         * just queued, which the peer needs first. session_next_deadline asks
                         * for a timeout at once, after the shell has sent it.
                         */
                        s->sctp_start_pending = s->want_sctp;
                        o.event = SESSION_EV_SECURE;
                        snprintf(o.cipher, sizeof(o.cipher), "%s", d.cipher);
                        o.srtp_profile = (int)d.keys.profile;
                        event(s, &o);
                        break;
                case DTLS_OUTPUT_DATA:
                        /* The peer's INIT came right behind its Finished. */
                        start_sctp_if_pending(s, now);
                        if (s->sctp)
                                sctp_assoc_handle_input(s->sctp, now, d.data, d.len);
                        break;
                case DTLS_OUTPUT_CLOSED:
                        if (!s->over) {
                                s->over = true;
                                o.event = SESSION_EV_PEER_CLOSED;
                                event(s, &o);
                        }
                        break;
                case DTLS_OUTPUT_FAILED:
                        fail(s, d.error == -EKEYREJECTED ? EXIT_FINGERPRINT : EXIT_DTLS_FAILED,
                             "%s", d.reason);
                        break;
                }
        }
        return any;
}

static void pump(struct session *s, uint64_t now)
{
        /* DTLS output goes through ICE, and ICE events start DTLS: run until both are quiet. */
        for (int i = 0; i < 64; i++) {
                bool a = drain_ice(s, now);
                bool b = drain_dtls(s, now);
                bool c = drain_turn(s, now);
                bool d = drain_sctp(s);
                bool e = drain_media(s, now);
                if (!a && !b && !c && !d && !e)
                        break;
        }
}

int session_add_remote_candidate(struct session *s, const struct sdp_candidate *c)
{
        int rc = ice_agent_add_remote_candidate(s->ice, c);
        if (rc == -EAGAIN) {
                struct session_output o = {.event = SESSION_EV_REMOTE_MDNS, .candidate = *c};
                event(s, &o);
                return 0;
        }
        if (rc < 0)
                log_info("ice", "skipping remote candidate %s:%u (%s)", c->address, c->port,
                         rc == -ENOTSUP ? "host names other than .local are not resolved"
                                        : strerror(-rc));
        return rc;
}

static void add_remote_candidates(struct session *s, const struct sdp_media *m)
{
        for (size_t i = 0; i < m->n_candidates; i++)
                session_add_remote_candidate(s, &m->candidates[i]);
}

int session_apply(struct session *s, uint64_t now, const struct sdp *local,
                  const struct sdp *remote, char *msg, size_t msglen)
{
        /*
         * Under max-bundle one transport carries every accepted section: take the first section
         * both sides accept. A bundle-only section of an offer has port 0 and may lack the
         * transport lines, so those come from any peer section that has them.
         */
        const struct sdp_media *rm = NULL, *lm = NULL;
        for (size_t i = 0; i < remote->n_media && i < local->n_media && !lm; i++) {
                if (local->media[i].port != 0) {
                        lm = &local->media[i];
                        rm = &remote->media[i];
                }
        }
        if (!lm) {
                snprintf(msg, msglen, "no accepted section to carry the session");
                return -ENOTSUP;
        }
        const char *ufrag = sdp_media_ice_ufrag(remote, rm), *pwd = sdp_media_ice_pwd(remote, rm);
        const struct sdp_fingerprint *fp = sdp_media_fingerprint(remote, rm);
        for (size_t i = 0; i < remote->n_media && (!ufrag || !pwd || !fp); i++) {
                const struct sdp_media *m = &remote->media[i];
                if (!ufrag || !pwd) {
                        ufrag = sdp_media_ice_ufrag(remote, m);
                        pwd = sdp_media_ice_pwd(remote, m);
                }
                if (!fp)
                        fp = sdp_media_fingerprint(remote, m);
        }
        /* RFC 8842: whoever says active is the DTLS client. */
        enum sdp_setup ls = sdp_media_setup(local, lm), rs = sdp_media_setup(remote, rm);
        enum dtls_role role;
        if (ls == SDP_SETUP_ACTIVE)
                role = DTLS_ROLE_CLIENT;
        else if (ls == SDP_SETUP_PASSIVE)
                role = DTLS_ROLE_SERVER;
        else
                role = rs == SDP_SETUP_ACTIVE ? DTLS_ROLE_SERVER : DTLS_ROLE_CLIENT;

        char hex[SDP_FINGERPRINT_HEX_MAX];
        sdp_fingerprint_hex(fp, hex);
        struct dtls_config dc = {
            .role = role,
            .cert = s->cfg.cert,
            .peer_fingerprint_alg = sdp_hash_name(fp->hash),
            .peer_fingerprint = hex,
            .srtp = true,
            .handshake_timeout_ms = s->cfg.dtls_handshake_timeout_ms,
        };
        s->role = role;
        int rc = dtls_new(&dc, &s->dtls);
        if (rc < 0) {
                snprintf(msg, msglen, "cannot set up DTLS: %s", strerror(-rc));
                return rc;
        }
        log_debug("dtls", "role %s, peer fingerprint %s %s",
                  role == DTLS_ROLE_CLIENT ? "client" : "server", dc.peer_fingerprint_alg, hex);

        for (size_t i = 0; i < local->n_media; i++)
                if (local->media[i].port != 0 && (local->media[i].type == SDP_MEDIA_AUDIO ||
                                                  local->media[i].type == SDP_MEDIA_VIDEO))
                        s->want_srtp = true;
        /* The data section, when both accepted one, runs SCTP once DTLS is up. */
        for (size_t i = 0; i < local->n_media && i < remote->n_media; i++) {
                const struct sdp_media *l = &local->media[i], *r = &remote->media[i];
                if (l->type != SDP_MEDIA_APPLICATION || l->port == 0)
                        continue;
                s->want_sctp = true;
                s->sctp_cfg.dtls_client = role == DTLS_ROLE_CLIENT;
                s->sctp_cfg.local_port = l->sctp_port > 0 ? (uint16_t)l->sctp_port : 0;
                s->sctp_cfg.remote_port = r->sctp_port > 0 ? (uint16_t)r->sctp_port : 0;
                /* Older offers carry the port as the format ("DTLS/SCTP 5000"). */
                if (r->sctp_port <= 0 && r->n_fmts > 0 && atoi(r->fmts[0]) > 0)
                        s->sctp_cfg.remote_port = (uint16_t)atoi(r->fmts[0]);
                if (r->has_max_message_size)
                        s->sctp_cfg.peer_max_message_size =
                            r->max_message_size == 0 ? SIZE_MAX : (size_t)r->max_message_size;
                if (make_sctp(s) < 0)
                        log_warn("sctp", "cannot make the SCTP association yet");
                break;
        }

        /* The answer (ours when the offer was the peer's) fixes payload types and ids. */
        const struct sdp *answer = sdp_media_setup(local, lm) == SDP_SETUP_ACTPASS ? remote : local;
        configure_media(s, answer, local);
        configure_receivers(s, answer, local, remote);

        rc = ice_agent_set_remote_credentials(s->ice, ufrag, pwd);
        if (rc < 0) {
                snprintf(msg, msglen, "the peer's ICE credentials are unusable");
                return rc;
        }
        bool eoc = false;
        for (size_t i = 0; i < remote->n_media; i++) {
                const struct sdp_media *m = &remote->media[i];
                /* Sections with other credentials belong to transports we do not use. */
                const char *mu = sdp_media_ice_ufrag(remote, m);
                if (mu && strcmp(mu, ufrag) != 0)
                        continue;
                add_remote_candidates(s, m);
                eoc = eoc || m->end_of_candidates;
        }
        if (eoc)
                ice_agent_remote_gathering_done(s->ice);
        s->applied = true;
        /* The DTLS server's clock starts now too, so a silent peer ends in a handshake timeout. */
        pump(s, now);
        return 0;
}

int session_add_resolved_candidate(struct session *s, const struct sdp_candidate *c,
                                   const struct addr *resolved)
{
        return ice_agent_add_remote_candidate_resolved(s->ice, c, resolved);
}

static int route_datagram(struct session *s, uint64_t now, int base, const struct addr *from,
                          const uint8_t *data, size_t len)
{
        int rc = 0;
        switch (demux_classify(data, len)) {
        case DEMUX_STUN:
                rc = ice_agent_handle_input(s->ice, now, base, from, data, len);
                break;
        case DEMUX_DTLS:
                /* Counted by ICE as traffic on the pair, then decrypted. */
                ice_agent_handle_input(s->ice, now, base, from, data, len);
                if (s->dtls) {
                        if (!s->dtls_started && s->ice_up)
                                start_dtls(s, now);
                        rc = dtls_handle_input(s->dtls, now, data, len);
                }
                break;
        case DEMUX_RTP:
        case DEMUX_RTCP: {
                /* Media comes with a later version; SRTP still authenticates and counts it. */
                ice_agent_handle_input(s->ice, now, base, from, data, len);
                if (!s->srtp || len > 1500)
                        break;
                uint8_t pkt[1500];
                size_t n = len;
                memcpy(pkt, data, len);
                bool is_rtcp = demux_classify(data, len) == DEMUX_RTCP;
                rc = is_rtcp ? srtp_ctx_unprotect_rtcp(s->srtp, pkt, &n)
                             : srtp_ctx_unprotect_rtp(s->srtp, pkt, &n);
                /* Receiver reports, NACK, PLI and FIR for what we send. */
                for (int k = 0; rc == 0 && is_rtcp && k < 2; k++)
                        if (s->sender[k])
                                rtp_sender_handle_rtcp(s->sender[k], now, pkt, n);
                if (rc == 0 && is_rtcp)
                        feedback_in(s, now, pkt, n);
#ifdef SESSION_TWCC
                if (rc == 0 && !is_rtcp && s->twcc) {
                        size_t off, vlen;
                        if (rtp_find_ext_value(pkt, n, s->twcc_recv_id, &off, &vlen) == 0 &&
                            vlen == 2) {
                                twcc_recv_packet(s->twcc, now,
                                                 (uint16_t)(pkt[off] << 8 | pkt[off + 1]));
                                /* Feedback names one media SSRC of the sender; any will do. */
                                if (n >= 12)
                                        twcc_recv_set_media_ssrc(
                                            s->twcc, (uint32_t)pkt[8] << 24 |
                                                         (uint32_t)pkt[9] << 16 |
                                                         (uint32_t)pkt[10] << 8 | pkt[11]);
                        }
                }
#endif
                if (rc == 0 && !is_rtcp && s->ccfb && n >= 12)
                        ccfb_recv_packet(s->ccfb, now,
                                         (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 |
                                             (uint32_t)pkt[10] << 8 | pkt[11],
                                         (uint16_t)(pkt[2] << 8 | pkt[3]));
                /* Sender reports for what we receive; media to the track it belongs to. */
                for (int k = 0; rc == 0 && k < 2; k++) {
                        if (!s->receiver[k])
                                continue;
                        if (is_rtcp) {
                                rtp_receiver_handle_rtcp(s->receiver[k], now, pkt, n);
                        } else if (rtp_receiver_handle_rtp(s->receiver[k], now, pkt, n) !=
                                   -ENOENT) {
                                break;
                        }
                }
                log_trace("srtp", "%zu-byte packet: %s", len, rc == 0 ? "authentic" : "rejected");
                break;
        }
        default:
                log_trace("net", "dropping a %zu-byte %s datagram", len,
                          demux_kind_name(demux_classify(data, len)));
                break;
        }
        return rc;
}

int session_handle_datagram(struct session *s, uint64_t now, int base, const struct addr *from,
                            const uint8_t *data, size_t len)
{
        /* The shell reads datagrams before it runs timers: not behind the next one either. */
        start_sctp_if_pending(s, now);
        int rc = route_datagram(s, now, base, from, data, len);
        pump(s, now);
        return rc;
}

int session_poll_output(struct session *s, struct session_output *out)
{
        free(s->polled);
        s->polled = NULL;
        if (s->qlen == 0)
                return 0;
        struct session_item *it = &s->q[s->qhead++];
        s->qlen--;
        if (s->qlen == 0)
                s->qhead = 0;
        *out = it->out;
        s->polled = it->copy;
        return 1;
}

uint64_t session_next_deadline(const struct session *s)
{
        if (s->sctp_start_pending)
                return 0;
        uint64_t d = ice_agent_next_deadline(s->ice);
        if (s->dtls && s->dtls_started) {
                uint64_t t = dtls_next_deadline(s->dtls);
                if (t < d)
                        d = t;
        }
        for (int k = 0; k < s->n_turn; k++) {
                uint64_t t = turn_client_next_deadline(s->turn[k]);
                if (t < d)
                        d = t;
        }
        if (s->sctp && sctp_assoc_next_deadline(s->sctp) < d)
                d = sctp_assoc_next_deadline(s->sctp);
        for (int k = 0; k < 2; k++) {
                if (s->sender[k] && rtp_sender_next_deadline(s->sender[k]) < d)
                        d = rtp_sender_next_deadline(s->sender[k]);
                if (s->receiver[k] && rtp_receiver_next_deadline(s->receiver[k]) < d)
                        d = rtp_receiver_next_deadline(s->receiver[k]);
        }
        if (s->gcc && !s->over) {
                if (gcc_next_deadline(s->gcc) < d)
                        d = gcc_next_deadline(s->gcc);
                if (s->probe.active && s->probe.next_us < d)
                        d = s->probe.next_us;
        }
#ifdef SESSION_TWCC
        if (s->twcc && !s->over && twcc_recv_next_deadline(s->twcc) < d)
                d = twcc_recv_next_deadline(s->twcc);
#endif
        if (s->ccfb && !s->over && ccfb_recv_next_deadline(s->ccfb) < d)
                d = ccfb_recv_next_deadline(s->ccfb);
        return d;
}

/* The SCTP start DTLS_OUTPUT_CONNECTED left for after the shell sent our last flight. */
static void start_sctp_if_pending(struct session *s, uint64_t now)
{
        if (s->sctp_start_pending) {
                s->sctp_start_pending = false;
                start_sctp(s, now);
        }
}

void session_handle_timeout(struct session *s, uint64_t now)
{
        start_sctp_if_pending(s, now);
        if (ice_agent_next_deadline(s->ice) <= now)
                ice_agent_handle_timeout(s->ice, now);
        if (s->dtls && s->dtls_started && dtls_next_deadline(s->dtls) <= now)
                dtls_handle_timeout(s->dtls, now);
        for (int k = 0; k < s->n_turn; k++)
                if (turn_client_next_deadline(s->turn[k]) <= now)
                        turn_client_handle_timeout(s->turn[k], now);
        if (s->sctp && sctp_assoc_next_deadline(s->sctp) <= now)
                sctp_assoc_handle_timeout(s->sctp, now);
        for (int k = 0; k < 2; k++)
                if (s->sender[k] && rtp_sender_next_deadline(s->sender[k]) <= now)
                        rtp_sender_handle_timeout(s->sender[k], now);
        if (s->gcc && !s->over) {
                if (gcc_next_deadline(s->gcc) <= now) {
                        gcc_handle_timeout(s->gcc, now);
                        apply_estimate(s, now);
                }
                run_probe(s, now);
        }
        if (s->receiver[0] || s->receiver[1]) {
                /* NACK retries wait one round trip: the sender's RR-based one, else ICE's. */
                uint64_t rtt = 0;
                struct rtp_sender_stats ss;
                struct ice_pair_stats ps;
                for (int k = 0; k < 2 && !rtt; k++) {
                        if (s->sender[k]) {
                                rtp_sender_get_stats(s->sender[k], &ss);
                                if (ss.rtt_valid)
                                        rtt = ss.rtt_us;
                        }
                }
                if (!rtt && ice_agent_get_selected_stats(s->ice, &ps) == 0 && ps.rtt_valid)
                        rtt = ps.rtt_us;
#ifdef SESSION_TWCC
                if (s->twcc && !s->over && twcc_recv_next_deadline(s->twcc) <= now) {
                        struct buf fb = BUF_INIT;
                        if (twcc_recv_poll(s->twcc, now, &fb) > 0)
                                send_rtcp_each(s, &fb);
                        buf_free(&fb);
                }
#endif
                if (s->ccfb && !s->over && ccfb_recv_next_deadline(s->ccfb) <= now) {
                        struct buf fb = BUF_INIT;
                        if (ccfb_recv_poll(s->ccfb, now, &fb) > 0)
                                send_rtcp_each(s, &fb);
                        buf_free(&fb);
                }
                for (int k = 0; k < 2; k++) {
                        if (!s->receiver[k])
                                continue;
                        if (rtt)
                                rtp_receiver_set_rtt(s->receiver[k], rtt);
                        if (rtp_receiver_next_deadline(s->receiver[k]) <= now)
                                rtp_receiver_handle_timeout(s->receiver[k], now);
                }
        }
        pump(s, now);
}

void session_close(struct session *s, uint64_t now)
{
        /* A last SR and BYE for each stream, then the DTLS goodbye. */
        for (int k = 0; k < 2; k++)
                if (s->sender[k])
                        rtp_sender_stop(s->sender[k], now);
        drain_media(s, now);
        if (s->dtls && s->secure)
                dtls_close(s->dtls);
        pump(s, now);
        s->over = true;
        ice_agent_close(s->ice);
        for (int k = 0; k < s->n_turn; k++)
                turn_client_close(s->turn[k], now);
        drain_turn(s, now);
        /* The close_notify is already queued as a TRANSMIT; ICE's own events still drain. */
        struct ice_output io;
        while (ice_agent_poll_output(s->ice, &io) == 1) {
                if (io.kind == ICE_OUT_TRANSMIT) {
                        struct session_output o = {.kind = SESSION_OUT_TRANSMIT,
                                                   .base = io.u.transmit.base,
                                                   .dest = io.u.transmit.dest};
                        push(s, &o, io.u.transmit.data, io.u.transmit.len);
                }
        }
}

const char *session_dtls_role(const struct session *s)
{
        if (!s->dtls)
                return NULL;
        return s->role == DTLS_ROLE_CLIENT ? "client" : "server";
}

int session_selected_stats(const struct session *s, struct ice_pair_stats *out)
{
        return ice_agent_get_selected_stats(s->ice, out);
}

bool session_receives(const struct session *s, enum session_media media)
{
        return (int)media >= 0 && media <= SESSION_VIDEO && s->recv_on[media];
}

int session_recv_stats(const struct session *s, enum session_media media,
                       struct rtp_receiver_stats *out)
{
        if ((int)media < 0 || media > SESSION_VIDEO || !s->receiver[media])
                return -ENOENT;
        rtp_receiver_get_stats(s->receiver[media], out);
        return 0;
}

void session_request_keyframe(struct session *s, uint64_t now, enum session_media media)
{
        if ((int)media < 0 || media > SESSION_VIDEO || !s->receiver[media] || s->over)
                return;
        rtp_receiver_request_keyframe(s->receiver[media], now);
        pump(s, now);
}

void session_set_sync_delay(struct session *s, enum session_media media, uint64_t extra_us)
{
        if ((int)media >= 0 && media <= SESSION_VIDEO && s->receiver[media])
                rtp_receiver_set_sync_delay(s->receiver[media], extra_us);
}

int session_remote_ntp(const struct session *s, enum session_media media, uint32_t rtp_ts,
                       uint64_t *ntp_us)
{
        if ((int)media < 0 || media > SESSION_VIDEO || !s->receiver[media])
                return -ENOENT;
        return rtp_receiver_ntp_time(s->receiver[media], rtp_ts, ntp_us);
}

int session_bwe_stats(const struct session *s, struct gcc_stats *out)
{
        if (!s->gcc)
                return -ENOENT;
        gcc_get_stats(s->gcc, out);
        return 0;
}

uint32_t session_media_target(const struct session *s, enum session_media media)
{
        return (int)media >= 0 && media <= SESSION_VIDEO ? s->sent_target[media] : 0;
}
