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
#include "media/videosrc.h"
#include "media/vp8enc.h"

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
        /* Congestion control: below what the picture needs, every fps_div-th frame is coded. */
        unsigned fps_div;
        uint64_t captured;
        unsigned last_w, last_h;
        uint32_t video_bps;
        uint64_t last_keyframe_req;
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

static void pump_video(struct mediapipe *m)
{
        if (!m->vsrc || m->dead)
                return;
        const struct picture *pic;
        int rc;
        uint64_t now = clock_now_us();
        while ((rc = videosrc_read(m->vsrc, now, &pic)) == 1) {
                m->last_w = pic->width;
                m->last_h = pic->height;
                if (m->fps_div > 1 && m->captured++ % m->fps_div)
                        continue;
                struct vp8enc_frame f;
                int erc = vp8enc_encode(m->venc, pic, &f);
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

/*
 * A receiver repeats its PLI until a key frame reaches it; on a slow path one takes a while to
 * get through, and each repeat honoured would start another, starving the path further. So at
 * most one key frame per KEYFRAME_MIN_GAP_US.
 */
#define KEYFRAME_MIN_GAP_US 500000

void mediapipe_keyframe(struct mediapipe *m)
{
        uint64_t now = clock_now_us();
        if (!m->venc || (m->last_keyframe_req && now - m->last_keyframe_req < KEYFRAME_MIN_GAP_US))
                return;
        m->last_keyframe_req = now;
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
        videosrc_free(m->vsrc);
        opusenc_free(m->aenc);
        audiosrc_free(m->asrc);
        free(m);
}

/*
 * Bits per pixel the rate leaves at the capture rate: below ~0.025 VP8 pictures turn to mush,
 * so the frame rate halves (then thirds) instead, and comes back with some hysteresis.
 */
static unsigned fps_divider(const struct mediapipe *m, uint32_t bps)
{
        double px = (double)(m->last_w ? m->last_w : 640) * (m->last_h ? m->last_h : 480) *
                    (m->cfg.fps ? m->cfg.fps : 30);
        double bpp = (double)bps / px;
        unsigned cur = m->fps_div ? m->fps_div : 1;
        double up = cur > 1 ? 1.25 : 1.0; /* hysteresis: come back only with a margin */
        if (bpp >= 0.025 * up)
                return 1;
        if (bpp >= 0.0125 * (cur > 2 ? 1.25 : 1.0))
                return 2;
        return 3;
}

void mediapipe_set_bitrate(struct mediapipe *m, enum session_media media, uint32_t bps,
                           unsigned loss_percent)
{
        if (media == SESSION_VIDEO && m->venc) {
                unsigned div = fps_divider(m, bps);
                if (div != (m->fps_div ? m->fps_div : 1))
                        log_info("media", "video: %u kbit/s: coding %s", bps / 1000,
                                 div == 1   ? "every frame again"
                                 : div == 2 ? "every second frame"
                                            : "every third frame");
                m->fps_div = div;
                m->video_bps = bps;
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
