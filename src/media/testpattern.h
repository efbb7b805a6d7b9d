/*
 * The test picture: moving gradients and a bouncing box (so an encoder has real motion to code),
 * with the frame number and the capture time drawn as big blocky digits in a black box at the
 * top left. A receiver reads them back with testpattern_read() to measure loss, order and
 * latency end to end; each line carries a check digit so a misread is reported, not returned.
 */
#ifndef RTCPEER_MEDIA_TESTPATTERN_H
#define RTCPEER_MEDIA_TESTPATTERN_H

#include <stdint.h>

#include "media/picture.h"

/* The smallest picture that carries the digits; smaller ones get the background only. */
#define TESTPATTERN_MIN_WIDTH  135
#define TESTPATTERN_MIN_HEIGHT 50

/* Draws frame `seq` (digits show seq mod 10^10) with `capture_us` (mod 10^16) into p. */
void testpattern_draw(struct picture *p, uint64_t seq, uint64_t capture_us);
/*
 * Reads the numbers back. Returns 0, -ENOSPC when the picture is too small to hold them, or
 * -EBADMSG when a digit or a check digit does not match (damaged or not a test picture).
 */
int testpattern_read(const struct picture *p, uint64_t *seq, uint64_t *capture_us);

#endif
