/* SDP parser and writer: captures from real peers, round trips, candidates, malformed input. */
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

#include "sdp/sdp.h"

static const char *fixtures(void)
{
        const char *d = getenv("RTCPEER_FIXTURES");
        return d ? d : "tests/fixtures";
}

static char *read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                fail_msg("cannot open %s", path);
        char *data = NULL;
        size_t n = 0, cap = 0;
        for (;;) {
                if (n + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        data = realloc(data, cap);
                        assert_non_null(data);
                }
                size_t r = fread(data + n, 1, 4096, f);
                n += r;
                if (r == 0)
                        break;
        }
        fclose(f);
        data[n] = '\0';
        *len = n;
        return data;
}

static char *fixture(const char *rel, size_t *len)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", fixtures(), rel);
        return read_file(path, len);
}

static struct sdp *parse_ok(const char *text, size_t len)
{
        struct sdp *s = NULL;
        struct sdp_error err;
        int rc = sdp_parse(text, len, &s, &err);
        if (rc != 0)
                fail_msg("parse failed (%d) at line %d: %s", rc, err.line, err.msg);
        assert_non_null(s);
        return s;
}

static struct sdp *parse_fixture(const char *rel)
{
        size_t len;
        char *text = fixture(rel, &len);
        struct sdp *s = parse_ok(text, len);
        free(text);
        return s;
}

/* write(parse(x)) must be a fixed point of parse-then-write. */
static void check_round_trip(const char *name, const char *text, size_t len)
{
        struct buf w1 = BUF_INIT, w2 = BUF_INIT;
        struct sdp *s1 = parse_ok(text, len);
        assert_int_equal(sdp_write(s1, &w1), 0);
        struct sdp *s2 = parse_ok((const char *)w1.data, w1.len);
        assert_int_equal(sdp_write(s2, &w2), 0);
        if (w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0)
                fail_msg("%s: second write differs from the first", name);
        assert_int_equal(s1->n_media, s2->n_media);
        sdp_free(s1);
        sdp_free(s2);
        buf_free(&w1);
        buf_free(&w2);
}

static void test_fixtures_round_trip(void **state)
{
        (void)state;
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/sdp", fixtures());
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *e;
        int count = 0;
        while ((e = readdir(d))) {
                size_t n = strlen(e->d_name);
                if (n < 5 || strcmp(e->d_name + n - 4, ".sdp") != 0)
                        continue;
                char rel[600];
                snprintf(rel, sizeof(rel), "sdp/%s", e->d_name);
                size_t len;
                char *text = fixture(rel, &len);
                check_round_trip(e->d_name, text, len);
                free(text);
                count++;
        }
        closedir(d);
        assert_true(count >= 5);
}

static void test_chromium_offer_fields(void **state)
{
        (void)state;
        struct sdp *s = parse_fixture("sdp/chromium-offer-av-data.sdp");
        assert_int_equal(s->session_id, 2528564052690453724ULL);
        assert_int_equal(s->session_version, 2);
        assert_int_equal(s->n_media, 3);
        assert_true(s->extmap_allow_mixed);
        assert_string_equal(s->msid_semantic, "WMS a3e7b617-bdf9-418b-a9dc-09044a97e543");
        const struct sdp_group *g = sdp_bundle_group(s);
        assert_non_null(g);
        assert_int_equal(g->n_mids, 3);
        assert_string_equal(g->mids[2], "2");

        const struct sdp_media *a = &s->media[0];
        assert_int_equal(a->type, SDP_MEDIA_AUDIO);
        assert_int_equal(a->port, 59979);
        assert_string_equal(a->proto, "UDP/TLS/RTP/SAVPF");
        assert_true(a->rtp);
        assert_string_equal(a->mid, "0");
        assert_string_equal(sdp_media_ice_ufrag(s, a), "+/Jy");
        assert_string_equal(sdp_media_ice_pwd(s, a), "1D0d6BFyFdUQsM3MWQ8Kx6JM");
        assert_string_equal(a->ice_options, "trickle");
        const struct sdp_fingerprint *fp = sdp_media_fingerprint(s, a);
        assert_non_null(fp);
        assert_int_equal(fp->hash, SDP_HASH_SHA256);
        assert_int_equal(fp->len, 32);
        char hex[SDP_FINGERPRINT_HEX_MAX];
        sdp_fingerprint_hex(fp, hex);
        assert_string_equal(hex, "E6:AA:D4:18:6B:AA:D2:00:B7:1F:B2:91:F4:51:71:93:59:38:76:16:"
                                 "E8:99:56:3A:D9:FA:AF:47:44:F9:65:9F");
        assert_int_equal(sdp_media_setup(s, a), SDP_SETUP_ACTPASS);
        assert_int_equal(sdp_media_direction(s, a), SDP_DIR_SENDRECV);
        assert_true(a->rtcp_mux);
        assert_true(a->rtcp_rsize);
        assert_string_equal(a->rtcp, "9 IN IP4 0.0.0.0");
        assert_string_equal(a->conn.addr, "192.0.2.2");
        assert_false(a->conn.ip6);

        /* Candidates: IPv4 udp, IPv6 udp, tcp active with port 9. */
        assert_int_equal(a->n_candidates, 4);
        assert_string_equal(a->candidates[0].foundation, "1621491254");
        assert_int_equal(a->candidates[0].component, 1);
        assert_string_equal(a->candidates[0].transport, "udp");
        assert_int_equal(a->candidates[0].priority, 2122194687);
        assert_string_equal(a->candidates[0].address, "192.0.2.2");
        assert_int_equal(a->candidates[0].port, 59979);
        assert_int_equal(a->candidates[0].type, SDP_CAND_HOST);
        assert_string_equal(a->candidates[1].address, "fd00::2");
        assert_int_equal(a->candidates[1].port, 35311);
        assert_string_equal(a->candidates[2].transport, "tcp");
        assert_int_equal(a->candidates[2].tcptype, SDP_TCPTYPE_ACTIVE);
        assert_int_equal(a->candidates[2].port, 9);
        char val[32];
        assert_int_equal(sdp_candidate_ext_get(&a->candidates[3], "network-id", val, sizeof(val)),
                         0);
        assert_string_equal(val, "2");
        assert_int_equal(sdp_candidate_ext_get(&a->candidates[3], "generation", val, sizeof(val)),
                         0);
        assert_string_equal(val, "0");
        assert_int_equal(sdp_candidate_ext_get(&a->candidates[3], "ufrag", val, sizeof(val)),
                         -ENOENT);

        /* Codecs in m= order with rtpmap/fmtp/rtcp-fb. */
        assert_int_equal(a->n_codecs, 8);
        assert_int_equal(a->codecs[0].pt, 111);
        assert_string_equal(a->codecs[0].name, "opus");
        assert_int_equal(a->codecs[0].clock, 48000);
        assert_int_equal(a->codecs[0].channels, 2);
        assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
        assert_int_equal(a->codecs[0].n_fb, 1);
        assert_string_equal(a->codecs[0].fb[0], "transport-cc");
        const struct sdp_codec *pcmu = sdp_media_codec(a, 0);
        assert_non_null(pcmu);
        assert_string_equal(pcmu->name, "PCMU");
        assert_int_equal(pcmu->channels, 0);
        assert_int_equal(a->n_extmaps, 4);
        assert_int_equal(a->extmaps[3].id, 4);
        assert_string_equal(a->extmaps[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
        assert_int_equal(a->n_msid, 1);
        assert_int_equal(a->n_ssrcs, 2);
        assert_int_equal(a->ssrcs[0].ssrc, 1609645408);
        assert_string_equal(a->ssrcs[0].attr, "cname");
        assert_string_equal(a->ssrcs[0].value, "ajagWPUSMpW7Bg1i");
        /* Unknown attributes are kept in order. */
        assert_string_equal(sdp_media_attr(a, "rtcp-xr"), "rcvr-rtt=all");

        const struct sdp_media *v = &s->media[1];
        assert_int_equal(v->type, SDP_MEDIA_VIDEO);
        assert_int_equal(v->n_codecs, 23);
        const struct sdp_codec *vp8 = sdp_media_codec(v, 96);
        assert_string_equal(vp8->name, "VP8");
        assert_int_equal(vp8->clock, 90000);
        assert_int_equal(vp8->n_fb, 5);
        assert_string_equal(vp8->fb[4], "nack pli");
        assert_string_equal(sdp_media_codec(v, 97)->fmtp, "apt=96");
        assert_int_equal(v->n_extmaps, 11);
        assert_int_equal(v->extmaps[0].id, 14);
        assert_int_equal(v->n_ssrc_groups, 1);
        assert_string_equal(v->ssrc_groups[0].semantics, "FID");
        assert_int_equal(v->ssrc_groups[0].n_ssrcs, 2);
        assert_int_equal(v->ssrc_groups[0].ssrcs[0], 2995212561u);
        assert_int_equal(v->ssrc_groups[0].ssrcs[1], 3060106089u);

        const struct sdp_media *d = &s->media[2];
        assert_int_equal(d->type, SDP_MEDIA_APPLICATION);
        assert_false(d->rtp);
        assert_string_equal(d->proto, "UDP/DTLS/SCTP");
        assert_int_equal(d->n_fmts, 1);
        assert_string_equal(d->fmts[0], "webrtc-datachannel");
        assert_int_equal(d->sctp_port, 5000);
        assert_true(d->has_max_message_size);
        assert_int_equal(d->max_message_size, 262144);
        assert_ptr_equal(sdp_find_mid(s, "2"), d);
        assert_null(sdp_find_mid(s, "3"));
        sdp_free(s);
}

static void test_aiortc_offer_fields(void **state)
{
        (void)state;
        struct sdp *s = parse_fixture("sdp/aiortc-offer-av-data.sdp");
        assert_int_equal(s->n_media, 3);
        assert_string_equal(s->msid_semantic, "WMS *");
        assert_string_equal(s->media[1].ice_ufrag, "1ssD");
        assert_int_equal(s->media[1].direction, SDP_DIR_SENDRECV);
        assert_true(s->media[0].end_of_candidates);
        assert_int_equal(s->media[2].sctp_port, -1);
        assert_string_equal(s->media[2].proto, "DTLS/SCTP");
        assert_string_equal(s->media[2].fmts[0], "5000");
        assert_string_equal(sdp_media_attr(&s->media[2], "sctpmap"),
                            "5000 webrtc-datachannel 65535");
        assert_int_equal(s->media[2].max_message_size, 65536);
        sdp_free(s);
}

static void test_lf_and_tolerance(void **state)
{
        (void)state;
        size_t len;
        char *crlf = fixture("sdp/chromium-offer-data.sdp", &len);
        /* The same text with LF endings and trailing blanks must give the same result. */
        char *lf = malloc(len * 2 + 1);
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
                if (crlf[i] == '\r')
                        continue;
                if (crlf[i] == '\n') {
                        lf[n++] = ' ';
                        lf[n++] = '\t';
                }
                lf[n++] = crlf[i];
        }
        struct buf w1 = BUF_INIT, w2 = BUF_INIT;
        struct sdp *a = parse_ok(crlf, len), *b = parse_ok(lf, n);
        assert_int_equal(sdp_write(a, &w1), 0);
        assert_int_equal(sdp_write(b, &w2), 0);
        assert_int_equal(w1.len, w2.len);
        assert_memory_equal(w1.data, w2.data, w1.len);
        assert_string_equal(a->msid_semantic, "WMS");
        sdp_free(a);
        sdp_free(b);
        buf_free(&w1);
        buf_free(&w2);
        free(lf);
        free(crlf);

        /* Unknown media types and unknown attributes parse; zero m= lines is legal. */
        const char *text = "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\na=x-foo:bar baz\n"
                           "m=text 9 RTP/AVP 98\na=rtpmap:98 t140/1000\na=x-flag\n"
                           "a=rtpmap:99 red/1000\n";
        struct sdp *s = parse_ok(text, strlen(text));
        assert_int_equal(s->media[0].type, SDP_MEDIA_OTHER);
        assert_string_equal(s->media[0].media, "text");
        assert_string_equal(s->attrs[0].name, "x-foo");
        assert_string_equal(s->attrs[0].value, "bar baz");
        assert_string_equal(sdp_media_attr(&s->media[0], "x-flag"), "");
        /* An rtpmap for a payload type the m= line lacks is kept verbatim. */
        assert_string_equal(sdp_media_attr(&s->media[0], "rtpmap"), "99 red/1000");
        check_round_trip("text", text, strlen(text));
        sdp_free(s);
        const char *none = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
        s = parse_ok(none, strlen(none));
        assert_int_equal(s->n_media, 0);
        sdp_free(s);
}

static void test_session_defaults(void **state)
{
        (void)state;
        const char *text = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                           "a=ice-ufrag:sess\r\na=ice-pwd:sessionpasswordsession1\r\n"
                           "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:"
                           "11:22:33\r\na=setup:passive\r\na=recvonly\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP6 ::\r\na=mid:a\r\n"
                           "a=rtcp-fb:* nack\r\na=rtpmap:111 opus/48000/2\r\n"
                           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP6 2001:db8::1\r\na=mid:v\r\n"
                           "a=ice-ufrag:mine\r\na=setup:active\r\na=sendonly\r\n";
        struct sdp *s = parse_ok(text, strlen(text));
        const struct sdp_media *a = sdp_find_mid(s, "a"), *v = sdp_find_mid(s, "v");
        assert_string_equal(sdp_media_ice_ufrag(s, a), "sess");
        assert_string_equal(sdp_media_ice_ufrag(s, v), "mine");
        assert_string_equal(sdp_media_ice_pwd(s, v), "sessionpasswordsession1");
        assert_int_equal(sdp_media_fingerprint(s, v)->hash, SDP_HASH_SHA1);
        assert_int_equal(sdp_media_setup(s, a), SDP_SETUP_PASSIVE);
        assert_int_equal(sdp_media_setup(s, v), SDP_SETUP_ACTIVE);
        assert_int_equal(sdp_media_direction(s, a), SDP_DIR_RECVONLY);
        assert_int_equal(sdp_media_direction(s, v), SDP_DIR_SENDONLY);
        assert_true(a->conn.ip6);
        assert_int_equal(a->codecs[0].n_fb, 1);
        assert_string_equal(a->codecs[0].fb[0], "nack");
        check_round_trip("defaults", text, strlen(text));
        sdp_free(s);
}

/* a=rtcp-fb:* is kept as the wildcard: once, after the codecs, not repeated per type. */
static void test_rtcp_fb_wildcard(void **state)
{
        (void)state;
        const char *text = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                           "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
                           "a=rtcp-fb:* ack ccfb\r\na=rtpmap:96 VP8/90000\r\n"
                           "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 ack ccfb\r\n"
                           "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n";
        struct sdp *s = parse_ok(text, strlen(text));
        const struct sdp_media *m = &s->media[0];
        assert_int_equal(m->n_fb_all, 1);
        assert_string_equal(m->fb_all[0], "ack ccfb");
        assert_int_equal(m->codecs[0].n_fb, 3); /* the wildcard's, nack, its own ack ccfb */
        assert_int_equal(m->codecs[1].n_fb, 1);
        assert_string_equal(m->codecs[1].fb[0], "ack ccfb");
        struct buf b = BUF_INIT;
        assert_int_equal(sdp_write(s, &b), 0);
        buf_terminate(&b);
        const char *w = (const char *)b.data;
        assert_non_null(strstr(w, "a=rtcp-fb:96 nack\r\n"));
        assert_null(strstr(w, "a=rtcp-fb:96 ack ccfb"));
        assert_null(strstr(w, "a=rtcp-fb:97"));
        const char *wild = strstr(w, "a=rtcp-fb:* ack ccfb\r\n");
        assert_non_null(wild);
        assert_null(strstr(wild + 1, "a=rtcp-fb:*"));
        assert_true(strstr(w, "a=fmtp:97 apt=96") < wild);
        check_round_trip("wildcard", text, strlen(text));
        buf_free(&b);
        sdp_free(s);
}

static void test_candidates(void **state)
{
        (void)state;
        struct sdp_candidate c;
        struct buf b = BUF_INIT;
        static const char *const good[] = {
            "1 1 udp 2122194687 192.0.2.2 50000 typ host",
            "1 1 udp 2122194687 192.0.2.2 50000 typ host generation 0 network-id 1",
            "2 1 tcp 1518214911 fd00::2 9 typ host tcptype active generation 0",
            "3 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 192.0.2.2 rport 50000",
            "4 2 udp 41885439 198.51.100.1 3478 typ relay raddr 0.0.0.0 rport 0",
            "5 1 udp 2113937151 6d5b1c83-4aa3-4f0e-9e1c-5d3c7f1c2a11.local 54321 typ host",
            "6 1 tcp 1518280447 ::ffff:192.0.2.9 9 typ prflx tcptype so",
            "f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 fd00::2 43557 typ host",
            "a+/b 256 UDP 1 10.0.0.1 0 typ host ufrag Abcd network-cost 10",
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                if (sdp_candidate_parse(good[i], &c) != 0)
                        fail_msg("rejected good candidate %s", good[i]);
                buf_reset(&b);
                assert_int_equal(sdp_candidate_write(&c, &b), 0);
                buf_terminate(&b);
                struct sdp_candidate c2;
                assert_int_equal(sdp_candidate_parse((const char *)b.data, &c2), 0);
                assert_memory_equal(&c, &c2, sizeof(c));
        }
        /* Transport is lowercased; everything else is written as read. */
        assert_int_equal(sdp_candidate_parse(good[8], &c), 0);
        buf_reset(&b);
        sdp_candidate_write(&c, &b);
        buf_terminate(&b);
        assert_string_equal((char *)b.data,
                            "a+/b 256 udp 1 10.0.0.1 0 typ host ufrag Abcd network-cost 10");
        assert_int_equal(sdp_candidate_parse(good[3], &c), 0);
        assert_int_equal(c.type, SDP_CAND_SRFLX);
        assert_string_equal(c.raddr, "192.0.2.2");
        assert_int_equal(c.rport, 50000);
        assert_int_equal(sdp_candidate_parse(good[5], &c), 0);
        assert_string_equal(c.address, "6d5b1c83-4aa3-4f0e-9e1c-5d3c7f1c2a11.local");

        static const char *const bad[] = {
            "",
            "1 1 udp 2122194687 192.0.2.2 50000",
            "1 1 udp 2122194687 192.0.2.2 50000 typ",
            "1 0 udp 2122194687 192.0.2.2 50000 typ host",
            "1 257 udp 2122194687 192.0.2.2 50000 typ host",
            "1 1 udp 0 192.0.2.2 50000 typ host",
            "1 1 udp 4294967296 192.0.2.2 50000 typ host",
            "1 1 udp -5 192.0.2.2 50000 typ host",
            "1 1 udp 2122194687 192.0.2.2 70000 typ host",
            "1 1 udp 2122194687 192.0.2.256 5000 typ host",
            "1 1 udp 2122194687 fd00:::2 5000 typ host",
            "1 1 udp 2122194687 192.0.2.2 5000 type host",
            "1 1 udp 2122194687 192.0.2.2 5000 typ local",
            "1 1 udp 2122194687 192.0.2.2 5000 typ srflx raddr 10.0.0.1",
            "1 1 udp 2122194687 192.0.2.2 5000 typ srflx rport 5",
            "1 1 udp 2122194687 192.0.2.2 5000 typ host generation",
            "1 1 tcp 2122194687 192.0.2.2 5000 typ host tcptype both",
            "foundation-with-dash 1 udp 2122194687 192.0.2.2 5000 typ host",
            "123456789012345678901234567890123 1 udp 1 192.0.2.2 5000 typ host",
            "1 1 udp 2122194687 192.0.2.2 5000 typ host\r\nx",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (sdp_candidate_parse(bad[i], &c) != -EBADMSG)
                        fail_msg("accepted bad candidate %s", bad[i]);
        buf_free(&b);
}

static void test_bad_cases(void **state)
{
        (void)state;
        size_t len;
        char *tsv = fixture("sdp-bad/cases.tsv", &len);
        int count = 0;
        char *save = NULL;
        for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '#' || !line[0])
                        continue;
                char *file = line, *t1 = strchr(line, '\t');
                assert_non_null(t1);
                *t1 = '\0';
                char *lineno = t1 + 1, *t2 = strchr(lineno, '\t');
                assert_non_null(t2);
                *t2 = '\0';
                const char *want = t2 + 1;
                char rel[600];
                snprintf(rel, sizeof(rel), "sdp-bad/%s", file);
                size_t n;
                char *text = fixture(rel, &n);
                struct sdp *s = NULL;
                struct sdp_error err;
                int rc = sdp_parse(text, n, &s, &err);
                free(text);
                count++;
                if (strcmp(lineno, "answer") == 0) {
                        /* Well-formed; test_sdp_negotiate checks that no answer is made. */
                        if (rc != 0)
                                fail_msg("%s: should parse, got line %d: %s", file, err.line,
                                         err.msg);
                        sdp_free(s);
                        continue;
                }
                if (rc != -EBADMSG && rc != -E2BIG)
                        fail_msg("%s: expected a parse error, got %d", file, rc);
                assert_null(s);
                if (err.line != atoi(lineno))
                        fail_msg("%s: error on line %d, expected %s (%s)", file, err.line, lineno,
                                 err.msg);
                if (!strstr(err.msg, want))
                        fail_msg("%s: message \"%s\" lacks \"%s\"", file, err.msg, want);
                bool big = strstr(file, "oversized") || strstr(file, "too-many") ||
                           strstr(file, "overlong");
                if (rc != (big ? -E2BIG : -EBADMSG))
                        fail_msg("%s: got %d", file, rc);
        }
        free(tsv);
        assert_true(count >= 35);
}

static void test_unacceptable_parse(void **state)
{
        (void)state;
        size_t len;
        char *tsv = fixture("sdp-unacceptable/cases.tsv", &len);
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
                size_t n;
                char *text = fixture(rel, &n);
                check_round_trip(line, text, n);
                free(text);
                count++;
        }
        free(tsv);
        assert_true(count >= 5);
}

static void test_writer_refuses_line_breaks(void **state)
{
        (void)state;
        struct sdp *s = sdp_new();
        struct buf b = BUF_INIT;
        s->name = strdup("evil\r\na=injected");
        assert_int_equal(sdp_write(s, &b), -EINVAL);
        assert_int_equal(b.len, 0);
        free(s->name);
        s->name = strdup("fine");
        assert_int_equal(sdp_write(s, &b), 0);
        buf_terminate(&b);
        assert_string_equal((char *)b.data,
                            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=fine\r\nt=0 0\r\n");
        /* An m= section without formats cannot be written. */
        struct sdp_media *m = sdp_add_media(s);
        strcpy(m->media, "audio");
        strcpy(m->proto, "UDP/TLS/RTP/SAVPF");
        m->rtp = true;
        buf_reset(&b);
        assert_int_equal(sdp_write(s, &b), -EINVAL);
        buf_free(&b);
        sdp_free(s);
        sdp_free(NULL);
}

static void test_limits(void **state)
{
        (void)state;
        struct sdp *s = NULL;
        struct sdp_error err;
        /* Exactly 64 sections and 256 candidates are fine. */
        struct buf b = BUF_INIT;
        buf_append_str(&b, "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\n");
        for (int i = 0; i < SDP_MAX_MEDIA; i++)
                buf_printf(&b, "m=audio 0 RTP/AVP 0\na=mid:%d\n", i);
        for (int i = 0; i < SDP_MAX_CANDIDATES; i++)
                buf_printf(&b, "a=candidate:%d 1 udp 1 10.0.0.1 %d typ host\n", i, i);
        assert_int_equal(sdp_parse((char *)b.data, b.len, &s, &err), 0);
        assert_int_equal(s->n_media, SDP_MAX_MEDIA);
        assert_int_equal(s->media[63].n_candidates, SDP_MAX_CANDIDATES);
        sdp_free(s);
        assert_int_equal(sdp_parse(NULL, 0, &s, &err), -EBADMSG);
        assert_string_equal(err.msg, "empty session description");
        assert_int_equal(sdp_parse("v=0", 3, NULL, &err), -EINVAL);
        buf_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fixtures_round_trip),
            cmocka_unit_test(test_chromium_offer_fields),
            cmocka_unit_test(test_aiortc_offer_fields),
            cmocka_unit_test(test_lf_and_tolerance),
            cmocka_unit_test(test_session_defaults),
            cmocka_unit_test(test_rtcp_fb_wildcard),
            cmocka_unit_test(test_candidates),
            cmocka_unit_test(test_bad_cases),
            cmocka_unit_test(test_unacceptable_parse),
            cmocka_unit_test(test_writer_refuses_line_breaks),
            cmocka_unit_test(test_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
