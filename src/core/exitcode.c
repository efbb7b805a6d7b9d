#include "core/exitcode.h"

const char *exit_code_name(int code)
{
        switch (code) {
        case EXIT_OK:
                return "success";
        case EXIT_FAILURE_INTERNAL:
                return "internal or I/O error";
        case EXIT_USAGE:
                return "usage error";
        case EXIT_BAD_SDP:
                return "malformed session description";
        case EXIT_INCOMPATIBLE:
                return "incompatible session description";
        case EXIT_NO_DESCRIPTION:
                return "no session description received";
        case EXIT_SIGNAL_TIMEOUT:
                return "timed out waiting for the peer's description";
        case EXIT_UNSUPPORTED:
                return "not supported yet";
        case EXIT_SIGNALING:
                return "signaling server failed";
        case EXIT_ICE_FAILED:
                return "peer unreachable";
        case EXIT_DTLS_FAILED:
                return "DTLS handshake failed";
        case EXIT_FINGERPRINT:
                return "fingerprint mismatch";
        case EXIT_DEVICE:
                return "device error";
        case EXIT_TURN:
                return "TURN failure";
        case EXIT_DATA_INCOMPLETE:
                return "data transfer incomplete";
        case EXIT_EXPECT_FAILED:
                return "expectation failed";
        case EXIT_INTERRUPTED:
                return "interrupted";
        default:
                return "unknown";
        }
}
