/*
 * SRTP protect + unprotect of 1200-byte RTP packets through srtp_ctx, against the same work
 * done with libsrtp2 directly. Rounds alternate which runs first so that frequency scaling and
 * cache warmth fall on both sides alike. Prints both rates and ours/bare (1.0 = no overhead).
 *
 *   srtp_bench [rounds] [packets-per-round]
 */
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtls/srtp.h"

#define PKT_LEN 1200

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_packet(uint8_t *p, uint16_t seq)
{
        p[0] = 0x80;
        p[1] = 96;
        p[2] = (uint8_t)(seq >> 8);
        p[3] = (uint8_t)seq;
        uint32_t ts = (uint32_t)seq * 3000;
        p[4] = (uint8_t)(ts >> 24);
        p[5] = (uint8_t)(ts >> 16);
        p[6] = (uint8_t)(ts >> 8);
        p[7] = (uint8_t)ts;
        p[8] = 0x12;
        p[9] = 0x34;
        p[10] = 0x56;
        p[11] = 0x78;
}

static uint8_t payload[PKT_LEN];

static int run_ours(struct srtp_ctx *tx, struct srtp_ctx *rx, uint16_t *seq, long n)
{
        uint8_t pkt[PKT_LEN + SRTP_CTX_MAX_TRAILER];
        for (long i = 0; i < n; i++) {
                memcpy(pkt, payload, PKT_LEN);
                make_packet(pkt, (*seq)++);
                size_t len = PKT_LEN;
                if (srtp_ctx_protect_rtp(tx, pkt, &len, sizeof(pkt)) < 0 ||
                    srtp_ctx_unprotect_rtp(rx, pkt, &len) < 0 || len != PKT_LEN)
                        return -1;
        }
        return 0;
}

static int run_bare(srtp_t tx, srtp_t rx, uint16_t *seq, long n)
{
        uint8_t pkt[PKT_LEN + SRTP_MAX_TRAILER_LEN];
        for (long i = 0; i < n; i++) {
                memcpy(pkt, payload, PKT_LEN);
                make_packet(pkt, (*seq)++);
                int len = PKT_LEN;
                if (srtp_protect(tx, pkt, &len) != srtp_err_status_ok ||
                    srtp_unprotect(rx, pkt, &len) != srtp_err_status_ok || len != PKT_LEN)
                        return -1;
        }
        return 0;
}

static srtp_t bare_session(srtp_ssrc_type_t dir, uint8_t *key)
{
        srtp_policy_t p;
        memset(&p, 0, sizeof(p));
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
        p.ssrc.type = dir;
        p.key = key;
        p.allow_repeat_tx = 1;
        srtp_t s = NULL;
        if (srtp_create(&s, &p) != srtp_err_status_ok)
                return NULL;
        return s;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        int rounds = argc > 1 ? atoi(argv[1]) : 10;
        long per_round = argc > 2 ? atol(argv[2]) : 20000;
        if (rounds < 1 || rounds > 1000 || per_round < 1)
                return 2;
        for (size_t i = 0; i < sizeof(payload); i++)
                payload[i] = (uint8_t)(i * 7 + 1);

        struct dtls_srtp_keys keys = {.profile = DTLS_SRTP_AES128_CM_SHA1_80};
        for (int i = 0; i < DTLS_SRTP_KEY_LEN; i++) {
                keys.client_key[i] = (uint8_t)(i + 1);
                keys.server_key[i] = (uint8_t)(i + 101);
        }
        for (int i = 0; i < DTLS_SRTP_SALT_LEN; i++) {
                keys.client_salt[i] = (uint8_t)(i + 51);
                keys.server_salt[i] = (uint8_t)(i + 151);
        }
        struct srtp_ctx *a = NULL, *b = NULL;
        if (srtp_ctx_new(&keys, DTLS_ROLE_CLIENT, &a) < 0 ||
            srtp_ctx_new(&keys, DTLS_ROLE_SERVER, &b) < 0) {
                fprintf(stderr, "srtp_ctx_new failed\n");
                return 1;
        }
        /* srtp_ctx_new ran srtp_init; the bare sessions use the client's key in both directions. */
        uint8_t master[DTLS_SRTP_KEY_LEN + DTLS_SRTP_SALT_LEN];
        memcpy(master, keys.client_key, DTLS_SRTP_KEY_LEN);
        memcpy(master + DTLS_SRTP_KEY_LEN, keys.client_salt, DTLS_SRTP_SALT_LEN);
        srtp_t btx = bare_session(ssrc_any_outbound, master);
        srtp_t brx = bare_session(ssrc_any_inbound, master);
        if (!btx || !brx) {
                fprintf(stderr, "srtp_create failed\n");
                return 1;
        }

        uint16_t seq_ours = 1, seq_bare = 1;
        /* One untimed round each warms caches and creates the per-SSRC streams. */
        if (run_ours(a, b, &seq_ours, 1000) < 0 || run_bare(btx, brx, &seq_bare, 1000) < 0) {
                fprintf(stderr, "warm-up failed\n");
                return 1;
        }
        double t_ours = 0, t_bare = 0;
        double *ratios = calloc((size_t)rounds, sizeof(double));
        if (!ratios)
                return 1;
        for (int r = 0; r < rounds; r++) {
                double ro = 0, rb = 0;
                for (int k = 0; k < 2; k++) {
                        bool ours_now = (k == 0) == (r % 2 == 0);
                        double t0 = now_s();
                        int rc = ours_now ? run_ours(a, b, &seq_ours, per_round)
                                          : run_bare(btx, brx, &seq_bare, per_round);
                        double dt = now_s() - t0;
                        if (rc < 0) {
                                fprintf(stderr, "round %d failed\n", r);
                                return 1;
                        }
                        if (ours_now)
                                ro = dt;
                        else
                                rb = dt;
                }
                t_ours += ro;
                t_bare += rb;
                ratios[r] = rb / ro; /* rate ratio: time bare / time ours */
        }
        qsort(ratios, (size_t)rounds, sizeof(double), cmp_double);
        double pkts = (double)rounds * (double)per_round;
        double rate_ours = pkts / t_ours, rate_bare = pkts / t_bare;
        printf("srtp protect+unprotect, %d-byte RTP, AES128_CM_HMAC_SHA1_80, %d rounds x %ld\n",
               PKT_LEN, rounds, per_round);
        printf("ours  %10.0f pkt/s  %8.1f MB/s\n", rate_ours, rate_ours * PKT_LEN / 1e6);
        printf("bare  %10.0f pkt/s  %8.1f MB/s\n", rate_bare, rate_bare * PKT_LEN / 1e6);
        printf("ratio ours/bare %.3f (median round %.3f)\n", rate_ours / rate_bare,
               ratios[rounds / 2]);
        free(ratios);
        srtp_dealloc(btx);
        srtp_dealloc(brx);
        srtp_ctx_free(a);
        srtp_ctx_free(b);
        return 0;
}
