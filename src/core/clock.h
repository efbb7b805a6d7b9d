/* The shell's monotonic clock. Protocol modules never call this: they get `now_us` as input. */
#ifndef RTCPEER_CORE_CLOCK_H
#define RTCPEER_CORE_CLOCK_H

#include <stdint.h>

#define CLOCK_US_PER_SEC 1000000ULL
#define CLOCK_NEVER      UINT64_MAX

/* Microseconds from CLOCK_MONOTONIC. Tests replace the source with clock_set_fake(). */
uint64_t clock_now_us(void);
/* Nonzero pointer: every clock_now_us() returns *fake. NULL restores the real clock. */
void clock_set_fake(const uint64_t *fake);

#endif
