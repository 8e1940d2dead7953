#!/usr/bin/env python3
"""bench/media: sets up N calls in rtpengine over its ng control protocol and writes the target file.

usage: ng.py NG_HOST:NG_PORT STREAMS PORT_A PORT_B TARGET_FILE

Stream i is one call: an offer from side A (127.88.X.Y:PORT_A, see streams.h)
then an answer from side B (127.88.X.Y:PORT_B), plain RTP/AVP with PCMU.  The
SDP rtpengine returns for the offer names the port side B sends to, the one it
returns for the answer the port side A sends to.  The target file has the
format of streams.h: "INDEX IP_A PORT_A IP_B PORT_B".
"""
import itertools
import os
import re
import socket
import sys
import time

WINDOW = 32      # requests in flight
TIMEOUT = 5.0    # seconds without any reply: rtpengine is stuck
PREFIX = os.getpid() * 1000 + int(time.time()) % 1000
SERIAL = itertools.count()


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdec(b, i=0):
    """Decodes one value at b[i:]; returns (value, next index)."""
    c = b[i:i + 1]
    if c == b"i":
        e = b.index(b"e", i)
        return int(b[i + 1:e]), e + 1
    if c in (b"l", b"d"):
        i += 1
        out = []
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        if c == b"l":
            return out, i + 1
        return {out[k].decode(): out[k + 1] for k in range(0, len(out), 2)}, i + 1
    colon = b.index(b":", i)
    n = int(b[i:colon])
    return b[colon + 1:colon + 1 + n], colon + 1 + n


def stream_ip(i):
    return "127.88.%d.%d" % (1 + i // 200, 1 + i % 200)


def sdp(ip, port, sess):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
            % (sess, ip, ip, port))


def sdp_addr(body):
    s = body.decode(errors="replace")
    c = re.search(r"^c=IN IP4 (\S+)", s, re.M)
    m = re.search(r"^m=audio (\d+) ", s, re.M)
    if not c or not m:
        raise SystemExit("ng: no address in rtpengine's SDP:\n" + s)
    return c.group(1), int(m.group(1))


def run(sock, reqs):
    """Sends every (key, dict) in reqs with at most WINDOW in flight; returns key -> reply."""
    replies, pending, todo = {}, {}, list(reqs)
    todo.reverse()
    while todo or pending:
        while todo and len(pending) < WINDOW:
            key, msg = todo.pop()
            # rtpengine caches replies by cookie (retransmissions): never reuse one.
            cookie = "%d-%d" % (PREFIX, next(SERIAL))
            pending[cookie.encode()] = key
            sock.send(cookie.encode() + b" " + benc(msg))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            raise SystemExit("ng: rtpengine did not answer within %.0f s" % TIMEOUT)
        cookie, _, body = data.partition(b" ")
        key = pending.pop(cookie, None)
        if key is None:
            continue
        reply, _ = bdec(body)
        if reply.get("result") != b"ok":
            raise SystemExit("ng: %s failed: %r" % (key, reply))
        replies[key] = reply
    return replies


def main():
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    host, port = sys.argv[1].rsplit(":", 1)
    n, pa, pb, out = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, int(port)))
    sock.settimeout(TIMEOUT)
    t0 = time.monotonic()
    offers = run(sock, [(i, {"command": "offer", "call-id": "bench-%d" % i, "from-tag": "a%d" % i,
                             "sdp": sdp(stream_ip(i), pa, i + 1)}) for i in range(n)])
    answers = run(sock, [(i, {"command": "answer", "call-id": "bench-%d" % i, "from-tag": "a%d" % i,
                              "to-tag": "b%d" % i, "sdp": sdp(stream_ip(i), pb, i + 1)})
                         for i in range(n)])
    with open(out + ".tmp", "w") as f:
        for i in range(n):
            ia, qa = sdp_addr(answers[i]["sdp"])  # to side A: where A sends
            ib, qb = sdp_addr(offers[i]["sdp"])   # to side B: where B sends
            f.write("%d %s %d %s %d\n" % (i, ia, qa, ib, qb))
    os.rename(out + ".tmp", out)
    print("ng: %d calls set up in %.1f s" % (n, time.monotonic() - t0))


if __name__ == "__main__":
    main()
