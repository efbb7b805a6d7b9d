"""SDP framing shared by the Python interop peers.

A description on stdin/stdout is plain SDP text followed by one empty line
(or the end of the stream).  Lines are passed through with their own line
endings, so the stack under test judges exactly what the other side wrote.
"""

import os
import select
import sys
import time


class Timeout(Exception):
    pass


def read_sdp(timeout, fd=None):
    """Read one description from stdin: lines up to an empty line or EOF.

    Returns the text (line endings preserved, the terminating empty line
    dropped); raises Timeout when nothing complete arrived in time, and
    ValueError when the stream ended before any SDP.
    """
    if fd is None:
        fd = sys.stdin.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    lines = []
    eof = False
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.rstrip(b"\r") == b"":
                if lines:
                    return _join(lines)
                continue  # blank lines before the SDP are ignored
            lines.append(line + b"\n")
        if eof:
            if buf.strip():
                lines.append(buf)
            if not lines:
                raise ValueError("end of input before any SDP")
            return _join(lines)
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("no complete SDP on stdin within %gs" % timeout)
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            eof = True
        buf += chunk


def _join(lines):
    return b"".join(lines).decode("utf-8", "replace")


def write_sdp(sdp):
    """Write a description and the empty line that ends it, then flush.

    The empty line uses the description's own line ending (CRLF for SDP
    that uses CRLF)."""
    eol = "\r\n" if "\r\n" in sdp else "\n"
    if not sdp.endswith("\n"):
        sdp += eol
    sys.stdout.write(sdp + eol)
    sys.stdout.flush()


def strip_candidates(sdp):
    """Drop a=candidate lines so that the stack never starts ICE checks."""
    out = []
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            continue
        out.append(line)
    return "".join(out)


def fail(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(code)
