#!/usr/bin/env python3
"""Checks on call records, as `ixctl --json calls list` prints them (tests/e2e/test_domains_*.sh).

  records.py count FILE
      How many records FILE holds.
  records.py pair FILE --to URI --child-to URI [--from-re RE] [--account AC] [--edge E]
                  [--child-edge E] [--child-gateway-re RE] [--min-duration S] [--hung-up-by W]
      The newest inbound record and its one outbound-dial child describe one completed call:
      prints "PARENT_SID CHILD_SID".
  records.py single FILE --to URI --status S --sip N
      The newest inbound record ended with status S and SIP status N, with no child.
  records.py sound FILE
      Every record is well-formed: SID, account, direction, status, times in order.
  records.py kept BEFORE AFTER
      Every record of BEFORE is in AFTER, whole, and no less final.
  records.py realm DB
      The digest realm in the store's settings (read-only).
  records.py version DB
      The store's config version, which every config change moves (read-only).
  records.py integrity DB
      PRAGMA integrity_check and foreign_key_check of the store (opened read-write, so a WAL
      left by a killed daemon is recovered first, as the daemon's next open would).

Every check prints "FAIL: ..." and exits 1 when it does not hold.
"""
import json
import re
import sqlite3
import sys
from email.utils import parsedate_to_datetime

SID = re.compile(r"^CA[0-9a-f]{32}$")
FINAL = {"completed", "busy", "failed", "no-answer", "canceled"}
STATUSES = FINAL | {"queued", "ringing", "in-progress"}
# How far each status is along a call's life: a record must never move back.
RANK = {"queued": 0, "ringing": 1, "in-progress": 2}


def die(why):
    print("FAIL: " + why)
    sys.exit(1)


def load(path):
    with open(path) as f:
        return json.load(f)["calls"]


def ts(rec, field):
    v = rec.get(field)
    return parsedate_to_datetime(v).timestamp() if v else None


def well_formed(r):
    """Why the record r is not well-formed, or None."""
    sid = r.get("sid") or ""
    if not SID.match(sid):
        return "sid %r" % sid
    if not re.match(r"^AC[0-9a-f]{32}$", r.get("account_sid") or ""):
        return "%s: account_sid %r" % (sid, r.get("account_sid"))
    if r.get("status") not in STATUSES:
        return "%s: status %r" % (sid, r.get("status"))
    if r.get("direction") not in ("inbound", "outbound-dial"):
        return "%s: direction %r" % (sid, r.get("direction"))
    parent = r.get("parent_call_sid")
    if (r["direction"] == "inbound") != (parent is None) or (parent and not SID.match(parent)):
        return "%s: %s record with parent_call_sid %r" % (sid, r["direction"], parent)
    start, answer, end = ts(r, "start_time"), ts(r, "answer_time"), ts(r, "end_time")
    if start is None:
        return "%s: no start_time" % sid
    if answer is not None and answer < start:
        return "%s: answered before it started" % sid
    if r["status"] in FINAL and end is None:
        return "%s: status %s without end_time" % (sid, r["status"])
    if end is not None and end < (answer or start):
        return "%s: ended before it started or was answered" % sid
    if r["status"] in ("completed", "in-progress") and answer is None:
        return "%s: status %s without answer_time" % (sid, r["status"])
    if r["status"] == "completed" and r.get("duration") is None:
        return "%s: completed without duration" % sid
    return None


def expect(rec, what, field, want):
    if rec.get(field) != want:
        die("%s %s: %s is %r, expected %r" % (what, rec.get("sid"), field, rec.get(field), want))


def newest_inbound(recs, to):
    mine = [r for r in recs if r.get("direction") == "inbound" and r.get("to") == to]
    if not mine:
        die("no inbound record to %s (records: %d)" % (to, len(recs)))
    return max(mine, key=lambda r: (ts(r, "start_time"), -recs.index(r)))


def completed(rec, what, edge, min_duration, hung_up_by):
    why = well_formed(rec)
    if why:
        die(what + ": " + why)
    expect(rec, what, "status", "completed")
    expect(rec, what, "sip_response_code", 200)
    expect(rec, what, "edge", edge)
    if int(rec["duration"]) < min_duration:
        die("%s %s: duration %s, expected at least %d" % (what, rec["sid"], rec["duration"], min_duration))
    talk = ts(rec, "end_time") - ts(rec, "answer_time")
    if abs(int(rec["duration"]) - talk) > 1:
        die("%s %s: duration %s but answered to ended is %.0f s" % (what, rec["sid"], rec["duration"], talk))
    if not rec.get("end_reason"):
        die("%s %s: no end_reason" % (what, rec["sid"]))
    if hung_up_by:
        expect(rec, what, "hung_up_by", hung_up_by)
    elif rec.get("hung_up_by") not in ("caller", "callee", "edge"):
        die("%s %s: hung_up_by %r" % (what, rec["sid"], rec.get("hung_up_by")))


def pair(a):
    recs = load(a.file)
    p = newest_inbound(recs, a.to)
    kids = [r for r in recs if r.get("parent_call_sid") == p["sid"]]
    if len(kids) != 1:
        die("inbound %s has %d child records, expected 1 outbound-dial" % (p["sid"], len(kids)))
    c = kids[0]
    completed(p, "inbound", a.edge, a.min_duration, a.hung_up_by)
    completed(c, "outbound-dial", a.child_edge, a.min_duration, a.hung_up_by)
    expect(c, "outbound-dial", "direction", "outbound-dial")
    expect(c, "outbound-dial", "to", a.child_to)
    if a.account:
        expect(p, "inbound", "account_sid", a.account)
        expect(c, "outbound-dial", "account_sid", a.account)
    if a.from_re and not re.search(a.from_re, p.get("from") or ""):
        die("inbound %s: from %r does not match %r" % (p["sid"], p.get("from"), a.from_re))
    expect(c, "outbound-dial", "from", p.get("from"))
    if a.child_gateway_re and not re.search(a.child_gateway_re, c.get("gateway") or ""):
        die("outbound-dial %s: gateway %r does not match %r" % (c["sid"], c.get("gateway"), a.child_gateway_re))
    if not c.get("sip_call_id") or c["sip_call_id"] == p.get("sip_call_id"):
        die("outbound-dial %s: sip_call_id %r is not a Call-ID of its own" % (c["sid"], c.get("sip_call_id")))
    if ts(c, "start_time") < ts(p, "start_time") or ts(c, "end_time") > ts(p, "end_time") + 1:
        die("outbound-dial %s: not within its parent's times" % c["sid"])
    print(p["sid"], c["sid"])


def single(a):
    recs = load(a.file)
    p = newest_inbound(recs, a.to)
    why = well_formed(p)
    if why:
        die("inbound: " + why)
    expect(p, "inbound", "status", a.status)
    expect(p, "inbound", "sip_response_code", a.sip)
    if p.get("answer_time") is not None:
        die("inbound %s: answered, expected a %d" % (p["sid"], a.sip))
    kids = [r["sid"] for r in recs if r.get("parent_call_sid") == p["sid"]]
    if kids:
        die("inbound %s: child records %s, expected none" % (p["sid"], kids))
    if not p.get("end_reason"):
        die("inbound %s: no end_reason" % p["sid"])
    print(p["sid"], p["end_reason"])


def sound(a):
    recs = load(a.file)
    sids = set()
    for r in recs:
        why = well_formed(r)
        if why:
            die(why)
        if r["sid"] in sids:
            die("%s listed twice" % r["sid"])
        sids.add(r["sid"])
    orphans = [r["sid"] for r in recs if r.get("parent_call_sid") and r["parent_call_sid"] not in sids]
    if orphans:
        die("outbound-dial records without their inbound record: %s" % orphans[:3])
    print(len(recs), "records,", sum(r["status"] in FINAL for r in recs), "final")


def kept(a):
    before = {r["sid"]: r for r in load(a.before)}
    after = {r["sid"]: r for r in load(a.after)}
    for sid, b in before.items():
        r = after.get(sid)
        if r is None:
            die("%s (%s, %s) was committed before the kill and is gone" % (sid, b["direction"], b["status"]))
        if b["status"] in FINAL:
            for f in ("status", "direction", "parent_call_sid", "from", "to", "start_time",
                      "answer_time", "end_time", "duration", "sip_response_code", "edge"):
                if r.get(f) != b.get(f):
                    die("%s: final record changed: %s %r -> %r" % (sid, f, b.get(f), r.get(f)))
        elif r["status"] not in FINAL and RANK[r["status"]] < RANK[b["status"]]:
            die("%s: status went back from %s to %s" % (sid, b["status"], r["status"]))
    print(len(before), "records kept,", len(after), "after")


def query(path, sql, rw=False):
    """Rows of one statement; read-only unless rw (after a crash, opening recovers the WAL)."""
    db = sqlite3.connect("file:%s?mode=%s" % (path, "rw" if rw else "ro"), uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def realm(a):
    rows = query(a.db, "SELECT value FROM settings WHERE key = 'digest_realm'")
    if not rows:
        die("no digest_realm in the store's settings")
    print(rows[0][0])


def version(a):
    print(query(a.db, "SELECT version FROM config_version WHERE id = 1")[0][0])


def integrity(a):
    rows = query(a.db, "PRAGMA integrity_check", rw=True)
    if rows != [("ok",)]:
        die("integrity_check: %s" % rows[:5])
    rows = query(a.db, "PRAGMA foreign_key_check", rw=True)
    if rows:
        die("foreign_key_check: %s" % rows[:5])
    print("ok")


def main():
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count")
    c.add_argument("file")
    c = sub.add_parser("pair")
    c.add_argument("file")
    c.add_argument("--to", required=True)
    c.add_argument("--child-to", required=True)
    c.add_argument("--from-re")
    c.add_argument("--account")
    c.add_argument("--edge", default="ashburn-ix")
    c.add_argument("--child-edge", default="london-ix")
    c.add_argument("--child-gateway-re")
    c.add_argument("--min-duration", type=int, default=0)
    c.add_argument("--hung-up-by")
    c = sub.add_parser("single")
    c.add_argument("file")
    c.add_argument("--to", required=True)
    c.add_argument("--status", required=True)
    c.add_argument("--sip", type=int, required=True)
    c = sub.add_parser("sound")
    c.add_argument("file")
    c = sub.add_parser("kept")
    c.add_argument("before")
    c.add_argument("after")
    for cmd in ("realm", "version", "integrity"):
        c = sub.add_parser(cmd)
        c.add_argument("db")
    a = p.parse_args()
    if a.cmd == "count":
        print(len(load(a.file)))
    else:
        cmds = {"pair": pair, "single": single, "sound": sound, "kept": kept, "realm": realm,
                "version": version, "integrity": integrity}
        cmds[a.cmd](a)


if __name__ == "__main__":
    main()
