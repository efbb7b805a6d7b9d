/*
 * Terminal preview of received video: the picture scaled to fit the terminal with its aspect
 * ratio kept, drawn with U+2580 (upper half block) so that each character cell shows two pixels
 * stacked (foreground = upper, background = lower; a cell is about twice as tall as wide, so
 * those pixels are square), in 24-bit colour. A frame starts with cursor home and every line
 * ends with a colour reset; colour escapes are emitted only when they change from the previous
 * cell, which keeps a frame to a few tens of kilobytes.
 */
#ifndef RTCPEER_MEDIA_TERMVIEW_H
#define RTCPEER_MEDIA_TERMVIEW_H

#include "core/buf.h"
#include "media/picture.h"

/*
 * Appends one frame to out (the caller resets it between frames). The image is at most cols
 * characters wide and rows lines high; lines are separated by CR LF with none after the last,
 * so the screen never scrolls. -EINVAL for a zero size or empty picture, -ENOMEM.
 */
int termview_render(const struct picture *p, unsigned cols, unsigned rows, struct buf *out);
/* The terminal size of fd (TIOCGWINSZ): 0, -ENOTTY when fd is not a terminal or has no size. */
int termview_size(int fd, unsigned *cols, unsigned *rows);

#endif
