/* --expect conditions and --summary, against stats lines made by the real formatter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/expect.h"
#include "cli/stats.h"
#include "core/exitcode.h"

/* A call on a relay pair with audio and video both ways and two data channels. */
static void snapshot(struct stats_snapshot *st)
{
        memset(st, 0, sizeof(*st));
        st->timestamp_ms = 1700000000000;
        st->ice_state = "completed";
        st->dtls_state = "closed";
        st->dtls_role = "client";
        st->dtls_cipher = "ECDHE_ECDSA_AES_128_GCM_SHA256";
        st->srtp_cipher = "AES_CM_128_HMAC_SHA1_80";
        st->have_pair = true;
        st->pair.local.type = SDP_CAND_RELAY;
        st->pair.remote.type = SDP_CAND_HOST;
        addr_from_string(&st->pair.local.addr, "127.0.0.1:50001");
        addr_from_string(&st->pair.remote.addr, "127.0.0.1:40000");
        st->pair.bytes_sent = 123456;
        st->pair.rtt_valid = false; /* no currentRoundTripTime: absent */
        st->local_relay_protocol = "tcp";
        st->n_outbound = 1;
        st->outbound[0].kind = "video";
        st->outbound[0].clock_rate = 90000;
        st->outbound[0].ssrc = 1234;
        st->outbound[0].rtp.frames_sent = 300;
        st->outbound[0].rtp.packets_sent = 900;
        st->outbound[0].rtp.have_report = true;
        st->outbound[0].rtp.packets_lost = 7;
        st->n_inbound = 2;
        for (int k = 0; k < 2; k++) {
                struct stats_inbound *in = &st->inbound[k];
                in->kind = k ? "video" : "audio";
                in->clock_rate = k ? 90000 : 48000;
                in->have_media = true;
        }
        st->inbound[0].rtp.packets_lost = 12;
        st->inbound[0].media.total_samples_received = 480000;
        st->inbound[1].rtp.packets_lost = 3;
        st->inbound[1].rtp.jitter_s = 0.0125;
        st->inbound[1].media.frames_decoded = 261;
        st->n_channels = 2;
        st->channels[0].id = 1;
        snprintf(st->channels[0].label, sizeof(st->channels[0].label), "files \"a\"");
        st->channels[0].state = "open";
        st->channels[0].bytes_received = 600000;
        st->channels[0].bytes_sent = 10;
        st->channels[1].id = 2;
        snprintf(st->channels[1].label, sizeof(st->channels[1].label), "chat");
        st->channels[1].state = "closed";
        st->channels[1].bytes_received = 500000;
}

static struct buf stats_line(void)
{
        struct stats_snapshot st;
        struct buf b = BUF_INIT;
        snapshot(&st);
        assert_int_equal(stats_format(&st, true, &b), 0);
        return b;
}

/* Applied at 1 s; the stages follow. */
static const struct setup_times times = {
    .gather_start = 500000,
    .gathering_done = 512300,
    .applied = 1000000,
    .ice_connected = 1001400,
    .dtls_connected = 1026700,
    .srtp_ready = 1026800,
    .established = 1033600,
    .first_rtp_sent = 1040000,
    .first_rtp_received = 1045000,
    .first_frame_decoded = 1061234,
    .ended = 4133600,
};

/* Parses and evaluates; returns 1 (holds), 0 (does not) or a negative code from the parser. */
static int check(const char *cond, const struct buf *line, const struct setup_times *t,
                 struct expect_value *seen)
{
        struct expect_cond c;
        char err[1024] = "";
        struct expect_value dummy;
        int rc = expect_parse(cond, &c, err, sizeof(err));
        if (rc < 0)
                fail_msg("%s: %s", cond, err);
        return expect_eval(&c, line ? (const char *)line->data : NULL, line ? line->len : 0, t,
                           seen ? seen : &dummy);
}

static void holds(const char *cond, const struct buf *line)
{
        if (check(cond, line, &times, NULL) != 1)
                fail_msg("%s should hold", cond);
}

static void fails(const char *cond, const struct buf *line)
{
        if (check(cond, line, &times, NULL) != 0)
                fail_msg("%s should fail", cond);
}

static void test_every_kind(void **state)
{
        (void)state;
        struct buf b = stats_line();
        /* transport: strings */
        holds("transport.dtlsRole=client", &b);
        fails("transport.dtlsRole=server", &b);
        holds("transport.srtpCipher!=AES_CM_128_HMAC_SHA1_32", &b);
        /* the selected pair, a number and a boolean */
        holds("candidate-pair.selected.bytesSent>100000", &b);
        fails("candidate-pair.selected.bytesSent<100000", &b);
        holds("candidate-pair.selected.nominated=true", &b);
        fails("candidate-pair.selected.nominated=false", &b);
        /* its candidates */
        holds("candidate-pair.selected.local.candidateType=relay", &b);
        fails("candidate-pair.selected.remote.candidateType=relay", &b);
        holds("candidate-pair.selected.remote.candidateType=host", &b);
        holds("candidate-pair.selected.local.relayProtocol=tcp", &b);
        holds("candidate-pair.selected.local.port=50001", &b);
        /* outbound-rtp and remote-inbound-rtp */
        holds("outbound-rtp.video.framesSent>=300", &b);
        fails("outbound-rtp.video.framesSent>300", &b);
        holds("remote-inbound-rtp.video.packetsLost<10", &b);
        fails("remote-inbound-rtp.video.packetsLost<7", &b);
        /* inbound-rtp, both kinds */
        holds("inbound-rtp.video.framesDecoded>=250", &b);
        fails("inbound-rtp.video.framesDecoded>=262", &b);
        holds("inbound-rtp.audio.packetsLost<50", &b);
        fails("inbound-rtp.audio.packetsLost<12", &b);
        holds("inbound-rtp.audio.totalSamplesReceived=480000", &b);
        holds("inbound-rtp.video.jitter<0.02", &b);
        fails("inbound-rtp.video.jitter>0.0125", &b);
        /* data channels: counters summed, strings on every channel */
        holds("data-channel.bytesReceived>=1000000", &b);
        fails("data-channel.bytesReceived>1100000", &b);
        holds("data-channel.bytesSent=10", &b);
        fails("data-channel.state=open", &b);
        holds("data-channel.state!=connecting", &b);
        fails("data-channel.label=chat", &b);
        holds("data-channel.label!=x", &b);
        /* setup, in ms since both descriptions were applied */
        holds("setup.firstFrameDecoded<2000", &b);
        fails("setup.firstFrameDecoded<61", &b);
        holds("setup.firstFrameDecoded=61.2", &b);
        holds("setup.iceConnected=1.4", &b);
        holds("setup.gatheringDone=12.3", &b); /* from the start of gathering */
        fails("setup.established>1000", &b);
        buf_free(&b);
}

static void test_values_seen(void **state)
{
        (void)state;
        struct buf b = stats_line();
        struct expect_value v;
        assert_int_equal(check("inbound-rtp.video.framesDecoded>=1000", &b, &times, &v), 0);
        assert_true(v.present && v.numeric);
        assert_true(v.num == 261);
        assert_int_equal(check("candidate-pair.selected.local.candidateType=host", &b, &times, &v),
                         0);
        assert_true(v.present && !v.numeric);
        assert_string_equal(v.str, "relay");
        /* The channel that breaks a string condition is the one shown. */
        assert_int_equal(check("data-channel.state=open", &b, &times, &v), 0);
        assert_string_equal(v.str, "closed");
        /* Escaped labels compare as the text they stand for. */
        assert_int_equal(check("data-channel.label!=chat", &b, &times, &v), 0);
        assert_int_equal(check("data-channel.label=files \"a\"", &b, &times, &v), 0);
        assert_string_equal(v.str, "chat");
        buf_free(&b);
}

static void test_operators(void **state)
{
        (void)state;
        struct buf b = stats_line();
        static const struct {
                const char *cond;
                int want;
        } cases[] = {
            {"outbound-rtp.video.packetsSent=900", 1},
            {"outbound-rtp.video.packetsSent=901", 0},
            {"outbound-rtp.video.packetsSent!=901", 1},
            {"outbound-rtp.video.packetsSent!=900", 0},
            {"outbound-rtp.video.packetsSent<901", 1},
            {"outbound-rtp.video.packetsSent<900", 0},
            {"outbound-rtp.video.packetsSent<=900", 1},
            {"outbound-rtp.video.packetsSent<=899", 0},
            {"outbound-rtp.video.packetsSent>899", 1},
            {"outbound-rtp.video.packetsSent>900", 0},
            {"outbound-rtp.video.packetsSent>=900", 1},
            {"outbound-rtp.video.packetsSent>=901", 0},
            {"outbound-rtp.video.packetsSent>=9e2", 1},
            {"outbound-rtp.video.packetsSent>-1", 1},
            {" outbound-rtp.video.packetsSent >= 900 ", 1},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (check(cases[i].cond, &b, &times, NULL) != cases[i].want)
                        fail_msg("%s: want %d", cases[i].cond, cases[i].want);
        buf_free(&b);
}

/* A figure the call never produced makes its condition fail, whatever the operator. */
static void test_absent(void **state)
{
        (void)state;
        struct buf b = stats_line();
        struct expect_value v;
        assert_int_equal(check("remote-inbound-rtp.audio.packetsLost<1000", &b, &times, &v), 0);
        assert_false(v.present);
        assert_int_equal(check("outbound-rtp.audio.packetsSent!=5", &b, &times, &v), 0);
        assert_int_equal(check("candidate-pair.selected.currentRoundTripTime<1", &b, &times, &v),
                         0);
        assert_false(v.present);
        struct setup_times t = times;
        t.channel_open = 0;
        assert_int_equal(check("setup.channelOpen<100000", &b, &t, &v), 0);
        assert_false(v.present);
        /* No stats at all: the call ended before its session started. */
        assert_int_equal(check("transport.dtlsState!=failed", NULL, &times, &v), 0);
        assert_false(v.present);
        t.applied = 0;
        assert_int_equal(check("setup.iceConnected>=0", &b, &t, &v), 0);
        buf_free(&b);
}

static void rejected(const char *cond, const char *why)
{
        struct expect_cond c;
        char err[1024] = "";
        if (expect_parse(cond, &c, err, sizeof(err)) != -EINVAL)
                fail_msg("%s was accepted", cond);
        if (!strstr(err, why))
                fail_msg("%s: \"%s\" does not say \"%s\"", cond, err, why);
}

static void test_rejected_up_front(void **state)
{
        (void)state;
        rejected("inbound-rtp.video.framesDecodd>=1", "unknown name");
        rejected("inbound-rtp.video.framesDecodd>=1", "framesDecoded"); /* the list of names */
        rejected("inbound-rtp.audio.framesDecoded>=1", "unknown name"); /* video only */
        rejected("inbound-rtp.data.packetsLost<1", "audio or video");
        rejected("inbound.video.framesDecoded>=1", "unknown stats type");
        rejected("candidate-pair.local.candidateType=relay", ".selected.");
        rejected("candidate-pair.selected.middle.candidateType=relay", "local or remote");
        rejected("candidate-pair.selected.local.bogus=1", "unknown name");
        rejected("setup.firstFrame<10", "firstFrameDecoded");
        rejected("data-channel.dataChannelIdentifier=1", "unknown name");
        rejected("transport.iceState<3", "= or != only");
        rejected("inbound-rtp.video.framesDecoded>=many", "is a number");
        rejected("inbound-rtp.video.framesDecoded", "no comparison");
        rejected(">=3", "names nothing");
        rejected("inbound-rtp.video.framesDecoded>=", "no value");
        rejected("transport.dtlsRole==client", "single =");
        rejected("transport.dtlsRole!client", "!=");
        rejected("transport=1", "not a stats name");
        rejected("inbound-rtp.video.framesDecoded.x>1", "not a stats name");
        rejected("inbound-rtp..framesDecoded>1", "not a stats name");
        char longc[400];
        memset(longc, 'a', sizeof(longc) - 1);
        longc[sizeof(longc) - 1] = 0;
        longc[10] = '=';
        rejected(longc, "longer than");
}

/* The reader takes the formatter's shape and nothing else. */
static void test_strict_reader(void **state)
{
        (void)state;
        struct expect_cond c;
        char err[256];
        struct expect_value v;
        assert_int_equal(expect_parse("transport.dtlsRole=client", &c, err, sizeof(err)), 0);
        static const char *bad[] = {
            "",
            "{",
            "[]",
            "{\"timestamp\":1}",
            "{\"stats\":[{\"type\":\"transport\",\"dtlsRole\":\"client\"}]} x",
            "{\"stats\":[{\"type\":\"transport\",\"dtlsRole\":{\"a\":1}}]}",
            "{\"stats\":[{\"type\":\"transport\",\"dtlsRole\":\"cli\nent\"}]}",
            "{\"stats\":[{\"type\":\"transport\",\"n\":01}]}",
            "{\"stats\":[{\"type\":\"transport\",\"n\":1.}]}",
            "{\"stats\":[{\"type\":\"transport\",\"s\":\"\\ud800\"}]}",
            "{\"stats\":[{\"type\":\"transport\",\"s\":\"\\x\"}]}",
            "{\"stats\":[{\"type\":\"transport\",}]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (expect_eval(&c, bad[i], strlen(bad[i]) + (i == 0), &times, &v) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
        const char *good =
            " {\"stats\": [ {\"type\" : \"transport\", \"dtlsRole\":\"c\\u006cient\","
            "\"x\":-1.5e3} ] }\n";
        assert_int_equal(expect_eval(&c, good, strlen(good), &times, &v), 1);
}

static void test_notes(void **state)
{
        (void)state;
        struct setup_times t = {0};
        struct session_output o = {.kind = SESSION_OUT_EVENT, .event = SESSION_EV_SELECTED_PAIR};
        expect_note_event(&t, 100, &o, false);
        expect_note_event(&t, 200, &o, false); /* a later pair does not move the first */
        assert_int_equal(t.ice_connected, 100);
        o.event = SESSION_EV_DC_READY;
        expect_note_event(&t, 300, &o, false);
        assert_int_equal(t.channel_open, 0);
        expect_note_event(&t, 310, &o, true);
        assert_int_equal(t.channel_open, 310);
        o.event = SESSION_EV_MEDIA_FRAME;
        o.lost = true;
        expect_note_event(&t, 400, &o, false);
        assert_int_equal(t.first_rtp_received, 0);
        o.lost = false;
        o.first_arrival_us = 350;
        expect_note_event(&t, 400, &o, false);
        assert_int_equal(t.first_rtp_received, 350);
        o.event = SESSION_EV_SECURE;
        expect_note_event(&t, 500, &o, false);
        o.event = SESSION_EV_MEDIA_READY;
        expect_note_event(&t, 510, &o, false);
        o.event = SESSION_EV_GATHERING_DONE;
        expect_note_event(&t, 50, &o, false);
        assert_int_equal(t.dtls_connected, 500);
        assert_int_equal(t.srtp_ready, 510);
        assert_int_equal(t.gathering_done, 50);
}

static struct cli_opts opts_with(const char **conds, int n, const char *summary)
{
        struct cli_opts o = {.role = CLI_ANSWER, .summary = summary};
        for (int i = 0; i < n; i++)
                o.expect[i] = conds[i];
        o.n_expect = n;
        return o;
}

static void test_summary(void **state)
{
        (void)state;
        struct buf line = stats_line();
        const char *conds[] = {"inbound-rtp.video.framesDecoded>=250",
                               "candidate-pair.selected.local.candidateType=host",
                               "transport.dtlsRole=client", "setup.channelOpen<10"};
        struct cli_opts o = opts_with(conds, 4, NULL);
        struct buf s = BUF_INIT;
        assert_int_equal(expect_summary(&o, 16, &times, (const char *)line.data, line.len, &s), 0);
        assert_int_equal(buf_terminate(&s), 0);
        const char *j = (const char *)s.data;
        assert_non_null(strstr(j, "{\"role\":\"answer\",\"exitCode\":16,"
                                  "\"exitReason\":\"expectation failed\",\"durationMs\":3133.6,"));
        assert_non_null(strstr(j, "\"setup\":{\"gatheringDone\":12.3,\"iceConnected\":1.4,"
                                  "\"dtlsConnected\":26.7,\"srtpReady\":26.8,\"channelOpen\":null,"
                                  "\"established\":33.6,\"firstRtpSent\":40.0,"
                                  "\"firstRtpReceived\":45.0,\"firstFrameDecoded\":61.2}"));
        assert_non_null(strstr(j, "\"expect\":[{\"condition\":\"inbound-rtp.video.framesDecoded>="
                                  "250\",\"passed\":true,\"value\":261},{\"condition\":"
                                  "\"candidate-pair.selected.local.candidateType=host\","
                                  "\"passed\":false,\"value\":\"relay\"},{\"condition\":"
                                  "\"transport.dtlsRole=client\",\"passed\":true,\"value\":"
                                  "\"client\"},{\"condition\":\"setup.channelOpen<10\","
                                  "\"passed\":false,\"value\":null}],\"passed\":false,"));
        /* The final stats line as it is, inside the object, without its newline. */
        char *stats = strstr(j, ",\"stats\":{");
        assert_non_null(stats);
        assert_int_equal(strlen(stats + 9), line.len); /* less its newline, plus our "}" */
        assert_memory_equal(stats + 9, line.data, line.len - 1);
        assert_string_equal(j + strlen(j) - 2, "}}");
        buf_free(&s);
        /* A call that never started: no stats, no durations. */
        buf_reset(&s);
        struct setup_times none = {0};
        assert_int_equal(expect_summary(&o, 5, &none, NULL, 0, &s), 0);
        assert_int_equal(buf_terminate(&s), 0);
        assert_non_null(strstr((const char *)s.data, "\"durationMs\":null,"));
        assert_non_null(strstr((const char *)s.data, "\"passed\":false,\"stats\":null}"));
        buf_free(&s);
        buf_free(&line);
}

static char *read_all(const char *path)
{
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char text[16384];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = 0;
        fclose(f);
        return text;
}

static void test_finish_exit_codes(void **state)
{
        (void)state;
        struct buf line = stats_line();
        char path[] = "/tmp/test_expect_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        const char *pass[] = {"inbound-rtp.video.framesDecoded>=250", "transport.dtlsRole=client"};
        const char *fail[] = {"inbound-rtp.video.framesDecoded>=250", "transport.dtlsRole=server"};
        struct cli_opts o = opts_with(pass, 2, path);
        assert_int_equal(expect_finish(&o, EXIT_OK, &times, &line), EXIT_OK);
        char *j = read_all(path);
        assert_non_null(strstr(j, "\"exitCode\":0,"));
        assert_non_null(strstr(j, "],\"passed\":true,"));
        assert_int_equal(j[strlen(j) - 1], '\n');
        assert_ptr_equal(strchr(j, '\n'), j + strlen(j) - 1); /* one line */
        o = opts_with(fail, 2, path);
        assert_int_equal(expect_finish(&o, EXIT_OK, &times, &line), EXIT_EXPECT_FAILED);
        j = read_all(path);
        assert_non_null(strstr(j, "\"exitCode\":16,"));
        /* A call that failed for its own reason keeps its code. */
        assert_int_equal(expect_finish(&o, EXIT_ICE_FAILED, &times, &line), EXIT_ICE_FAILED);
        j = read_all(path);
        assert_non_null(strstr(j, "\"exitCode\":10,"));
        /* With no conditions, just the summary. */
        o = opts_with(NULL, 0, path);
        assert_int_equal(expect_finish(&o, EXIT_OK, &times, &line), EXIT_OK);
        assert_non_null(strstr(read_all(path), "\"expect\":[],\"passed\":true,"));
        unlink(path);
        /* A summary that cannot be written is an I/O error. */
        o = opts_with(pass, 2, "/nonexistent-dir/summary.json");
        assert_int_equal(expect_finish(&o, EXIT_OK, &times, &line), EXIT_FAILURE_INTERNAL);
        buf_free(&line);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_kind),
            cmocka_unit_test(test_values_seen),
            cmocka_unit_test(test_operators),
            cmocka_unit_test(test_absent),
            cmocka_unit_test(test_rejected_up_front),
            cmocka_unit_test(test_strict_reader),
            cmocka_unit_test(test_notes),
            cmocka_unit_test(test_summary),
            cmocka_unit_test(test_finish_exit_codes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
