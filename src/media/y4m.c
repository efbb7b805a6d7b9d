#include "media/y4m.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct y4m_reader {
        FILE *f;
        char *path;
        unsigned width, height, rate_num, rate_den;
        long first_frame; /* file offset of the first FRAME line, where looping restarts */
        size_t frame_bytes;
        unsigned frames_read; /* in the current pass; 0 at the end means an empty file */
};

static int parse_header(struct y4m_reader *r, const char *line, struct merr *err)
{
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", line);
        char *save = NULL, *tok = strtok_r(buf, " ", &save);
        if (!tok || strcmp(tok, "YUV4MPEG2") != 0)
                return merr_set(err, -EINVAL, "%s: not a Y4M file (no YUV4MPEG2 signature)",
                                r->path);
        r->rate_num = 30;
        r->rate_den = 1;
        while ((tok = strtok_r(NULL, " ", &save))) {
                switch (tok[0]) {
                case 'W':
                        r->width = (unsigned)strtoul(tok + 1, NULL, 10);
                        break;
                case 'H':
                        r->height = (unsigned)strtoul(tok + 1, NULL, 10);
                        break;
                case 'F':
                        if (sscanf(tok + 1, "%u:%u", &r->rate_num, &r->rate_den) != 2 ||
                            !r->rate_num || !r->rate_den)
                                return merr_set(err, -EINVAL, "%s: bad frame rate %s", r->path,
                                                tok);
                        break;
                case 'C':
                        if (strcmp(tok, "C420") != 0 && strcmp(tok, "C420jpeg") != 0 &&
                            strcmp(tok, "C420paligned") != 0 && strcmp(tok, "C420mpeg2") != 0)
                                return merr_set(err, -ENOTSUP,
                                                "%s: colour space %s is not supported (4:2:0 "
                                                "8-bit only: C420, C420jpeg, C420paligned)",
                                                r->path, tok + 1);
                        break;
                default: /* I (interlacing), A (aspect), X (comments): nothing to do */
                        break;
                }
        }
        if (!r->width || !r->height || r->width > 16384 || r->height > 16384)
                return merr_set(err, -EINVAL, "%s: missing or bad picture size", r->path);
        size_t cw = (r->width + 1) / 2, ch = (r->height + 1) / 2;
        r->frame_bytes = (size_t)r->width * r->height + 2 * cw * ch;
        return 0;
}

int y4m_reader_new(const char *path, struct y4m_reader **out, struct merr *err)
{
        *out = NULL;
        struct y4m_reader *r = calloc(1, sizeof(*r));
        if (!r || !(r->path = strdup(path))) {
                free(r);
                return merr_set(err, -ENOMEM, "%s: out of memory", path);
        }
        int rc;
        r->f = fopen(path, "rb");
        if (!r->f) {
                rc = merr_set(err, -errno, "%s: %s", path, strerror(errno));
                goto fail;
        }
        char line[512];
        if (!fgets(line, sizeof(line), r->f) || !strchr(line, '\n')) {
                rc = merr_set(err, -EINVAL, "%s: not a Y4M file (no header line)", path);
                goto fail;
        }
        line[strcspn(line, "\n")] = 0;
        if ((rc = parse_header(r, line, err)) < 0)
                goto fail;
        r->first_frame = ftell(r->f);
        *out = r;
        return 0;
fail:
        y4m_reader_free(r);
        return rc;
}

void y4m_reader_free(struct y4m_reader *r)
{
        if (!r)
                return;
        if (r->f)
                fclose(r->f);
        free(r->path);
        free(r);
}

unsigned y4m_reader_width(const struct y4m_reader *r)
{
        return r->width;
}

unsigned y4m_reader_height(const struct y4m_reader *r)
{
        return r->height;
}

void y4m_reader_rate(const struct y4m_reader *r, unsigned *num, unsigned *den)
{
        *num = r->rate_num;
        *den = r->rate_den;
}

static int read_plane(FILE *f, uint8_t *dst, unsigned stride, unsigned w, unsigned h)
{
        for (unsigned y = 0; y < h; y++)
                if (fread(dst + (size_t)stride * y, 1, w, f) != w)
                        return -EIO;
        return 0;
}

int y4m_reader_read(struct y4m_reader *r, struct picture *p, struct merr *err)
{
        int rc = picture_alloc(p, r->width, r->height);
        if (rc < 0)
                return merr_set(err, rc, "%s: out of memory", r->path);
        char line[256];
        for (int attempt = 0; attempt < 2; attempt++) {
                if (fgets(line, sizeof(line), r->f))
                        break;
                /* End of file: start again, unless the file holds no frame at all. */
                if (ferror(r->f) || attempt == 1 || r->frames_read == 0)
                        return merr_set(err, -EIO, "%s: %s", r->path,
                                        ferror(r->f) ? "read error" : "no frames");
                r->frames_read = 0;
                clearerr(r->f);
                if (fseek(r->f, r->first_frame, SEEK_SET) < 0)
                        return merr_set(err, -errno, "%s: %s", r->path, strerror(errno));
        }
        if (strncmp(line, "FRAME", 5) != 0 || !strchr(line, '\n'))
                return merr_set(err, -EINVAL, "%s: bad frame header after frame %u", r->path,
                                r->frames_read);
        unsigned cw = picture_chroma_width(p), ch = picture_chroma_height(p);
        if (read_plane(r->f, p->plane[0], p->stride[0], r->width, r->height) < 0 ||
            read_plane(r->f, p->plane[1], p->stride[1], cw, ch) < 0 ||
            read_plane(r->f, p->plane[2], p->stride[2], cw, ch) < 0)
                return merr_set(err, -EIO, "%s: truncated frame %u", r->path, r->frames_read);
        r->frames_read++;
        return 0;
}
