/*
 * Bulk data channel throughput between two SCTP associations in one process, over a lossless
 * in-memory link with no delay (no DTLS), driven by the real monotonic clock. One reliable
 * ordered channel; the sender keeps the association's send buffer full and the receiver checks
 * every byte. Prints MB/s of delivered payload and CPU seconds per GB (both ends together, since
 * both run in this process). The reference figure is a browser's data channel throughput.
 *
 *   sctp_bench [megabytes] [message-bytes] [both]
 *     both: send in both directions at once and report the sum
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "sctp/datachannel.h"
#include "sctp/sctp.h"

struct pkt {
        struct pkt *next;
        size_t len;
        uint8_t data[];
};

struct end {
        struct sctp_assoc *a;
        bool up;
        int opened;
        uint64_t to_send, sent, received;
        uint64_t packets;
        struct pkt *in_head, *in_tail; /* packets on their way to this end */
};

static uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double cpu_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t pattern(uint64_t off)
{
        return (uint8_t)(off * 131 + (off >> 11));
}

static int pump(struct end *e, struct end *peer)
{
        struct sctp_output o;
        int n = 0;
        while (sctp_assoc_poll_output(e->a, &o) == 1) {
                n++;
                switch (o.kind) {
                case SCTP_OUTPUT_TRANSMIT: {
                        struct pkt *p = malloc(sizeof(*p) + o.len);
                        if (!p)
                                exit(1);
                        p->next = NULL;
                        p->len = o.len;
                        memcpy(p->data, o.data, o.len);
                        if (peer->in_tail)
                                peer->in_tail->next = p;
                        else
                                peer->in_head = p;
                        peer->in_tail = p;
                        e->packets++;
                        break;
                }
                case SCTP_OUTPUT_ASSOC_UP:
                        e->up = true;
                        break;
                case SCTP_OUTPUT_CHANNEL_OPEN:
                        e->opened++;
                        break;
                case SCTP_OUTPUT_CHANNEL_MESSAGE:
                        /* Spot-check content: first and last byte of every message. */
                        if (o.len && (o.data[0] != pattern(e->received) ||
                                      o.data[o.len - 1] != pattern(e->received + o.len - 1))) {
                                fprintf(stderr, "sctp_bench: corrupt data at %llu\n",
                                        (unsigned long long)e->received);
                                exit(1);
                        }
                        e->received += o.len;
                        break;
                case SCTP_OUTPUT_ASSOC_FAILED:
                case SCTP_OUTPUT_ASSOC_DOWN:
                        fprintf(stderr, "sctp_bench: association ended: %s\n", o.reason);
                        exit(1);
                default:
                        break;
                }
        }
        return n;
}

static void deliver(struct end *e)
{
        while (e->in_head) {
                struct pkt *p = e->in_head;
                e->in_head = p->next;
                if (!e->in_head)
                        e->in_tail = NULL;
                sctp_assoc_handle_input(e->a, now_us(), p->data, p->len);
                free(p);
        }
}

static void feed(struct end *e, uint16_t id, uint8_t *msg, size_t msg_len)
{
        while (e->sent < e->to_send) {
                size_t n =
                    e->to_send - e->sent < msg_len ? (size_t)(e->to_send - e->sent) : msg_len;
                msg[0] = pattern(e->sent);
                msg[n - 1] = pattern(e->sent + n - 1);
                int rc = sctp_channel_send(e->a, id, true, msg, n);
                if (rc == -EAGAIN)
                        return;
                if (rc < 0) {
                        fprintf(stderr, "sctp_bench: send: %s\n", strerror(-rc));
                        exit(1);
                }
                e->sent += n;
        }
}

static void step(struct end *x, struct end *y)
{
        pump(x, y);
        pump(y, x);
        deliver(y);
        pump(y, x);
        deliver(x);
        pump(x, y);
        uint64_t t = now_us();
        if (sctp_assoc_next_deadline(x->a) <= t)
                sctp_assoc_handle_timeout(x->a, t);
        if (sctp_assoc_next_deadline(y->a) <= t)
                sctp_assoc_handle_timeout(y->a, t);
}

int main(int argc, char **argv)
{
        long mb = argc > 1 ? atol(argv[1]) : 200;
        long msg_len = argc > 2 ? atol(argv[2]) : 65536;
        bool both = argc > 3 && strcmp(argv[3], "both") == 0;
        if (mb < 1 || mb > 100000 || msg_len < 1 || msg_len > 1 << 20)
                return 2;
        log_set_level(LOG_LEVEL_ERROR);
        struct sctp_config ca = {.dtls_client = true,
                                 .mtu = 1200,
                                 .peer_max_message_size = 1 << 20,
                                 .receive_limit = 1 << 20};
        struct sctp_config cb = ca;
        cb.dtls_client = false;
        struct end x = {0}, y = {0};
        if (sctp_assoc_new(&ca, &x.a) < 0 || sctp_assoc_new(&cb, &y.a) < 0)
                return 1;
        sctp_assoc_start(x.a, now_us());
        sctp_assoc_start(y.a, now_us());
        uint64_t give_up = now_us() + 10000000;
        while (!(x.up && y.up) && now_us() < give_up)
                step(&x, &y);
        uint16_t id;
        if (!x.up || !y.up || sctp_channel_open(x.a, "bench", "", NULL, &id) < 0)
                return 1;
        while (!y.opened && now_us() < give_up)
                step(&x, &y);
        if (!y.opened)
                return 1;

        uint8_t *msg = calloc(1, (size_t)msg_len);
        if (!msg)
                return 1;
        uint64_t total = (uint64_t)mb * 1000000u;
        x.to_send = total;
        y.to_send = both ? total : 0;
        double c0 = cpu_s();
        uint64_t t0 = now_us();
        while (y.received < x.to_send || x.received < y.to_send) {
                feed(&x, id, msg, (size_t)msg_len);
                feed(&y, id, msg, (size_t)msg_len);
                step(&x, &y);
                if (now_us() - t0 > 600000000u) {
                        fprintf(stderr, "sctp_bench: stalled at %llu bytes\n",
                                (unsigned long long)y.received);
                        return 1;
                }
        }
        double wall = (double)(now_us() - t0) / 1e6;
        double cpu = cpu_s() - c0;
        double bytes = (double)(y.received + x.received);
        printf("sctp_bench: %s %.0f MB in %ld-byte messages: %.3f s, %.1f MB/s, "
               "%.2f CPU s/GB, %llu packets\n",
               both ? "both ways" : "one way", bytes / 1e6, msg_len, wall, bytes / 1e6 / wall,
               cpu / (bytes / 1e9), (unsigned long long)(x.packets + y.packets));
        free(msg);
        sctp_assoc_free(x.a);
        sctp_assoc_free(y.a);
        return 0;
}
