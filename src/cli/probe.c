/*
 * rtcpeer probe --stun URI: this host's public mapping for each local address and the NAT's
 * mapping and filtering behaviour (RFC 5780), so a user can tell before a call whether TURN
 * will be needed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/exitcode.h"
#include "core/log.h"
#include "core/loop.h"
#include "ice/natprobe.h"
#include "net/hostaddr.h"
#include "net/udp.h"

struct probe_one {
        struct net_host_addr *host;
        struct natprobe *probe;
        struct loop *loop;
        int *pending;
};

static void drain(struct probe_one *o)
{
        struct natprobe_output out;
        while (natprobe_poll_output(o->probe, &out) == 1) {
                if (out.kind == NATPROBE_OUT_TRANSMIT) {
                        net_udp_send(o->host->fd, &out.to, out.data, out.len);
                } else if (out.kind == NATPROBE_OUT_DONE) {
                        if (--*o->pending == 0)
                                loop_stop(o->loop, 0);
                }
        }
}

/* One probe per local address, all driven by one timer. */
static struct probe_one *g_all;
static size_t g_n;
static int g_timer;

static void on_timer(struct loop *loop, void *arg);

static void arm(struct loop *loop)
{
        uint64_t d = CLOCK_NEVER;
        for (size_t i = 0; i < g_n; i++)
                if (g_all[i].probe && natprobe_next_deadline(g_all[i].probe) < d)
                        d = natprobe_next_deadline(g_all[i].probe);
        if (g_timer > 0)
                loop_cancel_timer(loop, g_timer);
        g_timer = d == CLOCK_NEVER ? 0 : loop_add_timer(loop, d, on_timer, NULL);
}

static void on_timer(struct loop *loop, void *arg)
{
        (void)arg;
        g_timer = 0;
        uint64_t now = clock_now_us();
        for (size_t i = 0; i < g_n; i++) {
                if (g_all[i].probe && natprobe_next_deadline(g_all[i].probe) <= now) {
                        natprobe_handle_timeout(g_all[i].probe, now);
                        drain(&g_all[i]);
                }
        }
        arm(loop);
}

static void on_udp(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)events;
        struct probe_one *o = arg;
        uint8_t buf[2048];
        for (;;) {
                struct addr from;
                ssize_t n = net_udp_recv(fd, &from, buf, sizeof(buf));
                if (n < 0)
                        break;
                natprobe_handle_input(o->probe, clock_now_us(), &from, buf, (size_t)n);
        }
        drain(o);
        arm(loop);
}

static void report(const struct probe_one *o)
{
        const struct natprobe_result *r = natprobe_result(o->probe);
        char local[ADDR_STRLEN], mapped[ADDR_STRLEN];
        struct addr la;
        addr_from_sockaddr(&la, (const struct sockaddr *)&o->host->ss, o->host->sslen);
        addr_to_string(&la, local, sizeof(local));
        if (r->error || !r->mapped_valid) {
                printf("%s (%s): no answer from the STUN server\n", local, o->host->ifname);
                return;
        }
        addr_to_string(&r->mapped, mapped, sizeof(mapped));
        printf("%s (%s): public address %s, %s\n", local, o->host->ifname, mapped,
               r->nat_present ? "behind a NAT" : "no NAT");
        if (r->nat_present) {
                printf("  mapping: %s\n", natprobe_mapping_name(r->mapping));
                printf("  filtering: %s\n", natprobe_filtering_name(r->filtering));
        }
        if (r->note[0])
                printf("  note: %s\n", r->note);
        printf("  verdict: %s\n", r->verdict);
}

int cli_probe(int argc, char **argv)
{
        static const struct option opts[] = {
            {"stun", required_argument, NULL, 's'},
            {"verbose", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        const char *stun = NULL;
        int verbosity = LOG_LEVEL_INFO, c;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        stun = optarg;
                        break;
                case 'v':
                        verbosity++;
                        break;
                case 'h':
                        fputs(cli_usage_probe, stdout);
                        return EXIT_OK;
                case ':':
                        fprintf(stderr,
                                "rtcpeer: option %s needs a value (see 'rtcpeer help probe')\n",
                                argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        fprintf(stderr, "rtcpeer: unknown option %s (see 'rtcpeer help probe')\n",
                                argv[optind - 1]);
                        return EXIT_USAGE;
                }
        }
        if (!stun || optind < argc) {
                fprintf(stderr, "rtcpeer: probe wants --stun URI (see 'rtcpeer help probe')\n");
                return EXIT_USAGE;
        }
        log_set_level(verbosity);
        struct addr server;
        int rc = cli_resolve_server(stun, "stun", &server);
        if (rc < 0) {
                log_error(NULL, "--stun %s: %s", stun,
                          rc == -EINVAL ? "not a stun:host[:port] URI"
                                        : "cannot resolve the host name");
                return rc == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_INTERNAL;
        }
        struct net_host_addr hosts[NET_MAX_HOST_ADDRS];
        int nh = net_gather_host(hosts, NET_MAX_HOST_ADDRS);
        if (nh < 0) {
                log_error(NULL, "no usable network address: %s", strerror(-nh));
                return EXIT_FAILURE_INTERNAL;
        }
        struct loop *loop = loop_new();
        struct probe_one all[NET_MAX_HOST_ADDRS] = {0};
        int pending = 0;
        g_n = (size_t)nh;
        g_all = all;
        uint64_t now = clock_now_us();
        for (int i = 0; i < nh; i++) {
                all[i].host = &hosts[i];
                all[i].loop = loop;
                all[i].pending = &pending;
                struct natprobe_config cfg = {.server = server};
                addr_from_sockaddr(&cfg.local, (const struct sockaddr *)&hosts[i].ss,
                                   hosts[i].sslen);
                if (addr_family(&cfg.local) != addr_family(&server))
                        continue;
                all[i].probe = natprobe_new(&cfg);
                if (!all[i].probe || natprobe_start(all[i].probe, now) < 0)
                        continue;
                pending++;
                loop_add_fd(loop, hosts[i].fd, EPOLLIN, on_udp, &all[i]);
                drain(&all[i]);
        }
        int answered = 0;
        if (pending == 0) {
                log_error(NULL, "no local address of the STUN server's address family");
                rc = EXIT_FAILURE_INTERNAL;
        } else {
                arm(loop);
                loop_run(loop);
                for (int i = 0; i < nh; i++) {
                        if (!all[i].probe)
                                continue;
                        report(&all[i]);
                        answered += natprobe_result(all[i].probe)->mapped_valid;
                }
                rc = EXIT_OK;
                if (!answered) {
                        log_error(NULL, "the STUN server %s did not answer", stun);
                        rc = EXIT_ICE_FAILED;
                }
        }
        for (int i = 0; i < nh; i++)
                natprobe_free(all[i].probe);
        loop_free(loop);
        net_close_host(hosts, (size_t)nh);
        return rc;
}
