#!/usr/bin/env python3
"""RTP peers and call scripts for the media e2e tests (tests/e2e/test_media_*.sh).

The SIP side is tests/e2e/edges/ua.py: its message builder and parser here for the caller,
its `callee` (started by the shell script, with --rtp-port) for the callee, whose log gives
the SDP the callee got.  This file adds the caller's dialog (re-INVITEs, requests from the
edge), RTP sockets for both parties and the checks.  Every scenario prints "ok: ..." lines
and ends with "sent=N" (RTP packets the peers sent, for the /metrics check of the shell
script); any failed expectation prints "FAIL: ..." and exits 1.

  peer.py flows   --gw IP:PORT --ruri URI --callee-log FILE --callee-rtp PORT --pool A --callee-pool B
      answer, media both ways, hold (sendonly, then silence longer than the media timeout),
      music on hold, resume (sendrecv), the caller moves its RTP port by re-INVITE, BYE
  peer.py latch   ...  the caller's RTP comes from another port than its SDP names
  peer.py timeout ...  no RTP at all: the edge ends the call with BYE ("media timeout")
  peer.py exhaust ... --tiny-ruri URI  port exhaustion: 503 for the call that finds no
      ports, the call that holds them unharmed, a call after it ends gets ports again
  peer.py sdp-trace FILE... --pool A --range LOW-HIGH
      every SDP body a SIPp peer received (its -trace_msg file) names only A and ports in range
  peer.py pcap-count FILE     packets in a pcap file

Loopback only; every wait is bounded.
"""
import argparse
import json
import os
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "edges"))
import ua  # noqa: E402  (the shared SIP UA of the e2e tests)

die = ua.die
PTIME = 0.02


def ok(text):
    print("ok: " + text, flush=True)


# ---------------------------------------------------------------- SDP checks


def sdp_info(body):
    """{"addrs": every address in o=/c=, "ports": m= ports, "rtcp": a=rtcp ports,
    "dir": effective direction of the first stream, "version": o= version}."""
    info = {"addrs": [], "ports": [], "rtcp": [], "dir": "sendrecv", "version": None}
    session_dir, media_dir = None, None
    in_media = False
    for line in (body or "").replace("\r\n", "\n").split("\n"):
        if line.startswith("o="):
            f = line[2:].split()
            if len(f) == 6:
                info["version"] = f[2]
                info["addrs"].append(f[5])
        elif line.startswith("c="):
            info["addrs"].append(line.split()[-1].split("/")[0])
        elif line.startswith("m="):
            if in_media:
                break  # the first stream is the one the tests use
            in_media = True
            info["ports"].append(int(line.split()[1]))
        elif line.startswith("a=rtcp:"):
            info["rtcp"].append(int(line[7:].split()[0]))
        else:
            m = re.match(r"a=(sendrecv|sendonly|recvonly|inactive)\s*$", line)
            if m:
                if in_media:
                    media_dir = m.group(1)
                else:
                    session_dir = m.group(1)
    info["dir"] = media_dir or session_dir or "sendrecv"
    return info


def sdp_problems(body, pool, lo, hi):
    """Why an SDP the edge sent does not keep media on the edge's pool, [] when it does."""
    info = sdp_info(body)
    out = []
    if not info["ports"]:
        out.append("no m= line")
    for a in info["addrs"]:
        if a not in pool:
            out.append("address %s is not the edge's pool %s" % (a, "/".join(sorted(pool))))
    for p in info["ports"] + info["rtcp"]:
        if not lo <= p <= hi:
            out.append("port %d is outside the pool's range %d-%d" % (p, lo, hi))
    for p in info["ports"]:
        if p % 2:
            out.append("RTP port %d is odd" % p)
    return out


def check_sdp(what, body, pool, lo, hi):
    bad = sdp_problems(body, pool, lo, hi)
    if bad:
        die("%s: %s\n%s" % (what, "; ".join(bad), body))
    info = sdp_info(body)
    return info


def sdp_trace(a):
    """SIPp -trace_msg files: the SDP of every message received."""
    lo, hi = map(int, a.range.split("-"))
    pool = set(a.pool.split(","))
    total = 0
    for path in a.files:
        with open(path, errors="replace") as f:
            text = f.read()
        # SIPp separates messages with a line of dashes and a time stamp, then
        # "UDP message received [N] bytes :" and the message itself.
        for block in re.split(r"\n-{20,}[^\n]*\n", "\n" + text):
            if not re.search(r"message received", block[:200]):
                continue
            msg = block.split("\n", 1)[1].lstrip("\n").replace("\r\n", "\n")
            head, _, body = msg.partition("\n\n")
            if "application/sdp" not in head.lower() or "m=" not in body:
                continue
            first = head.split("\n", 1)[0]
            bad = sdp_problems(body.strip("\n"), pool, lo, hi)
            if bad:
                die("%s: '%s' carries SDP that leaves the pool: %s" % (path, first, "; ".join(bad)))
            total += 1
    if total < a.min:
        die("only %d SDP bodies in %s (expected at least %d)" % (total, " ".join(a.files), a.min))
    ok("%d SDP bodies received by the SIPp peers name only %s, ports in %s" % (total, a.pool, a.range))


# ---------------------------------------------------------------- RTP


class Rtp:
    """One RTP socket on 127.0.0.1 that records what it receives: (source, ssrc, seq)."""

    def __init__(self, port=0):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", port))
        self.s.setblocking(False)
        self.port = self.s.getsockname()[1]
        self.got = []
        self.seq = {}

    def send(self, dst, ssrc):
        seq = self.seq.get(ssrc, 0)
        self.seq[ssrc] = seq + 1
        hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc)
        self.s.sendto(hdr + b"\xff" * 160, dst)

    def drain(self):
        while True:
            try:
                data, src = self.s.recvfrom(4096)
            except BlockingIOError:
                return
            if len(data) >= 12 and data[0] >> 6 == 2:
                seq, ssrc = struct.unpack("!H4xI", data[2:12])
                self.got.append((src, ssrc, seq))

    def count(self, ssrc, src=None):
        return sum(1 for s, x, _ in self.got if x == ssrc and (src is None or s == src))

    def sources(self, ssrc):
        return sorted({s for s, x, _ in self.got if x == ssrc})


class Media:
    """The RTP of one test: sockets, what was sent, a pump that paces senders at 20 ms."""

    def __init__(self):
        self.socks = []
        self.sent = 0
        self.dialog = None  # its SIP socket is served while pumping

    def sock(self, port=0):
        r = Rtp(port)
        self.socks.append(r)
        return r

    def pump(self, seconds, senders=(), count=None):
        """For `seconds` (or until every sender has sent `count` packets), each sender
        (rtp, dst, ssrc) sends one packet per 20 ms; everything that arrives is recorded."""
        start = time.monotonic()
        n = 0
        nxt = start
        while True:
            now = time.monotonic()
            if now - start >= seconds and (count is None or n >= count):
                break
            if senders and now >= nxt and (count is None or n < count):
                for rtp, dst, ssrc in senders:
                    rtp.send(dst, ssrc)
                    self.sent += 1
                n += 1
                nxt += PTIME
            rlist = [r.s for r in self.socks] + ([self.dialog.c.s] if self.dialog else [])
            select.select(rlist, [], [], max(0.0, min(nxt - time.monotonic(), 0.02)))
            for r in self.socks:
                r.drain()
            if self.dialog:
                self.dialog.serve()
        return n

    def settle(self, seconds=0.3):
        self.pump(seconds)


def expect_count(what, rtp, ssrc, n, src=None):
    got = rtp.count(ssrc)
    if got != n:
        die("%s: %d of %d packets arrived (ssrc %#x at 127.0.0.1:%d, from %s)"
            % (what, got, n, ssrc, rtp.port, rtp.sources(ssrc) or "nowhere"))
    if src is not None and rtp.sources(ssrc) != [src]:
        die("%s: packets came from %s, expected only from the edge's %s:%d"
            % (what, rtp.sources(ssrc), src[0], src[1]))


# ---------------------------------------------------------------- the caller's dialog


class Dialog:
    """The caller's side of one call through the edge, on ua.Caller's socket."""

    def __init__(self, gw, ruri):
        self.c = ua.Caller(gw)
        self.gw = gw
        self.ruri = ruri
        self.call_id = ua.token() + "@media-e2e"
        self.from_tag = ua.token()
        self.to = "<%s>" % ruri
        self.target = ruri
        self.dst = gw
        self.cseq = 0
        self.requests = []  # (method, hdrs, time) of requests from the edge

    def serve(self):
        """Answers requests from the edge (records them); returns a response or None."""
        while True:
            try:
                self.c.s.settimeout(0)
                data, src = self.c.s.recvfrom(65535)
            except (BlockingIOError, socket.timeout):
                return None
            m = ua.parse(data)
            if not m:
                continue
            if m[0].startswith("SIP/2.0 "):
                return m, src
            method = m[0].split(" ")[0]
            self.requests.append((method, m[1], time.monotonic()))
            if method != "ACK":
                self.c.s.sendto(ua.response(200, "OK", m[1]), src)

    def request(self, method, body="", timeout=5.0):
        """Sends a request and waits for its final response: (status, reason, hdrs, body)."""
        self.cseq += 1
        branch = "z9hG4bK-" + ua.token()
        first = method == "INVITE" and self.cseq == 1
        msg = self.c.request(method, self.ruri if first else self.target, self.cseq, self.to,
                             self.call_id, self.from_tag, branch, body)
        dst = self.gw if first else self.dst
        self.c.s.sendto(msg, dst)
        end = time.monotonic() + timeout
        iv, nxt, heard = ua.T1, time.monotonic() + ua.T1, False
        while time.monotonic() < end:
            select.select([self.c.s], [], [], 0.02)
            got = self.serve()
            if got is None:
                if not heard and time.monotonic() >= nxt:
                    self.c.s.sendto(msg, dst)
                    iv = min(iv * 2, 4 * ua.T1)
                    nxt = time.monotonic() + iv
                continue
            (line, hdrs, rbody), src = got
            if ua.branch_of(ua.hget(hdrs, "via")) != branch:
                if line.split(" ")[1].startswith("2") and "INVITE" in (ua.hget(hdrs, "cseq") or ""):
                    self.ack(hdrs, src)  # a late 2xx of an earlier INVITE
                continue
            heard = True
            status = int(line.split(" ")[1])
            if status < 200:
                continue
            reason = line.split(" ", 2)[2] if line.count(" ") >= 2 else ""
            if method == "INVITE":
                if status < 300:
                    self.to = ua.hget(hdrs, "to")
                    contact = re.search(r"<([^>]+)>", ua.hget(hdrs, "contact") or "")
                    self.target = contact.group(1) if contact else self.ruri
                    self.dst = src
                    self.ack(hdrs, src)
                else:
                    ack = self.c.request("ACK", self.ruri, self.cseq, ua.hget(hdrs, "to"),
                                         self.call_id, self.from_tag, branch)
                    self.c.s.sendto(ack, src)
            return status, reason, hdrs, rbody
        die("no final response to %s within %.0f s (call %s)" % (method, timeout, self.ruri))

    def ack(self, hdrs, src):
        cseq = int((ua.hget(hdrs, "cseq") or "1").split()[0])
        msg = self.c.request("ACK", self.target, cseq, self.to, self.call_id, self.from_tag,
                             "z9hG4bK-" + ua.token())
        self.c.s.sendto(msg, src)

    def invite(self, body, expect=200):
        status, reason, hdrs, rbody = self.request("INVITE", body)
        if status != expect:
            die("INVITE (CSeq %d) to %s: expected %d, got %d %s" % (self.cseq, self.ruri, expect, status, reason))
        return status, reason, rbody

    def bye(self):
        status, reason, _, _ = self.request("BYE")
        if status != 200:
            die("BYE answered %d %s" % (status, reason))


def callee_invites(log, call_id=None, user=None):
    """INVITEs (first copies) the ua.py callee got: all of one Call-ID, or of the last call for USER."""
    recs = []
    try:
        with open(log) as f:
            # The callee may be writing a record right now: a last line without its
            # newline is not complete yet, and is left for the next read.
            recs = [json.loads(line) for line in f.read().split("\n")[:-1]]
    except FileNotFoundError:
        pass
    if call_id is None:
        mine = [r for r in recs if r["method"] == "INVITE" and r["user"] == user and not r["retrans"]]
        if not mine:
            return [], None
        call_id = mine[-1]["call_id"]
    return [r for r in recs if r["call_id"] == call_id and not r["retrans"]], call_id


def edge_addr(info):
    return (info["addrs"][-1], info["ports"][0])


class Call:
    """One call with a caller RTP socket and the callee's RTP socket, both checked."""

    def __init__(self, a, media, ruri=None):
        self.a = a
        self.media = media
        self.lo, self.hi = map(int, a.range.split("-"))
        self.d = Dialog(ua.addr(a.gw), ruri or a.ruri)
        media.dialog = self.d
        self.user = re.sub(r"^sips?:([^@;]*)@.*$", r"\1", self.d.ruri)
        self.call_id = None

    def start(self, caller_rtp, callee_rtp):
        """INVITE with caller_rtp's port; returns (edge's caller-leg addr, edge's callee-leg addr)."""
        _, _, body = self.d.invite(ua.sdp("127.0.0.1", caller_rtp.port))
        ea = edge_addr(check_sdp("the caller's 200", body, {self.a.pool}, self.lo, self.hi))
        _, self.call_id = callee_invites(self.a.callee_log, user=self.user)
        inv = self.callee_last()
        if not inv:
            die("the callee logged no INVITE for %s" % self.user)
        eb = edge_addr(check_sdp("the callee's INVITE", inv["body"], {self.a.callee_pool}, self.lo, self.hi))
        if ea[1] == caller_rtp.port or eb[1] == callee_rtp.port:
            die("an SDP names the peer's own port: caller leg %s, callee leg %s" % (ea, eb))
        return ea, eb

    def callee_last(self, method="INVITE"):
        recs, _ = callee_invites(self.a.callee_log, call_id=self.call_id)
        recs = [r for r in recs if r["method"] == method]
        return recs[-1] if recs else None

    def both_ways(self, what, ra, ea, rb, eb, n=50, ssrc_a=None, ssrc_b=None):
        """n packets each way at once; both arrive exactly, each from the edge's address."""
        ssrc_a = ssrc_a or int.from_bytes(os.urandom(4), "big")
        ssrc_b = ssrc_b or int.from_bytes(os.urandom(4), "big")
        self.media.pump(0, [(ra, ea, ssrc_a), (rb, eb, ssrc_b)], count=n)
        self.media.settle()
        expect_count(what + ", caller to callee", rb, ssrc_a, n, eb)
        expect_count(what + ", callee to caller", ra, ssrc_b, n, ea)
        ok("%s: %d packets each way arrived, each from the edge's address of that leg" % (what, n))


def no_bye(d, what):
    byes = [r for r in d.requests if r[0] == "BYE"]
    if byes:
        die("%s: the edge sent BYE (Reason: %s)" % (what, ua.hget(byes[0][1], "reason")))


# ---------------------------------------------------------------- scenarios


def flows(a):
    media = Media()
    call = Call(a, media)
    ra, rb = media.sock(), media.sock(a.callee_rtp)
    ea, eb = call.start(ra, rb)
    ok("answered: the caller's SDP names %s:%d, the callee's %s:%d" % (ea + eb))
    call.both_ways("talking", ra, ea, rb, eb)
    v0 = sdp_info(call.callee_last()["body"])["version"]

    # Hold: the callee sees sendonly on the edge's same port, the caller gets recvonly.
    _, _, body = call.d.invite(ua.sdp("127.0.0.1", ra.port, "sendonly"))
    info = check_sdp("the caller's 200 to hold", body, {a.pool}, call.lo, call.hi)
    if info["dir"] != "recvonly" or edge_addr(info) != ea:
        die("hold: the caller's 200 says %s at %s, expected recvonly at %s" % (info["dir"], edge_addr(info), ea))
    rec = call.callee_last()
    info = check_sdp("the callee's hold re-INVITE", rec["body"], {a.callee_pool}, call.lo, call.hi)
    if info["dir"] != "sendonly" or edge_addr(info) != eb:
        die("hold: the callee's re-INVITE says %s at %s, expected sendonly at %s" % (info["dir"], edge_addr(info), eb))
    if info["version"] == v0:
        die("hold: the o= version the callee sees stayed %s (RFC 3264 8: it must go up)" % v0)
    ok("hold: the callee's re-INVITE says sendonly at %s:%d (o= version %s -> %s), the caller's 200 recvonly"
       % (eb + (v0, info["version"])))
    # Nobody sends for longer than the media timeout: a call on hold is not dead.
    media.pump(a.silence)
    no_bye(call.d, "hold, %.1f s of silence" % a.silence)
    ok("hold: %.1f s without RTP and the edge kept the call (hold-aware media timeout)" % a.silence)
    moh = int.from_bytes(os.urandom(4), "big")
    media.pump(0, [(ra, ea, moh)], count=25)
    media.settle()
    expect_count("music on hold", rb, moh, 25, eb)
    ok("hold: 25 packets of music on hold reached the callee")

    # Resume: sendrecv again, media both ways.
    _, _, body = call.d.invite(ua.sdp("127.0.0.1", ra.port, "sendrecv"))
    info = check_sdp("the caller's 200 to resume", body, {a.pool}, call.lo, call.hi)
    if info["dir"] != "sendrecv":
        die("resume: the caller's 200 says %s" % info["dir"])
    info = check_sdp("the callee's resume re-INVITE", call.callee_last()["body"], {a.callee_pool}, call.lo, call.hi)
    if info["dir"] != "sendrecv" or edge_addr(info) != eb:
        die("resume: the callee's re-INVITE says %s at %s, expected sendrecv at %s" % (info["dir"], edge_addr(info), eb))
    v1 = info["version"]
    ok("resume: the callee's re-INVITE says sendrecv at %s:%d" % eb)
    call.both_ways("resumed", ra, ea, rb, eb)

    # The caller moves to another RTP port: the callee's packets follow at once, before the
    # caller has sent anything from there; the callee's SDP (and o= version) do not change.
    ra2 = media.sock()
    _, _, body = call.d.invite(ua.sdp("127.0.0.1", ra2.port, "sendrecv"))  # as resumed but the port
    check_sdp("the caller's 200 to the port change", body, {a.pool}, call.lo, call.hi)
    info = check_sdp("the callee's port-change re-INVITE", call.callee_last()["body"], {a.callee_pool},
                     call.lo, call.hi)
    if edge_addr(info) != eb or info["version"] != v1:
        die("port change: the callee's re-INVITE says %s version %s, expected %s version %s (unchanged)"
            % (edge_addr(info), info["version"], eb, v1))
    ssrc_b = int.from_bytes(os.urandom(4), "big")
    media.pump(0, [(rb, eb, ssrc_b)], count=50)
    media.settle()
    expect_count("port change, callee to the caller's new port", ra2, ssrc_b, 50, ea)
    expect_count("port change, callee to the caller's old port", ra, ssrc_b, 0)
    ok("port change: the callee's 50 packets went to the caller's new port %d, none to the old %d"
       % (ra2.port, ra.port))
    call.both_ways("after the port change", ra2, ea, rb, eb)

    no_bye(call.d, "the whole call")
    call.d.bye()
    ok("BYE answered 200")
    print("sent=%d" % media.sent)


def latch(a):
    media = Media()
    call = Call(a, media)
    ra_sdp, ra_real, rb = media.sock(), media.sock(), media.sock(a.callee_rtp)
    ea, eb = call.start(ra_sdp, rb)
    ok("answered: the caller's SDP names 127.0.0.1:%d, it sends from 127.0.0.1:%d" % (ra_sdp.port, ra_real.port))
    first = int.from_bytes(os.urandom(4), "big")
    media.pump(0, [(ra_real, ea, first)], count=1)
    media.settle(0.2)
    expect_count("the caller's first packet", rb, first, 1, eb)
    call.both_ways("latched", ra_real, ea, rb, eb)
    expect_count("the caller's SDP port (never used)", ra_sdp, 0, 0)
    if ra_sdp.got:
        die("the caller's SDP port got %d packets; the edge should send to where RTP comes from" % len(ra_sdp.got))
    ok("return traffic went to the caller's real source port %d, nothing to its SDP port %d"
       % (ra_real.port, ra_sdp.port))
    call.d.bye()
    print("sent=%d" % media.sent)


def timeout(a):
    media = Media()
    call = Call(a, media)
    ra, rb = media.sock(), media.sock(a.callee_rtp)
    call.start(ra, rb)
    start = time.monotonic()
    while time.monotonic() - start < a.wait and not [r for r in call.d.requests if r[0] == "BYE"]:
        media.pump(0.05)
    byes = [r for r in call.d.requests if r[0] == "BYE"]
    if not byes:
        die("no BYE from the edge within %.1f s of a call without RTP" % a.wait)
    took = byes[0][2] - start
    reason = ua.hget(byes[0][1], "reason") or ""
    if "media timeout" not in reason:
        die("the edge's BYE to the caller has Reason '%s', expected one naming 'media timeout'" % reason)
    if took < a.min_time:
        die("BYE after %.2f s of silence, before the %.1f s media timeout" % (took, a.min_time))
    ok("the caller got BYE after %.2f s without RTP, Reason: %s" % (took, reason))
    deadline = time.monotonic() + 3
    rec = None
    while time.monotonic() < deadline and rec is None:
        rec = call.callee_last("BYE")
        time.sleep(0.05)
    if rec is None or "media timeout" not in rec["reason"]:
        die("the callee got %s" % ("no BYE" if rec is None else "a BYE with Reason '%s'" % rec["reason"]))
    ok("the callee got BYE too, Reason: %s" % rec["reason"])
    print("sent=%d" % media.sent)


def exhaust(a):
    media = Media()
    lo, hi = map(int, a.range.split("-"))
    first = Call(a, media, a.tiny_ruri)
    ra, rb = media.sock(), media.sock(a.callee_rtp)
    ea, eb = first.start(ra, rb)
    ok("first call: answered on %s:%d / %s:%d, two of the pairs in %d-%d in use" % (ea + eb + (lo, hi)))
    second = Dialog(ua.addr(a.gw), a.tiny_ruri)
    status, reason, _ = second.invite(ua.sdp("127.0.0.1", media.sock().port), expect=503)
    ok("second call: %d %s" % (status, reason))
    media.dialog = first.d
    first.both_ways("first call, after the refused one", ra, ea, rb, eb)
    no_bye(first.d, "first call")
    first.d.bye()
    ok("first call ended")
    time.sleep(a.quarantine)
    third = Call(a, media, a.tiny_ruri)
    ra3 = media.sock()
    ea3, eb3 = third.start(ra3, rb)
    third.both_ways("third call, after the first freed its ports", ra3, ea3, rb, eb3)
    third.d.bye()
    print("sent=%d" % media.sent)


def pcap_count(a):
    """Packets in a classic pcap file (what SIPp's play_pcap_audio sends)."""
    with open(a.file, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = {0xA1B2C3D4: "<", 0xD4C3B2A1: ">", 0xA1B23C4D: "<", 0x4D3CB2A1: ">"}.get(magic)
    if not endian:
        die("%s: not a pcap file" % a.file)
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    print(n)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("flows", "latch", "timeout", "exhaust"):
        s = sub.add_parser(name)
        s.add_argument("--gw", required=True)
        s.add_argument("--ruri", required=True)
        s.add_argument("--callee-log", required=True)
        s.add_argument("--callee-rtp", type=int, required=True)
        s.add_argument("--pool", required=True, help="the media address of the caller's edge")
        s.add_argument("--callee-pool", required=True, help="the media address of the callee's edge")
        s.add_argument("--range", default="10000-60000")
        s.add_argument("--silence", type=float, default=3.0, help="flows: seconds of silence on hold")
        s.add_argument("--wait", type=float, default=8.0, help="timeout: how long to wait for BYE")
        s.add_argument("--min-time", type=float, default=1.5, help="timeout: no BYE before this")
        s.add_argument("--tiny-ruri", help="exhaust: a route whose legs both use the tiny pool")
        s.add_argument("--quarantine", type=float, default=0.5, help="exhaust: wait after the first call")
    t = sub.add_parser("sdp-trace")
    t.add_argument("files", nargs="+")
    t.add_argument("--pool", required=True)
    t.add_argument("--range", required=True)
    t.add_argument("--min", type=int, default=1)
    t = sub.add_parser("pcap-count")
    t.add_argument("file")
    a = p.parse_args()
    try:
        {"flows": flows, "latch": latch, "timeout": timeout, "exhaust": exhaust, "sdp-trace": sdp_trace,
         "pcap-count": pcap_count}[a.cmd](a)
    except OSError as e:
        die("%s: %s" % (a.cmd, e))


if __name__ == "__main__":
    main()
