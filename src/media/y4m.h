/*
 * YUV4MPEG2 file reader for --video file.y4m: 4:2:0 only (C420, C420jpeg, C420paligned,
 * C420mpeg2 or no C tag), which is the memory layout VP8 takes. The file loops at its end.
 */
#ifndef RTCPEER_MEDIA_Y4M_H
#define RTCPEER_MEDIA_Y4M_H

#include "media/merr.h"
#include "media/picture.h"

struct y4m_reader;

int y4m_reader_new(const char *path, struct y4m_reader **out, struct merr *err);
void y4m_reader_free(struct y4m_reader *r);
unsigned y4m_reader_width(const struct y4m_reader *r);
unsigned y4m_reader_height(const struct y4m_reader *r);
/* Frame rate as a fraction (the F tag; 30:1 when absent). */
void y4m_reader_rate(const struct y4m_reader *r, unsigned *num, unsigned *den);
/* Reads the next frame into p (allocated here), restarting at the first frame after the last. */
int y4m_reader_read(struct y4m_reader *r, struct picture *p, struct merr *err);

#endif
