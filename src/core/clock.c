#include "core/clock.h"

#include <time.h>

static const uint64_t *g_fake;

uint64_t clock_now_us(void)
{
        if (g_fake)
                return *g_fake;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * CLOCK_US_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

void clock_set_fake(const uint64_t *fake)
{
        g_fake = fake;
}
