/* JSEP offer/answer: answers to captured offers, our own offers, refusals, answer checks. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdp/negotiate.h"
#include "sdp/sdp.h"

#define FP                                                                                         \
        "0D:71:00:05:39:C0:EA:D0:18:C6:37:30:F8:3A:C5:6C:31:56:39:C6:3D:F5:F6:B5:49:40:A9:F0:87:"  \
        "F6:99:5F"

static struct sdp_candidate cands[3];

static void make_candidates(void)
{
        assert_int_equal(
            sdp_candidate_parse("1 1 udp 2122260223 192.0.2.10 40000 typ host", &cands[0]), 0);
        assert_int_equal(
            sdp_candidate_parse("2 1 udp 2122262783 2001:db8::10 40002 typ host", &cands[1]), 0);
        assert_int_equal(sdp_candidate_parse("3 1 udp 1686052607 203.0.113.5 41000 typ srflx raddr "
                                             "192.0.2.10 rport 40000",
                                             &cands[2]),
                         0);
}

static struct sdp_local full_local(void)
{
        make_candidates();
        struct sdp_local l = {
            .ice_ufrag = "Rt+1",
            .ice_pwd = "abcdefghijklmnopqrstuv/+",
            .fingerprint_algo = "sha-256",
            .fingerprint = FP,
            .session_id = 4611686018427387904ULL,
            .candidates = cands,
            .n_candidates = 3,
            .end_of_candidates = true,
            .cname = "rtcpeer-cname",
            .stream_id = "stream0",
            .data = true,
            .audio = SDP_DIR_SENDRECV,
            .video = SDP_DIR_SENDRECV,
            .audio_ssrc = 1111,
            .video_ssrc = 2222,
            .video_rtx_ssrc = 3333,
        };
        return l;
}

static struct sdp_local data_local(void)
{
        struct sdp_local l = full_local();
        l.audio = SDP_DIR_NONE;
        l.video = SDP_DIR_NONE;
        return l;
}

static const char *fixtures(void)
{
        const char *d = getenv("RTCPEER_FIXTURES");
        return d ? d : "tests/fixtures";
}

static char *read_fixture(const char *rel, size_t *len)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", fixtures(), rel);
        FILE *f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open %s", path);
        char *data = malloc(1 << 20);
        assert_non_null(data);
        size_t n = fread(data, 1, (1 << 20) - 1, f);
        fclose(f);
        data[n] = '\0';
        *len = n;
        return data;
}

static struct sdp *parse_text(const char *text)
{
        struct sdp *s = NULL;
        struct sdp_error err;
        if (sdp_parse(text, strlen(text), &s, &err) != 0)
                fail_msg("parse failed at line %d: %s", err.line, err.msg);
        return s;
}

static struct sdp *parse_fixture(const char *rel)
{
        size_t len;
        char *text = read_fixture(rel, &len);
        struct sdp *s = parse_text(text);
        free(text);
        return s;
}

/* Writes and re-parses, so every check below runs on what a peer would receive. */
static struct sdp *reparse(const struct sdp *s, char **text_out)
{
        struct buf b = BUF_INIT;
        assert_int_equal(sdp_write(s, &b), 0);
        buf_terminate(&b);
        struct sdp *r = parse_text((const char *)b.data);
        if (text_out)
                *text_out = strdup((const char *)b.data);
        buf_free(&b);
        return r;
}

static struct sdp *answer_ok(const struct sdp *offer, const struct sdp_local *l)
{
        struct sdp *a = NULL;
        struct sdp_error err;
        int rc = sdp_create_answer(offer, l, &a, &err);
        if (rc != 0)
                fail_msg("no answer (%d): %s", rc, err.msg);
        struct sdp *r = reparse(a, NULL);
        sdp_free(a);
        return r;
}

static bool section_accepted(const struct sdp_media *m)
{
        return m->port != 0;
}

/* The structural JSEP rules every answer must follow. */
static void check_answer_shape(const char *name, const struct sdp *offer, const struct sdp *ans)
{
        struct sdp_error err;
        assert_int_equal(ans->n_media, offer->n_media);
        const struct sdp_group *ob = sdp_bundle_group(offer), *ab = sdp_bundle_group(ans);
        size_t expect_group = 0;
        bool first = true;
        for (size_t i = 0; i < offer->n_media; i++) {
                const struct sdp_media *om = &offer->media[i], *am = &ans->media[i];
                assert_string_equal(am->mid, om->mid);
                assert_string_equal(am->media, om->media);
                assert_string_equal(am->proto, om->proto);
                if (!section_accepted(am)) {
                        assert_int_equal(am->n_candidates, 0);
                        continue;
                }
                assert_int_equal(sdp_media_setup(ans, am), SDP_SETUP_ACTIVE);
                assert_string_equal(sdp_media_ice_ufrag(ans, am), "Rt+1");
                assert_non_null(sdp_media_fingerprint(ans, am));
                /* Candidates go in the first accepted section only, as Chromium does. */
                assert_int_equal(am->n_candidates, first ? 3 : 0);
                if (first) {
                        assert_true(am->end_of_candidates);
                        assert_int_equal(am->port, 40002); /* best UDP candidate: the IPv6 one */
                        assert_true(am->conn.ip6);
                }
                first = false;
                if (am->rtp) {
                        assert_true(am->rtcp_mux);
                        for (size_t c = 0; c < am->n_codecs; c++)
                                assert_non_null(sdp_media_codec(om, am->codecs[c].pt));
                }
        }
        /* BUNDLE: the accepted mids in the offer's order. */
        if (ob) {
                assert_non_null(ab);
                for (size_t i = 0; i < ob->n_mids; i++) {
                        const struct sdp_media *am = sdp_find_mid(ans, ob->mids[i]);
                        if (am && section_accepted(am)) {
                                assert_true(expect_group < ab->n_mids);
                                assert_string_equal(ab->mids[expect_group], ob->mids[i]);
                                expect_group++;
                        }
                }
                assert_int_equal(ab->n_mids, expect_group);
        }
        if (sdp_check_answer(offer, ans, &err) != 0)
                fail_msg("%s: answer fails its own check: %s", name, err.msg);
}

static void test_answer_fixture_offers(void **state)
{
        (void)state;
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/sdp", fixtures());
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *e;
        int count = 0;
        while ((e = readdir(d))) {
                if (!strstr(e->d_name, "offer") || !strstr(e->d_name, ".sdp"))
                        continue;
                char rel[600];
                snprintf(rel, sizeof(rel), "sdp/%s", e->d_name);
                struct sdp *offer = parse_fixture(rel);
                struct sdp_local full = full_local(), data = data_local();
                struct sdp *a1 = answer_ok(offer, &full);
                check_answer_shape(e->d_name, offer, a1);
                struct sdp *a2 = answer_ok(offer, &data);
                check_answer_shape(e->d_name, offer, a2);
                bool bundled = sdp_bundle_group(offer) != NULL;
                for (size_t i = 0; i < offer->n_media; i++) {
                        bool app = offer->media[i].type == SDP_MEDIA_APPLICATION;
                        /* Full capabilities take every section of these captures when they
                         * are bundled, and only the first one when they are not. */
                        assert_int_equal(section_accepted(&a1->media[i]), bundled || i == 0);
                        assert_int_equal(section_accepted(&a2->media[i]), app);
                }
                sdp_free(a1);
                sdp_free(a2);
                sdp_free(offer);
                count++;
        }
        closedir(d);
        assert_true(count >= 3);
}

static void test_answer_chromium_details(void **state)
{
        (void)state;
        struct sdp *offer = parse_fixture("sdp/chromium-offer-av-data.sdp");
        struct sdp_local l = full_local();
        struct sdp *a = answer_ok(offer, &l);
        const struct sdp_media *au = &a->media[0], *v = &a->media[1], *d = &a->media[2];
        assert_int_equal(au->n_codecs, 1);
        assert_int_equal(au->codecs[0].pt, 111);
        assert_string_equal(au->codecs[0].fmtp, "minptime=10;useinbandfec=1");
        assert_int_equal(au->codecs[0].n_fb, 1);
        assert_int_equal(au->direction, SDP_DIR_SENDRECV);
        assert_int_equal(au->n_ssrcs, 2);
        assert_int_equal(au->ssrcs[0].ssrc, 1111);
        /* Only the extensions we know, with the offer's ids. */
        assert_int_equal(au->n_extmaps, 2);
        assert_int_equal(au->extmaps[0].id, 3);
        assert_string_equal(au->extmaps[0].uri, SDP_EXT_TWCC_URI);
        assert_int_equal(au->extmaps[1].id, 4);
        assert_int_equal(v->n_codecs, 2);
        assert_int_equal(v->codecs[0].pt, 96);
        assert_string_equal(v->codecs[0].name, "VP8");
        assert_int_equal(v->codecs[0].n_fb, 5);
        assert_int_equal(v->codecs[1].pt, 97);
        assert_string_equal(v->codecs[1].name, "rtx");
        assert_string_equal(v->codecs[1].fmtp, "apt=96");
        assert_int_equal(v->n_ssrc_groups, 1);
        assert_int_equal(v->ssrc_groups[0].ssrcs[1], 3333);
        assert_int_equal(d->sctp_port, 5000);
        assert_int_equal(d->max_message_size, 262144);
        assert_string_equal(d->fmts[0], "webrtc-datachannel");
        struct buf b = BUF_INIT;
        assert_int_equal(sdp_describe(a, &b), 0);
        buf_terminate(&b);
        assert_string_equal(
            (char *)b.data,
            "audio opus sendrecv, video VP8 sendrecv, data sctp:5000 (bundle 0 1 2)");
        sdp_free(a);

        struct sdp_local dl = data_local();
        a = answer_ok(offer, &dl);
        buf_reset(&b);
        sdp_describe(a, &b);
        buf_terminate(&b);
        assert_string_equal((char *)b.data,
                            "audio rejected, video rejected, data sctp:5000 (bundle 2)");
        /*
         * Rejected sections keep the mid and one offered payload type with its rtpmap, plus the
         * transport lines: aiortc, GStreamer and Pion each refuse an answer without them.
         */
        assert_int_equal(a->media[1].port, 0);
        assert_int_equal(a->media[1].n_codecs, 1);
        assert_int_equal(a->media[1].codecs[0].pt, offer->media[1].codecs[0].pt);
        assert_string_equal(a->media[1].codecs[0].name, offer->media[1].codecs[0].name);
        assert_string_equal(a->media[1].mid, "1");
        assert_string_equal(a->media[1].ice_ufrag, dl.ice_ufrag);
        assert_int_equal(a->media[1].n_fingerprints, 1);
        assert_true(a->media[1].rtcp_mux);
        assert_int_equal(a->media[1].n_candidates, 0);
        buf_free(&b);
        sdp_free(a);
        sdp_free(offer);
}

static void test_answer_aiortc_details(void **state)
{
        (void)state;
        struct sdp *offer = parse_fixture("sdp/aiortc-offer-av-data.sdp");
        struct sdp_local l = full_local();
        l.max_message_size = 1 << 20;
        struct sdp *a = answer_ok(offer, &l);
        assert_int_equal(a->media[0].codecs[0].pt, 96);
        assert_string_equal(a->media[0].codecs[0].name, "opus");
        assert_int_equal(a->media[0].n_extmaps, 1); /* sdes:mid only */
        assert_int_equal(a->media[1].n_codecs, 2);
        assert_int_equal(a->media[1].codecs[0].pt, 97);
        assert_int_equal(a->media[1].codecs[1].pt, 98);
        assert_string_equal(a->media[1].codecs[1].fmtp, "apt=97");
        /* VP8 feedback limited to what both support. */
        assert_int_equal(a->media[1].codecs[0].n_fb, 3);
        /* The older DTLS/SCTP form is answered in kind; 64 KiB is the smaller limit. */
        assert_string_equal(a->media[2].proto, "DTLS/SCTP");
        assert_string_equal(a->media[2].fmts[0], "5000");
        assert_non_null(sdp_media_attr(&a->media[2], "sctpmap"));
        assert_int_equal(a->media[2].max_message_size, 65536);
        sdp_free(a);
        sdp_free(offer);
}

static void check_extmap_ids_unique(const struct sdp *s)
{
        for (size_t i = 0; i < s->n_media; i++)
                for (size_t x = 0; x < s->media[i].n_extmaps; x++)
                        for (size_t j = 0; j < s->n_media; j++)
                                for (size_t y = 0; y < s->media[j].n_extmaps; y++) {
                                        const struct sdp_extmap *a = &s->media[i].extmaps[x];
                                        const struct sdp_extmap *b = &s->media[j].extmaps[y];
                                        bool same_id = a->id == b->id;
                                        bool same_uri = strcmp(a->uri, b->uri) == 0;
                                        assert_int_equal(same_id, same_uri);
                                }
}

static void test_own_offer_answer(void **state)
{
        (void)state;
        struct sdp_local ol = full_local();
        struct sdp *offer0 = NULL;
        assert_int_equal(sdp_create_offer(&ol, &offer0), 0);
        char *text;
        struct sdp *offer = reparse(offer0, &text);
        sdp_free(offer0);
        assert_non_null(strstr(text, "o=- 4611686018427387904 2 IN IP4 127.0.0.1\r\n"));
        assert_non_null(strstr(text, "a=group:BUNDLE 0 1 2\r\n"));
        assert_non_null(strstr(text, "a=ssrc-group:FID 2222 3333\r\n"));
        free(text);
        assert_int_equal(offer->n_media, 3);
        assert_int_equal(offer->media[0].type, SDP_MEDIA_AUDIO);
        assert_int_equal(offer->media[1].type, SDP_MEDIA_VIDEO);
        assert_int_equal(offer->media[2].type, SDP_MEDIA_APPLICATION);
        assert_int_equal(offer->media[0].n_candidates, 3);
        assert_int_equal(offer->media[1].n_candidates, 0);
        assert_int_equal(offer->media[1].port, 9);
        assert_int_equal(sdp_media_setup(offer, &offer->media[1]), SDP_SETUP_ACTPASS);
        assert_string_equal(offer->media[0].ice_options, "trickle");
        check_extmap_ids_unique(offer);

        /* Another rtcpeer answers it, and the answer passes our check. */
        struct sdp_local al = full_local();
        al.ice_ufrag = "Rt+1";
        struct sdp *ans = answer_ok(offer, &al);
        check_answer_shape("own", offer, ans);
        assert_int_equal(sdp_check_answer(offer, ans, NULL), 0);
        sdp_free(ans);

        /* Only data, no candidates yet: port 9 and 0.0.0.0. */
        struct sdp_local dl = data_local();
        dl.n_candidates = 0;
        dl.candidates = NULL;
        struct sdp *doff = NULL;
        assert_int_equal(sdp_create_offer(&dl, &doff), 0);
        struct sdp *d = reparse(doff, NULL);
        assert_int_equal(d->n_media, 1);
        assert_int_equal(d->media[0].port, 9);
        assert_string_equal(d->media[0].conn.addr, "0.0.0.0");
        assert_null(d->msid_semantic);
        sdp_free(doff);
        sdp_free(d);
        sdp_free(offer);

        /* Nothing enabled, or bad local parameters: no offer. */
        struct sdp_local none = data_local();
        none.data = false;
        struct sdp *o = NULL;
        assert_int_equal(sdp_create_offer(&none, &o), -EINVAL);
        struct sdp_local bad = full_local();
        bad.ice_pwd = "short";
        assert_int_equal(sdp_create_offer(&bad, &o), -EINVAL);
        bad = full_local();
        bad.fingerprint = "AB:CD";
        assert_int_equal(sdp_create_offer(&bad, &o), -EINVAL);
        assert_null(o);
}

static bool has_fb(const struct sdp_codec *c, const char *fb)
{
        for (size_t i = 0; i < c->n_fb; i++)
                if (strcmp(c->fb[i], fb) == 0)
                        return true;
        return false;
}

static bool has_twcc_ext(const struct sdp_media *m)
{
        for (size_t i = 0; i < m->n_extmaps; i++)
                if (strcmp(m->extmaps[i].uri, SDP_EXT_TWCC_URI) == 0)
                        return true;
        return false;
}

/* Offers with `mine`, answers with `theirs`; returns the answer as the offerer reads it. */
static struct sdp *offer_answer(enum sdp_feedback mine, enum sdp_feedback theirs, char **offer_text,
                                char **answer_text)
{
        struct sdp_local ol = full_local();
        ol.feedback = mine;
        struct sdp *o0 = NULL;
        assert_int_equal(sdp_create_offer(&ol, &o0), 0);
        struct sdp *offer = reparse(o0, offer_text);
        sdp_free(o0);
        struct sdp_local al = full_local();
        al.feedback = theirs;
        struct sdp *a0 = answer_ok(offer, &al);
        struct sdp *ans = reparse(a0, answer_text);
        sdp_free(a0);
        assert_int_equal(sdp_check_answer(offer, ans, NULL), 0);
        sdp_free(offer);
        return ans;
}

/* RFC 8888 ccfb: offered as the wildcard beside transport-cc, answered when offered. */
static void test_ccfb_feedback(void **state)
{
        (void)state;
        char *ot, *at;
        struct sdp *a = offer_answer(SDP_FEEDBACK_BOTH, SDP_FEEDBACK_BOTH, &ot, &at);
        /* Once per section, as the wildcard, after the rtpmap lines (aiortc applies a wildcard
         * to the codecs it has seen). */
        const char *opus = strstr(ot, "a=rtpmap:111 opus/48000/2\r\n");
        const char *wild = strstr(ot, "a=rtcp-fb:* ack ccfb\r\n");
        assert_true(opus && wild && opus < wild);
        assert_non_null(strstr(ot, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                                   "a=rtcp-fb:* ack ccfb\r\n"));
        assert_null(strstr(ot, "a=rtcp-fb:96 ack ccfb"));
        assert_non_null(strstr(ot, "a=rtcp-fb:96 transport-cc\r\n"));
        assert_non_null(strstr(at, "a=rtcp-fb:* ack ccfb\r\n"));
        for (size_t i = 0; i < 2; i++) {
                assert_true(has_fb(&a->media[i].codecs[0], SDP_FB_CCFB));
                assert_true(has_fb(&a->media[i].codecs[0], SDP_FB_TWCC));
                assert_true(has_twcc_ext(&a->media[i]));
        }
        assert_true(has_fb(&a->media[1].codecs[1], SDP_FB_CCFB)); /* rtx too */
        free(ot);
        free(at);
        sdp_free(a);

        /* ccfb only (RTCPEER_FEEDBACK=ccfb): neither transport-cc nor its extension. */
        a = offer_answer(SDP_FEEDBACK_CCFB, SDP_FEEDBACK_BOTH, &ot, &at);
        assert_null(strstr(ot, "transport-cc"));
        assert_null(strstr(ot, "transport-wide-cc"));
        assert_null(strstr(at, "transport-cc"));
        assert_null(strstr(at, "transport-wide-cc"));
        for (size_t i = 0; i < 2; i++) {
                assert_true(has_fb(&a->media[i].codecs[0], SDP_FB_CCFB));
                assert_false(has_twcc_ext(&a->media[i]));
        }
        assert_true(has_fb(&a->media[1].codecs[0], "nack pli"));
        free(ot);
        free(at);
        sdp_free(a);

        /* An answerer that wants transport-cc only does not answer ccfb, nor the reverse. */
        a = offer_answer(SDP_FEEDBACK_BOTH, SDP_FEEDBACK_TWCC, &ot, &at);
        assert_null(strstr(at, "ccfb"));
        assert_true(has_twcc_ext(&a->media[1]));
        free(ot);
        free(at);
        sdp_free(a);
        a = offer_answer(SDP_FEEDBACK_BOTH, SDP_FEEDBACK_CCFB, &ot, &at);
        assert_null(strstr(at, "transport-cc"));
        assert_false(has_twcc_ext(&a->media[0]));
        assert_true(has_fb(&a->media[0].codecs[0], SDP_FB_CCFB));
        free(ot);
        free(at);
        sdp_free(a);
        a = offer_answer(SDP_FEEDBACK_TWCC, SDP_FEEDBACK_BOTH, &ot, &at);
        assert_null(strstr(ot, "ccfb"));
        assert_null(strstr(at, "ccfb"));
        free(ot);
        free(at);
        sdp_free(a);

        /* Offered per payload type (some stacks do): answered as the wildcard. A Chromium offer
         * without it gets no ccfb. */
        struct sdp *offer = parse_fixture("sdp/chromium-offer-av-data.sdp");
        struct sdp_local l = full_local();
        a = answer_ok(offer, &l);
        for (size_t i = 0; i < 2; i++)
                assert_false(has_fb(&a->media[i].codecs[0], SDP_FB_CCFB));
        sdp_free(a);
        struct sdp_codec *vp8 = NULL;
        for (size_t i = 0; i < offer->media[1].n_codecs; i++)
                if (strcmp(offer->media[1].codecs[i].name, "VP8") == 0 && !vp8)
                        vp8 = &offer->media[1].codecs[i];
        assert_non_null(vp8);
        char **fb = realloc(vp8->fb, (vp8->n_fb + 1) * sizeof(*fb));
        assert_non_null(fb);
        vp8->fb = fb;
        vp8->fb[vp8->n_fb++] = strdup(SDP_FB_CCFB);
        a = answer_ok(offer, &l);
        char *text;
        struct sdp *r = reparse(a, &text);
        assert_true(has_fb(&r->media[1].codecs[0], SDP_FB_CCFB));
        assert_false(has_fb(&r->media[0].codecs[0], SDP_FB_CCFB));
        assert_non_null(strstr(text, "a=rtcp-fb:* ack ccfb\r\n"));
        assert_int_equal(r->media[1].n_fb_all, 1);
        free(text);
        sdp_free(r);
        sdp_free(a);
        sdp_free(offer);
}

static void test_directions(void **state)
{
        (void)state;
        /* We offer to send only; a sendrecv peer answers recvonly. */
        struct sdp_local ol = full_local();
        ol.audio = SDP_DIR_SENDONLY;
        ol.video = SDP_DIR_RECVONLY;
        struct sdp *o0 = NULL;
        assert_int_equal(sdp_create_offer(&ol, &o0), 0);
        struct sdp *offer = reparse(o0, NULL);
        sdp_free(o0);
        assert_int_equal(offer->media[1].n_ssrcs, 0); /* nothing to announce for recvonly */
        struct sdp_local al = full_local();
        struct sdp *ans = answer_ok(offer, &al);
        assert_int_equal(ans->media[0].direction, SDP_DIR_RECVONLY);
        assert_int_equal(ans->media[0].n_ssrcs, 0);
        assert_int_equal(ans->media[1].direction, SDP_DIR_SENDONLY);
        assert_int_equal(ans->media[1].n_ssrcs, 4);
        assert_int_equal(sdp_check_answer(offer, ans, NULL), 0);
        sdp_free(ans);
        /* Capabilities that do not fit what is offered give inactive sections, not rejections. */
        al.audio = SDP_DIR_SENDONLY;
        al.video = SDP_DIR_RECVONLY;
        ans = answer_ok(offer, &al);
        assert_int_equal(ans->media[0].direction, SDP_DIR_INACTIVE);
        assert_int_equal(ans->media[1].direction, SDP_DIR_INACTIVE);
        assert_int_not_equal(ans->media[1].port, 0);
        assert_int_equal(sdp_check_answer(offer, ans, NULL), 0);
        sdp_free(ans);
        /* Pion answers sendrecv to a sendonly offer: taken as recvonly, not refused. */
        ans = answer_ok(offer, &al);
        ans->media[0].direction = SDP_DIR_SENDRECV;
        assert_int_equal(sdp_check_answer(offer, ans, NULL), 0);
        /* An answer that would send to our sendonly section is still refused. */
        ans->media[0].direction = SDP_DIR_SENDONLY;
        assert_int_equal(sdp_check_answer(offer, ans, NULL), -EBADMSG);
        sdp_free(ans);
        sdp_free(offer);
}

static void test_setup_roles(void **state)
{
        (void)state;
        size_t len;
        char *text = read_fixture("sdp/chromium-offer-data.sdp", &len);
        char *p = strstr(text, "a=setup:actpass");
        assert_non_null(p);
        memcpy(p, "a=setup:active\r\n", 16); /* same length: "actpass\r" -> "active\r\n" */
        struct sdp *offer = parse_text(text);
        struct sdp_local l = full_local();
        struct sdp *a = answer_ok(offer, &l);
        assert_int_equal(sdp_media_setup(a, &a->media[0]), SDP_SETUP_PASSIVE);
        sdp_free(a);
        sdp_free(offer);
        free(text);
}

static void test_no_bundle(void **state)
{
        (void)state;
        /* Without BUNDLE only the first usable section is taken. */
        const char *text = "v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                           "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                           "a=fingerprint:sha-256 " FP "\r\na=setup:actpass\r\n"
                           "m=text 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\n"
                           "a=rtpmap:111 opus/48000/2\r\n"
                           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\n"
                           "a=rtpmap:96 VP8/90000\r\n";
        struct sdp *offer = parse_text(text);
        struct sdp_local l = full_local();
        struct sdp *a = answer_ok(offer, &l);
        assert_int_equal(a->media[0].port, 0);
        assert_int_not_equal(a->media[1].port, 0);
        assert_int_equal(a->media[2].port, 0);
        assert_null(sdp_bundle_group(a));
        assert_int_equal(a->media[1].n_candidates, 3);
        assert_int_equal(sdp_check_answer(offer, a, NULL), 0);
        sdp_free(a);
        sdp_free(offer);
}

static void test_unacceptable(void **state)
{
        (void)state;
        size_t len;
        char *tsv = read_fixture("sdp-unacceptable/cases.tsv", &len);
        char *save = NULL;
        int count = 0;
        for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '#')
                        continue;
                char *t = strchr(line, '\t');
                assert_non_null(t);
                *t = '\0';
                char rel[600];
                snprintf(rel, sizeof(rel), "sdp-unacceptable/%s", line);
                struct sdp *offer = parse_fixture(rel);
                struct sdp_local l = full_local();
                struct sdp *a = (struct sdp *)1;
                struct sdp_error err;
                int rc = sdp_create_answer(offer, &l, &a, &err);
                if (rc != -ENOTSUP)
                        fail_msg("%s: expected -ENOTSUP, got %d (%s)", line, rc, err.msg);
                assert_null(a);
                if (!strstr(err.msg, t + 1))
                        fail_msg("%s: message \"%s\" lacks \"%s\"", line, err.msg, t + 1);
                sdp_free(offer);
                count++;
        }
        free(tsv);
        assert_true(count >= 5);
}

static void test_unanswerable_bad(void **state)
{
        (void)state;
        size_t len;
        char *tsv = read_fixture("sdp-bad/cases.tsv", &len);
        char *save = NULL;
        int count = 0;
        for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *t1 = strchr(line, '\t');
                if (line[0] == '#' || !t1 || strncmp(t1 + 1, "answer\t", 7) != 0)
                        continue;
                *t1 = '\0';
                const char *want = t1 + 8;
                char rel[600];
                snprintf(rel, sizeof(rel), "sdp-bad/%s", line);
                struct sdp *offer = parse_fixture(rel);
                struct sdp_local l = full_local();
                struct sdp *a = NULL;
                struct sdp_error err;
                int rc = sdp_create_answer(offer, &l, &a, &err);
                if (rc != -EBADMSG)
                        fail_msg("%s: expected -EBADMSG, got %d", line, rc);
                if (!strstr(err.msg, want))
                        fail_msg("%s: message \"%s\" lacks \"%s\"", line, err.msg, want);
                assert_null(a);
                sdp_free(offer);
                count++;
        }
        free(tsv);
        assert_true(count >= 2);
}

static char *replace(const char *text, const char *from, const char *to)
{
        const char *p = strstr(text, from);
        if (!p)
                fail_msg("\"%s\" not found", from);
        size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
        char *r = malloc(n);
        snprintf(r, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
        return r;
}

static void expect_bad_answer(const struct sdp *offer, const char *answer_text, int code,
                              const char *want)
{
        struct sdp *a = parse_text(answer_text);
        struct sdp_error err;
        int rc = sdp_check_answer(offer, a, &err);
        if (rc != code)
                fail_msg("expected %d for \"%s\", got %d (%s)", code, want, rc, err.msg);
        if (!strstr(err.msg, want))
                fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
        sdp_free(a);
}

static void test_check_answer_rejections(void **state)
{
        (void)state;
        struct sdp_local ol = full_local();
        ol.video = SDP_DIR_RECVONLY;
        struct sdp *o0 = NULL;
        assert_int_equal(sdp_create_offer(&ol, &o0), 0);
        struct sdp *offer = reparse(o0, NULL);
        sdp_free(o0);
        struct sdp_local al = full_local();
        struct sdp *a0 = NULL;
        assert_int_equal(sdp_create_answer(offer, &al, &a0, NULL), 0);
        char *good;
        struct sdp *a = reparse(a0, &good);
        sdp_free(a0);
        assert_int_equal(sdp_check_answer(offer, a, NULL), 0);
        sdp_free(a);

        char *t = replace(good, "a=setup:active", "a=setup:actpass");
        expect_bad_answer(offer, t, -EBADMSG, "a=setup:actpass");
        free(t);
        t = replace(good, "a=mid:1", "a=mid:x");
        char *t2 = replace(t, "BUNDLE 0 1 2", "BUNDLE 0 x 2");
        expect_bad_answer(offer, t2, -EBADMSG, "has mid \"x\" in the answer but \"1\"");
        free(t);
        free(t2);
        t = strdup(good);
        *strstr(t, "m=application") = '\0';
        t2 = replace(t, "BUNDLE 0 1 2", "BUNDLE 0 1");
        expect_bad_answer(offer, t2, -EBADMSG, "the answer has 2 m= sections, the offer had 3");
        free(t);
        free(t2);
        t = replace(good, "m=audio 40002 UDP/TLS/RTP/SAVPF 111",
                    "m=audio 40002 UDP/TLS/RTP/SAVPF 111 0");
        expect_bad_answer(offer, t, -EBADMSG, "payload type 0 in mid \"0\"");
        free(t);
        t = replace(good, "a=sendonly", "a=sendrecv");
        expect_bad_answer(offer, t, -EBADMSG,
                          "says sendrecv in mid \"1\", the offer said recvonly");
        free(t);
        t = replace(good, "a=ice-pwd:abcdefghijklmnopqrstuv/+\r\n", "");
        expect_bad_answer(offer, t, -EBADMSG, "mid \"0\" in the answer has no ice-ufrag/ice-pwd");
        free(t);
        t = replace(good, "a=extmap:2 ", "a=extmap:5 ");
        expect_bad_answer(offer, t, -EBADMSG, "extension id 5");
        free(t);
        /* Every section rejected. */
        t = replace(good, "m=audio 40002", "m=audio 0");
        t2 = replace(t, "m=video 9", "m=video 0");
        free(t);
        t = replace(t2, "m=application 9", "m=application 0");
        free(t2);
        t2 = replace(t, "a=group:BUNDLE 0 1 2\r\n", "");
        expect_bad_answer(offer, t2, -ENOTSUP, "rejected every");
        free(t);
        free(t2);
        free(good);
        sdp_free(offer);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_answer_fixture_offers),
            cmocka_unit_test(test_answer_chromium_details),
            cmocka_unit_test(test_answer_aiortc_details),
            cmocka_unit_test(test_own_offer_answer),
            cmocka_unit_test(test_ccfb_feedback),
            cmocka_unit_test(test_directions),
            cmocka_unit_test(test_setup_roles),
            cmocka_unit_test(test_no_bundle),
            cmocka_unit_test(test_unacceptable),
            cmocka_unit_test(test_unanswerable_bad),
            cmocka_unit_test(test_check_answer_rejections),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
