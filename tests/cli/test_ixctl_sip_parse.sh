#!/usr/bin/env bash
# `ixctl sip parse` and the ixctl command line: JSON fields, exit codes, hostile inputs.
# Usage: bash test_ixctl_sip_parse.sh BUILD_DIR SOURCE_DIR
set -u

. "$(dirname "$0")/cli_lib.sh"
FIX="$SRC/tests/cli/fixtures"

# pycheck LABEL MSGFILE: python asserts on $TMP/out (JSON) with the raw message at hand.
pycheck() {
	local label=$1 msg=$2
	if python3 - "$TMP/out" "$msg" "$TMP/pyscript" 2>"$TMP/pyerr" <<'EOF'; then
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
raw = open(sys.argv[2], "rb").read()
exec(open(sys.argv[3]).read())
EOF
		ok "$label"
	else
		fail "$label: $(tail -n 5 "$TMP/pyerr")"
	fi
}

# header offsets must point at the header names as written in the raw message.
cat >"$TMP/offsets.py" <<'EOF'
for h in j["headers"]:
    name = h["name"].encode()
    assert raw[h["offset"]:h["offset"] + len(name)] == name, h
    assert raw[h["offset"] - 2:h["offset"]] == b"\r\n", h
EOF

# ---------------------------------------------------------------- valid INVITE with SDP
run sip parse "$FIX/invite_sdp.sip"
expect_rc 0 "INVITE with SDP parses"
cp "$TMP/out" "$TMP/invite.json"
cat "$TMP/offsets.py" - >"$TMP/pyscript" <<'EOF'
assert j["type"] == "request"
assert j["method"] == "INVITE"
assert j["version"] == "SIP/2.0"
ru = j["request_uri"]
assert ru["scheme"] == "sip", ru
assert ru["user"] == "+15551234567", ru
assert ru["host"] == "acme.sip.ashburn-ix.example.com", ru
assert ru["host_type"] == "name", ru
assert ru["port"] == 5060, ru
assert ru["params"] == {"transport": "udp", "user": "phone"}, ru
assert "password" not in ru, ru
H = j["headers"]
assert [h["id"] for h in H] == ["Via", "Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq",
    "Contact", "Route", "Proxy-Authorization", "Allow", "Subject", "Content-Type", None,
    "Content-Length"], [h["id"] for h in H]
by = lambda n: [h for h in H if h["id"] == n]
v0 = by("Via")[0]["parsed"]
assert len(v0) == 1, v0
v0 = v0[0]
assert v0["transport"] == "UDP" and v0["host"] == "192.0.2.10" and v0["port"] == 5060, v0
assert v0["branch"] == "z9hG4bK776asdhds" and v0["branch_rfc3261"] is True, v0
assert v0["rport"] is True and v0["received"] is None, v0
v1 = by("Via")[1]["parsed"][0]
assert v1["transport"] == "TCP" and v1["host"] == "2001:db8::1", v1
assert v1["host_type"] == "ipv6" and v1["port"] == 5061, v1
assert v1["received"] == "198.51.100.7" and v1["rport"] is None, v1
assert by("Max-Forwards")[0]["parsed"] == 70
f = by("From")[0]["parsed"]
assert f["tag"] == "1928301774", f
assert f["display_name"] == 'Alice \\"A\\" Smith', f
assert f["uri"]["user"] == "alice" and f["uri"]["host"] == "pbx.example.org", f
t = by("To")[0]["parsed"]
assert t["tag"] is None and t["display_name"] is None, t
assert by("Call-ID")[0]["parsed"] == "a84b4c76e66710@pbx.example.org"
cs = by("CSeq")[0]["parsed"]
assert cs == {"number": 314159, "method": "INVITE"}, cs
ct = by("Contact")[0]["parsed"]
assert len(ct) == 1 and ct[0]["params"] == {"expires": "3600"}, ct
assert ct[0]["uri"]["params"] == {"transport": "udp"}, ct
rt = by("Route")[0]
assert rt["values"] == ["<sip:edge1.example.com;lr>", "<sip:edge2.example.com:5080;lr>"], rt
assert [r["uri"]["host"] for r in rt["parsed"]] == ["edge1.example.com", "edge2.example.com"]
assert rt["parsed"][1]["uri"]["port"] == 5080 and rt["parsed"][1]["uri"]["params"] == {"lr": None}
pa = by("Proxy-Authorization")[0]["parsed"]
assert pa["scheme"] == "Digest" and pa["username"] == "alice", pa
assert pa["realm"] == "acme.sip.example.com" and pa["qop"] == "auth", pa
assert pa["nc"] == "00000001" and pa["cnonce"] == "0a4f113b" and pa["algorithm"] == "MD5", pa
assert pa["uri"] == "sip:+15551234567@acme.sip.ashburn-ix.example.com", pa
assert pa["opaque"] is None and pa["stale"] is False, pa
al = by("Allow")[0]
assert al["values"] == ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"], al
assert "parsed" not in al, al
assert by("Subject")[0]["value"].startswith("lunch") and by("Subject")[0]["value"].endswith("tomorrow")
x = [h for h in H if h["name"] == "X-Trace-Id"][0]
assert x["id"] is None and x["value"] == "42" and "parsed" not in x, x
cl = by("Content-Length")[0]
assert cl["name"] == "l" and cl["parsed"] == 209, cl
body = raw[raw.index(b"\r\n\r\n") + 4:]
assert j["body_length"] == len(body) == 209, j["body_length"]
EOF
pycheck "INVITE JSON fields" "$FIX/invite_sdp.sip"

# The same message through stdin, both spellings, gives the same JSON; --compact is one line.
run sip parse <"$FIX/invite_sdp.sip"
cmp -s "$TMP/out" "$TMP/invite.json" && ok "stdin (no FILE) same JSON" || fail "stdin (no FILE) differs"
run sip parse - <"$FIX/invite_sdp.sip"
cmp -s "$TMP/out" "$TMP/invite.json" && ok "stdin (-) same JSON" || fail "stdin (-) differs"
run sip parse --compact "$FIX/invite_sdp.sip"
expect_rc 0 "--compact"
[ "$(wc -l <"$TMP/out")" -eq 1 ] && ok "--compact is one line" || fail "--compact not one line"
printf 'assert j == json.load(open("%s"))\n' "$TMP/invite.json" >"$TMP/pyscript"
pycheck "--compact same content" "$FIX/invite_sdp.sip"
# Global options are accepted before the command (later commands use them).
run -c /nonexistent/ixedge.yaml --data-dir "$TMP" sip parse "$FIX/invite_sdp.sip"
expect_rc 0 "global -c/--data-dir accepted"

# ---------------------------------------------------------------- valid 200 OK
run sip parse "$FIX/ok200.sip"
expect_rc 0 "200 OK parses"
cat "$TMP/offsets.py" - >"$TMP/pyscript" <<'EOF'
assert j["type"] == "response" and j["status"] == 200 and j["reason"] == "OK", j
assert j["version"] == "SIP/2.0" and "method" not in j and "request_uri" not in j
H = {h["id"]: h for h in j["headers"]}
v = H["Via"]["parsed"][0]
assert v["rport"] == 5060 and v["received"] == "198.51.100.7", v
assert H["To"]["parsed"]["tag"] == "a6c85cf"
assert H["CSeq"]["parsed"] == {"number": 314159, "method": "INVITE"}
assert H["Record-Route"]["parsed"][0]["uri"]["host"] == "127.0.1.64"
assert H["Record-Route"]["parsed"][0]["uri"]["host_type"] == "ipv4"
assert H["Content-Length"]["parsed"] == 0 and j["body_length"] == 0
EOF
pycheck "200 OK JSON fields" "$FIX/ok200.sip"

# ---------------------------------------------------------------- compact forms, IPv6, Contact: *
run sip parse "$FIX/register_compact.sip"
expect_rc 0 "REGISTER with compact headers parses"
cat "$TMP/offsets.py" - >"$TMP/pyscript" <<'EOF'
ru = j["request_uri"]
assert ru["user"] == "alice" and ru["password"] == "secret", ru
assert ru["host"] == "2001:db8::5" and ru["host_type"] == "ipv6" and ru["port"] == 5070, ru
H = j["headers"]
assert [h["name"] for h in H][:5] == ["v", "f", "t", "i", "CSeq"]
by = {h["id"]: h for h in H}
vias = by["Via"]["parsed"]
assert len(vias) == 2 and len(by["Via"]["values"]) == 2, vias
assert vias[0]["transport"] == "TLS" and vias[0]["port"] is None, vias[0]
assert vias[0]["ttl"] == 3 and vias[0]["maddr"] == "239.1.1.1", vias[0]
assert vias[1]["branch"] == "1234" and vias[1]["branch_rfc3261"] is False, vias[1]
assert by["From"]["parsed"]["tag"] == "x7"
to = by["To"]["parsed"]
assert to["uri"]["scheme"] == "tel" and to["uri"]["user"] == "+1-555-1234", to
assert by["Call-ID"]["parsed"] == "reg1@pbx.example.org"
assert by["Contact"]["parsed"] == [{"wildcard": True}], by["Contact"]
assert by["Expires"]["value"] == "0" and "parsed" not in by["Expires"]
au = by["Authorization"]["parsed"]
assert au["username"] == "alice" and au["opaque"] == "o1" and au["qop"] is None, au
assert by["Supported"]["value"] == "" and by["Supported"]["values"] == []
rt = by["Reply-To"]["parsed"]["uri"]
assert rt["headers"] == {"Subject": "hi", "Priority": "urgent"}, rt
assert by["Content-Length"]["parsed"] == 0 and j["body_length"] == 0
EOF
pycheck "REGISTER JSON fields" "$FIX/register_compact.sip"

run sip parse "$FIX/unauthorized401.sip"
expect_rc 0 "401 with a challenge parses"
cat >"$TMP/pyscript" <<'EOF'
assert j["status"] == 401 and j["reason"] == "Unauthorized", j
w = [h for h in j["headers"] if h["id"] == "WWW-Authenticate"][0]["parsed"]
assert w["scheme"] == "Digest" and w["realm"] == "example.org" and w["nonce"] == "n2", w
assert w["stale"] is True and w["algorithm"] == "SHA-256" and w["qop"] == "auth,auth-int", w
assert w["username"] is None and w["response"] is None, w
EOF
pycheck "401 challenge fields" "$FIX/unauthorized401.sip"

# ---------------------------------------------------------------- malformed messages
# The error must name a byte offset inside the offending header line and the header.
check_malformed() {
	local file=$1 hname=$2
	run sip parse "$file"
	expect_rc 1 "malformed $hname"
	expect_err "^ixctl: sip parse: .+ at offset [0-9]+ \\(header $hname\\)$" "malformed $hname: error names offset and header"
	expect_no_stdout "malformed $hname"
	local off
	off=$(sed -nE 's/.* at offset ([0-9]+) .*/\1/p' "$TMP/err" | head -n 1)
	if python3 - "$file" "$hname" "${off:--1}" <<'EOF'; then
import sys
raw, name, off = open(sys.argv[1], "rb").read(), sys.argv[2].encode(), int(sys.argv[3])
lines, pos = [], 0
for ln in raw.split(b"\r\n"):
    lines.append((pos, pos + len(ln), ln))
    pos += len(ln) + 2
hit = [l for l in lines if l[0] <= off <= l[1]]
assert hit and hit[0][2].startswith(name + b":"), (off, hit)
EOF
		ok "malformed $hname: offset $off is on the $hname line"
	else
		fail "malformed $hname: offset $off is not on the $hname line"
	fi
}
check_malformed "$FIX/bad_cseq.sip" CSeq
check_malformed "$FIX/bad_via.sip" Via

# ---------------------------------------------------------------- bytes that are not UTF-8
# Header values with invalid UTF-8 still give valid JSON: the bad bytes become U+FFFD.
{
	printf 'OPTIONS sip:bob@example.com SIP/2.0\r\n'
	printf 'Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKutf8\r\n'
	printf 'From: <sip:alice@example.org>;tag=1\r\nTo: <sip:bob@example.com>\r\n'
	printf 'Call-ID: utf8@example.org\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n'
	printf 'X-Latin1: caf\xe9 \xff\xfe end\r\n'
	printf 'X-Utf8: caf\xc3\xa9 \xe2\x82\xac\r\n'
	printf 'X-Overlong: \xc0\xaf \xed\xa0\x80\r\n'
	printf 'Content-Length: 0\r\n\r\n'
} >"$TMP/utf8.sip"
run sip parse "$TMP/utf8.sip"
expect_rc 0 "non-UTF-8 header values parse"
cat >"$TMP/pyscript" <<'EOF'
H = {h["name"]: h["value"] for h in j["headers"]}
assert H["X-Latin1"] == "caf\ufffd \ufffd\ufffd end", H["X-Latin1"]
assert H["X-Utf8"] == "caf\u00e9 \u20ac", H["X-Utf8"]
assert H["X-Overlong"] == "\ufffd\ufffd \ufffd\ufffd\ufffd", H["X-Overlong"]
EOF
pycheck "invalid UTF-8 replaced by U+FFFD, valid UTF-8 kept" "$TMP/utf8.sip"

# ---------------------------------------------------------------- empty and hostile input
run sip parse </dev/null
expect_rc 1 "empty input"
expect_err "empty input" "empty input: clear message"
expect_no_stdout "empty input"

for i in 1 2 3 4 5; do
	head -c 4096 /dev/urandom >"$TMP/garbage"
	run sip parse "$TMP/garbage"
	expect_rc 1 "binary garbage #$i"
	expect_err "^ixctl: sip parse: " "binary garbage #$i: error message"
done
# Garbage after a valid start line goes deeper into the parser: any verdict, no crash.
for i in 1 2 3 4 5; do
	{ printf 'INVITE sip:bob@example.com SIP/2.0\r\n'; head -c 4000 /dev/urandom; } >"$TMP/garbage"
	run sip parse "$TMP/garbage"
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then ok "start line + garbage #$i (exit $rc)"; else fail "start line + garbage #$i: exit $rc"; fi
done

# 10 MB: far above the SIP message limit; rejected quickly with a clear reason.
{ cat "$FIX/invite_sdp.sip"; head -c 10485760 /dev/zero | tr '\0' 'a'; } >"$TMP/big.sip"
t0=$(date +%s%N)
run sip parse "$TMP/big.sip"
t1=$(date +%s%N)
expect_rc 1 "10 MB input"
expect_err "too large" "10 MB input: says too large"
expect_no_stdout "10 MB input"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 5000 ] && ok "10 MB input handled in ${ms} ms" || fail "10 MB input took ${ms} ms"
timeout 20 "$IXCTL" sip parse <"$TMP/big.sip" >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 1 "10 MB input on stdin"
expect_err "too large" "10 MB input on stdin: says too large"
# Beyond the read cap (16 MiB) an endless stream is cut off, not read into memory.
timeout 20 "$IXCTL" sip parse < <(head -c 20000000 /dev/zero) >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 1 "20 MB stream"
expect_err "input too large" "20 MB stream: says input too large"

# ---------------------------------------------------------------- usage errors and help
run sip parse --bogus "$FIX/ok200.sip"
expect_rc 2 "unknown option"
expect_err "^usage: " "unknown option: usage line"
run sip parse -z "$FIX/ok200.sip"
expect_rc 2 "unknown short option"
run sip parse "$FIX/ok200.sip" "$FIX/ok200.sip"
expect_rc 2 "too many arguments"
expect_err "^usage: " "too many arguments: usage line"
run sip parse "$TMP/does-not-exist.sip"
expect_rc 2 "missing file"
expect_err "does-not-exist.sip" "missing file: names the file"
expect_err "^usage: " "missing file: usage line"
run sip parse "$TMP"
expect_rc 2 "directory as file"
run frobnicate
expect_rc 2 "unknown command"
expect_err "^usage: " "unknown command: usage line"
run sip frobnicate
expect_rc 2 "unknown sip command"
run sip
expect_rc 2 "group without command"
run
expect_rc 2 "no command"
run --bogus sip parse "$FIX/ok200.sip"
expect_rc 2 "unknown global option"
run -c
expect_rc 2 "-c without FILE"

run --help
expect_rc 0 "--help"
grep -q "sip parse" "$TMP/out" && ok "--help lists sip parse" || fail "--help does not list sip parse"
grep -q -- "--data-dir" "$TMP/out" && ok "--help documents --data-dir" || fail "--help lacks --data-dir"
run --version
expect_rc 0 "--version"
grep -Eq '^ixctl [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out" && ok "--version format" || fail "--version: $(cat "$TMP/out")"
run help sip
expect_rc 0 "help sip"
grep -q "Exit status" "$TMP/out" && ok "help sip shows parse help" || fail "help sip lacks parse help"
run help sip parse
expect_rc 0 "help sip parse"
run sip parse --help
expect_rc 0 "sip parse --help"
run help nosuchgroup
expect_rc 2 "help for an unknown group"

cli_done
