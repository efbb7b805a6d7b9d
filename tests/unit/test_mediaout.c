/*
 * The file writers of the receive path, checked by reading their output back with the project's
 * own readers and decoders: Y4M (y4m_reader), IVF (byte by byte, then vp8dec), WAV (wav_reader).
 * Pipes stand in for a player on stdout, including one that has gone away (EPIPE, no SIGPIPE).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "media/ivf.h"
#include "media/picture.h"
#include "media/testpattern.h"
#include "media/vp8dec.h"
#include "media/vp8enc.h"
#include "media/wav.h"
#include "media/wavout.h"
#include "media/y4m.h"
#include "media/y4mout.h"

static char tmp_dir[64];

static int setup(void **state)
{
        (void)state;
        snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/rtcpeer-mediaout-XXXXXX");
        assert_non_null(mkdtemp(tmp_dir));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static const char *tmp_path(const char *name)
{
        static char path[128];
        snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
        return path;
}

static uint8_t *read_all(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        *len = (size_t)ftell(f);
        rewind(f);
        uint8_t *data = malloc(*len + 1);
        assert_int_equal(fread(data, 1, *len, f), *len);
        fclose(f);
        return data;
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

/* Stdout becomes the write end of a new pipe; returns the read end. */
struct redirect {
        int saved, rd;
};

static struct redirect stdout_to_pipe(void)
{
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(stdout);
        struct redirect r = {.saved = dup(STDOUT_FILENO), .rd = fds[0]};
        assert_true(r.saved >= 0);
        assert_true(dup2(fds[1], STDOUT_FILENO) >= 0);
        close(fds[1]);
        return r;
}

static void stdout_restore(struct redirect *r)
{
        assert_true(dup2(r->saved, STDOUT_FILENO) >= 0);
        close(r->saved);
        if (r->rd >= 0)
                close(r->rd);
}

static size_t read_pipe(int fd, uint8_t *buf, size_t max)
{
        size_t got = 0;
        ssize_t n;
        while (got < max && (n = read(fd, buf + got, max - got)) > 0)
                got += (size_t)n;
        return got;
}

static int sigpipe_pending(void)
{
        sigset_t set;
        sigpending(&set);
        return sigismember(&set, SIGPIPE);
}

/* Pixel values that differ across planes, positions and frames. */
static uint8_t pix(unsigned plane, unsigned x, unsigned y, unsigned n)
{
        return (uint8_t)(x * 3 + y * 7 + plane * 50 + n * 11);
}

static void fill(struct picture *p, unsigned n)
{
        for (unsigned i = 0; i < 3; i++) {
                unsigned w = i ? picture_chroma_width(p) : p->width;
                unsigned h = i ? picture_chroma_height(p) : p->height;
                for (unsigned y = 0; y < h; y++)
                        for (unsigned x = 0; x < w; x++)
                                p->plane[i][(size_t)p->stride[i] * y + x] = pix(i, x, y, n);
        }
}

static void test_y4m_roundtrip(void **state)
{
        (void)state;
        const char *path = tmp_path("a.y4m");
        struct y4mout *w;
        struct merr err;
        assert_int_equal(y4mout_new(path, 25, 2, &w, &err), 0);
        struct picture p = {0};
        /* Odd sizes: chroma rounds up, and the picture's stride is wider than a row. */
        assert_int_equal(picture_alloc(&p, 33, 17), 0);
        for (unsigned n = 0; n < 3; n++) {
                fill(&p, n);
                assert_int_equal(y4mout_write(w, &p, &err), 0);
        }
        assert_int_equal(y4mout_frames(w), 3);
        y4mout_free(w);

        size_t len;
        uint8_t *data = read_all(path, &len);
        const char *hdr = "YUV4MPEG2 W33 H17 F25:2 Ip A1:1 C420jpeg\n";
        size_t frame = 6 + 33 * 17 + 2 * 17 * 9;
        assert_int_equal(len, strlen(hdr) + 3 * frame);
        assert_memory_equal(data, hdr, strlen(hdr));
        assert_memory_equal(data + strlen(hdr) + frame, "FRAME\n", 6);
        free(data);

        struct y4m_reader *r;
        assert_int_equal(y4m_reader_new(path, &r, &err), 0);
        assert_int_equal(y4m_reader_width(r), 33);
        assert_int_equal(y4m_reader_height(r), 17);
        unsigned num, den;
        y4m_reader_rate(r, &num, &den);
        assert_int_equal(num, 25);
        assert_int_equal(den, 2);
        struct picture q = {0};
        for (unsigned n = 0; n < 3; n++) {
                assert_int_equal(y4m_reader_read(r, &q, &err), 0);
                for (unsigned i = 0; i < 3; i++) {
                        unsigned cw = i ? 17 : 33, ch = i ? 9 : 17;
                        for (unsigned y = 0; y < ch; y++)
                                for (unsigned x = 0; x < cw; x++)
                                        assert_int_equal(q.plane[i][(size_t)q.stride[i] * y + x],
                                                         pix(i, x, y, n));
                }
        }
        y4m_reader_free(r);
        picture_release(&p);
        picture_release(&q);

        /* Zero rate: 30:1. */
        assert_int_equal(y4mout_new(path, 0, 0, &w, &err), 0);
        assert_int_equal(picture_alloc(&p, 2, 2), 0);
        fill(&p, 0);
        assert_int_equal(y4mout_write(w, &p, &err), 0);
        y4mout_free(w);
        data = read_all(path, &len);
        assert_true(len > 30 && memcmp(data, "YUV4MPEG2 W2 H2 F30:1 ", 22) == 0);
        free(data);
        picture_release(&p);
}

/*
 * A 2x linear upscale as picture_scale does it, sample centres aligned: output 2k sits at
 * k - 1/4, 2k+1 at k + 1/4, clamped at the edges. Weights in 256ths.
 */
static void up2_taps(unsigned i, unsigned m, unsigned *j, unsigned w[2])
{
        unsigned k = i / 2;
        if (i == 0 || (i % 2 && k + 1 >= m)) {
                *j = i == 0 ? 0 : k;
                w[0] = 256;
                w[1] = 0;
        } else if (i % 2) {
                *j = k;
                w[0] = 192;
                w[1] = 64;
        } else {
                *j = k - 1;
                w[0] = 64;
                w[1] = 192;
        }
}

static void test_y4m_size_change_scaled(void **state)
{
        (void)state;
        const char *path = tmp_path("b.y4m");
        struct y4mout *w;
        struct merr err;
        assert_int_equal(y4mout_new(path, 30, 1, &w, &err), 0);
        struct picture p = {0};
        assert_int_equal(picture_alloc(&p, 32, 16), 0);
        fill(&p, 0);
        assert_int_equal(y4mout_write(w, &p, &err), 0);
        /* Twice the size: each pixel in the file is the mean of the 2x2 it covers. */
        assert_int_equal(picture_alloc(&p, 64, 32), 0);
        fill(&p, 1);
        assert_int_equal(y4mout_write(w, &p, &err), 0);
        /* Half the size (a sender coding smaller): stretched back by linear interpolation. */
        assert_int_equal(picture_alloc(&p, 16, 8), 0);
        fill(&p, 2);
        assert_int_equal(y4mout_write(w, &p, &err), 0);
        y4mout_free(w);

        struct y4m_reader *r;
        assert_int_equal(y4m_reader_new(path, &r, &err), 0);
        assert_int_equal(y4m_reader_width(r), 32);
        assert_int_equal(y4m_reader_height(r), 16);
        struct picture q = {0};
        assert_int_equal(y4m_reader_read(r, &q, &err), 0);
        assert_int_equal(q.plane[0][q.stride[0] * 5 + 7], pix(0, 7, 5, 0));
        assert_int_equal(y4m_reader_read(r, &q, &err), 0);
        for (unsigned i = 0; i < 3; i++) {
                unsigned cw = i ? 16 : 32, ch = i ? 8 : 16;
                for (unsigned y = 0; y < ch; y++)
                        for (unsigned x = 0; x < cw; x++) {
                                unsigned sum =
                                    pix(i, 2 * x, 2 * y, 1) + pix(i, 2 * x + 1, 2 * y, 1) +
                                    pix(i, 2 * x, 2 * y + 1, 1) + pix(i, 2 * x + 1, 2 * y + 1, 1);
                                assert_int_equal(q.plane[i][(size_t)q.stride[i] * y + x],
                                                 (sum + 2) / 4);
                        }
        }
        assert_int_equal(y4m_reader_read(r, &q, &err), 0);
        for (unsigned i = 0; i < 3; i++) {
                unsigned cw = i ? 16 : 32, ch = i ? 8 : 16;
                for (unsigned y = 0; y < ch; y++)
                        for (unsigned x = 0; x < cw; x++) {
                                unsigned jx, jy, wx[2], wy[2];
                                up2_taps(x, cw / 2, &jx, wx);
                                up2_taps(y, ch / 2, &jy, wy);
                                unsigned acc = 0;
                                for (unsigned b = 0; b < 2; b++)
                                        for (unsigned a = 0; a < 2; a++)
                                                if (wx[a] && wy[b])
                                                        acc += wx[a] * wy[b] *
                                                               pix(i, jx + a, jy + b, 2);
                                assert_int_equal(q.plane[i][(size_t)q.stride[i] * y + x],
                                                 (acc + 32768) >> 16);
                        }
        }
        y4m_reader_free(r);
        picture_release(&p);
        picture_release(&q);
}

static void test_y4m_stdout_pipe_and_epipe(void **state)
{
        (void)state;
        struct redirect rd = stdout_to_pipe();
        struct y4mout *w;
        struct merr err;
        assert_int_equal(y4mout_new("-", 30, 1, &w, &err), 0);
        struct picture p = {0};
        assert_int_equal(picture_alloc(&p, 8, 4), 0);
        fill(&p, 0);
        assert_int_equal(y4mout_write(w, &p, &err), 0);
        uint8_t buf[256];
        const char *hdr = "YUV4MPEG2 W8 H4 F30:1 Ip A1:1 C420jpeg\nFRAME\n";
        size_t want = strlen(hdr) + 8 * 4 + 2 * 4 * 2;
        assert_int_equal(read_pipe(rd.rd, buf, want), want);
        assert_memory_equal(buf, hdr, strlen(hdr));
        assert_int_equal(buf[strlen(hdr) + 9], pix(0, 1, 1, 0));
        /* The player goes away: an error that says so, and the process lives on. */
        close(rd.rd);
        rd.rd = -1;
        assert_int_equal(y4mout_write(w, &p, &err), -EPIPE);
        assert_string_equal(err.msg, "stdout: the reader closed the pipe");
        assert_false(sigpipe_pending());
        assert_int_equal(y4mout_write(w, &p, &err), -EPIPE); /* sticky */
        assert_int_equal(y4mout_frames(w), 1);
        y4mout_free(w);
        stdout_restore(&rd);
        picture_release(&p);
        y4mout_free(NULL);
}

static void test_y4m_errors(void **state)
{
        (void)state;
        struct y4mout *w;
        struct merr err;
        assert_int_equal(y4mout_new("/nonexistent-dir/x.y4m", 30, 1, &w, &err), -ENOENT);
        assert_null(w);
        assert_string_equal(err.msg, "/nonexistent-dir/x.y4m: No such file or directory");
}

/* Encodes n test pictures; frames[i] is a malloc'd copy, keys[i] whether it is a key frame. */
struct encoded {
        uint8_t *data[40];
        size_t len[40];
        int key[40];
        unsigned n;
};

static void encode(struct encoded *e, unsigned w, unsigned h, unsigned n)
{
        struct vp8enc_config cfg = {.width = w, .height = h, .fps = 30, .bitrate_kbps = 300};
        struct vp8enc *enc;
        struct merr err;
        assert_int_equal(vp8enc_new(&cfg, &enc, &err), 0);
        struct picture p = {0};
        assert_int_equal(picture_alloc(&p, w, h), 0);
        e->n = 0;
        for (unsigned i = 0; i < n && e->n < 40; i++) {
                p.capture_us = 1000000 + i * 33333ULL;
                testpattern_draw(&p, i, p.capture_us);
                struct vp8enc_frame f;
                int rc = vp8enc_encode(enc, &p, &f);
                assert_true(rc >= 0);
                if (!rc)
                        continue;
                e->data[e->n] = malloc(f.len);
                memcpy(e->data[e->n], f.data, f.len);
                e->len[e->n] = f.len;
                e->key[e->n] = f.keyframe;
                e->n++;
        }
        picture_release(&p);
        vp8enc_free(enc);
}

static void encoded_free(struct encoded *e)
{
        for (unsigned i = 0; i < e->n; i++)
                free(e->data[i]);
}

static void test_ivf_vp8_roundtrip(void **state)
{
        (void)state;
        struct encoded e;
        encode(&e, 176, 144, 12);
        assert_true(e.n >= 10);
        assert_true(e.key[0]);
        assert_false(e.key[1]);
        const char *path = tmp_path("a.ivf");
        struct ivf_writer *w;
        struct merr err;
        assert_int_equal(ivf_writer_new(path, 0, 0, &w, &err), 0);
        /* A delta frame first (joined mid-stream): skipped, nothing written yet. */
        assert_int_equal(ivf_writer_write(w, e.data[1], e.len[1], 5000, &err), 0);
        assert_int_equal(ivf_writer_frames(w), 0);
        uint64_t base = 4000000000ULL; /* an unwrapped RTP time: the file starts at 0 */
        for (unsigned i = 0; i < e.n; i++)
                assert_int_equal(ivf_writer_write(w, e.data[i], e.len[i], base + i * 3000, &err),
                                 0);
        assert_int_equal(ivf_writer_frames(w), e.n);
        assert_int_equal(ivf_writer_close(w, &err), 0);
        assert_int_equal(ivf_writer_close(w, &err), 0); /* once only */
        assert_true(ivf_writer_write(w, e.data[0], e.len[0], 0, &err) < 0);
        ivf_writer_free(w);

        size_t len;
        uint8_t *f = read_all(path, &len);
        assert_true(len > IVF_HEADER_LEN);
        assert_memory_equal(f, "DKIF", 4);
        assert_int_equal(le16(f + 4), 0);
        assert_int_equal(le16(f + 6), 32);
        assert_memory_equal(f + 8, "VP80", 4);
        assert_int_equal(le16(f + 12), 176);
        assert_int_equal(le16(f + 14), 144);
        assert_int_equal(le32(f + 16), 90000);
        assert_int_equal(le32(f + 20), 1);
        assert_int_equal(le32(f + 24), e.n);
        assert_int_equal(le32(f + 28), 0);

        struct vp8dec *d;
        assert_int_equal(vp8dec_new(&d, &err), 0);
        size_t pos = IVF_HEADER_LEN;
        unsigned i = 0, read_back = 0;
        while (pos < len) {
                assert_true(pos + IVF_FRAME_HEADER_LEN <= len);
                uint32_t size = le32(f + pos);
                uint64_t pts = le32(f + pos + 4) | (uint64_t)le32(f + pos + 8) << 32;
                pos += IVF_FRAME_HEADER_LEN;
                assert_true(pos + size <= len);
                assert_int_equal(size, e.len[i]);
                assert_int_equal(pts, i * 3000);
                struct picture out;
                assert_int_equal(vp8dec_decode(d, f + pos, size, &out), 1);
                assert_int_equal(out.width, 176);
                assert_int_equal(out.height, 144);
                uint64_t seq, t;
                if (testpattern_read(&out, &seq, &t) == 0 && seq == i)
                        read_back++;
                pos += size;
                i++;
        }
        assert_int_equal(i, e.n);
        /* The pictures are the ones encoded, in order (rate control dropped none here). */
        assert_int_equal(read_back, e.n);
        vp8dec_free(d);
        free(f);
        encoded_free(&e);
}

static void test_ivf_pipe_and_empty(void **state)
{
        (void)state;
        struct encoded e;
        encode(&e, 160, 120, 3);
        struct redirect rd = stdout_to_pipe();
        struct ivf_writer *w;
        struct merr err;
        /* Size given: the header goes out at once; a pipe cannot be patched, so the count is 0. */
        assert_int_equal(ivf_writer_new("-", 320, 240, &w, &err), 0);
        uint8_t h[IVF_HEADER_LEN + IVF_FRAME_HEADER_LEN];
        assert_int_equal(read_pipe(rd.rd, h, IVF_HEADER_LEN), IVF_HEADER_LEN);
        assert_int_equal(le16(h + 12), 320);
        assert_int_equal(le16(h + 14), 240);
        assert_int_equal(le32(h + 24), 0);
        assert_int_equal(ivf_writer_write(w, e.data[0], e.len[0], 77, &err), 0);
        assert_int_equal(read_pipe(rd.rd, h, IVF_FRAME_HEADER_LEN), IVF_FRAME_HEADER_LEN);
        assert_int_equal(le32(h), e.len[0]);
        assert_int_equal(le32(h + 4), 0);
        uint8_t *frame = malloc(e.len[0]);
        assert_int_equal(read_pipe(rd.rd, frame, e.len[0]), e.len[0]);
        assert_memory_equal(frame, e.data[0], e.len[0]);
        free(frame);
        close(rd.rd);
        rd.rd = -1;
        assert_int_equal(ivf_writer_write(w, e.data[1], e.len[1], 3077, &err), -EPIPE);
        assert_string_equal(err.msg, "stdout: the reader closed the pipe");
        assert_false(sigpipe_pending());
        assert_int_equal(ivf_writer_close(w, &err), -EPIPE);
        ivf_writer_free(w);
        stdout_restore(&rd);

        /* No key frame ever: still a valid, empty file. */
        const char *path = tmp_path("empty.ivf");
        assert_int_equal(ivf_writer_new(path, 0, 0, &w, &err), 0);
        assert_int_equal(ivf_writer_write(w, e.data[1], e.len[1], 0, &err), 0);
        ivf_writer_free(w); /* closes */
        size_t len;
        uint8_t *f = read_all(path, &len);
        assert_int_equal(len, IVF_HEADER_LEN);
        assert_memory_equal(f, "DKIF", 4);
        assert_int_equal(le32(f + 24), 0);
        free(f);
        encoded_free(&e);
        ivf_writer_free(NULL);
}

static void tone(int16_t *pcm, size_t frames, unsigned channels, size_t from)
{
        for (size_t i = 0; i < frames; i++)
                for (unsigned c = 0; c < channels; c++)
                        pcm[i * channels + c] =
                            (int16_t)(((from + i) * 37 + c * 1000) % 65536 - 32768);
}

static void wav_roundtrip(unsigned channels)
{
        const char *path = tmp_path("a.wav");
        struct wavout *w;
        struct merr err;
        assert_int_equal(wavout_new(path, 48000, channels, &w, &err), 0);
        size_t chunks[] = {960, 1, 1539, 0, 4800};
        size_t total = 0;
        int16_t pcm[4800 * 2];
        for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
                tone(pcm, chunks[k], channels, total);
                assert_int_equal(wavout_write(w, pcm, chunks[k], &err), 0);
                total += chunks[k];
        }
        assert_int_equal(wavout_frames(w), total);
        assert_int_equal(wavout_close(w, &err), 0);
        wavout_free(w);

        size_t len;
        uint8_t *f = read_all(path, &len);
        uint32_t data = (uint32_t)(total * channels * 2);
        assert_int_equal(len, WAVOUT_HEADER_LEN + data);
        assert_memory_equal(f, "RIFF", 4);
        assert_int_equal(le32(f + 4), 36 + data);
        assert_memory_equal(f + 8, "WAVEfmt ", 8);
        assert_int_equal(le32(f + 16), 16);
        assert_int_equal(le16(f + 20), 1);
        assert_int_equal(le16(f + 22), channels);
        assert_int_equal(le32(f + 24), 48000);
        assert_int_equal(le32(f + 28), 48000 * 2 * channels);
        assert_int_equal(le16(f + 32), 2 * channels);
        assert_int_equal(le16(f + 34), 16);
        assert_memory_equal(f + 36, "data", 4);
        assert_int_equal(le32(f + 40), data);
        free(f);

        struct wav_reader *r;
        assert_int_equal(wav_reader_new(path, &r, &err), 0);
        assert_int_equal(wav_reader_channels(r), channels);
        int16_t *got = malloc(total * channels * 2), *want = malloc(total * channels * 2);
        assert_int_equal(wav_reader_read(r, got, total, &err), 0);
        tone(want, total, channels, 0);
        assert_memory_equal(got, want, total * channels * 2);
        /* The reader loops: the next sample is the first again, so no stray data follows. */
        assert_int_equal(wav_reader_read(r, got, 1, &err), 0);
        assert_int_equal(got[0], want[0]);
        wav_reader_free(r);
        free(got);
        free(want);
}

static void test_wav_roundtrip(void **state)
{
        (void)state;
        wav_roundtrip(2);
        wav_roundtrip(1);
}

static void test_wav_pipe(void **state)
{
        (void)state;
        struct redirect rd = stdout_to_pipe();
        struct wavout *w;
        struct merr err;
        assert_int_equal(wavout_new("-", 16000, 1, &w, &err), 0);
        int16_t pcm[100];
        tone(pcm, 100, 1, 0);
        assert_int_equal(wavout_write(w, pcm, 100, &err), 0);
        uint8_t buf[WAVOUT_HEADER_LEN + 200];
        assert_int_equal(read_pipe(rd.rd, buf, sizeof(buf)), sizeof(buf));
        assert_int_equal(le32(buf + 4), 0xffffffffu);
        assert_int_equal(le32(buf + 24), 16000);
        assert_int_equal(le32(buf + 40), 0xffffffffu);
        assert_int_equal((int16_t)le16(buf + WAVOUT_HEADER_LEN + 2 * 99), pcm[99]);
        assert_int_equal(wavout_close(w, &err), 0); /* nothing to patch on a pipe */
        wavout_free(w);

        assert_int_equal(wavout_new("-", 48000, 2, &w, &err), 0);
        close(rd.rd);
        rd.rd = -1;
        assert_int_equal(wavout_write(w, pcm, 50, &err), -EPIPE);
        assert_string_equal(err.msg, "stdout: the reader closed the pipe");
        assert_false(sigpipe_pending());
        wavout_free(w);
        stdout_restore(&rd);
        wavout_free(NULL);
}

static void test_wav_errors(void **state)
{
        (void)state;
        struct wavout *w;
        struct merr err;
        assert_int_equal(wavout_new(tmp_path("x.wav"), 48000, 3, &w, &err), -EINVAL);
        assert_null(w);
        assert_int_equal(wavout_new("/nonexistent-dir/x.wav", 48000, 2, &w, &err), -ENOENT);
        assert_string_equal(err.msg, "/nonexistent-dir/x.wav: No such file or directory");
        /* A full disk, stood in for by /dev/full: the error names the file. */
        assert_int_equal(wavout_new("/dev/full", 48000, 2, &w, &err), -ENOSPC);
        assert_string_equal(err.msg, "/dev/full: write failed: No space left on device");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_y4m_roundtrip),
            cmocka_unit_test(test_y4m_size_change_scaled),
            cmocka_unit_test(test_y4m_stdout_pipe_and_epipe),
            cmocka_unit_test(test_y4m_errors),
            cmocka_unit_test(test_ivf_vp8_roundtrip),
            cmocka_unit_test(test_ivf_pipe_and_empty),
            cmocka_unit_test(test_wav_roundtrip),
            cmocka_unit_test(test_wav_pipe),
            cmocka_unit_test(test_wav_errors),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
