/* Command line: subcommands, options, help texts and the exit codes of core/exitcode.h. */
#ifndef RTCPEER_CLI_CLI_H
#define RTCPEER_CLI_CLI_H

#include <stdbool.h>

#include "core/addr.h"
#include "net/impair.h"
#include "sctp/sctp.h"

#define CLI_MAX_SERVERS 8
#define CLI_MAX_EXPECT  32

enum cli_role { CLI_OFFER, CLI_ANSWER };

struct cli_opts {
        enum cli_role role;
        bool compact;
        bool data;
        const char *signal_in;
        const char *signal_out;
        const char *listen;   /* --listen [ADDR:]PORT: wait for a WHIP POST */
        const char *connect;  /* --connect URL: POST our offer to a WHIP/WHEP endpoint */
        const char *token;    /* --token or RTCPEER_TOKEN: HTTP bearer token */
        const char *tls_cert; /* --tls-cert, --tls-key: serve --listen over HTTPS */
        const char *tls_key;
        const char *connect_ca; /* --connect-ca: trust anchors for an https --connect */
        double timeout_s;
        double duration_s; /* 0: until hang-up */
        bool relay_only;   /* --ice-policy relay */
        const char *video;
        const char *audio;
        const char *video_out;
        const char *audio_out;       /* --audio-out PCM */
        const char *record_video;    /* --record-video FILE.ivf */
        const char *record_audio;    /* --record-audio FILE.wav */
        bool preview;                /* --preview */
        struct impair_config impair; /* --impair */
        const char *impair_spec;
        const char *stun[CLI_MAX_SERVERS];
        int n_stun;
        const char *turn[CLI_MAX_SERVERS];
        int n_turn;
        const char *turn_ca;  /* PEM trust anchors for turns: servers */
        const char *identity; /* --identity FILE: a key and certificate kept across runs */
        const char *label;    /* --label: our data channel's label */
        const char *stats;    /* --stats FILE|-: JSON Lines once a second */
        const char *expect[CLI_MAX_EXPECT]; /* --expect CONDITION, checked at the end */
        int n_expect;
        const char *summary;         /* --summary FILE|-: one JSON object at the end */
        unsigned width, height, fps; /* --video-size, --fps */
        unsigned video_kbps, audio_kbps;
        bool audio_fec, audio_dtx;
        struct dc_options dc_options;
};

#define CLI_DEFAULT_TIMEOUT_S 300.0

int cli_main(int argc, char **argv);
/* Runs one peer after option parsing (cli/peer.c). Returns an exit code. */
int cli_run_peer(const struct cli_opts *opts);
/* "stun:host[:port]" (scheme "stun") to an address; -EINVAL or -EHOSTUNREACH. */
int cli_resolve_server(const char *uri, const char *scheme, struct addr *out);
/* `rtcpeer probe` (cli/probe.c). Returns an exit code. */
int cli_probe(int argc, char **argv);
extern const char cli_usage_probe[];
/* `rtcpeer identity FILE` (cli/peer.c). Returns an exit code. */
int cli_make_identity(const char *path);

#endif
