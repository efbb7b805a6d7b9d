/*
 * YUV4MPEG2 writer for received video (--video-out file.y4m, or "-" for a player on stdout).
 * The header takes the size of the first picture; Y4M cannot change size mid-stream, so later
 * pictures of another size (a sender adapting to the bitrate) are scaled to it (picture_scale:
 * linear up, area average down), logged once. The file keeps one size, and a player or
 * checker sees the whole call; what was lost is the detail of the smaller pictures.
 *
 * Writes block like any file write. A pipe whose reader has gone away gives -EPIPE, never a
 * SIGPIPE death: the signal is held back around each write, whatever the process does with it.
 */
#ifndef RTCPEER_MEDIA_Y4MOUT_H
#define RTCPEER_MEDIA_Y4MOUT_H

#include "media/merr.h"
#include "media/picture.h"

struct y4mout;

/* path "-" is stdout (left open by y4mout_free). A zero fps_num or fps_den means 30:1. */
int y4mout_new(const char *path, unsigned fps_num, unsigned fps_den, struct y4mout **out,
               struct merr *err);
/* One frame; after a write error every later call fails with the same code. */
int y4mout_write(struct y4mout *w, const struct picture *p, struct merr *err);
/* Frames written so far. */
unsigned long y4mout_frames(const struct y4mout *w);
void y4mout_free(struct y4mout *w);

#endif
