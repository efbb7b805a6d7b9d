#include "cli/mediapipe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/loop.h"
#include "media/audiosrc.h"
#include "media/merr.h"
#include "media/opusenc.h"
#include "media/picture.h"
#include "media/videosrc.h"
#include "media/vp8enc.h"

/* GCC tells a new rate at most every feedback (~50 ms): 2 s of them, with room. */
#define N_RATES 64

struct mediapipe {
        struct mediapipe_config cfg;
        struct loop *loop;
        struct session *session;
        struct videosrc *vsrc;
        struct vp8enc *venc;
        struct audiosrc *asrc;
        struct opusenc *aenc;
        int vtimer, atimer;
        bool started, dead;
        uint64_t frames[2];
        char desc[256];
        /*
         * Congestion control: below what the picture needs it is coded smaller, then only every
         * fps_div-th one (mediapipe_adapt_video).
         */
        struct mediapipe_adapt adapt;
        uint64_t adapt_at; /* when it last changed */
        unsigned fps;      /* the source's nominal rate */
        unsigned cap_w, cap_h;
        unsigned coded_w, coded_h;
        struct picture scaled; /* the captured picture at the coded size */
        uint64_t captured;
        uint32_t video_bps;
        /* The video rates told recently, for the lowest of the last MEDIAPIPE_UP_GAP_US. */
        struct {
                uint64_t at;
                uint32_t bps;
        } rates[N_RATES];
        unsigned n_rates; /* told in all; the last N_RATES are kept */
};

static void fail(struct mediapipe *m, const char *msg)
{
        if (m->dead)
                return;
        m->dead = true;
        m->cfg.failed(m->cfg.arg, msg);
}

static void on_video_timer(struct loop *loop, void *arg);
static void on_audio_timer(struct loop *loop, void *arg);

static void describe_state(char *out, size_t len, struct mediapipe_adapt a, unsigned w, unsigned h,
                           unsigned fps, bool with_fps)
{
        unsigned cw, ch;
        mediapipe_level_size(a.level, w, h, &cw, &ch);
        if (with_fps)
                snprintf(out, len, "%ux%u@%.3g", cw, ch, (double)fps / a.fps_div);
        else
                snprintf(out, len, "%ux%u", cw, ch);
}

/*
 * The lowest video rate in effect during the last MEDIAPIPE_UP_GAP_US, 0 when what is kept does
 * not reach back that far (the start of the call, or a burst of changes).
 */
static uint32_t held_rate(const struct mediapipe *m, uint64_t now)
{
        uint64_t from = now > MEDIAPIPE_UP_GAP_US ? now - MEDIAPIPE_UP_GAP_US : 0;
        unsigned have = m->n_rates < N_RATES ? m->n_rates : N_RATES;
        uint32_t low = UINT32_MAX;
        for (unsigned k = 1; k <= have; k++) {
                unsigned i = (m->n_rates - k) % N_RATES;
                if (m->rates[i].bps < low)
                        low = m->rates[i].bps;
                if (m->rates[i].at <= from)
                        return low; /* in effect when the window began */
        }
        return 0;
}

/* Follows the bitrate with the coded size and rate; one log line per change. */
static void adapt(struct mediapipe *m, uint64_t now)
{
        if (!m->venc || !m->video_bps || !m->cap_w || !m->cap_h)
                return;
        struct mediapipe_adapt next =
            mediapipe_adapt_video(m->adapt, m->video_bps, held_rate(m, now), m->cap_w, m->cap_h,
                                  m->fps, now - m->adapt_at);
        if (next.level == m->adapt.level && next.fps_div == m->adapt.fps_div)
                return;
        char from[40], to[40];
        bool with_fps = next.fps_div > 1 || m->adapt.fps_div > 1;
        describe_state(from, sizeof(from), m->adapt, m->cap_w, m->cap_h, m->fps, with_fps);
        describe_state(to, sizeof(to), next, m->cap_w, m->cap_h, m->fps, with_fps);
        log_info("media", "video: %s -> %s at %u kbit/s", from, to, m->video_bps / 1000);
        m->adapt = next;
        m->adapt_at = now;
        m->captured = 0;
}

static void pump_video(struct mediapipe *m)
{
        if (!m->vsrc || m->dead)
                return;
        const struct picture *pic;
        int rc;
        uint64_t now = clock_now_us();
        while ((rc = videosrc_read(m->vsrc, now, &pic)) == 1) {
                m->cap_w = pic->width;
                m->cap_h = pic->height;
                /*
                 * Per picture too: the bitrate is told only when it moves, and a step up may be
                 * due while it holds still.
                 */
                adapt(m, now);
                if (m->adapt.fps_div > 1 && m->captured++ % m->adapt.fps_div)
                        continue;
                const struct picture *in = pic;
                if (m->adapt.level > 0) {
                        unsigned w, h;
                        mediapipe_level_size(m->adapt.level, pic->width, pic->height, &w, &h);
                        if (picture_alloc(&m->scaled, w, h) < 0 ||
                            picture_scale(&m->scaled, pic) < 0) {
                                fail(m, "out of memory scaling the video picture");
                                return;
                        }
                        m->scaled.capture_us = pic->capture_us;
                        m->scaled.seq = pic->seq;
                        in = &m->scaled;
                }
                m->coded_w = in->width;
                m->coded_h = in->height;
                struct vp8enc_frame f;
                int erc = vp8enc_encode(m->venc, in, &f);
                if (erc < 0) {
                        fail(m, "the VP8 encoder failed");
                        return;
                }
                if (erc == 1 && session_send_frame(m->session, clock_now_us(), SESSION_VIDEO,
                                                   f.capture_us, f.data, f.len) == 0)
                        m->frames[SESSION_VIDEO]++;
        }
        if (rc < 0) {
                fail(m, videosrc_error(m->vsrc));
                return;
        }
        if (m->vtimer > 0)
                loop_cancel_timer(m->loop, m->vtimer);
        m->vtimer = 0;
        uint64_t d = videosrc_next_deadline(m->vsrc);
        if (d != CLOCK_NEVER)
                m->vtimer = loop_add_timer(m->loop, d, on_video_timer, m);
        m->cfg.after(m->cfg.arg);
}

static void pump_audio(struct mediapipe *m)
{
        if (!m->asrc || m->dead)
                return;
        const struct pcm_frame *pcm;
        int rc;
        while ((rc = audiosrc_read(m->asrc, clock_now_us(), &pcm)) == 1) {
                struct opusenc_packet pk;
                int erc = opusenc_encode(m->aenc, pcm, &pk);
                if (erc < 0) {
                        fail(m, "the Opus encoder failed");
                        return;
                }
                if (erc == 1 && session_send_frame(m->session, clock_now_us(), SESSION_AUDIO,
                                                   pk.capture_us, pk.data, pk.len) == 0)
                        m->frames[SESSION_AUDIO]++;
        }
        if (rc < 0) {
                fail(m, audiosrc_error(m->asrc));
                return;
        }
        if (m->atimer > 0)
                loop_cancel_timer(m->loop, m->atimer);
        m->atimer = 0;
        uint64_t d = audiosrc_next_deadline(m->asrc);
        if (d != CLOCK_NEVER)
                m->atimer = loop_add_timer(m->loop, d, on_audio_timer, m);
        m->cfg.after(m->cfg.arg);
}

static void on_video_timer(struct loop *loop, void *arg)
{
        (void)loop;
        struct mediapipe *m = arg;
        m->vtimer = 0;
        pump_video(m);
}

static void on_audio_timer(struct loop *loop, void *arg)
{
        (void)loop;
        struct mediapipe *m = arg;
        m->atimer = 0;
        pump_audio(m);
}

static void on_video_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)fd;
        (void)events;
        pump_video(arg);
}

static void on_audio_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
        (void)loop;
        (void)fd;
        (void)events;
        pump_audio(arg);
}

int mediapipe_open(const struct mediapipe_config *cfg, struct loop *loop, struct mediapipe **out,
                   char *err, size_t errlen)
{
        *out = NULL;
        struct mediapipe *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cfg = *cfg;
        m->loop = loop;
        m->adapt.fps_div = 1;
        struct merr me = {{0}};
        int rc = 0;
        size_t dl = 0;
        if (cfg->video) {
                struct videosrc_config vc = {.spec = cfg->video,
                                             .width = cfg->width,
                                             .height = cfg->height,
                                             .fps = cfg->fps};
                rc = videosrc_new(&vc, &m->vsrc, &me);
                if (rc == 0) {
                        const struct videosrc_info *vi = videosrc_get_info(m->vsrc);
                        unsigned fps =
                            vi->fps_den ? (vi->fps_num + vi->fps_den / 2) / vi->fps_den : 30;
                        m->fps = fps ? fps : 30;
                        m->cap_w = vi->width;
                        m->cap_h = vi->height;
                        struct vp8enc_config ec = {.width = vi->width,
                                                   .height = vi->height,
                                                   .fps = fps,
                                                   .bitrate_kbps = cfg->video_kbps,
                                                   /* libvpx's second thread spins while it
                                                    * waits: on two cores one thread is cheaper
                                                    * and fast enough for 640x480 (6 ms). */
                                                   .threads = 1};
                        rc = vp8enc_new(&ec, &m->venc, &me);
                        dl += (size_t)snprintf(m->desc + dl, sizeof(m->desc) - dl,
                                               "video %ux%u@%u VP8 from %s", vi->width, vi->height,
                                               fps, cfg->video);
                }
        }
        if (rc == 0 && cfg->audio) {
                struct audiosrc_config ac = {.spec = cfg->audio};
                rc = audiosrc_new(&ac, &m->asrc, &me);
                if (rc == 0) {
                        struct opusenc_config oc = {.channels = audiosrc_channels(m->asrc),
                                                    .bitrate_bps = cfg->audio_bps,
                                                    .fec = cfg->fec,
                                                    .dtx = cfg->dtx,
                                                    .complexity = -1};
                        rc = opusenc_new(&oc, &m->aenc, &me);
                        if (dl < sizeof(m->desc))
                                snprintf(m->desc + dl, sizeof(m->desc) - dl,
                                         "%saudio %u ch Opus from %s", dl ? ", " : "",
                                         audiosrc_channels(m->asrc), cfg->audio);
                }
        }
        if (rc < 0) {
                snprintf(err, errlen, "%s", me.msg[0] ? me.msg : strerror(-rc));
                mediapipe_free(m);
                return rc;
        }
        *out = m;
        return 0;
}

void mediapipe_start(struct mediapipe *m, struct session *session)
{
        if (m->started)
                return;
        m->started = true;
        m->session = session;
        if (m->vsrc) {
                int fd = videosrc_fd(m->vsrc);
                if (fd >= 0)
                        loop_add_fd(m->loop, fd, EPOLLIN, on_video_fd, m);
                pump_video(m);
        }
        if (m->asrc) {
                struct pollfd pfds[8];
                int n = audiosrc_pollfds(m->asrc, pfds, 8);
                for (int i = 0; i < n; i++)
                        loop_add_fd(m->loop, pfds[i].fd, EPOLLIN, on_audio_fd, m);
                pump_audio(m);
        }
}

/* Repeats of a request already being answered were filtered out by the RTP sender. */
void mediapipe_keyframe(struct mediapipe *m)
{
        if (m->venc)
                vp8enc_request_keyframe(m->venc);
}

const char *mediapipe_describe(const struct mediapipe *m)
{
        return m->desc;
}

uint64_t mediapipe_frames(const struct mediapipe *m, enum session_media media)
{
        return m->frames[media];
}

void mediapipe_free(struct mediapipe *m)
{
        if (!m)
                return;
        if (m->vtimer > 0)
                loop_cancel_timer(m->loop, m->vtimer);
        if (m->atimer > 0)
                loop_cancel_timer(m->loop, m->atimer);
        if (m->started && m->vsrc && videosrc_fd(m->vsrc) >= 0)
                loop_del_fd(m->loop, videosrc_fd(m->vsrc));
        if (m->started && m->asrc) {
                struct pollfd pfds[8];
                int n = audiosrc_pollfds(m->asrc, pfds, 8);
                for (int i = 0; i < n; i++)
                        loop_del_fd(m->loop, pfds[i].fd);
        }
        vp8enc_free(m->venc);
        picture_release(&m->scaled);
        videosrc_free(m->vsrc);
        opusenc_free(m->aenc);
        audiosrc_free(m->asrc);
        free(m);
}

void mediapipe_video_size(const struct mediapipe *m, unsigned *width, unsigned *height)
{
        *width = m->venc ? (m->coded_w ? m->coded_w : m->cap_w) : 0;
        *height = m->venc ? (m->coded_h ? m->coded_h : m->cap_h) : 0;
}

/* Each level's dimensions in quarters of the capture's. */
static const unsigned level_quarters[MEDIAPIPE_LEVELS] = {4, 3, 2, 1};

void mediapipe_level_size(unsigned level, unsigned width, unsigned height, unsigned *out_w,
                          unsigned *out_h)
{
        if (level == 0 || level >= MEDIAPIPE_LEVELS) {
                *out_w = width;
                *out_h = height;
                return;
        }
        /* Even, so that the chroma planes are exactly half and libvpx's macroblocks tidy. */
        unsigned q = level_quarters[level];
        unsigned w = (width * q / 4) & ~1u, h = (height * q / 4) & ~1u;
        *out_w = w < 2 ? 2 : w;
        *out_h = h < 2 ? 2 : h;
}

unsigned mediapipe_max_level(unsigned width, unsigned height)
{
        unsigned best = 0;
        for (unsigned l = 1; l < MEDIAPIPE_LEVELS; l++) {
                unsigned w, h;
                mediapipe_level_size(l, width, height, &w, &h);
                unsigned big = w > h ? w : h, small = w > h ? h : w;
                if (big < MEDIAPIPE_MIN_WIDTH || small < MEDIAPIPE_MIN_HEIGHT)
                        break;
                best = l;
        }
        return best;
}

/* Bits per coded pixel at a level and frame rate divider. */
static double bpp_at(unsigned level, unsigned div, uint32_t bps, unsigned w, unsigned h,
                     unsigned fps)
{
        unsigned cw, ch;
        mediapipe_level_size(level, w, h, &cw, &ch);
        return (double)bps * div / ((double)cw * ch * fps);
}

/*
 * The thresholds, in bits per coded pixel per coded frame, from libwebrtc's VP8 table of
 * per-size rates (kSimulcastFormats; at 30 fps):
 * - Down below MEDIAPIPE_DOWN_BPP (0.025): just above its minimum for a size (640x360 at
 *   150 kbit/s and 1280x720 at 600 kbit/s are 0.022), below which it stops sending that size.
 *   At 640x480 that is 230 kbit/s; one step smaller gets 1.8x the bits per pixel: a sharper
 *   small picture rather than a smeared large one.
 * - Up only when the larger size would get MEDIAPIPE_UP_BPP (0.06): just under its target
 *   rates (640x360 at 500 kbit/s is 0.072, 960x540 at 900 kbit/s 0.058), so that the larger
 *   size comes back at a rate it is meant to be coded at, with room for the key frame it
 *   costs. Between stepping down from a size and coming back to it the rate must grow 2.4x;
 *   GCC's sawtooth (0.85x on overuse, then at most +8%/s) spans far less: no flapping.
 * - Up at most one step per MEDIAPIPE_UP_GAP_US (2 s, libwebrtc's quality scaler measures over
 *   2 s too), and only when the rate has allowed it for that long (held_bps, the lowest of the
 *   last 2 s): each step costs a key frame, and GCC's estimate can leap for a moment (a probe
 *   or a burst of feedback; seen through a 150 kbit/s link: 40 -> 656 -> 92 kbit/s in 2 s).
 *   Down is at once and as far as needed: until then every frame is coded too coarsely or
 *   dropped.
 * The frame rate goes the same way, halved then thirded, below the smallest size only: in a
 * call smooth motion matters more than detail.
 * (rtcpeer's moving test pattern is much harder to code than a camera picture: at 640x480
 * libvpx codes it at its largest quantizer up to ~0.1 bit/pixel, and drops a fifth of the
 * frames at 0.06, three quarters at 0.025.)
 */
struct mediapipe_adapt mediapipe_adapt_video(struct mediapipe_adapt cur, uint32_t bps,
                                             uint32_t held_bps, unsigned width, unsigned height,
                                             unsigned fps, uint64_t since_change_us)
{
        if (!fps)
                fps = 30;
        unsigned maxl = mediapipe_max_level(width, height);
        struct mediapipe_adapt n = cur;
        if (n.level > maxl)
                n.level = maxl;
        if (n.fps_div < 1 || n.level < maxl)
                n.fps_div = 1;
        if (n.fps_div > MEDIAPIPE_MAX_FPS_DIV)
                n.fps_div = MEDIAPIPE_MAX_FPS_DIV;
        if (bpp_at(n.level, n.fps_div, bps, width, height, fps) < MEDIAPIPE_DOWN_BPP) {
                for (unsigned l = n.level + 1; l <= maxl; l++)
                        if (bpp_at(l, 1, bps, width, height, fps) >= MEDIAPIPE_DOWN_BPP)
                                return (struct mediapipe_adapt){.level = l, .fps_div = 1};
                n.level = maxl;
                while (n.fps_div < MEDIAPIPE_MAX_FPS_DIV &&
                       bpp_at(maxl, n.fps_div, bps, width, height, fps) < MEDIAPIPE_DOWN_BPP)
                        n.fps_div++;
                return n;
        }
        if (since_change_us < MEDIAPIPE_UP_GAP_US)
                return n;
        if (held_bps < bps)
                bps = held_bps;
        if (n.fps_div > 1) {
                if (bpp_at(n.level, n.fps_div - 1, bps, width, height, fps) >= MEDIAPIPE_UP_BPP)
                        n.fps_div--;
        } else if (n.level > 0 &&
                   bpp_at(n.level - 1, 1, bps, width, height, fps) >= MEDIAPIPE_UP_BPP) {
                n.level--;
        }
        return n;
}

void mediapipe_set_bitrate(struct mediapipe *m, enum session_media media, uint32_t bps,
                           unsigned loss_percent)
{
        if (media == SESSION_VIDEO && m->venc) {
                uint64_t now = clock_now_us();
                m->video_bps = bps;
                unsigned i = m->n_rates++ % N_RATES;
                m->rates[i].at = now;
                m->rates[i].bps = bps;
                adapt(m, now);
                vp8enc_set_bitrate(m->venc, bps / 1000 ? bps / 1000 : 1);
        } else if (media == SESSION_AUDIO && m->aenc) {
                opusenc_set_bitrate(m->aenc, bps < 6000 ? 6000 : bps > 510000 ? 510000 : bps);
                /* In-band FEC once loss is noticeable (or when asked for), sized to the loss. */
                bool fec = m->cfg.fec || loss_percent >= 3;
                opusenc_set_fec(m->aenc, fec, loss_percent);
        }
}

uint32_t mediapipe_video_bitrate(const struct mediapipe *m)
{
        return m->video_bps;
}
