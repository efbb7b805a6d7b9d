/*
 * mDNS response fuzz target: every input goes through the response parser and, with names
 * pending, through the resolver, whose outputs are drained. A parsed response must keep its
 * invariants: stored names are well-formed wire names of at most 255 bytes.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ice/mdns.h"

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void check_name(const uint8_t *name, size_t len)
{
        check(len >= 1 && len <= MDNS_NAME_WIRE_MAX);
        size_t i = 0;
        while (i < len && name[i] != 0) {
                check(name[i] <= 63);
                i += 1 + name[i];
        }
        check(i == len - 1 && name[i] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct mdns_response resp;
        if (mdns_response_parse(&resp, data, size) == 0) {
                size_t n = resp.addr_count < MDNS_MAX_ADDR_RECORDS ? resp.addr_count
                                                                   : MDNS_MAX_ADDR_RECORDS;
                for (size_t i = 0; i < n; i++)
                        check_name(resp.rec[i].name, resp.rec[i].name_len);
        }

        struct mdns_resolver *r = mdns_resolver_new(NULL);
        if (!r)
                return 0;
        mdns_resolve(r, 0, "1f4712db-ea17-4bcf-a596-105139dfd8bf.local", 1);
        mdns_resolve(r, 0, "peer.local", 2);
        int rc = mdns_handle_input(r, 1000, data, size);
        struct mdns_output o;
        size_t resolved = 0;
        while (mdns_poll_output(r, &o) == 1)
                resolved += o.kind == MDNS_OUT_RESOLVED;
        check(rc == 0 ? resolved > 0 : resolved == 0);
        check(mdns_pending_count(r) == 2 - resolved);
        mdns_handle_timeout(r, 10000000);
        mdns_resolver_free(r);
        return 0;
}
