#!/usr/bin/env python3
"""Tiny SIP client for the daemon e2e tests: one check per subcommand, exit 0 on pass.

Usage: sip_probe.py CHECK HOST PORT [ARG]
Only loopback addresses are used; every socket operation has a timeout.
"""
import os
import re
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 3.0


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


def msg(name):
    """A stored message made a new transaction: fresh branch and Call-ID per send
    (the edge rightly absorbs a repeated branch as a retransmission)."""
    with open(os.path.join(HERE, "msg", name), "rb") as f:
        data = f.read()
    nonce = os.urandom(6).hex().encode()
    data = re.sub(rb"branch=z9hG4bK([-\w.]*)", rb"branch=z9hG4bK\1-" + nonce, data)
    return re.sub(rb"(\r\n(?:Call-ID|i):\s*)([^@\r]+)", rb"\1\2-" + nonce, data, count=1)


def status_line(data):
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def header(data, name):
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def udp_exchange(host, port, data, expect_reply=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(TIMEOUT if expect_reply else 0.5)
    s.sendto(data, (host, port))
    try:
        reply, src = s.recvfrom(65535)
    except socket.timeout:
        reply, src = None, None
    local = s.getsockname()
    s.close()
    return reply, src, local


def tcp_connect(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def tcp_read_response(s, buf=b""):
    """Reads one response framed by Content-Length; returns (message, leftover)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)", head, re.I)
            if not m:
                fail("response without Content-Length: %r" % head)
            n = int(m.group(1))
            if len(rest) >= n:
                return head + b"\r\n\r\n" + rest[:n], rest[n:]
        chunk = s.recv(65535)
        if not chunk:
            fail("connection closed while waiting for a response")
        buf += chunk
    fail("no complete response within %.0fs" % TIMEOUT)


def check_200(reply, local, transport):
    if reply is None:
        fail("no response to OPTIONS over " + transport)
    if status_line(reply) != "SIP/2.0 200 OK":
        fail("expected 200 OK, got %r" % status_line(reply))
    for h in ("Allow", "Accept", "Supported", "Call-ID", "CSeq", "From", "Via"):
        if header(reply, h) is None:
            fail("200 OK without %s" % h)
    if "OPTIONS" not in header(reply, "Allow"):
        fail("Allow does not list OPTIONS: %r" % header(reply, "Allow"))
    if not re.search(r";tag=\S+", header(reply, "To") or ""):
        fail("200 OK without a To tag")
    if not re.fullmatch(r"options-1-[0-9a-f]{12}@127\.0\.0\.1", header(reply, "Call-ID") or ""):
        fail("Call-ID not copied: %r" % header(reply, "Call-ID"))
    via = header(reply, "Via")
    if local is not None and ";rport=%d" % local[1] not in via:
        fail("Via lacks rport=%d (RFC 3581): %r" % (local[1], via))


def options_udp(host, port):
    reply, src, local = udp_exchange(host, port, msg("options.sip"))
    check_200(reply, local, "udp")
    if src != (host, port):
        fail("response came from %r, not from the gateway %s:%d" % (src, host, port))
    print("ok: udp OPTIONS -> " + status_line(reply))


def bad_cseq_udp(host, port):
    reply, _, _ = udp_exchange(host, port, msg("invite-bad-cseq.sip"))
    if reply is None:
        fail("no response to the malformed INVITE")
    line = status_line(reply)
    if not line.startswith("SIP/2.0 400 "):
        fail("expected 400, got %r" % line)
    if "CSeq" not in line or "method" not in line:
        fail("400 reason does not name the problem: %r" % line)
    # RFC 3261 25.1 Reason-Phrase: reserved / unreserved / SP (ASCII here).
    if not re.fullmatch(r"SIP/2\.0 400 [A-Za-z0-9 \-_.!~*'();/?:@&=+$,]+", line):
        fail("not a valid reason-phrase: %r" % line)
    if header(reply, "CSeq") != "1 OPTIONS":
        fail("400 must copy the CSeq as received: %r" % header(reply, "CSeq"))
    print("ok: malformed INVITE -> " + line)


def invite_udp(host, port):
    """The edge takes the call: 100 Trying at once, whatever the callee does later."""
    reply, _, _ = udp_exchange(host, port, msg("invite.sip"))
    if reply is None or status_line(reply) != "SIP/2.0 100 Trying":
        fail("expected 100 Trying to INVITE, got %r" % (reply and status_line(reply)))
    print("ok: INVITE -> " + status_line(reply))


def silent_udp(host, port, what):
    """Things that must not be answered: ACK, a response, garbage."""
    if what == "ack":
        data = msg("invite.sip").replace(b"INVITE sip:", b"ACK sip:", 1)
        data = data.replace(b"CSeq: 1 INVITE", b"CSeq: 1 ACK")
    elif what == "response":
        data = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-r\r\n"
                b"From: <sip:a@ixedge.test>;tag=1\r\nTo: <sip:b@ixedge.test>;tag=2\r\n"
                b"Call-ID: r@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    else:
        data = bytes(range(256)) * 4
    reply, _, _ = udp_exchange(host, port, data, expect_reply=False)
    if reply is not None:
        fail("%s must not be answered, got %r" % (what, status_line(reply)))
    print("ok: %s not answered" % what)


def options_tcp(host, port):
    s = tcp_connect(host, port)
    m = msg("options.sip").replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")
    # One message split across writes, then two pipelined in one write.
    s.sendall(m[:40])
    time.sleep(0.1)
    s.sendall(m[40:])
    r1, left = tcp_read_response(s)
    check_200(r1, None, "tcp")
    s.sendall(m + m.replace(b"CSeq: 1 OPTIONS", b"CSeq: 2 OPTIONS"))
    r2, left = tcp_read_response(s, left)
    r3, left = tcp_read_response(s, left)
    if header(r2, "CSeq") != "1 OPTIONS" or header(r3, "CSeq") != "2 OPTIONS":
        fail("pipelined responses out of order: %r %r" % (header(r2, "CSeq"), header(r3, "CSeq")))
    s.close()
    print("ok: tcp OPTIONS (split and pipelined) -> " + status_line(r1))


def keepalive_tcp(host, port):
    s = tcp_connect(host, port)
    s.sendall(b"\r\n\r\n")
    pong = s.recv(16)
    if pong != b"\r\n":
        fail("RFC 5626 ping: expected a CRLF pong, got %r" % pong)
    # The connection stays usable after a ping.
    s.sendall(msg("options.sip").replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"))
    r, _ = tcp_read_response(s)
    check_200(r, None, "tcp")
    s.close()
    print("ok: tcp CRLFCRLF ping -> CRLF pong, then OPTIONS -> 200")


def expect_closed(s, within, what):
    s.settimeout(within)
    start = time.monotonic()
    try:
        while True:
            data = s.recv(65535)
            if not data:
                return time.monotonic() - start
    except socket.timeout:
        fail("%s: connection still open after %.1fs" % (what, within))
    except ConnectionResetError:
        return time.monotonic() - start


def framing_tcp(host, port):
    s = tcp_connect(host, port)
    m = msg("options.sip").replace(b"Content-Length: 0\r\n", b"")
    s.sendall(m)
    expect_closed(s, TIMEOUT, "message without Content-Length")
    s.close()
    print("ok: tcp message without Content-Length -> connection closed")


def idle_tcp(host, port, seconds):
    s = tcp_connect(host, port)
    took = expect_closed(s, seconds + 3.0, "idle connection")
    s.close()
    if took < seconds - 0.5:
        fail("idle connection closed after %.1fs, before the %ss timeout" % (took, seconds))
    print("ok: idle tcp connection closed after %.1fs" % took)


def maxconn_tcp(host, port, limit):
    """limit connections are served; the next one is closed at once."""
    conns = [tcp_connect(host, port) for _ in range(limit)]
    m = msg("options.sip").replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP")
    for s in conns:
        s.sendall(m)
        r, _ = tcp_read_response(s)
        check_200(r, None, "tcp")
    extra = tcp_connect(host, port)
    expect_closed(extra, TIMEOUT, "connection over tcp_max_connections")
    extra.close()
    for s in conns:
        s.close()
    print("ok: %d tcp connections served, one more refused" % limit)


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        sys.exit(2)
    check, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if not host.startswith("127."):
        fail("loopback only")
    checks = {
        "options-udp": lambda: options_udp(host, port),
        "bad-cseq-udp": lambda: bad_cseq_udp(host, port),
        "invite-udp": lambda: invite_udp(host, port),
        "ack-udp": lambda: silent_udp(host, port, "ack"),
        "response-udp": lambda: silent_udp(host, port, "response"),
        "garbage-udp": lambda: silent_udp(host, port, "garbage"),
        "options-tcp": lambda: options_tcp(host, port),
        "keepalive-tcp": lambda: keepalive_tcp(host, port),
        "framing-tcp": lambda: framing_tcp(host, port),
        "idle-tcp": lambda: idle_tcp(host, port, float(sys.argv[4])),
        "maxconn-tcp": lambda: maxconn_tcp(host, port, int(sys.argv[4])),
    }
    if check not in checks:
        fail("unknown check " + check)
    try:
        checks[check]()
    except (OSError, socket.timeout) as e:
        fail("%s: %s" % (check, e))


if __name__ == "__main__":
    main()
