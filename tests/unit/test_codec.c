#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/opusdec.h"
#include "media/opusenc.h"
#include "media/pcm.h"
#include "media/picture.h"
#include "media/testpattern.h"
#include "media/vp8dec.h"
#include "media/vp8enc.h"

#define FRAME_US 33333ULL

static struct vp8enc *new_encoder(unsigned w, unsigned h, unsigned kbps)
{
        struct vp8enc_config cfg = {.width = w, .height = h, .fps = 30, .bitrate_kbps = kbps};
        struct vp8enc *e;
        struct merr err;
        assert_int_equal(vp8enc_new(&cfg, &e, &err), 0);
        return e;
}

static void draw(struct picture *p, uint64_t n)
{
        p->seq = n;
        p->capture_us = 1000000000ULL + n * FRAME_US;
        testpattern_draw(p, n, p->capture_us);
}

static void test_vp8_roundtrip(void **state)
{
        (void)state;
        struct vp8enc *e = new_encoder(640, 480, 1000);
        struct vp8dec *d;
        struct merr err;
        assert_int_equal(vp8dec_new(&d, &err), 0);
        struct picture in = {0}, out;
        assert_int_equal(picture_alloc(&in, 640, 480), 0);
        unsigned encoded = 0, read_back = 0;
        size_t bytes = 0;
        for (uint64_t n = 0; n < 90; n++) {
                draw(&in, n);
                struct vp8enc_frame f;
                int rc = vp8enc_encode(e, &in, &f);
                assert_true(rc == 0 || rc == 1);
                if (rc == 0)
                        continue;
                encoded++;
                bytes += f.len;
                assert_int_equal(f.capture_us, in.capture_us);
                if (n == 0)
                        assert_true(f.keyframe);
                assert_int_equal(vp8dec_decode(d, f.data, f.len, &out), 1);
                assert_int_equal(out.width, 640);
                assert_int_equal(out.height, 480);
                uint64_t seq, t;
                if (testpattern_read(&out, &seq, &t) == 0) {
                        assert_int_equal(seq, n);
                        assert_int_equal(t, in.capture_us);
                        read_back++;
                }
        }
        /* Rate control may drop a frame or two, and the digits must survive every frame sent. */
        assert_true(encoded >= 80);
        assert_int_equal(read_back, encoded);
        /* 3 s at 1 Mbit/s: within a factor of two of 375 kB. */
        assert_true(bytes > 375000 / 2 && bytes < 375000 * 2);
        printf("# vp8 640x480: %u frames, %zu bytes in 3 s (%.0f kbit/s)\n", encoded, bytes,
               bytes * 8 / 3000.0);
        /* Garbage is refused, not crashed on. */
        uint8_t junk[100];
        memset(junk, 0x5a, sizeof(junk));
        assert_int_equal(vp8dec_decode(d, junk, sizeof(junk), &out), -EBADMSG);
        picture_release(&in);
        vp8enc_free(e);
        vp8dec_free(d);
        vp8enc_free(NULL);
        vp8dec_free(NULL);
}

static void test_vp8_keyframe_on_request(void **state)
{
        (void)state;
        struct vp8enc *e = new_encoder(320, 240, 500);
        struct picture in = {0};
        assert_int_equal(picture_alloc(&in, 320, 240), 0);
        unsigned keys = 0, frames = 0;
        for (uint64_t n = 0; n < 60; n++) {
                if (n == 30)
                        vp8enc_request_keyframe(e);
                draw(&in, n);
                struct vp8enc_frame f;
                int rc = vp8enc_encode(e, &in, &f);
                assert_true(rc >= 0);
                if (!rc)
                        continue;
                frames++;
                if (f.keyframe) {
                        keys++;
                        assert_true(n == 0 || n == 30);
                }
        }
        assert_int_equal(keys, 2);
        assert_true(frames >= 50);
        picture_release(&in);
        vp8enc_free(e);
}

static size_t encode_bytes(struct vp8enc *e, struct picture *in, uint64_t from, uint64_t to,
                           uint64_t count_from)
{
        size_t bytes = 0;
        for (uint64_t n = from; n < to; n++) {
                draw(in, n);
                struct vp8enc_frame f;
                int rc = vp8enc_encode(e, in, &f);
                assert_true(rc >= 0);
                if (rc && n >= count_from)
                        bytes += f.len;
        }
        return bytes;
}

static void test_vp8_bitrate_change(void **state)
{
        (void)state;
        struct vp8enc *e = new_encoder(640, 480, 1500);
        struct picture in = {0};
        assert_int_equal(picture_alloc(&in, 640, 480), 0);
        size_t high = encode_bytes(e, &in, 0, 120, 60);
        assert_int_equal(vp8enc_set_bitrate(e, 200), 0);
        assert_int_equal(vp8enc_bitrate(e), 200);
        size_t low = encode_bytes(e, &in, 120, 240, 180);
        printf("# vp8 2 s at 1500 kbit/s: %zu bytes, then at 200 kbit/s: %zu bytes\n", high, low);
        /* Each within a factor of two of its target: 375 kB and 50 kB. */
        assert_true(high > 375000 / 2 && high < 375000 * 2);
        assert_true(low > 50000 / 2 && low < 50000 * 2);
        assert_int_equal(vp8enc_set_bitrate(e, 1), -EINVAL);
        /* A new picture size restarts the encoder with a keyframe. */
        struct picture small = {0};
        assert_int_equal(picture_alloc(&small, 320, 240), 0);
        draw(&small, 240);
        struct vp8enc_frame f;
        assert_int_equal(vp8enc_encode(e, &small, &f), 1);
        assert_true(f.keyframe);
        picture_release(&small);
        picture_release(&in);
        vp8enc_free(e);
}

/*
 * Congestion control's resolution steps: pictures scaled from a 640x480 capture, the encoder
 * reconfigured in place (smaller, then back to its first size) or restarted (larger than that),
 * each change starting with a key frame that libvpx's decoder takes at the new size.
 */
static void test_vp8_size_change(void **state)
{
        (void)state;
        struct vp8enc *e = new_encoder(640, 480, 800);
        struct vp8dec *d;
        struct merr err;
        assert_int_equal(vp8dec_new(&d, &err), 0);
        struct picture cap = {0}, coded = {0}, out;
        assert_int_equal(picture_alloc(&cap, 640, 480), 0);
        static const unsigned steps[][2] = {{640, 480}, {480, 360}, {320, 240},
                                            {160, 120}, {320, 240}, {640, 480}};
        uint64_t n = 0;
        for (unsigned k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
                unsigned w = steps[k][0], h = steps[k][1], decoded = 0, keys = 0;
                assert_int_equal(picture_alloc(&coded, w, h), 0);
                for (unsigned i = 0; i < 20; i++, n++) {
                        draw(&cap, n);
                        assert_int_equal(picture_scale(&coded, &cap), 0);
                        coded.capture_us = cap.capture_us;
                        struct vp8enc_frame f;
                        int rc = vp8enc_encode(e, &coded, &f);
                        assert_true(rc == 0 || rc == 1);
                        if (!rc)
                                continue;
                        /* The first frame at a new size is a key frame. */
                        if (decoded == 0)
                                assert_true(f.keyframe);
                        keys += f.keyframe;
                        assert_int_equal(vp8dec_decode(d, f.data, f.len, &out), 1);
                        assert_int_equal(out.width, w);
                        assert_int_equal(out.height, h);
                        decoded++;
                }
                printf("# vp8 %ux%u: %u frames decoded, %u key\n", w, h, decoded, keys);
                assert_true(decoded >= 10);
                assert_int_equal(keys, 1);
        }
        /* Back at the full size the digits read again: the picture came back whole. */
        uint64_t seq;
        assert_int_equal(testpattern_read(&out, &seq, NULL), 0);
        /* Larger than the encoder was made for: a restart, still decodable. */
        struct vp8enc *small = new_encoder(320, 240, 500);
        struct vp8enc_frame f;
        draw(&cap, n);
        assert_int_equal(vp8enc_encode(small, &cap, &f), 1);
        assert_true(f.keyframe);
        assert_int_equal(vp8dec_decode(d, f.data, f.len, &out), 1);
        assert_true(out.width == 640 && out.height == 480);
        vp8enc_free(small);
        picture_release(&cap);
        picture_release(&coded);
        vp8enc_free(e);
        vp8dec_free(d);
}

static double rms(const int16_t *s, size_t n)
{
        double acc = 0;
        for (size_t i = 0; i < n; i++)
                acc += (double)s[i] * s[i];
        return sqrt(acc / n);
}

/* Power of one frequency (Goertzel), to tell the tone from noise of the same energy. */
static double tone_power(const int16_t *s, size_t n, double hz)
{
        double w = 2 * M_PI * hz / PCM_RATE, c = 2 * cos(w), s1 = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
                double s0 = s[i] + c * s1 - s2;
                s2 = s1;
                s1 = s0;
        }
        return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

static void make_tone(int16_t *buf, unsigned channels, uint64_t frame, double hz)
{
        for (unsigned i = 0; i < PCM_FRAME_SAMPLES; i++) {
                double t = (double)(frame * PCM_FRAME_SAMPLES + i) / PCM_RATE;
                int16_t v = (int16_t)lrint(9830 * sin(2 * M_PI * hz * t));
                for (unsigned c = 0; c < channels; c++)
                        buf[i * channels + c] = v;
        }
}

static void test_opus_roundtrip(void **state)
{
        (void)state;
        for (unsigned channels = 1; channels <= 2; channels++) {
                struct opusenc_config cfg = {
                    .channels = channels, .bitrate_bps = 48000, .complexity = -1};
                struct opusenc *e;
                struct opusdec *d;
                struct merr err;
                assert_int_equal(opusenc_new(&cfg, &e, &err), 0);
                assert_int_equal(opusdec_new(channels, &d, &err), 0);
                int16_t in[PCM_FRAME_SAMPLES * 2], out[PCM_FRAME_SAMPLES * 2 * 50];
                struct pcm_frame f = {.samples = in, .channels = channels};
                size_t bytes = 0;
                for (uint64_t n = 0; n < 50; n++) {
                        make_tone(in, channels, n, 1000);
                        f.capture_us = n * 20000;
                        struct opusenc_packet pkt;
                        assert_int_equal(opusenc_encode(e, &f, &pkt), 1);
                        assert_int_equal(pkt.capture_us, f.capture_us);
                        bytes += pkt.len;
                        assert_int_equal(opusdec_decode(d, pkt.data, pkt.len,
                                                        out + n * PCM_FRAME_SAMPLES * channels,
                                                        PCM_FRAME_SAMPLES),
                                         PCM_FRAME_SAMPLES);
                }
                /* Skip the first 100 ms (codec delay and start-up), compare the rest. */
                size_t skip = 5 * PCM_FRAME_SAMPLES * channels,
                       n = 45 * PCM_FRAME_SAMPLES * channels;
                double r = rms(out + skip, n), want = 9830 / sqrt(2);
                printf("# opus %u ch: %zu bytes/s, rms %.0f (sent %.0f)\n", channels, bytes, r,
                       want);
                assert_true(fabs(r - want) < 0.15 * want);
                if (channels == 1) {
                        assert_true(tone_power(out + skip, n, 1000) >
                                    100 * tone_power(out + skip, n, 1700));
                }
                /* 48 kbit/s: 6000 bytes in 1 s, give or take. */
                assert_true(bytes > 3000 && bytes < 9000);
                /* Concealment of a lost frame gives 20 ms. */
                assert_int_equal(opusdec_decode(d, NULL, 0, out, PCM_FRAME_SAMPLES),
                                 PCM_FRAME_SAMPLES);
                f.channels = 3 - channels;
                struct opusenc_packet pkt;
                assert_int_equal(opusenc_encode(e, &f, &pkt), -EINVAL);
                opusenc_free(e);
                opusdec_free(d);
        }
        opusenc_free(NULL);
        opusdec_free(NULL);
}

/* Counts packets carrying FEC over 1 s of tone, and checks recovery of a lost frame. */
static unsigned fec_packets(bool fec, double *recovered_rms)
{
        struct opusenc_config cfg = {
            .channels = 1, .bitrate_bps = 24000, .fec = fec, .loss_percent = 20, .complexity = -1};
        struct opusenc *e;
        struct opusdec *d;
        struct merr err;
        assert_int_equal(opusenc_new(&cfg, &e, &err), 0);
        assert_int_equal(opusdec_new(1, &d, &err), 0);
        int16_t in[PCM_FRAME_SAMPLES], out[PCM_FRAME_SAMPLES];
        struct pcm_frame f = {.samples = in, .channels = 1};
        unsigned with = 0;
        for (uint64_t n = 0; n < 50; n++) {
                make_tone(in, 1, n, 440);
                struct opusenc_packet pkt;
                assert_int_equal(opusenc_encode(e, &f, &pkt), 1);
                with += opusdec_packet_has_fec(pkt.data, pkt.len);
                if (n == 40) {
                        /* Frame 40 is lost: rebuild it from the FEC in frame 41. */
                        continue;
                }
                if (n == 41) {
                        assert_int_equal(
                            opusdec_decode_fec(d, pkt.data, pkt.len, out, PCM_FRAME_SAMPLES),
                            PCM_FRAME_SAMPLES);
                        *recovered_rms = rms(out, PCM_FRAME_SAMPLES);
                }
                assert_int_equal(opusdec_decode(d, pkt.data, pkt.len, out, PCM_FRAME_SAMPLES),
                                 PCM_FRAME_SAMPLES);
        }
        opusenc_free(e);
        opusdec_free(d);
        return with;
}

static void test_opus_fec(void **state)
{
        (void)state;
        double r_on = 0, r_off = 0;
        unsigned on = fec_packets(true, &r_on), off = fec_packets(false, &r_off);
        printf("# opus FEC: %u of 50 packets carry it (0 without), recovered rms %.0f\n", on, r_on);
        assert_int_equal(off, 0);
        /* The encoder starts adding FEC once its loss estimate has warmed up. */
        assert_true(on >= 25);
        /* The recovered frame carries the tone, coarser (LBRR is a low-rate copy). */
        assert_true(r_on > 0.3 * 9830 / sqrt(2) && r_on < 1.5 * 9830 / sqrt(2));
        assert_int_equal(opusdec_packet_has_fec(NULL, 0), 0);
}

static void test_opus_dtx(void **state)
{
        (void)state;
        struct opusenc_config cfg = {.channels = 1, .dtx = true, .complexity = -1};
        struct opusenc *e;
        struct merr err;
        assert_int_equal(opusenc_new(&cfg, &e, &err), 0);
        int16_t silence[PCM_FRAME_SAMPLES] = {0};
        struct pcm_frame f = {.samples = silence, .channels = 1};
        unsigned sent = 0;
        for (int n = 0; n < 100; n++) {
                struct opusenc_packet pkt;
                int rc = opusenc_encode(e, &f, &pkt);
                assert_true(rc == 0 || rc == 1);
                sent += (unsigned)rc;
        }
        /* DTX sends a comfort-noise update every 400 ms and nothing else. */
        printf("# opus DTX: %u of 100 silent frames sent\n", sent);
        assert_true(sent < 20);
        assert_int_equal(opusenc_set_dtx(e, false), 0);
        assert_int_equal(opusenc_set_bitrate(e, 1000), -EINVAL);
        assert_int_equal(opusenc_set_bitrate(e, 64000), 0);
        opusenc_free(e);
        cfg.channels = 3;
        assert_int_equal(opusenc_new(&cfg, &e, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_vp8_roundtrip),
            cmocka_unit_test(test_vp8_keyframe_on_request),
            cmocka_unit_test(test_vp8_bitrate_change),
            cmocka_unit_test(test_vp8_size_change),
            cmocka_unit_test(test_opus_roundtrip),
            cmocka_unit_test(test_opus_fec),
            cmocka_unit_test(test_opus_dtx),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
