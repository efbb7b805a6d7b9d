/*
 * CPU cost of the media send path against the codecs alone: 60 s of 640x480@30 test pattern
 * through VP8 at 1 Mbit/s and 60 s of a tone through Opus, once with libvpx/libopus called
 * directly (same settings, same pictures) and once through videosrc/vp8enc and audiosrc/opusenc.
 * The ratio is the overhead of everything outside the codecs.
 *
 *   encode_bench                   the above, frames back to back, as fast as possible
 *   encode_bench --paced [SECONDS] libvpx and libopus called directly, each 33.3 ms VP8 frame
 *                                  and each 20 ms Opus frame encoded at its real-time instant
 *                                  (sleeping until it), in time order like a live sender;
 *                                  SECONDS of media, default 60, so that much wall time
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* libvpx with the wrapper's settings; *img is the image pictures are drawn straight into. */
static void vp8_direct_open(vpx_codec_ctx_t *ctx, vpx_image_t **img, struct picture *p)
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
        if (vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), &c, 0))
                exit(1);
        vpx_codec_control(ctx, VP8E_SET_CPUUSED, VP8ENC_DEFAULT_CPU_USED);
        vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, 1);
        vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
        vpx_codec_control(ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
        vpx_codec_control(ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900);
        *img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, 640, 480, 32);
        if (!*img)
                exit(1);
        *p = (struct picture){.width = 640, .height = 480};
        for (int i = 0; i < 3; i++) {
                p->plane[i] = (*img)->planes[i];
                p->stride[i] = (unsigned)(*img)->stride[i];
        }
}

/* Draws frame n of the test pattern into img and encodes it; returns the bytes produced. */
static size_t vp8_direct_frame(vpx_codec_ctx_t *ctx, vpx_image_t *img, struct picture *p,
                               uint64_t n)
{
        size_t bytes = 0;
        testpattern_draw(p, n, n * 33333);
        if (vpx_codec_encode(ctx, img, (vpx_codec_pts_t)(n * 33333), 33333, 0, VPX_DL_REALTIME))
                exit(1);
        vpx_codec_iter_t it = NULL;
        const vpx_codec_cx_pkt_t *pkt;
        while ((pkt = vpx_codec_get_cx_data(ctx, &it)))
                if (pkt->kind == VPX_CODEC_CX_FRAME_PKT)
                        bytes += pkt->data.frame.sz;
        return bytes;
}

/* libvpx with the wrapper's settings, fed pictures drawn straight into its image. */
static double vp8_direct(size_t *bytes)
{
        vpx_codec_ctx_t ctx;
        vpx_image_t *img;
        struct picture p;
        vp8_direct_open(&ctx, &img, &p);
        *bytes = 0;
        double t0 = cpu_now();
        for (uint64_t n = 0; n < VIDEO_FRAMES; n++)
                *bytes += vp8_direct_frame(&ctx, img, &p, n);
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

/* libopus with the wrapper's settings. */
static OpusEncoder *opus_direct_open(void)
{
        int e;
        OpusEncoder *enc = opus_encoder_create(PCM_RATE, 1, OPUS_APPLICATION_VOIP, &e);
        if (!enc)
                exit(1);
        opus_encoder_ctl(enc, OPUS_SET_BITRATE(OPUSENC_DEFAULT_BPS));
        opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(9));
        opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(0));
        opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(0));
        opus_encoder_ctl(enc, OPUS_SET_DTX(0));
        return enc;
}

/* Generates the next 20 ms of the 440 Hz tone and encodes it; returns the bytes produced. */
static size_t opus_direct_frame(OpusEncoder *enc, double *phase)
{
        int16_t pcm[PCM_FRAME_SAMPLES];
        uint8_t out[OPUSENC_MAX_PACKET];
        const double step = 2 * M_PI * 440 / PCM_RATE;
        for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++) {
                pcm[i] = (int16_t)lrint(9830 * sin(*phase));
                *phase += step;
        }
        *phase = fmod(*phase, 2 * M_PI);
        opus_int32 len = opus_encode(enc, pcm, PCM_FRAME_SAMPLES, out, sizeof(out));
        if (len < 0)
                exit(1);
        return (size_t)len;
}

static double opus_direct(size_t *bytes)
{
        OpusEncoder *enc = opus_direct_open();
        double phase = 0;
        *bytes = 0;
        double t0 = cpu_now();
        for (unsigned n = 0; n < AUDIO_FRAMES; n++)
                *bytes += opus_direct_frame(enc, &phase);
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

static double rusage_cpu(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
}

static uint64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The codecs as a live sender runs them: video frame n is due at n / 30 s and audio frame m at
 * m * 20 ms after the start; the loop sleeps (clock_nanosleep, TIMER_ABSTIME) until the earlier
 * of the two is due, then draws and encodes it. A late frame is encoded at once, none is skipped.
 * The CPU is the whole process's over the loop, sleeping included (its system calls and wake-ups
 * are part of what a paced sender costs); the VP8 and Opus shares are the CPU inside each
 * frame's draw/tone + encode.
 */
static int paced(unsigned seconds)
{
        const uint64_t vframes = (uint64_t)seconds * FPS;
        const uint64_t aframes = (uint64_t)seconds * 1000 / PCM_FRAME_MS;
        vpx_codec_ctx_t vctx;
        vpx_image_t *img;
        struct picture p;
        vp8_direct_open(&vctx, &img, &p);
        OpusEncoder *aenc = opus_direct_open();
        double phase = 0, vcpu = 0, acpu = 0, max_late_ms = 0;
        size_t vbytes = 0, abytes = 0;
        unsigned late = 0;
        uint64_t vn = 0, an = 0;

        double c0 = cpu_now(), r0 = rusage_cpu();
        const uint64_t start = mono_ns() + 1000000; /* first frames 1 ms from now */
        while (vn < vframes || an < aframes) {
                uint64_t vdue = start + vn * 1000000000u / FPS;
                uint64_t adue = start + an * PCM_FRAME_MS * 1000000u;
                int video = vn < vframes && (an >= aframes || vdue < adue);
                uint64_t due = video ? vdue : adue;
                struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
                                      .tv_nsec = (long)(due % 1000000000u)};
                int rc;
                while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
                        ;
                if (rc)
                        exit(1);
                uint64_t now = mono_ns();
                if (now > due + 5000000u) { /* more than 5 ms behind its instant */
                        late++;
                        if ((now - due) / 1e6 > max_late_ms)
                                max_late_ms = (now - due) / 1e6;
                }
                double t = cpu_now();
                if (video) {
                        vbytes += vp8_direct_frame(&vctx, img, &p, vn++);
                        vcpu += cpu_now() - t;
                } else {
                        abytes += opus_direct_frame(aenc, &phase);
                        an++;
                        acpu += cpu_now() - t;
                }
        }
        double cpu = cpu_now() - c0, ru = rusage_cpu() - r0;
        double wall = (mono_ns() - start) / 1e9;
        vpx_img_free(img);
        vpx_codec_destroy(&vctx);
        opus_encoder_destroy(aenc);

        printf("encode_bench --paced: CPU seconds for %u s of media, each frame encoded at its "
               "real-time instant (lower is better)\n",
               seconds);
        printf(
            "  VP8 640x480@30 1 Mbit/s paced  %7.3f s  %8.0f kbit/s  (1 thread, incl. drawing)\n",
            vcpu, vbytes * 8.0 / seconds / 1000);
        printf("  Opus 48 kHz mono paced         %7.3f s  %8.1f kbit/s  (incl. the tone)\n", acpu,
               abytes * 8.0 / seconds / 1000);
        printf("  paced process total            %7.3f s  getrusage %.3f s  wall %.3f s\n", cpu, ru,
               wall);
        printf("  paced CPU per minute of media  %7.3f s  (%llu video + %llu audio frames, "
               "%u late by > 5 ms, at most %.1f ms)\n",
               cpu * 60 / seconds, (unsigned long long)vframes, (unsigned long long)aframes, late,
               max_late_ms);
        return 0;
}

static void usage(const char *argv0)
{
        fprintf(stderr, "usage: %s [--paced [SECONDS]]\n", argv0);
        exit(2);
}

int main(int argc, char **argv)
{
        if (argc > 1) {
                if (strcmp(argv[1], "--paced") || argc > 3)
                        usage(argv[0]);
                unsigned long seconds = 60;
                if (argc == 3) {
                        char *end;
                        errno = 0;
                        seconds = strtoul(argv[2], &end, 10);
                        if (errno || *end || end == argv[2] || seconds == 0 || seconds > 86400)
                                usage(argv[0]);
                }
                return paced((unsigned)seconds);
        }

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
