#!/usr/bin/env python3
"""A SIP caller that answers the edge's digest challenges (tests/e2e/test_domains_digest.sh).

  auth_ua.py --gw IP:PORT --ruri URI --user U --password P [--alg SHA-256|MD5] [--wait S] SCENARIO

  challenge  INVITE without credentials: 401 with two WWW-Authenticate, SHA-256 first, then MD5,
             one nonce, qop="auth", no stale; prints "realm=R".
  ok         the challenge, then the INVITE again with credentials (--alg, nc=00000001): 200,
             ACK, BYE answered 200.
  wrong      the challenge, then credentials made with --password: 403.
  stale      the challenge, --wait seconds, then a right answer on that aged nonce: 401 whose two
             challenges carry stale=true and a new nonce; the answer on the new nonce: 200.
  replay     an answered call on a nonce (nc=00000001), then a new INVITE on the same nonce with
             nc=00000001 again: 403; with nc=00000002: 200.

Each step prints one line; a broken expectation prints "FAIL: ..." and exits 1.  The SIP
plumbing (sockets, parsing, requests) is tests/e2e/edges/ua.py's.  Loopback only, every wait
bounded.
"""
import argparse
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "edges"))
import ua  # noqa: E402

die = ua.die


def digest_hash(alg, text):
    h = hashlib.sha256 if alg.upper() == "SHA-256" else hashlib.md5
    return h(text.encode()).hexdigest()


def challenge_params(value):
    """The parameters of one WWW-Authenticate value, names lowercase; "scheme" too."""
    scheme, _, rest = value.strip().partition(" ")
    out = {"scheme": scheme}
    for name, quoted, token in re.findall(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))', rest):
        out[name.lower()] = quoted if quoted or not token else token
    return out


class Uac:
    """One caller socket; each call() is an INVITE transaction (and, answered, ACK and BYE)."""

    def __init__(self, gw, ruri):
        self.gw = ua.addr(gw)
        self.ruri = ruri
        self.c = ua.Caller(self.gw)
        self.new_call()

    def new_call(self):
        self.call_id = ua.token() + "@domains-e2e"
        self.from_tag = ua.token()
        self.cseq = 0

    def authorization(self, ch, user, password, nc, alg=None):
        alg = alg or ch.get("algorithm", "MD5")
        cnonce = ua.token()
        ha1 = digest_hash(alg, "%s:%s:%s" % (user, ch["realm"], password))
        ha2 = digest_hash(alg, "INVITE:" + self.ruri)
        resp = digest_hash(alg, "%s:%s:%08x:%s:auth:%s" % (ha1, ch["nonce"], nc, cnonce, ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=%s, cnonce="%s", qop=auth, nc=%08x'
                % (user, ch["realm"], ch["nonce"], self.ruri, resp, alg, cnonce, nc))

    def send_wait(self, msg, branch, dst, until):
        """Sends msg (retransmitted until a response) and returns the final response."""
        self.c.s.sendto(msg, dst)
        retrans, interval, heard = time.monotonic() + 0.5, 0.5, False
        while True:
            got = self.c.recv(until)
            if got is None:
                return None
            if got == "tick":
                if not heard and time.monotonic() >= retrans:
                    self.c.s.sendto(msg, dst)
                    interval *= 2
                    retrans = time.monotonic() + interval
                continue
            (line, hdrs, body), src = got
            if ua.branch_of(ua.hget(hdrs, "via")) != branch:
                continue
            heard = True
            status = int(line.split(" ")[1])
            if status >= 200:
                return status, line.split(" ", 2)[2] if line.count(" ") >= 2 else "", hdrs, src

    def call(self, what, auth=None, hold=0.1):
        """One INVITE (with an Authorization value when given): (status, reason, headers)."""
        self.cseq += 1
        branch = "z9hG4bK-" + ua.token()
        to = "<%s>" % self.ruri
        msg = self.c.request("INVITE", self.ruri, self.cseq, to, self.call_id, self.from_tag, branch,
                             ua.sdp(self.c.ip, 30000))
        if auth:
            head, _, rest = msg.partition(b"\r\n")
            msg = head + b"\r\nAuthorization: " + auth.encode() + b"\r\n" + rest
        final = self.send_wait(msg, branch, self.gw, time.monotonic() + 10)
        if final is None:
            die("%s: no final response to the INVITE within 10 s" % what)
        status, reason, hdrs, src = final
        if status >= 300:
            ack = self.c.request("ACK", self.ruri, self.cseq, ua.hget(hdrs, "to"), self.call_id,
                                 self.from_tag, branch)
            self.c.s.sendto(ack, self.gw)
        else:
            self.hang_up(what, hdrs, src, hold)
        print("%s: %d %s" % (what, status, reason))
        return status, reason, hdrs

    def hang_up(self, what, hdrs, src, hold):
        m = re.search(r"<([^>]+)>", ua.hget(hdrs, "contact") or "")
        target, to = (m.group(1) if m else self.ruri), ua.hget(hdrs, "to")
        ack = self.c.request("ACK", target, self.cseq, to, self.call_id, self.from_tag, "z9hG4bK-" + ua.token())
        self.c.s.sendto(ack, src)
        time.sleep(hold)
        self.cseq += 1
        branch = "z9hG4bK-" + ua.token()
        bye = self.c.request("BYE", target, self.cseq, to, self.call_id, self.from_tag, branch)
        final = self.send_wait(bye, branch, src, time.monotonic() + 5)
        if final is None or final[0] != 200:
            die("%s: BYE answered %s" % (what, final[0] if final else "never (5 s)"))


def challenges(what, got, stale=False):
    """The two challenges of a 401 (got: a Uac.call result), checked; stale: stale=true expected."""
    status, reason, hdrs = got
    if status != 401:
        die("%s: expected 401, got %d %s" % (what, status, reason))
    values = ua.hget(hdrs, "www-authenticate", True)
    chs = [challenge_params(v) for v in values]
    if len(chs) != 2 or [c.get("algorithm") for c in chs] != ["SHA-256", "MD5"]:
        die("%s: expected two challenges, SHA-256 then MD5, got %s" % (what, values))
    for c in chs:
        if c["scheme"] != "Digest" or c.get("qop") != "auth" or not c.get("nonce") or not c.get("realm"):
            die("%s: challenge %r lacks Digest, qop=\"auth\", a nonce or a realm" % (what, c))
        if (c.get("stale", "").lower() == "true") != stale:
            die("%s: challenge %r: stale=true %s" % (what, c, "missing" if stale else "unexpected"))
    if chs[0]["nonce"] != chs[1]["nonce"] or chs[0]["realm"] != chs[1]["realm"]:
        die("%s: the two challenges have different nonces or realms" % what)
    return chs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gw", required=True)
    p.add_argument("--ruri", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--alg", default="SHA-256", choices=("SHA-256", "MD5"))
    p.add_argument("--wait", type=float, default=0)
    p.add_argument("scenario", choices=("challenge", "ok", "wrong", "stale", "replay"))
    a = p.parse_args()
    u = Uac(a.gw, a.ruri)
    pick = {"SHA-256": 0, "MD5": 1}[a.alg]

    def answered(what, auth):
        status, reason, _ = u.call(what, auth)
        if status != 200:
            die("%s: expected 200, got %d %s" % (what, status, reason))

    def refused(what, auth, want):
        status, reason, _ = u.call(what, auth)
        if status != want:
            die("%s: expected %d, got %d %s" % (what, want, status, reason))

    try:
        ch = challenges("INVITE without credentials", u.call("INVITE without credentials"))[pick]
        if a.scenario == "challenge":
            print("realm=%s" % ch["realm"])
        elif a.scenario == "ok":
            answered("INVITE with %s credentials" % a.alg, u.authorization(ch, a.user, a.password, 1))
        elif a.scenario == "wrong":
            refused("INVITE with wrong credentials", u.authorization(ch, a.user, a.password, 1), 403)
        elif a.scenario == "stale":
            time.sleep(a.wait)
            got = u.call("INVITE on a nonce %.1f s old" % a.wait, u.authorization(ch, a.user, a.password, 1))
            fresh = challenges("stale nonce", got, stale=True)[pick]
            if fresh["nonce"] == ch["nonce"]:
                die("stale nonce: the new challenge repeats the old nonce")
            answered("INVITE on the fresh nonce", u.authorization(fresh, a.user, a.password, 1))
        elif a.scenario == "replay":
            answered("INVITE nc=00000001", u.authorization(ch, a.user, a.password, 1))
            u.new_call()
            refused("new INVITE, same nonce, nc=00000001 again", u.authorization(ch, a.user, a.password, 1), 403)
            u.new_call()
            answered("new INVITE, same nonce, nc=00000002", u.authorization(ch, a.user, a.password, 2))
    except OSError as e:
        die("%s: %s" % (a.scenario, e))


if __name__ == "__main__":
    main()
