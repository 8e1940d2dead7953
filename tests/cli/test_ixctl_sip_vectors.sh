#!/usr/bin/env bash
# `ixctl sip parse` on every RFC 4475 / RFC 5118 vector: the RFC verdict as exit code, and the
# manifest's key fields (tests/sip/vectors.tsv) found again in the JSON.
# Usage: bash test_ixctl_sip_vectors.sh BUILD_DIR SOURCE_DIR
set -u

BUILD=${1:?usage: $0 BUILD_DIR SOURCE_DIR}
SRC=${2:?usage: $0 BUILD_DIR SOURCE_DIR}

[ -x "$BUILD/ixctl" ] || { echo "FAIL: $BUILD/ixctl not built"; exit 1; }
[ -f "$SRC/tests/sip/vectors.tsv" ] || { echo "FAIL: $SRC/tests/sip/vectors.tsv missing"; exit 1; }

exec python3 - "$BUILD/ixctl" "$SRC/tests/sip" <<'EOF'
import json, subprocess, sys

ixctl, vdir = sys.argv[1], sys.argv[2]
rows = [l.rstrip("\r\n").split("\t") for l in open(f"{vdir}/vectors.tsv", encoding="utf-8")
        if l.strip() and not l.startswith("#")]
cols, rows = rows[0], rows[1:]
failures, checked = [], 0


def hdrs(j, hid):
    return [h for h in j["headers"] if h["id"] == hid]


def first_parsed(j, hid):
    h = hdrs(j, hid)
    if not h:
        return None
    p = h[0].get("parsed")
    return p[0] if isinstance(p, list) else p


def fields(j):
    """The manifest's columns, as the JSON tells them."""
    ru = j.get("request_uri") or {}
    via = first_parsed(j, "Via") or {}
    cseq = first_parsed(j, "CSeq") or {}
    frm, to = first_parsed(j, "From") or {}, first_parsed(j, "To") or {}
    mf, cl = first_parsed(j, "Max-Forwards"), first_parsed(j, "Content-Length")
    return {
        "start": j["method"] if j["type"] == "request" else str(j["status"]),
        "ruser": ru.get("user"),
        "rhost": ru.get("host"),
        "rport": str(ru.get("port") or 0),
        "callid": first_parsed(j, "Call-ID"),
        "cseq": str(cseq.get("number")),
        "cmethod": cseq.get("method"),
        "vias": str(sum(len(h["parsed"]) for h in hdrs(j, "Via"))),
        "branch": via.get("branch"),
        "vhost": via.get("host"),
        "vport": str(via.get("port") or 0),
        "ftag": frm.get("tag"),
        "ttag": to.get("tag"),
        "mf": str(-1 if mf is None else mf),
        "clen": str(-1 if cl is None else cl),
        "blen": str(j["body_length"]),
    }


for row in rows:
    v = dict(zip(cols, row))
    name = v["file"]
    try:
        r = subprocess.run([ixctl, "sip", "parse", f"{vdir}/{name}"], capture_output=True,
                           timeout=20)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: timed out")
        continue
    want = 0 if v["verdict"] == "valid" else 1
    err = r.stderr.decode("utf-8", "replace").strip()
    if r.returncode != want:
        failures.append(f"{name}: exit {r.returncode}, want {want} ({v['verdict']}): {err}")
        continue
    if want == 1:
        if r.stdout or not err.startswith("ixctl: sip parse: "):
            failures.append(f"{name}: rejected without a proper error: {err!r}")
        checked += 1
        continue
    try:
        got = fields(json.loads(r.stdout))
    except (ValueError, KeyError, TypeError, IndexError) as e:
        failures.append(f"{name}: bad JSON: {e!r}")
        continue
    for col, g in got.items():
        w = v.get(col, "-")
        if w == "-":
            continue
        if w == "~":
            if g not in (None, ""):
                failures.append(f"{name}: {col} = {g!r}, want empty")
        elif g != w:
            failures.append(f"{name}: {col} = {g!r}, want {w!r}")
    checked += 1

for f in failures:
    print("FAIL:", f)
print(f"{checked} of {len(rows)} vectors checked, {len(failures)} failure(s)")
sys.exit(1 if failures or not rows else 0)
EOF
