#include "media/vp8enc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "core/log.h"

struct vp8enc {
        struct vp8enc_config cfg;
        vpx_codec_ctx_t ctx;
        vpx_codec_enc_cfg_t enc_cfg;
        int ready;
        int force_key;
        unsigned init_w, init_h; /* the size the libvpx context was created with */
        uint64_t first_us;
        int64_t last_pts;
        int have_pts;
};

static int setup(struct vp8enc *e, unsigned w, unsigned h, struct merr *err)
{
        vpx_codec_enc_cfg_t *c = &e->enc_cfg;
        vpx_codec_err_t rc = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), c, 0);
        if (rc)
                return merr_set(err, -EINVAL, "vp8: %s", vpx_codec_err_to_string(rc));
        c->g_w = w;
        c->g_h = h;
        /* Microsecond timestamps: the capture times go in as they are. */
        c->g_timebase.num = 1;
        c->g_timebase.den = 1000000;
        c->g_threads = e->cfg.threads ? e->cfg.threads : (w * h >= 640 * 480 ? 2 : 1);
        c->g_lag_in_frames = 0;
        c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
        c->g_pass = VPX_RC_ONE_PASS;
        c->rc_end_usage = VPX_CBR;
        c->rc_target_bitrate = e->cfg.bitrate_kbps;
        c->rc_dropframe_thresh = 30;
        c->rc_resize_allowed = 0;
        c->rc_min_quantizer = 2;
        c->rc_max_quantizer = 56;
        c->rc_undershoot_pct = 100;
        c->rc_overshoot_pct = 15;
        c->rc_buf_initial_sz = 500;
        c->rc_buf_optimal_sz = 600;
        c->rc_buf_sz = 1000;
        c->kf_mode = VPX_KF_AUTO;
        c->kf_min_dist = 0;
        c->kf_max_dist = e->cfg.keyframe_max;
        rc = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
        if (rc)
                return merr_set(err, -EINVAL, "vp8: encoder init for %ux%u failed: %s", w, h,
                                vpx_codec_err_to_string(rc));
        e->ready = 1;
        e->init_w = w;
        e->init_h = h;
        /* Keyframes at most 3x an average frame, as real-time VP8 senders cap them. */
        unsigned fps = e->cfg.fps ? e->cfg.fps : 30;
        vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, e->cfg.cpu_used);
        vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
        vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
        vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
        vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT,
                          c->rc_buf_optimal_sz / 2 * fps / 10);
        e->have_pts = 0;
        return 0;
}

int vp8enc_new(const struct vp8enc_config *cfg, struct vp8enc **out, struct merr *err)
{
        *out = NULL;
        struct vp8enc *e = calloc(1, sizeof(*e));
        if (!e)
                return merr_set(err, -ENOMEM, "vp8: out of memory");
        e->cfg = *cfg;
        if (!e->cfg.bitrate_kbps)
                e->cfg.bitrate_kbps = VP8ENC_DEFAULT_KBPS;
        if (!e->cfg.cpu_used)
                e->cfg.cpu_used = VP8ENC_DEFAULT_CPU_USED;
        if (!e->cfg.keyframe_max)
                e->cfg.keyframe_max = VP8ENC_DEFAULT_KEY_DIST;
        int rc = setup(e, cfg->width, cfg->height, err);
        if (rc < 0) {
                free(e);
                return rc;
        }
        *out = e;
        return 0;
}

void vp8enc_free(struct vp8enc *e)
{
        if (!e)
                return;
        if (e->ready)
                vpx_codec_destroy(&e->ctx);
        free(e);
}

int vp8enc_set_bitrate(struct vp8enc *e, unsigned kbps)
{
        if (kbps < 10 || kbps > 100000)
                return -EINVAL;
        e->cfg.bitrate_kbps = kbps;
        e->enc_cfg.rc_target_bitrate = kbps;
        return vpx_codec_enc_config_set(&e->ctx, &e->enc_cfg) ? -EINVAL : 0;
}

unsigned vp8enc_bitrate(const struct vp8enc *e)
{
        return e->cfg.bitrate_kbps;
}

void vp8enc_request_keyframe(struct vp8enc *e)
{
        e->force_key = 1;
}

/*
 * A new picture size. libvpx's VP8 takes one up to the size it was created with through
 * vpx_codec_enc_config_set (vp8e_set_config refuses larger ones: "Cannot increase width or
 * height larger than their initial values"; checked with Debian 12's 1.12), so congestion
 * control's smaller pictures and the way back need no new context; a larger one does. Either
 * way the next frame is a key frame: a decoder can take a new size only from one.
 */
static int resize(struct vp8enc *e, unsigned w, unsigned h)
{
        if (e->ready && w <= e->init_w && h <= e->init_h) {
                vpx_codec_enc_cfg_t c = e->enc_cfg;
                c.g_w = w;
                c.g_h = h;
                if (vpx_codec_enc_config_set(&e->ctx, &c) == VPX_CODEC_OK) {
                        log_debug("media", "vp8: coding %ux%u now", w, h);
                        e->enc_cfg = c;
                        e->force_key = 1;
                        return 0;
                }
                log_debug("media", "vp8: %ux%u refused (%s); restarting the encoder", w, h,
                          vpx_codec_error(&e->ctx));
        } else {
                log_info("media", "vp8: picture size now %ux%u, restarting the encoder", w, h);
        }
        if (e->ready)
                vpx_codec_destroy(&e->ctx);
        e->ready = 0;
        int rc = setup(e, w, h, NULL);
        if (rc < 0)
                return rc;
        e->force_key = 1;
        return 0;
}

int vp8enc_encode(struct vp8enc *e, const struct picture *p, struct vp8enc_frame *out)
{
        if (p->width != e->enc_cfg.g_w || p->height != e->enc_cfg.g_h) {
                int rc = resize(e, p->width, p->height);
                if (rc < 0)
                        return rc;
        }
        vpx_image_t img;
        memset(&img, 0, sizeof(img));
        vpx_img_wrap(&img, VPX_IMG_FMT_I420, p->width, p->height, 1, p->plane[0]);
        for (int i = 0; i < 3; i++) {
                img.planes[i] = p->plane[i];
                img.stride[i] = (int)p->stride[i];
        }
        if (!e->have_pts) {
                e->first_us = p->capture_us;
                e->last_pts = -1;
                e->have_pts = 1;
        }
        /* Strictly increasing pts, whatever the source's clock does. */
        int64_t pts = (int64_t)(p->capture_us - e->first_us);
        if (pts <= e->last_pts)
                pts = e->last_pts + 1;
        unsigned long dur = 1000000UL / (e->cfg.fps ? e->cfg.fps : 30);
        vpx_enc_frame_flags_t flags = e->force_key ? VPX_EFLAG_FORCE_KF : 0;
        vpx_codec_err_t rc = vpx_codec_encode(&e->ctx, &img, pts, dur, flags, VPX_DL_REALTIME);
        if (rc) {
                log_warn("media", "vp8: encode failed: %s",
                         vpx_codec_error_detail(&e->ctx) ? vpx_codec_error_detail(&e->ctx)
                                                         : vpx_codec_err_to_string(rc));
                return -EIO;
        }
        e->last_pts = pts;
        vpx_codec_iter_t iter = NULL;
        const vpx_codec_cx_pkt_t *pkt;
        int got = 0;
        while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter))) {
                if (pkt->kind != VPX_CODEC_CX_FRAME_PKT || got)
                        continue;
                out->data = pkt->data.frame.buf;
                out->len = pkt->data.frame.sz;
                out->keyframe = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
                out->capture_us = p->capture_us;
                got = 1;
        }
        if (got && out->keyframe)
                e->force_key = 0;
        return got;
}
