#!/usr/bin/env python3
"""SIP UAs for the TwiML e2e tests (tests/e2e/test_twiml_*.sh), built on edges/ua.py.

  twua.py callee --bind IP:PORT --log FILE --mode answer|ring|busy|auth
                 [--delay S] [--user U --password P] [--algs A,B] [--proxy]
                 [--seconds S]
      A UDP UAS.  Every INVITE gets 100 and then:
        answer  180, and 200 (SDP) after --delay seconds
        ring    180, nothing more (until CANCEL: 200 to it, 487 to the INVITE)
        busy    486
        auth    401 with one WWW-Authenticate per --algs (default SHA-256,MD5;
                qop=auth, an opaque each); the INVITE sent again must carry an
                Authorization whose response is right for --user/--password
                (hashlib): then as "answer", else 403.  --proxy: 407 with
                Proxy-Authenticate, answered in Proxy-Authorization.
      Finals are re-sent until their ACK (bounded); BYE and others get 200.
      FILE gets one JSON line per request received ("in") and per response
      sent ("out"), with its wall-clock time "t", so the tests can see
      what happened and when (a CANCEL, the auth check's verdict).

  twua.py call --gw IP:PORT --ruri URI [--timeout S] [--hold S]
      A UDP UAC: INVITE with SDP, ACK of the final, BYE after a 2xx (after
      --hold seconds).  Prints one JSON object: status, reason, "final" (s
      from the INVITE to the final), "prov" ([[status, s], ...]), "sdp" (the
      final's body), "bye" (the BYE's status), "call_id", "t0" (wall time of
      the INVITE, to compare with a callee's log).

  twua.py get FILE EXPR
      Evaluates a Python expression over a JSON file (j: the object) or a
      callee log (j: the list of its lines) and prints the result; for the
      shell's checks.  env is the environment (strings with quotes in them).

Loopback only; every wait is bounded.
"""
import argparse
import hashlib
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "edges"))
import ua  # noqa: E402  (the edges UAs: parsing, responses, SDP, the UDP caller)

T1 = ua.T1


def auth_params(value):
    """The name=value pairs of a Digest credentials value (quoted values unquoted)."""
    scheme, _, rest = value.strip().partition(" ")
    out = {"_scheme": scheme}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)', rest):
        out[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return out


def digest_check(hdrs, method, ruri, user, password, nonces, header="authorization"):
    """'ok' or why the credentials of a request are not right (RFC 3261 22.4, RFC 8760)."""
    value = ua.hget(hdrs, header)
    if not value:
        return "no " + header
    p = auth_params(value)
    if p["_scheme"].lower() != "digest":
        return "scheme %s" % p["_scheme"]
    alg = p.get("algorithm", "MD5")
    h = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}.get(alg.upper())
    if not h:
        return "algorithm %s" % alg
    want = {"username": user, "realm": "twiml-e2e.test", "uri": ruri, "qop": "auth"}
    for k, v in want.items():
        if p.get(k) != v:
            return "%s is %r, expected %r" % (k, p.get(k), v)
    if p.get("nonce") not in nonces.get(alg.upper(), ()):
        return "nonce %r was not issued for %s" % (p.get("nonce"), alg)
    if p.get("opaque") != "op-" + alg.upper():
        return "opaque %r not echoed" % p.get("opaque")
    if not re.fullmatch(r"[0-9a-fA-F]{8}", p.get("nc", "")) or not p.get("cnonce"):
        return "nc %r / cnonce %r" % (p.get("nc"), p.get("cnonce"))

    def hx(s):
        return h(s.encode()).hexdigest()

    ha1 = hx("%s:%s:%s" % (user, want["realm"], password))
    ha2 = hx("%s:%s" % (method, ruri))
    expect = hx(":".join([ha1, p["nonce"], p["nc"], p["cnonce"], "auth", ha2]))
    if p.get("response", "").lower() != expect:
        return "wrong response (%s)" % alg
    return "ok"


# ---------------------------------------------------------------- callee


class Callee:
    def __init__(self, a):
        self.a = a
        self.host, self.port = ua.addr(a.bind)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((self.host, self.port))
        self.log = open(a.log, "a", buffering=1)
        self.invites = {}  # branch -> state of one INVITE server transaction
        self.others = {}  # (branch, method) -> response bytes (retransmitted requests)
        self.nonces = {}  # algorithm -> nonces issued
        self.timers = []  # [when, function]
        self.cred_header = "proxy-authorization" if a.proxy else "authorization"

    def note(self, **rec):
        rec["t"] = round(time.time(), 3)
        self.log.write(json.dumps(rec) + "\n")

    def send(self, data, dst):
        line = data.split(b"\r\n", 1)[0].decode()
        self.note(dir="out", status=int(line.split(" ")[1]), line=line,
                  cseq=re.search(rb"\r\nCSeq: ([^\r]*)", data).group(1).decode(),
                  call_id=re.search(rb"\r\nCall-ID: ([^\r]*)", data).group(1).decode())
        self.s.sendto(data, dst)

    def final(self, inv, data):
        """Sends an INVITE's final and re-sends it (Timer G style) until its ACK."""
        inv["final"] = data
        inv["acked"] = False
        self.send(data, inv["src"])
        start = time.monotonic()

        def again(iv=T1):
            if inv["acked"] or time.monotonic() - start > 64 * T1:
                return
            self.s.sendto(data, inv["src"])
            self.timers.append([time.monotonic() + min(iv * 2, 4 * T1), lambda: again(iv * 2)])

        self.timers.append([time.monotonic() + T1, again])

    def challenge(self, inv, hdrs):
        extra = []
        name = "Proxy-Authenticate" if self.a.proxy else "WWW-Authenticate"
        for alg in self.a.algs.split(","):
            nonce = ua.token() + ua.token()
            self.nonces.setdefault(alg, []).append(nonce)
            extra.append('%s: Digest realm="twiml-e2e.test", nonce="%s", '
                         'opaque="op-%s", qop="auth", algorithm=%s' % (name, nonce, alg, alg))
        if self.a.proxy:
            self.final(inv, ua.response(407, "Proxy Authentication Required", hdrs, inv["tag"],
                                        extra))
        else:
            self.final(inv, ua.response(401, "Unauthorized", hdrs, inv["tag"], extra))

    def answer(self, inv, hdrs):
        contact = "Contact: <sip:callee@%s:%d>" % (self.host, self.port)
        self.send(ua.response(180, "Ringing", hdrs, inv["tag"], [contact]), inv["src"])
        if self.a.mode == "ring":
            return
        ok = ua.response(200, "OK", hdrs, inv["tag"], [contact, "Content-Type: application/sdp"],
                         ua.sdp(self.host, 40000))

        def go():
            if inv.get("final") is None:
                self.final(inv, ok)

        self.timers.append([time.monotonic() + self.a.delay, go])

    def invite(self, hdrs, ruri, src):
        branch = ua.branch_of(ua.hget(hdrs, "via"))
        inv = self.invites.get(branch)
        if inv:  # a retransmission
            last = inv.get("final") or inv.get("last")
            if last:
                self.s.sendto(last, src)
            return
        inv = self.invites[branch] = {"src": src, "hdrs": hdrs, "tag": ua.token(), "final": None}
        inv["last"] = ua.response(100, "Trying", hdrs)
        self.send(inv["last"], src)
        mode = self.a.mode
        if mode == "busy":
            self.final(inv, ua.response(486, "Busy Here", hdrs, inv["tag"]))
        elif mode == "auth" and not ua.hget(hdrs, self.cred_header):
            self.challenge(inv, hdrs)
        elif mode == "auth":
            verdict = digest_check(hdrs, "INVITE", ruri, self.a.user, self.a.password, self.nonces,
                                   self.cred_header)
            p = auth_params(ua.hget(hdrs, self.cred_header))
            self.note(dir="auth", verdict=verdict, algorithm=p.get("algorithm", "MD5"),
                      username=p.get("username"), call_id=ua.hget(hdrs, "call-id"))
            if verdict == "ok":
                self.answer(inv, hdrs)
            else:
                self.final(inv, ua.response(403, "Forbidden", hdrs, inv["tag"]))
        else:
            self.answer(inv, hdrs)

    def request(self, first, hdrs, src):
        method, ruri = first.split(" ")[:2]
        via = ua.hget(hdrs, "via") or ""
        branch = ua.branch_of(via)
        self.note(dir="in", method=method, ruri=ruri, src_ip=src[0], src_port=src[1],
                  call_id=ua.hget(hdrs, "call-id") or "", cseq=ua.hget(hdrs, "cseq") or "",
                  branch=branch, has_auth=bool(ua.hget(hdrs, "authorization")),
                  has_proxy_auth=bool(ua.hget(hdrs, "proxy-authorization")),
                  from_=ua.hget(hdrs, "from") or "")
        if method == "INVITE":
            self.invite(hdrs, ruri, src)
            return
        if method == "ACK":
            inv = self.invites.get(branch)
            if inv:  # the ACK of a non-2xx: same branch
                inv["acked"] = True
            for inv in self.invites.values():  # the ACK of a 2xx: same Call-ID, own branch
                if ua.hget(inv["hdrs"], "call-id") == ua.hget(hdrs, "call-id") and \
                        (inv.get("final") or b"")[:11] == b"SIP/2.0 200":
                    inv["acked"] = True
            return
        key = (branch, method)
        if key in self.others:
            self.s.sendto(self.others[key], src)
            return
        self.others[key] = ua.response(200, "OK", hdrs, ua.token())
        self.send(self.others[key], src)
        if method == "CANCEL":
            inv = self.invites.get(branch)
            if inv and inv.get("final") is None:
                self.final(inv, ua.response(487, "Request Terminated", inv["hdrs"], inv["tag"]))

    def run(self):
        end = time.monotonic() + self.a.seconds
        while time.monotonic() < end:
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            self.timers = [t for t in self.timers if t[0] > now]
            for t in due:
                t[1]()
            self.s.settimeout(0.02)
            try:
                data, src = self.s.recvfrom(65535)
            except socket.timeout:
                continue
            m = ua.parse(data)
            if m and not m[0].startswith("SIP/2.0 "):
                self.request(m[0], m[1], src)


# ---------------------------------------------------------------- caller


def call(a):
    gw = ua.addr(a.gw)
    c = ua.Caller(gw)
    call_id = ua.token() + "@twiml-e2e"
    from_tag, branch = ua.token(), "z9hG4bK-" + ua.token()
    invite = c.request("INVITE", a.ruri, 1, "<%s>" % a.ruri, call_id, from_tag, branch,
                       ua.sdp(c.ip, 30000))
    start, t0 = time.monotonic(), time.time()
    deadline = start + a.timeout
    c.s.sendto(invite, gw)
    retrans, interval, heard = start + 0.5, 0.5, False
    prov, final = [], None
    while final is None:
        got = c.recv(deadline)
        if got is None:
            ua.die("no final response to INVITE %s within %.0fs (provisionals: %s)"
                   % (a.ruri, a.timeout, prov or "none"))
        if got == "tick":
            if not heard and time.monotonic() >= retrans:
                c.s.sendto(invite, gw)
                interval *= 2
                retrans = time.monotonic() + interval
            continue
        (line, hdrs, body), src = got
        if ua.branch_of(ua.hget(hdrs, "via")) != branch:
            continue
        heard = True
        status = int(line.split(" ")[1])
        t = round(time.monotonic() - start, 3)
        if status < 200:
            prov.append([status, t])
        else:
            final = (status, line.split(" ", 2)[2] if line.count(" ") >= 2 else "", hdrs, body,
                     src, t)
    status, reason, hdrs, body, src, t_final = final
    out = {"status": status, "reason": reason, "final": t_final, "prov": prov, "sdp": body,
           "call_id": call_id, "bye": None, "t0": round(t0, 3)}
    if status >= 300:
        c.s.sendto(c.request("ACK", a.ruri, 1, ua.hget(hdrs, "to"), call_id, from_tag, branch),
                   gw)
    elif status >= 200:
        out["bye"] = bye(a, c, hdrs, src, call_id, from_tag, branch)
    print(json.dumps(out))


def bye(a, c, hdrs, src, call_id, from_tag, branch):
    """ACK the 2xx, hold, BYE; the BYE's status (or 'none')."""
    contact = re.search(r"<([^>]+)>", ua.hget(hdrs, "contact") or "")
    target = contact.group(1) if contact else a.ruri
    to = ua.hget(hdrs, "to")
    ack = c.request("ACK", target, 1, to, call_id, from_tag, "z9hG4bK-" + ua.token())
    c.s.sendto(ack, src)
    hold_end = time.monotonic() + a.hold
    while time.monotonic() < hold_end:  # answer 2xx retransmissions meanwhile
        got = c.recv(hold_end)
        if got in (None, "tick"):
            continue
        (line, h, _), _ = got
        if ua.branch_of(ua.hget(h, "via")) == branch and line.split(" ")[1].startswith("2"):
            c.s.sendto(ack, src)
    bbranch = "z9hG4bK-" + ua.token()
    msg = c.request("BYE", target, 2, to, call_id, from_tag, bbranch)
    c.s.sendto(msg, src)
    until, nxt, iv = time.monotonic() + 5, time.monotonic() + T1 * 5, T1 * 5
    while True:
        got = c.recv(until)
        if got is None:
            return "none"
        if got == "tick":
            if time.monotonic() >= nxt:
                c.s.sendto(msg, src)
                iv = min(iv * 2, 4 * T1 * 5)
                nxt = time.monotonic() + iv
            continue
        (line, h, _), _ = got
        if ua.branch_of(ua.hget(h, "via")) == branch and line.split(" ")[1].startswith("2"):
            c.s.sendto(ack, src)
        elif ua.branch_of(ua.hget(h, "via")) == bbranch and int(line.split(" ")[1]) >= 200:
            return line.split(" ")[1]


# ---------------------------------------------------------------- queries


def get(a):
    with open(a.file) as f:
        text = f.read()
    try:
        j = json.loads(text)
    except ValueError:
        j = [json.loads(line) for line in text.splitlines() if line.strip()]
    print(eval(a.expr, {"j": j, "re": re, "env": os.environ}))  # the tests' own expressions


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("callee")
    c.add_argument("--bind", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--mode", choices=("answer", "ring", "busy", "auth"), default="answer")
    c.add_argument("--delay", type=float, default=0)
    c.add_argument("--user", default="")
    c.add_argument("--password", default="")
    c.add_argument("--algs", default="SHA-256,MD5")
    c.add_argument("--proxy", action="store_true")
    c.add_argument("--seconds", type=float, default=120)
    u = sub.add_parser("call")
    u.add_argument("--gw", required=True)
    u.add_argument("--ruri", required=True)
    u.add_argument("--timeout", type=float, default=10)
    u.add_argument("--hold", type=float, default=0.2)
    g = sub.add_parser("get")
    g.add_argument("file")
    g.add_argument("expr")
    a = p.parse_args()
    try:
        if a.cmd == "callee":
            Callee(a).run()
        elif a.cmd == "call":
            call(a)
        else:
            get(a)
    except OSError as e:
        ua.die("%s: %s" % (a.cmd, e))


if __name__ == "__main__":
    main()
