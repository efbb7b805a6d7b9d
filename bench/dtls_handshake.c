/*
 * Wall time of a full DTLS 1.2 handshake (ECDHE-ECDSA P-256, use_srtp, mutual certificates)
 * between two endpoints in one process over a lossless in-memory link. Certificates are made
 * once, as a run of rtcpeer does. Prints the median and the spread of the runs.
 *
 *   dtls_handshake [runs]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dtls/dtls.h"

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Moves every queued datagram from one side to the other; counts CONNECTED events. */
static int pump(struct dtls *from, struct dtls *to, int *connected)
{
        struct dtls_output o;
        int moved = 0;
        while (dtls_poll_output(from, &o) == 1) {
                if (o.kind == DTLS_OUTPUT_TRANSMIT) {
                        dtls_handle_input(to, 0, o.data, o.len);
                        moved++;
                } else if (o.kind == DTLS_OUTPUT_CONNECTED) {
                        (*connected)++;
                } else if (o.kind == DTLS_OUTPUT_FAILED) {
                        fprintf(stderr, "handshake failed: %s\n", o.reason);
                        exit(1);
                }
        }
        return moved;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
        int runs = argc > 1 ? atoi(argv[1]) : 20;
        if (runs < 1 || runs > 10000)
                return 2;
        struct cert *cc, *sc;
        char cfp[CERT_FINGERPRINT_MAX], sfp[CERT_FINGERPRINT_MAX];
        if (cert_generate(&cc) < 0 || cert_generate(&sc) < 0 ||
            cert_fingerprint(cc, "sha-256", cfp, sizeof(cfp)) < 0 ||
            cert_fingerprint(sc, "sha-256", sfp, sizeof(sfp)) < 0)
                return 1;
        double *t = calloc((size_t)runs, sizeof(double));
        if (!t)
                return 1;
        for (int r = 0; r < runs; r++) {
                struct dtls_config ccfg = {.role = DTLS_ROLE_CLIENT,
                                           .cert = cc,
                                           .srtp = true,
                                           .peer_fingerprint_alg = "sha-256",
                                           .peer_fingerprint = sfp};
                struct dtls_config scfg = {.role = DTLS_ROLE_SERVER,
                                           .cert = sc,
                                           .srtp = true,
                                           .peer_fingerprint_alg = "sha-256",
                                           .peer_fingerprint = cfp};
                struct dtls *c, *s;
                if (dtls_new(&ccfg, &c) < 0 || dtls_new(&scfg, &s) < 0)
                        return 1;
                int connected = 0;
                double t0 = now_s();
                dtls_start(s, 0);
                dtls_start(c, 0);
                for (int guard = 0; connected < 2 && guard < 100; guard++)
                        if (pump(c, s, &connected) + pump(s, c, &connected) == 0 && connected < 2)
                                break;
                t[r] = now_s() - t0;
                if (connected != 2) {
                        fprintf(stderr, "run %d did not connect\n", r);
                        return 1;
                }
                dtls_free(c);
                dtls_free(s);
        }
        qsort(t, (size_t)runs, sizeof(double), cmp_double);
        printf("dtls handshake (in memory, both sides), %d runs: median %.2f ms, min %.2f ms, "
               "max %.2f ms\n",
               runs, t[runs / 2] * 1e3, t[0] * 1e3, t[runs - 1] * 1e3);
        free(t);
        cert_free(cc);
        cert_free(sc);
        return 0;
}
