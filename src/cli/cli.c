#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exitcode.h"
#include "cli/expect.h"
#include "core/log.h"
#include "net/impair.h"

static const char usage_main[] =
    "Usage: rtcpeer <command> [options]\n"
    "\n"
    "A command-line WebRTC peer.\n"
    "\n"
    "Commands:\n"
    "  offer     write an SDP offer to stdout, read the answer from stdin\n"
    "  answer    read an SDP offer from stdin, write the answer to stdout\n"
    "  probe --stun URI\n"
    "            show this host's public addresses and NAT behaviour\n"
    "  identity FILE\n"
    "            create a DTLS identity (key and certificate) for --identity and\n"
    "            print its fingerprint\n"
    "  help [COMMAND]\n"
    "            show help for rtcpeer or for one command\n"
    "  version   show the version\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help\n"
    "  -V, --version  show the version\n"
    "\n"
    "Run 'rtcpeer help offer' or 'man rtcpeer' for the options of a session.\n";

static const char usage_session[] =
    "Signaling:\n"
    "  -c, --compact            write the description as one compact line (a token)\n"
    "      --signal-in FILE     read the peer's description from FILE, a FIFO or fd:N\n"
    "                           (default stdin; a FILE that does not exist yet is waited for)\n"
    "      --signal-out FILE    write our description to FILE, a FIFO or fd:N (default stdout)\n"
    "  -t, --timeout SECONDS    how long to wait for the peer's description (default 300)\n"
    "      --listen [ADDR:]PORT answer: wait for a WHIP client (an HTTP POST of its offer,\n"
    "                           RFC 9725) at http://ADDR:PORT/whip instead of stdin, and\n"
    "                           serve a browser page at / (default ADDR 127.0.0.1)\n"
    "      --connect URL        POST our offer to a WHIP endpoint (offer: publish) or a\n"
    "                           WHEP endpoint (answer: play) and use its answer; another\n"
    "                           rtcpeer's --listen is one\n"
    "      --token TOKEN        HTTP bearer token: required by --listen, sent by --connect\n"
    "                           (default: the RTCPEER_TOKEN environment variable)\n"
    "      --tls-cert FILE, --tls-key FILE\n"
    "                           serve --listen over HTTPS with this PEM certificate and key\n"
    "      --connect-ca FILE    trust anchors (PEM) for an https --connect (default: the\n"
    "                           system's)\n"
    "\n"
    "Security:\n"
    "      --identity FILE      use the DTLS key and certificate in FILE (made by\n"
    "                           'rtcpeer identity FILE') so the fingerprint stays the\n"
    "                           same across runs; default: a new one per run\n"
    "\n"
    "Connection:\n"
    "      --stun URI           gather server-reflexive candidates (stun:host[:port]);\n"
    "                           repeatable\n"
    "      --turn URI           gather relayed candidates from a TURN server:\n"
    "                           turn:USER:PASS@HOST[:PORT][?transport=udp|tcp] or\n"
    "                           turns:USER:PASS@HOST[:PORT] (TLS); repeatable\n"
    "      --turn-ca FILE       trust anchors (PEM) for turns: servers (default: the\n"
    "                           system's)\n"
    "      --ice-policy all|relay\n"
    "                           which candidates to use (default all)\n"
    "      --duration SECONDS   hang up this long after the session is established\n"
    "                           (default: run until SIGINT, SIGTERM or the peer hangs up)\n"
    "\n"
    "Data channels:\n"
    "      --data               send stdin on a data channel of ours and write the\n"
    "                           messages of the peer's channels to stdout; exit 0\n"
    "                           once both directions are finished\n"
    "      --label NAME         our channel's label (default rtcpeer)\n"
    "      --unordered          deliver our messages in any order\n"
    "      --max-retransmits N  give up a message after N retransmissions\n"
    "      --max-lifetime MS    give up a message after MS milliseconds\n"
    "\n"
    "Media out:\n"
    "      --video SRC          send VP8 video from SRC: a V4L2 device (/dev/video0),\n"
    "                           test or test:WxH@FPS, or a .y4m file\n"
    "      --video-size WxH     camera or test size (default 640x480; nearest mode)\n"
    "      --fps N              camera or test frame rate (default 30)\n"
    "      --video-bitrate KBPS VP8 target bitrate (default 1000)\n"
    "      --audio SRC          send Opus audio from SRC: an ALSA PCM (default,\n"
    "                           hw:1,0), test or test:FREQ, or a .wav file (48 kHz)\n"
    "      --audio-bitrate KBPS Opus bitrate (default 32)\n"
    "      --audio-fec, --audio-dtx\n"
    "                           Opus in-band FEC, discontinuous transmission\n"
    "\n"
    "Media in (each one makes us receive that kind of media):\n"
    "      --video-out FILE|-   write decoded video as Y4M to FILE or stdout\n"
    "                           (rtcpeer answer --video-out - | mpv -); with -, our\n"
    "                           description goes to stderr unless --signal-out is given\n"
    "      --record-video FILE  store the received VP8 stream as IVF, not re-encoded\n"
    "      --preview            draw the received video in the terminal (24-bit colour)\n"
    "      --audio-out PCM      play received audio on an ALSA PCM (default, hw:0,0)\n"
    "      --record-audio FILE  write decoded audio as WAV (48 kHz stereo) to FILE or -\n"
    "\n"
    "Network rehearsal:\n"
    "      --impair SPEC        impair what this process sends and receives, e.g.\n"
    "                           loss=5%,delay=30ms,jitter=10ms,reorder=1%,rate=2mbit\n"
    "                           (also duplicate=P); each way gets the delay\n"
    "\n"
    "Observability:\n"
    "      --stats FILE|-       write W3C webrtc-stats as JSON Lines once a second, and\n"
    "                           a final object at exit\n"
    "\n"
    "Scripted calls:\n"
    "      --expect CONDITION   check a final stats figure when the call ends, with the\n"
    "                           names of --stats: inbound-rtp.video.framesDecoded>=250,\n"
    "                           inbound-rtp.audio.packetsLost<50,\n"
    "                           candidate-pair.selected.local.candidateType=relay,\n"
    "                           data-channel.bytesReceived>=1000000,\n"
    "                           setup.firstFrameDecoded<2000 (ms after both descriptions);\n"
    "                           operators = != < <= > >=; repeatable; exit 16 when one\n"
    "                           fails, 2 before the call when a name is unknown\n"
    "      --summary FILE|-     write one JSON object at the end: final stats, setup\n"
    "                           times (ms) and the result of every --expect\n"
    "\n"
    "Logging (stderr only; stdout carries descriptions and data):\n"
    "  -v, --verbose            more detail; repeat for more (RTCPEER_LOG=signal,sdp,...\n"
    "                           narrows the categories)\n"
    "  -q, --quiet              errors only\n"
    "  -h, --help               show this help\n";

static const char usage_offer[] =
    "Usage: rtcpeer offer [options]\n"
    "\n"
    "Writes an SDP offer (followed by one empty line) to stdout, then reads the answer from\n"
    "stdin: plain SDP ending at an empty line or EOF, or a compact token. Every session\n"
    "negotiates a data-channel section; audio and video follow the options below.\n"
    "With --connect URL the offer is POSTed to a WHIP endpoint instead, and the answer\n"
    "comes back in the reply.\n"
    "\n";

static const char usage_answer[] =
    "Usage: rtcpeer answer [options]\n"
    "\n"
    "Reads an SDP offer from stdin (plain SDP ending at an empty line or EOF, or a compact\n"
    "token) and writes the answer, followed by one empty line, to stdout.\n"
    "With --listen [ADDR:]PORT the offer arrives as a WHIP POST and the answer goes back in\n"
    "the reply; a browser opening http://ADDR:PORT/ gets a page that calls us.\n"
    "With --connect URL we play a WHEP stream: our offer goes to URL.\n"
    "\n";

const char cli_usage_probe[] =
    "Usage: rtcpeer probe --stun URI [-v]\n"
    "\n"
    "Asks the STUN server URI (stun:host[:port]) from every local address of its family and\n"
    "prints the public address each one maps to, and, when the server supports RFC 5780\n"
    "(OTHER-ADDRESS), the NAT's mapping and filtering behaviour with a verdict on whether\n"
    "direct connections are likely or TURN will be needed. Exits 0 when the server\n"
    "answered, 10 when it did not.\n";

static const char usage_identity[] =
    "Usage: rtcpeer identity FILE\n"
    "\n"
    "Creates FILE (mode 0600; an existing file is not overwritten) with a new ECDSA P-256\n"
    "private key and a self-signed certificate valid for ten years, and prints its SDP\n"
    "fingerprint (\"sha-256 AB:CD:...\"). 'rtcpeer offer --identity FILE' then uses it, so\n"
    "a peer can pin the fingerprint across runs.\n";

static void print_help(FILE *f, const char *cmd)
{
        if (cmd && strcmp(cmd, "offer") == 0)
                fprintf(f, "%s%s", usage_offer, usage_session);
        else if (cmd && strcmp(cmd, "answer") == 0)
                fprintf(f, "%s%s", usage_answer, usage_session);
        else if (cmd && strcmp(cmd, "identity") == 0)
                fputs(usage_identity, f);
        else if (cmd && strcmp(cmd, "probe") == 0)
                fputs(cli_usage_probe, f);
        else
                fputs(usage_main, f);
}

static void print_version(void)
{
        printf("rtcpeer %s\n", RTCPEER_VERSION);
}

enum {
        OPT_SIGNAL_IN = 256,
        OPT_SIGNAL_OUT,
        OPT_DATA,
        OPT_VIDEO,
        OPT_AUDIO,
        OPT_VIDEO_OUT,
        OPT_AUDIO_OUT,
        OPT_RECORD_VIDEO,
        OPT_RECORD_AUDIO,
        OPT_PREVIEW,
        OPT_IMPAIR,
        OPT_STUN,
        OPT_TURN,
        OPT_ICE_POLICY,
        OPT_DURATION,
        OPT_TURN_CA,
        OPT_IDENTITY,
        OPT_LABEL,
        OPT_UNORDERED,
        OPT_MAX_RETRANSMITS,
        OPT_MAX_LIFETIME,
        OPT_STATS,
        OPT_VIDEO_SIZE,
        OPT_FPS,
        OPT_VIDEO_BITRATE,
        OPT_AUDIO_BITRATE,
        OPT_AUDIO_FEC,
        OPT_AUDIO_DTX,
        OPT_EXPECT,
        OPT_SUMMARY,
        OPT_LISTEN,
        OPT_CONNECT,
        OPT_TOKEN,
        OPT_TLS_CERT,
        OPT_TLS_KEY,
        OPT_CONNECT_CA,
};

static const struct option session_options[] = {
    {"compact", no_argument, NULL, 'c'},
    {"signal-in", required_argument, NULL, OPT_SIGNAL_IN},
    {"signal-out", required_argument, NULL, OPT_SIGNAL_OUT},
    {"timeout", required_argument, NULL, 't'},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"connect-ca", required_argument, NULL, OPT_CONNECT_CA},
    {"data", no_argument, NULL, OPT_DATA},
    {"video", required_argument, NULL, OPT_VIDEO},
    {"audio", required_argument, NULL, OPT_AUDIO},
    {"video-out", required_argument, NULL, OPT_VIDEO_OUT},
    {"audio-out", required_argument, NULL, OPT_AUDIO_OUT},
    {"record-video", required_argument, NULL, OPT_RECORD_VIDEO},
    {"record-audio", required_argument, NULL, OPT_RECORD_AUDIO},
    {"preview", no_argument, NULL, OPT_PREVIEW},
    {"impair", required_argument, NULL, OPT_IMPAIR},
    {"stun", required_argument, NULL, OPT_STUN},
    {"turn", required_argument, NULL, OPT_TURN},
    {"ice-policy", required_argument, NULL, OPT_ICE_POLICY},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"turn-ca", required_argument, NULL, OPT_TURN_CA},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"label", required_argument, NULL, OPT_LABEL},
    {"stats", required_argument, NULL, OPT_STATS},
    {"expect", required_argument, NULL, OPT_EXPECT},
    {"summary", required_argument, NULL, OPT_SUMMARY},
    {"video-size", required_argument, NULL, OPT_VIDEO_SIZE},
    {"fps", required_argument, NULL, OPT_FPS},
    {"video-bitrate", required_argument, NULL, OPT_VIDEO_BITRATE},
    {"audio-bitrate", required_argument, NULL, OPT_AUDIO_BITRATE},
    {"audio-fec", no_argument, NULL, OPT_AUDIO_FEC},
    {"audio-dtx", no_argument, NULL, OPT_AUDIO_DTX},
    {"unordered", no_argument, NULL, OPT_UNORDERED},
    {"max-retransmits", required_argument, NULL, OPT_MAX_RETRANSMITS},
    {"max-lifetime", required_argument, NULL, OPT_MAX_LIFETIME},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
        fprintf(stderr, "rtcpeer: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, " (see 'rtcpeer help %s')\n", cmd);
        return EXIT_USAGE;
}

static int parse_seconds(const char *s, double *out)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
                return -EINVAL;
        *out = v;
        return 0;
}

/* "[ADDR:]PORT": a port alone, "host:port", or "[v6]:port". The address is resolved later. */
static int check_listen(const char *s)
{
        const char *port = s;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close == s + 1 || close[1] != ':')
                        return -EINVAL;
                port = close + 2;
        } else if (strchr(s, ':')) {
                port = strrchr(s, ':') + 1;
                if (port == s + 1 || strchr(s, ':') != port - 1)
                        return -EINVAL;
        }
        char *end;
        errno = 0;
        long v = strtol(port, &end, 10);
        if (errno || end == port || *end || v < 0 || v > 65535 || port[0] == '-' || port[0] == '+')
                return -EINVAL;
        return 0;
}

/* --listen, --connect and their companions: what goes with what. */
static int check_http_signaling(const char *cmd, struct cli_opts *o)
{
        if (!o->token) {
                const char *env = getenv("RTCPEER_TOKEN");
                if (env && *env && (o->listen || o->connect))
                        o->token = env;
        }
        if (o->listen && o->role == CLI_OFFER)
                return usage_error(cmd, "%s",
                                   "--listen is for rtcpeer answer: a WHIP client sends the "
                                   "offer (use --connect URL to send ours)");
        if (o->listen && o->connect)
                return usage_error(cmd, "%s", "use --listen or --connect, not both");
        if (o->listen || o->connect) {
                const char *which = o->listen ? "--listen" : "--connect";
                const char *other = o->signal_in    ? "--signal-in"
                                    : o->signal_out ? "--signal-out"
                                    : o->compact    ? "--compact"
                                                    : NULL;
                if (other) {
                        char msg[160];
                        snprintf(msg, sizeof(msg),
                                 "%s carries the descriptions over HTTP: %s does not apply", which,
                                 other);
                        return usage_error(cmd, "%s", msg);
                }
        }
        if ((o->tls_cert || o->tls_key) && !o->listen)
                return usage_error(cmd, "%s", "--tls-cert and --tls-key go with --listen");
        if (!o->tls_cert != !o->tls_key)
                return usage_error(cmd, "%s", "--tls-cert and --tls-key go together");
        if (o->token && !o->listen && !o->connect)
                return usage_error(cmd, "%s", "--token goes with --listen or --connect");
        if (o->connect_ca && !o->connect)
                return usage_error(cmd, "%s", "--connect-ca goes with --connect");
        if (o->connect && o->role == CLI_ANSWER && !o->data && !o->video_out && !o->record_video &&
            !o->preview && !o->audio_out && !o->record_audio)
                return usage_error(cmd, "%s",
                                   "answer --connect plays a WHEP stream: give --video-out, "
                                   "--record-video, --preview, --audio-out, --record-audio or "
                                   "--data");
        return 0;
}

static int add_server(const char **list, int *n, const char *uri, const char *cmd)
{
        if (*n >= CLI_MAX_SERVERS)
                return usage_error(cmd, "too many servers: at most 8 of each kind (at \"%s\")",
                                   uri);
        list[(*n)++] = uri;
        return 0;
}

static int run_session_cmd(const char *cmd, enum cli_role role, int argc, char **argv)
{
        struct cli_opts o = {.role = role, .timeout_s = CLI_DEFAULT_TIMEOUT_S};
        int verbosity = LOG_LEVEL_INFO;
        int c, rc;
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":ct:vqh", session_options, NULL)) != -1) {
                switch (c) {
                case 'c':
                        o.compact = true;
                        break;
                case OPT_SIGNAL_IN:
                        o.signal_in = optarg;
                        break;
                case OPT_SIGNAL_OUT:
                        o.signal_out = optarg;
                        break;
                case OPT_LISTEN:
                        if (check_listen(optarg) < 0)
                                return usage_error(cmd,
                                                   "--listen wants [ADDR:]PORT (PORT 0 to 65535, "
                                                   "[ADDR] for IPv6), not \"%s\"",
                                                   optarg);
                        o.listen = optarg;
                        break;
                case OPT_CONNECT:
                        if (strncmp(optarg, "http://", 7) != 0 &&
                            strncmp(optarg, "https://", 8) != 0)
                                return usage_error(
                                    cmd, "--connect wants an http:// or https:// URL, not \"%s\"",
                                    optarg);
                        o.connect = optarg;
                        break;
                case OPT_TOKEN:
                        o.token = optarg;
                        break;
                case OPT_TLS_CERT:
                        o.tls_cert = optarg;
                        break;
                case OPT_TLS_KEY:
                        o.tls_key = optarg;
                        break;
                case OPT_CONNECT_CA:
                        o.connect_ca = optarg;
                        break;
                case 't':
                        if (parse_seconds(optarg, &o.timeout_s) < 0)
                                return usage_error(
                                    cmd, "--timeout wants seconds between 0 and 86400, not \"%s\"",
                                    optarg);
                        break;
                case OPT_DURATION:
                        if (parse_seconds(optarg, &o.duration_s) < 0)
                                return usage_error(
                                    cmd, "--duration wants seconds between 0 and 86400, not \"%s\"",
                                    optarg);
                        break;
                case OPT_LABEL:
                        if (strlen(optarg) > 255)
                                return usage_error(
                                    cmd, "--label is longer than 255 bytes: \"%.40s...\"", optarg);
                        o.label = optarg;
                        break;
                case OPT_VIDEO_SIZE: {
                        unsigned w, h;
                        char extra;
                        if (sscanf(optarg, "%ux%u%c", &w, &h, &extra) != 2 || w < 16 || h < 16 ||
                            w > 4096 || h > 4096 || (w | h) & 1)
                                return usage_error(cmd,
                                                   "--video-size wants WIDTHxHEIGHT (even, 16 to "
                                                   "4096), not \"%s\"",
                                                   optarg);
                        o.width = w;
                        o.height = h;
                        break;
                }
                case OPT_FPS:
                case OPT_VIDEO_BITRATE:
                case OPT_AUDIO_BITRATE: {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        unsigned long max = c == OPT_FPS             ? 120
                                            : c == OPT_AUDIO_BITRATE ? 510
                                                                     : 50000;
                        unsigned long min = c == OPT_AUDIO_BITRATE ? 6 : 1;
                        if (end == optarg || *end || optarg[0] == '-' || v < min || v > max) {
                                char msg[160];
                                snprintf(msg, sizeof(msg),
                                         "%s wants a number from %lu to %lu, not \"%.30s\"",
                                         c == OPT_FPS             ? "--fps"
                                         : c == OPT_VIDEO_BITRATE ? "--video-bitrate (kbit/s)"
                                                                  : "--audio-bitrate (kbit/s)",
                                         min, max, optarg);
                                return usage_error(cmd, "%s", msg);
                        }
                        if (c == OPT_FPS)
                                o.fps = (unsigned)v;
                        else if (c == OPT_VIDEO_BITRATE)
                                o.video_kbps = (unsigned)v;
                        else
                                o.audio_kbps = (unsigned)v;
                        break;
                }
                case OPT_AUDIO_FEC:
                        o.audio_fec = true;
                        break;
                case OPT_AUDIO_DTX:
                        o.audio_dtx = true;
                        break;
                case OPT_STATS:
                        o.stats = optarg;
                        break;
                case OPT_EXPECT: {
                        /* Checked now: a misspelt name must not cost a whole call. */
                        struct expect_cond ec;
                        char msg[1024];
                        if (o.n_expect == CLI_MAX_EXPECT)
                                return usage_error(cmd, "too many --expect: at most 32 (at \"%s\")",
                                                   optarg);
                        if (expect_parse(optarg, &ec, msg, sizeof(msg)) < 0)
                                return usage_error(cmd, "--expect %s", msg);
                        o.expect[o.n_expect++] = optarg;
                        break;
                }
                case OPT_SUMMARY:
                        o.summary = optarg;
                        break;
                case OPT_UNORDERED:
                        o.dc_options.unordered = true;
                        break;
                case OPT_MAX_RETRANSMITS:
                case OPT_MAX_LIFETIME: {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        const char *name =
                            c == OPT_MAX_LIFETIME ? "--max-lifetime" : "--max-retransmits";
                        char msg[160];
                        if (errno || end == optarg || *end || optarg[0] == '-' ||
                            v > 0xffffffffUL) {
                                snprintf(msg, sizeof(msg), "%s wants a whole number, not \"%.40s\"",
                                         name, optarg);
                                return usage_error(cmd, "%s", msg);
                        }
                        if (o.dc_options.reliability != DC_RELIABLE)
                                return usage_error(cmd, "%s",
                                                   "use --max-retransmits or "
                                                   "--max-lifetime, not both");
                        o.dc_options.reliability =
                            c == OPT_MAX_LIFETIME ? DC_MAX_LIFETIME : DC_MAX_RETRANSMITS;
                        o.dc_options.reliability_param = (uint32_t)v;
                        break;
                }
                case OPT_IDENTITY:
                        o.identity = optarg;
                        break;
                case OPT_TURN_CA:
                        o.turn_ca = optarg;
                        break;
                case OPT_ICE_POLICY:
                        if (strcmp(optarg, "all") == 0)
                                o.relay_only = false;
                        else if (strcmp(optarg, "relay") == 0)
                                o.relay_only = true;
                        else
                                return usage_error(
                                    cmd, "--ice-policy wants all or relay, not \"%s\"", optarg);
                        break;
                case OPT_DATA:
                        o.data = true;
                        break;
                case OPT_VIDEO:
                        o.video = optarg;
                        break;
                case OPT_AUDIO:
                        o.audio = optarg;
                        break;
                case OPT_VIDEO_OUT:
                        o.video_out = optarg;
                        break;
                case OPT_AUDIO_OUT:
                        o.audio_out = optarg;
                        break;
                case OPT_RECORD_VIDEO:
                        o.record_video = optarg;
                        break;
                case OPT_RECORD_AUDIO:
                        o.record_audio = optarg;
                        break;
                case OPT_PREVIEW:
                        o.preview = true;
                        break;
                case OPT_IMPAIR: {
                        char msg[200];
                        if (impair_parse(optarg, &o.impair, msg, sizeof(msg)) < 0)
                                return usage_error(cmd, "--impair: %s", msg);
                        o.impair_spec = optarg;
                        break;
                }
                case OPT_STUN:
                        if ((rc = add_server(o.stun, &o.n_stun, optarg, cmd)))
                                return rc;
                        break;
                case OPT_TURN:
                        if ((rc = add_server(o.turn, &o.n_turn, optarg, cmd)))
                                return rc;
                        break;
                case 'v':
                        verbosity++;
                        break;
                case 'q':
                        verbosity = LOG_LEVEL_ERROR;
                        break;
                case 'h':
                        print_help(stdout, cmd);
                        return EXIT_OK;
                case ':':
                        return usage_error(cmd, "option %s needs a value", argv[optind - 1]);
                default:
                        return usage_error(cmd, "unknown option %s", argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
        if ((rc = check_http_signaling(cmd, &o)))
                return rc;
        for (int i = 0; i < 2; i++) {
                const char *spec = i ? o.signal_out : o.signal_in;
                if (spec && strncmp(spec, "fd:", 3) == 0) {
                        char *end;
                        long v = strtol(spec + 3, &end, 10);
                        if (end == spec + 3 || *end || v < 0 || v > 65535)
                                return usage_error(cmd,
                                                   "--signal-in/--signal-out wants fd:N with a "
                                                   "descriptor number, not \"%s\"",
                                                   spec);
                }
        }
        /* stdout carries one thing: a media stream, the data channel or the stats. */
        const char *to_stdout[] = {o.video_out,         o.record_video, o.record_audio,
                                   o.data ? "-" : NULL, o.stats,        o.summary};
        const char *stdout_names[] = {"--video-out", "--record-video", "--record-audio",
                                      "--data",      "--stats",        "--summary"};
        int first = -1;
        for (int i = 0; i < 6; i++) {
                if (!to_stdout[i] || strcmp(to_stdout[i], "-") != 0)
                        continue;
                if (first >= 0 && !(first == 3 && i == 4)) {
                        char msg[160];
                        snprintf(msg, sizeof(msg),
                                 "%s - and %s - would both write to stdout: give one of them a "
                                 "file",
                                 stdout_names[first], stdout_names[i]);
                        return usage_error(cmd, "%s", msg);
                }
                if (first < 0)
                        first = i;
        }
        /* A media stream on stdout sends our description to stderr unless told otherwise. */
        if (first >= 0 && first < 3 && !o.signal_out)
                o.signal_out = "fd:2";
        if (o.stats && strcmp(o.stats, "-") == 0 && o.data)
                return usage_error(cmd, "%s",
                                   "--stats - would mix with --data on stdout: give a file");
        if (o.summary && strcmp(o.summary, "-") != 0) {
                /* Like --stats: an unwritable path fails now, not after the call. */
                FILE *f = fopen(o.summary, "a");
                if (!f) {
                        char msg[300];
                        snprintf(msg, sizeof(msg), "--summary %.200s: %s", o.summary,
                                 strerror(errno));
                        return usage_error(cmd, "%s", msg);
                }
                fclose(f);
        }
        if (o.signal_in && o.signal_out && strcmp(o.signal_in, o.signal_out) == 0 &&
            strcmp(o.signal_in, "-") != 0)
                return usage_error(cmd, "--signal-in and --signal-out must differ (both \"%s\")",
                                   o.signal_in);
        log_set_level(verbosity);
        log_set_categories(getenv("RTCPEER_LOG"));
        const char *stamps = getenv("RTCPEER_LOG_TIME");
        log_set_timestamps(stamps && strcmp(stamps, "1") == 0);
        return cli_run_peer(&o);
}

int cli_main(int argc, char **argv)
{
        if (argc < 2) {
                print_help(stderr, NULL);
                return EXIT_USAGE;
        }
        const char *cmd = argv[1];
        if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
                print_help(stdout, NULL);
                return EXIT_OK;
        }
        if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 ||
            strcmp(cmd, "version") == 0) {
                print_version();
                return EXIT_OK;
        }
        if (strcmp(cmd, "help") == 0) {
                const char *topic = argc > 2 ? argv[2] : NULL;
                if (topic && strcmp(topic, "offer") && strcmp(topic, "answer") &&
                    strcmp(topic, "identity") && strcmp(topic, "probe")) {
                        fprintf(stderr, "rtcpeer: no help for \"%s\": try 'rtcpeer --help'\n",
                                topic);
                        return EXIT_USAGE;
                }
                print_help(stdout, topic);
                return EXIT_OK;
        }
        if (strcmp(cmd, "probe") == 0)
                return cli_probe(argc - 1, argv + 1);
        if (strcmp(cmd, "identity") == 0) {
                if (argc == 3 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
                        fputs(usage_identity, stdout);
                        return EXIT_OK;
                }
                if (argc != 3 || argv[2][0] == '-') {
                        fprintf(stderr,
                                "rtcpeer: identity wants one FILE (see 'rtcpeer help identity')\n");
                        return EXIT_USAGE;
                }
                return cli_make_identity(argv[2]);
        }
        if (strcmp(cmd, "offer") == 0)
                return run_session_cmd(cmd, CLI_OFFER, argc - 1, argv + 1);
        if (strcmp(cmd, "answer") == 0)
                return run_session_cmd(cmd, CLI_ANSWER, argc - 1, argv + 1);
        fprintf(stderr, "rtcpeer: unknown command \"%s\" (see 'rtcpeer --help')\n", cmd);
        return EXIT_USAGE;
}
