/*
 * IVF writer for the received VP8 stream (--save file.ivf): fourcc VP80, time base 1/90000, so
 * RTP timestamps go in as they are (made relative to the first frame written). The file starts
 * at a key frame: frames before the first one cannot be decoded and are skipped.
 *
 * Writes block like any file write; a closed pipe gives -EPIPE, never a SIGPIPE death.
 */
#ifndef RTCPEER_MEDIA_IVF_H
#define RTCPEER_MEDIA_IVF_H

#include <stddef.h>
#include <stdint.h>

#include "media/merr.h"

#define IVF_HEADER_LEN       32
#define IVF_FRAME_HEADER_LEN 12
#define IVF_TIMEBASE         90000

struct ivf_writer;

/*
 * path "-" is stdout. A zero width or height is taken from the first key frame's header; the
 * file header is written then (at once when both are given).
 */
int ivf_writer_new(const char *path, unsigned width, unsigned height, struct ivf_writer **out,
                   struct merr *err);
/* One complete VP8 frame with its 90 kHz time. 0 also when it was skipped (no key frame yet). */
int ivf_writer_write(struct ivf_writer *w, const uint8_t *frame, size_t len, uint64_t pts,
                     struct merr *err);
/* Frames in the file so far. */
unsigned long ivf_writer_frames(const struct ivf_writer *w);
/*
 * Finishes the file: writes the header if no key frame came (an empty, valid file) and, when the
 * output can seek, patches the frame count into it (a pipe keeps 0, which readers accept).
 */
int ivf_writer_close(struct ivf_writer *w, struct merr *err);
/* Closes first if ivf_writer_close was not called (errors then go to the debug log). */
void ivf_writer_free(struct ivf_writer *w);

#endif
