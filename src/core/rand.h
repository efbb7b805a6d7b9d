/* Cryptographically strong randomness (GnuTLS) for ICE credentials, session ids and keys. */
#ifndef RTCPEER_CORE_RAND_H
#define RTCPEER_CORE_RAND_H

#include <stddef.h>
#include <stdint.h>

int rand_bytes(void *dst, size_t len);
uint64_t rand_u64(void);
uint32_t rand_u32(void);
/* Fills dst with len characters from the ICE char set (ALPHA / DIGIT / "+" / "/") and a NUL. */
int rand_ice_string(char *dst, size_t len);

#endif
