#include "sdp/frame.h"

#include <errno.h>
#include <string.h>

#include "sdp/compact.h"

void frame_reader_init(struct frame_reader *fr)
{
        memset(fr, 0, sizeof(*fr));
}

void frame_reader_free(struct frame_reader *fr)
{
        buf_free(&fr->text);
        buf_free(&fr->sdp);
        buf_free(&fr->line);
}

static bool line_is_blank(const struct buf *line)
{
        for (size_t i = 0; i < line->len; i++)
                if (line->data[i] != ' ' && line->data[i] != '\t' && line->data[i] != '\r' &&
                    line->data[i] != '\n')
                        return false;
        return true;
}

static int finish_plain(struct frame_reader *fr)
{
        buf_reset(&fr->sdp);
        int rc = buf_append(&fr->sdp, fr->text.data, fr->text.len);
        if (rc == 0)
                rc = buf_terminate(&fr->sdp);
        if (rc < 0)
                return fr->error = rc;
        fr->done = true;
        return 1;
}

/* A token is complete when what was read so far decodes to a whole zlib stream. */
static int try_token(struct frame_reader *fr)
{
        buf_reset(&fr->sdp);
        int rc = compact_decode((const char *)fr->text.data, fr->text.len, &fr->sdp);
        if (rc == -EAGAIN)
                return 0;
        if (rc < 0)
                return fr->error = rc;
        rc = buf_terminate(&fr->sdp);
        if (rc < 0)
                return fr->error = rc;
        fr->done = true;
        return 1;
}

/* Handles one whole line (with its newline). Returns 1 when the description is complete. */
static int take_line(struct frame_reader *fr)
{
        bool blank = line_is_blank(&fr->line);
        if (!fr->started) {
                if (blank)
                        return 0;
                fr->started = true;
                fr->token = compact_is_token((const char *)fr->line.data, fr->line.len);
        }
        if (blank) {
                if (fr->token) /* an empty line ends an unfinished token: it is damaged */
                        return fr->error = -EBADMSG;
                return finish_plain(fr);
        }
        if (fr->text.len + fr->line.len > FRAME_MAX_TEXT)
                return fr->error = -E2BIG;
        int rc = buf_append(&fr->text, fr->line.data, fr->line.len);
        if (rc < 0)
                return fr->error = rc;
        return fr->token ? try_token(fr) : 0;
}

int frame_reader_feed(struct frame_reader *fr, const uint8_t *data, size_t len, size_t *consumed)
{
        *consumed = 0;
        if (fr->error)
                return fr->error;
        if (fr->done)
                return 1;
        size_t i = 0;
        while (i < len) {
                const uint8_t *nl = memchr(data + i, '\n', len - i);
                size_t n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
                if (fr->line.len + n > FRAME_MAX_TEXT) {
                        *consumed = i;
                        return fr->error = -E2BIG;
                }
                int rc = buf_append(&fr->line, data + i, n);
                i += n;
                if (rc < 0) {
                        *consumed = i;
                        return fr->error = rc;
                }
                if (!nl)
                        break;
                rc = take_line(fr);
                buf_reset(&fr->line);
                if (rc != 0) {
                        *consumed = i;
                        return rc;
                }
        }
        *consumed = i;
        return 0;
}

int frame_reader_eof(struct frame_reader *fr)
{
        if (fr->error)
                return fr->error;
        if (fr->done)
                return 1;
        if (fr->line.len) {
                /* A last line without a newline still counts. */
                int rc = buf_append_u8(&fr->line, '\n');
                if (rc < 0)
                        return fr->error = rc;
                rc = take_line(fr);
                buf_reset(&fr->line);
                if (rc != 0)
                        return rc;
        }
        if (!fr->started)
                return fr->error = -ENODATA;
        if (fr->token) /* EOF in the middle of a token */
                return fr->error = -EBADMSG;
        return finish_plain(fr);
}

const char *frame_reader_text(const struct frame_reader *fr, size_t *len)
{
        if (len)
                *len = fr->sdp.len;
        return fr->done ? (const char *)fr->sdp.data : NULL;
}

bool frame_reader_was_token(const struct frame_reader *fr)
{
        return fr->token;
}

int frame_write(const char *sdp, size_t len, bool compact, struct buf *out)
{
        int rc;
        if (compact) {
                rc = compact_encode(sdp, len, out);
                if (rc == 0)
                        rc = buf_append_str(out, "\n\n");
                return rc;
        }
        rc = buf_append(out, sdp, len);
        if (rc == 0 && len && sdp[len - 1] != '\n')
                rc = buf_append_str(out, "\r\n");
        if (rc == 0)
                rc = buf_append_str(out, "\r\n");
        return rc;
}
