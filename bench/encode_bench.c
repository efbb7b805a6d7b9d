/*
 * CPU cost of the media send path against the codecs alone: 60 s of 640x480@30 test pattern
 * through VP8 at 1 Mbit/s and 60 s of a tone through Opus, once with libvpx/libopus called
 * directly (same settings, same pictures) and once through videosrc/vp8enc and audiosrc/opusenc.
 * The ratio is the overhead of everything outside the codecs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "media/audiosrc.h"
#include "media/opusenc.h"
#include "media/testpattern.h"
#include "media/videosrc.h"
#include "media/vp8enc.h"

#define SECONDS      60
#define FPS          30
#define VIDEO_FRAMES (SECONDS * FPS)
#define AUDIO_FRAMES (SECONDS * 1000 / PCM_FRAME_MS)

static double cpu_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* libvpx with the wrapper's settings, fed pictures drawn straight into its image. */
static double vp8_direct(size_t *bytes)
{
        vpx_codec_enc_cfg_t c;
        vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &c, 0);
        c.g_w = 640;
        c.g_h = 480;
        c.g_timebase.num = 1;
        c.g_timebase.den = 1000000;
        c.g_threads = 1;
        c.g_lag_in_frames = 0;
        c.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
        c.rc_end_usage = VPX_CBR;
        c.rc_target_bitrate = 1000;
        c.rc_dropframe_thresh = 30;
        c.rc_min_quantizer = 2;
        c.rc_max_quantizer = 56;
        c.rc_undershoot_pct = 100;
        c.rc_overshoot_pct = 15;
        c.rc_buf_initial_sz = 500;
        c.rc_buf_optimal_sz = 600;
        c.rc_buf_sz = 1000;
        c.kf_max_dist = VP8ENC_DEFAULT_KEY_DIST;
        vpx_codec_ctx_t ctx;
        if (vpx_codec_enc_init(&ctx, vpx_codec_vp8_cx(), &c, 0))
                exit(1);
        vpx_codec_control(&ctx, VP8E_SET_CPUUSED, VP8ENC_DEFAULT_CPU_USED);
        vpx_codec_control(&ctx, VP8E_SET_STATIC_THRESHOLD, 1);
        vpx_codec_control(&ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
        vpx_codec_control(&ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
        vpx_codec_control(&ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900);
        vpx_image_t *img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, 640, 480, 32);
        struct picture p = {.width = 640, .height = 480};
        for (int i = 0; i < 3; i++) {
                p.plane[i] = img->planes[i];
                p.stride[i] = (unsigned)img->stride[i];
        }
        *bytes = 0;
        double t0 = cpu_now();
        for (uint64_t n = 0; n < VIDEO_FRAMES; n++) {
                testpattern_draw(&p, n, n * 33333);
                if (vpx_codec_encode(&ctx, img, (vpx_codec_pts_t)(n * 33333), 33333, 0,
                                     VPX_DL_REALTIME))
                        exit(1);
                vpx_codec_iter_t it = NULL;
                const vpx_codec_cx_pkt_t *pkt;
                while ((pkt = vpx_codec_get_cx_data(&ctx, &it)))
                        if (pkt->kind == VPX_CODEC_CX_FRAME_PKT)
                                *bytes += pkt->data.frame.sz;
        }
        double t = cpu_now() - t0;
        vpx_img_free(img);
        vpx_codec_destroy(&ctx);
        return t;
}

static double vp8_wrapped(size_t *bytes)
{
        struct merr err;
        struct videosrc_config vc = {.spec = "test:640x480@30"};
        struct vp8enc_config ec = {
            .width = 640, .height = 480, .fps = FPS, .bitrate_kbps = 1000, .threads = 1};
        struct videosrc *src;
        struct vp8enc *enc;
        if (videosrc_new(&vc, &src, &err) || vp8enc_new(&ec, &enc, &err))
                exit(1);
        *bytes = 0;
        double t0 = cpu_now();
        uint64_t now = 1000000;
        for (unsigned n = 0; n < VIDEO_FRAMES; n++) {
                const struct picture *p;
                struct vp8enc_frame f;
                /* The time the loop would wake: the source's next deadline. */
                now = videosrc_next_deadline(src) > now ? videosrc_next_deadline(src) : now;
                if (videosrc_read(src, now, &p) != 1)
                        exit(1);
                int rc = vp8enc_encode(enc, p, &f);
                if (rc < 0)
                        exit(1);
                if (rc)
                        *bytes += f.len;
        }
        double t = cpu_now() - t0;
        vp8enc_free(enc);
        videosrc_free(src);
        return t;
}

static double draw_only(void)
{
        struct picture p = {0};
        if (picture_alloc(&p, 640, 480))
                exit(1);
        double t0 = cpu_now();
        for (uint64_t n = 0; n < VIDEO_FRAMES; n++)
                testpattern_draw(&p, n, n * 33333);
        double t = cpu_now() - t0;
        picture_release(&p);
        return t;
}

static double opus_direct(size_t *bytes)
{
        int e;
        OpusEncoder *enc = opus_encoder_create(PCM_RATE, 1, OPUS_APPLICATION_VOIP, &e);
        opus_encoder_ctl(enc, OPUS_SET_BITRATE(OPUSENC_DEFAULT_BPS));
        opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(9));
        opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(0));
        opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(0));
        opus_encoder_ctl(enc, OPUS_SET_DTX(0));
        int16_t pcm[PCM_FRAME_SAMPLES];
        uint8_t out[OPUSENC_MAX_PACKET];
        double phase = 0, step = 2 * M_PI * 440 / PCM_RATE;
        *bytes = 0;
        double t0 = cpu_now();
        for (unsigned n = 0; n < AUDIO_FRAMES; n++) {
                for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++) {
                        pcm[i] = (int16_t)lrint(9830 * sin(phase));
                        phase += step;
                }
                phase = fmod(phase, 2 * M_PI);
                opus_int32 len = opus_encode(enc, pcm, PCM_FRAME_SAMPLES, out, sizeof(out));
                if (len < 0)
                        exit(1);
                *bytes += (size_t)len;
        }
        double t = cpu_now() - t0;
        opus_encoder_destroy(enc);
        return t;
}

static double opus_wrapped(size_t *bytes)
{
        struct merr err;
        struct audiosrc_config ac = {.spec = "test:440"};
        struct opusenc_config oc = {.channels = 1, .complexity = -1};
        struct audiosrc *src;
        struct opusenc *enc;
        if (audiosrc_new(&ac, &src, &err) || opusenc_new(&oc, &enc, &err))
                exit(1);
        *bytes = 0;
        double t0 = cpu_now();
        uint64_t now = 1000000;
        for (unsigned n = 0; n < AUDIO_FRAMES; n++) {
                const struct pcm_frame *f;
                struct opusenc_packet pkt;
                now = audiosrc_next_deadline(src) > now ? audiosrc_next_deadline(src) : now;
                if (audiosrc_read(src, now, &f) != 1 || opusenc_encode(enc, f, &pkt) != 1)
                        exit(1);
                *bytes += pkt.len;
        }
        double t = cpu_now() - t0;
        opusenc_free(enc);
        audiosrc_free(src);
        return t;
}

static double min2(double a, double b)
{
        return a < b ? a : b;
}

int main(void)
{
        size_t vb_direct, vb_wrapped, ab_direct, ab_wrapped;
        /*
         * One encoder thread: libvpx's worker threads spin while waiting, so with two threads the
         * CPU time mostly measures how busy the machine is. Each side runs twice, interleaved,
         * and the faster run counts, to keep other load out of the ratio.
         */
        double draw = draw_only();
        double vd = vp8_direct(&vb_direct), vw = vp8_wrapped(&vb_wrapped);
        vd = min2(vd, vp8_direct(&vb_direct));
        vw = min2(vw, vp8_wrapped(&vb_wrapped));
        double od = opus_direct(&ab_direct), ow = opus_wrapped(&ab_wrapped);
        od = min2(od, opus_direct(&ab_direct));
        ow = min2(ow, opus_wrapped(&ab_wrapped));
        printf("encode_bench: CPU seconds for %d s of media, best of 2 (lower is better)\n",
               SECONDS);
        printf("  test pattern drawing alone     %7.3f s  (%.2f ms/frame, in both VP8 runs)\n",
               draw, draw * 1000 / VIDEO_FRAMES);
        printf("  VP8 640x480@30 1 Mbit/s direct %7.3f s  %8.0f kbit/s  (1 thread)\n", vd,
               vb_direct * 8.0 / SECONDS / 1000);
        printf("  VP8 via videosrc + vp8enc      %7.3f s  %8.0f kbit/s  ratio %.3f\n", vw,
               vb_wrapped * 8.0 / SECONDS / 1000, vw / vd);
        printf("  Opus 48 kHz mono direct        %7.3f s  %8.1f kbit/s\n", od,
               ab_direct * 8.0 / SECONDS / 1000);
        printf("  Opus via audiosrc + opusenc    %7.3f s  %8.1f kbit/s  ratio %.3f\n", ow,
               ab_wrapped * 8.0 / SECONDS / 1000, ow / od);
        return 0;
}
