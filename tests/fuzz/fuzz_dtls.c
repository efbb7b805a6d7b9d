/*
 * DTLS fuzz target: a server endpoint awaiting a handshake receives arbitrary datagrams. The
 * input is split into datagrams by 2-byte big-endian length prefixes (what is left over, or a
 * prefix longer than the rest, becomes the last datagram), so the fuzzer can build sequences
 * of records. Time advances between datagrams to run the retransmission and timeout paths.
 * Nothing may crash, and no application data may be delivered: the peer cannot know a
 * certificate that matches the expected fingerprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "dtls/dtls.h"

static struct cert *cert;

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void drain(struct dtls *d)
{
        struct dtls_output o;
        while (dtls_poll_output(d, &o) == 1) {
                check(o.kind != DTLS_OUTPUT_DATA && o.kind != DTLS_OUTPUT_CONNECTED);
                if (o.kind == DTLS_OUTPUT_TRANSMIT)
                        check(o.len > 0 && o.len <= 400);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!cert) {
                log_set_level(LOG_LEVEL_ERROR); /* keep the fuzzer's output readable */
                if (cert_generate(&cert) < 0)
                        abort();
        }
        /* A fingerprint no certificate has: whatever the input holds, it cannot authenticate. */
        struct dtls_config cfg = {
            .role = DTLS_ROLE_SERVER,
            .cert = cert,
            .peer_fingerprint_alg = "sha-256",
            .peer_fingerprint = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
                                "00:00:00:00:00:00:00:00:00:00:00",
            .srtp = true,
            .mtu = 400,
        };
        struct dtls *d;
        if (dtls_new(&cfg, &d) < 0)
                abort();
        uint64_t now = 1000000;
        dtls_start(d, now);
        struct buf_rd r;
        buf_rd_init(&r, data, size);
        while (buf_rd_remaining(&r) > 0) {
                size_t rest = buf_rd_remaining(&r);
                size_t n = rest;
                if (rest >= 2) {
                        struct buf_rd peek = r;
                        uint16_t len = buf_rd_u16be(&peek);
                        if (len <= rest - 2) {
                                buf_rd_skip(&r, 2);
                                n = len;
                        }
                }
                const uint8_t *dgram = buf_rd_bytes(&r, n);
                check(dgram != NULL || n == 0);
                /* A right-sized copy lets ASan see any read past the datagram. */
                uint8_t *copy = malloc(n ? n : 1);
                if (n)
                        memcpy(copy, dgram, n);
                check(dtls_handle_input(d, now, copy, n) == 0);
                free(copy);
                drain(d);
                now += 300000;
                if (dtls_next_deadline(d) <= now)
                        dtls_handle_timeout(d, now);
                drain(d);
                if (n == 0)
                        break;
        }
        dtls_handle_timeout(d, now + 60000000);
        drain(d);
        check(!dtls_is_connected(d));
        dtls_free(d);
        return 0;
}
