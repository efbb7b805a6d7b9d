/*
 * Opus packet fuzz target: the TOC parser and sample count the RTP layer uses, the in-band FEC
 * probe of the receive path, and a decode (normal and FEC) of the input as a received packet.
 */
#include <stdint.h>
#include <stdlib.h>

#include "media/opusdec.h"
#include "rtp/opus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct opusdec *dec;
        static int16_t pcm[OPUS_MAX_PACKET_SAMPLES * 2];
        struct opus_toc t;
        (void)opus_toc_parse(&t, data, size);
        int n = opus_packet_samples(data, size);
        if (n > OPUS_MAX_PACKET_SAMPLES)
                abort();
        int fec = opusdec_packet_has_fec(data, size);
        if (fec != 0 && fec != 1)
                abort();
        if (!dec && opusdec_new(2, &dec, NULL) < 0)
                return 0;
        (void)opusdec_decode(dec, data, size, pcm, OPUS_MAX_PACKET_SAMPLES);
        (void)opusdec_decode_fec(dec, data, size, pcm, OPUS_MAX_PACKET_SAMPLES);
        return 0;
}
