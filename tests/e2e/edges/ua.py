#!/usr/bin/env python3
"""Minimal SIP UAs over UDP for the edge e2e tests (tests/e2e/test_edges_*.sh).

  ua.py callee --bind IP:PORT --log FILE [--drop-from IPS] [--reject-from IPS]
               [--options] [--seconds S] [--rtp-port N]
      A UAS that answers INVITEs 100/180/200 (SDP naming IP:N, default port
      40000; a re-INVITE gets 100/200), other requests 200 (OPTIONS only with
      --options).  The answer mirrors the offer's direction (sendonly gets
      recvonly).  Every request is written to FILE as one JSON line with the
      source address it really came from (SIPp's traces do not carry it), its
      Reason header and its body.
      --drop-from: requests from these source IPs are logged, never answered (a
      gateway path that gets no response).  --reject-from: INVITEs from these
      IPs get 503.

  ua.py call --gw IP:PORT --ruri URI [--expect STATUS] [--reason-has TEXT]
             [--min-time S] [--max-time S] [--timeout S]
      A UAC: INVITE with SDP, ACK of the final, BYE after a 2xx.  Prints
      "status=N reason=... elapsed=S"; exit 0 only when the expectations hold.

  ua.py get FILE USER FIELD [INDEX]
      FIELD of the INDEX-th (default: last) first copy of an INVITE for USER
      in a callee's log; "count" prints how many there are.

Loopback only; every wait is bounded.
"""
import argparse
import json
import os
import re
import socket
import sys
import time

T1 = 0.1


def die(why):
    print("FAIL: " + why)
    sys.exit(1)


def addr(text):
    host, _, port = text.rpartition(":")
    if not host.startswith("127."):
        die("loopback only: " + text)
    return host, int(port)


def token():
    return os.urandom(6).hex()


def parse(data):
    """(first line, [(name, value)], body) or None for garbage."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and hdrs:
            hdrs[-1] = (hdrs[-1][0], hdrs[-1][1] + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if sep:
            hdrs.append((name.strip().lower(), value.strip()))
    return lines[0], hdrs, body


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type"}


def hget(hdrs, name, all_=False):
    out = [v for n, v in hdrs if COMPACT.get(n, n) == name]
    if all_:
        return out
    return out[0] if out else None


def uri_host(uri):
    """Host of a sip: URI in a header value or a Request-URI."""
    m = re.search(r"sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>?\s]+)", uri or "", re.I)
    return m.group(1) if m else ""


def via_host(via):
    m = re.match(r"SIP/2\.0/[A-Za-z]+\s+(\[[^\]]+\]|[^:;\s]+)", via or "", re.I)
    return m.group(1) if m else ""


def branch_of(via):
    m = re.search(r";\s*branch=([^;,\s]+)", via or "", re.I)
    return m.group(1) if m else ""


def response(status, reason, hdrs, to_tag=None, extra=(), body=""):
    out = ["SIP/2.0 %d %s" % (status, reason)]
    for v in hget(hdrs, "via", True):
        out.append("Via: " + v)
    out.append("From: " + hget(hdrs, "from"))
    to = hget(hdrs, "to")
    if to_tag and ";tag=" not in to:
        to += ";tag=" + to_tag
    out.append("To: " + to)
    out.append("Call-ID: " + hget(hdrs, "call-id"))
    out.append("CSeq: " + hget(hdrs, "cseq"))
    out.extend(extra)
    out.append("Content-Length: %d" % len(body.encode()))
    return ("\r\n".join(out) + "\r\n\r\n" + body).encode()


def sdp(ip, port, direction=None):
    return ("v=0\r\no=ua 1 1 IN IP4 {0}\r\ns=-\r\nc=IN IP4 {0}\r\nt=0 0\r\n"
            "m=audio {1} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n{2}").format(
                ip, port, "a=%s\r\n" % direction if direction else "")


MIRROR = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


def sdp_direction(body):
    """The last direction attribute of an SDP body (media level wins), or None."""
    found = re.findall(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", body or "", re.M)
    return found[-1] if found else None


# ---------------------------------------------------------------- callee


def callee(a):
    host, port = addr(a.bind)
    drop = set(filter(None, a.drop_from.split(",")))
    reject = set(filter(None, a.reject_from.split(",")))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    log = open(a.log, "a", buffering=1)
    answered = {}   # (branch, method) -> last response bytes, for retransmitted requests
    pending = {}    # call-id -> [bytes, dst, next send time, interval, give up time]: 2xx until ACK
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        now = time.monotonic()
        for cid, p in list(pending.items()):
            if now >= p[4]:
                del pending[cid]
            elif now >= p[2]:
                s.sendto(p[0], p[1])
                p[3] = min(p[3] * 2, 4 * T1)
                p[2] = now + p[3]
        s.settimeout(0.05)
        try:
            data, src = s.recvfrom(65535)
        except socket.timeout:
            continue
        m = parse(data)
        if not m or m[0].startswith("SIP/2.0 "):
            continue
        first, hdrs, body = m
        method, ruri = first.split(" ")[:2]
        via = hget(hdrs, "via") or ""
        key = (branch_of(via), "INVITE" if method == "ACK" else method)
        rec = {"t": round(time.time(), 3), "method": method, "src_ip": src[0], "src_port": src[1],
               "ruri": ruri, "user": re.sub(r"^sips?:([^@;]*)@.*$", r"\1", ruri, flags=re.I),
               "via": via, "via_host": via_host(via), "contact": hget(hdrs, "contact") or "",
               "contact_host": uri_host(hget(hdrs, "contact")), "to": hget(hdrs, "to") or "",
               "call_id": hget(hdrs, "call-id") or "", "retrans": key in answered,
               "dropped": src[0] in drop, "reason": hget(hdrs, "reason") or "", "body": body}
        log.write(json.dumps(rec) + "\n")
        if src[0] in drop:
            answered.setdefault(key, None)  # later copies count as retransmissions
            continue
        if method == "ACK":
            pending.pop(rec["call_id"], None)
            continue
        if key in answered and answered[key]:
            s.sendto(answered[key], src)
            continue
        tag = token()
        if method == "INVITE" and src[0] in reject:
            answered[key] = response(503, "Service Unavailable", hdrs, tag)
            s.sendto(answered[key], src)
        elif method == "INVITE":
            contact = "Contact: <sip:callee@%s:%d>" % (host, port)
            s.sendto(response(100, "Trying", hdrs), src)
            if ";tag=" not in rec["to"]:  # not for a re-INVITE
                s.sendto(response(180, "Ringing", hdrs, tag, [contact]), src)
            ok = response(200, "OK", hdrs, tag, [contact, "Content-Type: application/sdp"],
                          sdp(host, a.rtp_port, MIRROR.get(sdp_direction(body))))
            answered[key] = ok
            s.sendto(ok, src)
            pending[rec["call_id"]] = [ok, src, now + T1, T1, now + 64 * T1]
        elif method == "OPTIONS" and not a.options:
            answered[key] = None  # silent: a target that is not there
        else:
            answered[key] = response(200, "OK", hdrs, tag)
            s.sendto(answered[key], src)


# ---------------------------------------------------------------- caller


class Caller:
    def __init__(self, gw):
        self.gw = gw
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.ip, self.port = self.s.getsockname()

    def request(self, method, ruri, cseq, to, call_id, from_tag, branch, body=""):
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.ip, self.port, branch),
                 "Max-Forwards: 70",
                 'From: "Edge Test" <sip:caller@%s>;tag=%s' % (self.ip, from_tag),
                 "To: " + to,
                 "Call-ID: " + call_id,
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: <sip:caller@%s:%d>" % (self.ip, self.port)]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body.encode()))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def recv(self, until):
        """One parsed message and its source, or None at `until`.  Requests from the edge
        (none are expected in these calls) are answered 200 so they never hang a test."""
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(min(left, T1))
            try:
                data, src = self.s.recvfrom(65535)
            except socket.timeout:
                return "tick"
            m = parse(data)
            if not m:
                continue
            if not m[0].startswith("SIP/2.0 "):
                if not m[0].startswith("ACK "):
                    self.s.sendto(response(200, "OK", m[1]), src)
                continue
            return m, src


def call(a):
    gw = addr(a.gw)
    c = Caller(gw)
    call_id = token() + "@edges-e2e"
    from_tag, branch = token(), "z9hG4bK-" + token()
    to = "<%s>" % a.ruri
    invite = c.request("INVITE", a.ruri, 1, to, call_id, from_tag, branch, sdp(c.ip, 30000))
    start = time.monotonic()
    deadline = start + a.timeout
    c.s.sendto(invite, gw)
    retrans, interval, heard = start + 0.5, 0.5, False
    final, provisional = None, []
    while final is None:
        got = c.recv(deadline)
        if got is None:
            die("no final response to INVITE %s within %.0fs (provisionals: %s)"
                % (a.ruri, a.timeout, provisional or "none"))
        if got == "tick":
            if not heard and time.monotonic() >= retrans:
                c.s.sendto(invite, gw)  # Timer A, until the edge's 100 Trying
                interval *= 2
                retrans = time.monotonic() + interval
            continue
        (line, hdrs, body), src = got
        if branch_of(hget(hdrs, "via")) != branch:
            continue
        heard = True
        status = int(line.split(" ")[1])
        if status < 200:
            provisional.append(status)
        else:
            final = (status, line.split(" ", 2)[2] if line.count(" ") >= 2 else "", hdrs, src)
    elapsed = time.monotonic() - start
    status, reason, hdrs, src = final
    bye = ""
    if status >= 300:
        ack = c.request("ACK", a.ruri, 1, hget(hdrs, "to"), call_id, from_tag, branch)
        c.s.sendto(ack, gw)
    else:
        contact = re.search(r"<([^>]+)>", hget(hdrs, "contact") or "")
        target = contact.group(1) if contact else a.ruri
        ack = c.request("ACK", target, 1, hget(hdrs, "to"), call_id, from_tag, "z9hG4bK-" + token())
        c.s.sendto(ack, src)
        time.sleep(a.hold)
        bbranch = "z9hG4bK-" + token()
        bye_msg = c.request("BYE", target, 2, hget(hdrs, "to"), call_id, from_tag, bbranch)
        c.s.sendto(bye_msg, src)
        until, nxt, iv = time.monotonic() + 5, time.monotonic() + T1 * 5, T1 * 5
        while not bye:
            got = c.recv(until)
            if got is None:
                die("no answer to BYE within 5s (call %s)" % a.ruri)
            if got == "tick":
                if time.monotonic() >= nxt:
                    c.s.sendto(bye_msg, src)
                    iv = min(iv * 2, 4 * T1 * 5)
                    nxt = time.monotonic() + iv
                continue
            (line, h, _), _ = got
            if branch_of(hget(h, "via")) == branch and line.split(" ")[1].startswith("2"):
                c.s.sendto(ack, src)  # the 200 again: our ACK was lost
            elif branch_of(hget(h, "via")) == bbranch and int(line.split(" ")[1]) >= 200:
                bye = line.split(" ")[1]
    print("status=%d reason=%s elapsed=%.2f%s provisional=%s%s" % (
        status, json.dumps(reason), elapsed, " bye=" + bye if bye else "",
        ",".join(map(str, provisional)) or "-", " contact=" + uri_host(hget(hdrs, "contact"))
        if hget(hdrs, "contact") else ""))
    if a.expect and status != a.expect:
        die("%s: expected %d, got %d %s" % (a.ruri, a.expect, status, reason))
    if a.reason_has and a.reason_has not in reason:
        die("%s: reason %r does not name %r" % (a.ruri, reason, a.reason_has))
    if a.min_time is not None and elapsed < a.min_time:
        die("%s: final after %.2fs, expected at least %.2fs" % (a.ruri, elapsed, a.min_time))
    if a.max_time is not None and elapsed > a.max_time:
        die("%s: final after %.2fs, expected at most %.2fs" % (a.ruri, elapsed, a.max_time))
    if bye and bye != "200":
        die("%s: BYE answered %s" % (a.ruri, bye))


# ---------------------------------------------------------------- log queries


def get(a):
    recs = []
    try:
        with open(a.file) as f:
            # A last line without its newline is a record the callee is still writing.
            for line in f.read().split("\n")[:-1]:
                r = json.loads(line)
                if r["method"] == "INVITE" and not r["retrans"] and r["user"] == a.user:
                    recs.append(r)
    except FileNotFoundError:
        pass
    if a.field == "count":
        print(len(recs))
    elif recs and -len(recs) <= a.index < len(recs):
        print(recs[a.index][a.field])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("callee")
    c.add_argument("--bind", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--drop-from", default="")
    c.add_argument("--reject-from", default="")
    c.add_argument("--options", action="store_true")
    c.add_argument("--seconds", type=float, default=120)
    c.add_argument("--rtp-port", type=int, default=40000)
    u = sub.add_parser("call")
    u.add_argument("--gw", required=True)
    u.add_argument("--ruri", required=True)
    u.add_argument("--expect", type=int)
    u.add_argument("--reason-has")
    u.add_argument("--min-time", type=float)
    u.add_argument("--max-time", type=float)
    u.add_argument("--timeout", type=float, default=10)
    u.add_argument("--hold", type=float, default=0.1)
    g = sub.add_parser("get")
    g.add_argument("file")
    g.add_argument("user")
    g.add_argument("field")
    g.add_argument("index", nargs="?", type=int, default=-1)
    a = p.parse_args()
    try:
        {"callee": callee, "call": call, "get": get}[a.cmd](a)
    except OSError as e:
        die("%s: %s" % (a.cmd, e))


if __name__ == "__main__":
    main()
