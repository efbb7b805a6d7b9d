/*
 * SDP parser, writer and negotiation under arbitrary input. Beyond "no crash", it checks the
 * invariants the rest of rtcpeer relies on: whatever parses can be written, the written form
 * parses again to the same text, and our answer to any offer passes our own answer check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/negotiate.h"
#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sdp *parse_or_die(const struct buf *b)
{
        struct sdp *s = NULL;
        struct sdp_error err;
        if (sdp_parse((const char *)b->data, b->len, &s, &err) != 0)
                abort(); /* our own output must always parse */
        return s;
}

static void check_answer(const struct sdp *offer)
{
        static struct sdp_candidate cand;
        static int ready;
        if (!ready) {
                if (sdp_candidate_parse("1 1 udp 2122260223 192.0.2.10 40000 typ host", &cand) != 0)
                        abort();
                ready = 1;
        }
        struct sdp_local l = {
            .ice_ufrag = "fuzz",
            .ice_pwd = "fuzzfuzzfuzzfuzzfuzzfuzz",
            .fingerprint_algo = "sha-256",
            .fingerprint = "0D:71:00:05:39:C0:EA:D0:18:C6:37:30:F8:3A:C5:6C:31:56:39:C6:3D:F5:"
                           "F6:B5:49:40:A9:F0:87:F6:99:5F",
            .session_id = 1,
            .candidates = &cand,
            .n_candidates = 1,
            .end_of_candidates = true,
            .cname = "fuzz",
            .stream_id = "s",
            .data = true,
            .audio = SDP_DIR_SENDRECV,
            .video = SDP_DIR_SENDRECV,
            .audio_ssrc = 1,
            .video_ssrc = 2,
            .video_rtx_ssrc = 3,
        };
        struct sdp *ans = NULL;
        struct sdp_error err;
        int rc = sdp_create_answer(offer, &l, &ans, &err);
        if (rc != 0) {
                if (ans || (rc != -ENOTSUP && rc != -EBADMSG) ||
                    !memchr(err.msg, 0, sizeof(err.msg)))
                        abort();
                return;
        }
        struct buf b = BUF_INIT;
        if (sdp_write(ans, &b) != 0)
                abort();
        struct sdp *back = parse_or_die(&b);
        if (sdp_check_answer(offer, back, &err) != 0)
                abort(); /* we must never produce an answer we would refuse */
        buf_reset(&b);
        sdp_describe(back, &b);
        sdp_free(back);
        sdp_free(ans);
        buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sdp *s = NULL;
        struct sdp_error err;
        int rc = sdp_parse((const char *)data, size, &s, &err);
        if (rc != 0) {
                if (s || err.line < 0 || err.line > SDP_MAX_LINES + 1 ||
                    !memchr(err.msg, 0, sizeof(err.msg)))
                        abort();
                return 0;
        }
        struct buf w1 = BUF_INIT, w2 = BUF_INIT;
        if (sdp_write(s, &w1) != 0)
                abort();
        struct sdp *s2 = parse_or_die(&w1);
        if (sdp_write(s2, &w2) != 0 || w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0)
                abort();
        check_answer(s);
        /* Also read the input as an answer to itself: only the result code matters here. */
        sdp_check_answer(s, s2, &err);
        buf_reset(&w1);
        sdp_describe(s, &w1);
        sdp_free(s);
        sdp_free(s2);
        buf_free(&w1);
        buf_free(&w2);
        return 0;
}
