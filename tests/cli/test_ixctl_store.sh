#!/usr/bin/env bash
# `ixctl` store commands: accounts, domains, ACLs, credential lists, mappings, connections, calls
# against a temporary data directory; tables, --json, errors and exit codes, no plaintext password.
# Usage: bash test_ixctl_store.sh BUILD_DIR SOURCE_DIR
set -u

. "$(dirname "$0")/cli_lib.sh"
LAB="$SRC/etc/lab.yaml"
DATA="$TMP/data"
DB="$DATA/ixedge.db"
# Every run names the data directory first; runc adds the lab config (which names the edges).
IXCTL_ARGS=(--data-dir "$DATA")
command -v python3 >/dev/null || { echo "FAIL: python3 needed"; exit 1; }

runc() {
	run -c "$LAB" "$@"
}

# pyjson EXPR: evaluates EXPR with j = the JSON on stdout; prints its value, fails if it raises.
pyjson() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, bool) else str(v).lower())' "$TMP/out" "$1" 2>"$TMP/pyerr"
}

# check_json EXPR WHAT: EXPR (python, j = stdout's JSON) must be true.
check_json() {
	if [ "$(pyjson "$1")" = true ]; then
		ok "$2"
	else
		fail "$2: '$1' is not true: $(head -c 300 "$TMP/pyerr") $(head -c 600 "$TMP/out")"
	fi
}

# sql QUERY: rows of the database, one per line, fields joined by |.
sql() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for row in c.execute(sys.argv[2]):
    print("|".join(str(x) for x in row))' "$DB" "$1"
}

# ---------------------------------------------------------------- data directory

timeout 20 "$IXCTL" accounts list >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 2 "no data directory and no config"
expect_err "which data directory\? \(-c FILE or --data-dir DIR\)" "no data directory: message"

run accounts list
expect_rc 1 "reading a data directory that does not exist"
expect_err "data directory .*/data does not exist" "missing data directory: message"
[ -e "$DATA" ] && fail "a list created the data directory" || ok "a list creates nothing"

# The data directory from the config's data_dir, as the daemon takes it.
sed "s|^data_dir:.*||" "$LAB" >"$TMP/cfg.yaml"
printf '\ndata_dir: %s\n' "$TMP/cfgdata" >>"$TMP/cfg.yaml"
mkdir "$TMP/cfgdata"
timeout 20 "$IXCTL" -c "$TMP/cfg.yaml" accounts create --friendly-name viaconfig >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 0 "-c FILE: data_dir from the config"
[ -s "$TMP/cfgdata/ixedge.db" ] && ok "the store is in the config's data_dir" ||
	fail "no $TMP/cfgdata/ixedge.db"

timeout 20 "$IXCTL" -c "$TMP/nonexistent.yaml" accounts list >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 2 "unreadable config"
printf 'edges: 7\n' >"$TMP/bad.yaml"
timeout 20 "$IXCTL" -c "$TMP/bad.yaml" accounts list >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 1 "invalid config"
expect_err "bad.yaml:1" "invalid config: file and line"

# ---------------------------------------------------------------- accounts

run accounts create --friendly-name "Acme Inc" --json
expect_rc 0 "accounts create (creates the data directory)"
check_json 'j["sid"].startswith("AC") and len(j["sid"]) == 34' "account SID"
check_json 'j["friendly_name"] == "Acme Inc" and len(j["auth_token"]) == 32' "account fields"
check_json 'j["date_created"].endswith(" +0000") and j["date_created"][3:5] == ", "' \
	"dates in RFC 2822 form"
AC=$(pyjson 'j["sid"]')
[ "$(stat -c %a "$DB")" = 600 ] && ok "database file is 0600" || fail "database mode $(stat -c %a "$DB")"

AC2=AC0123456789abcdef0123456789abcdef
run accounts create --friendly-name Other --sid $AC2 --auth-token 0123456789abcdef0123456789abcdef
expect_rc 0 "accounts create with --sid and --auth-token"
expect_out "^sid +$AC2$" "account table: sid line"
expect_out "^auth_token +0123456789abcdef0123456789abcdef$" "account table: auth_token line"

run accounts create --sid $AC2
expect_rc 1 "duplicate account SID"
expect_err "account $AC2 already exists" "duplicate account: message"
run accounts create --auth-token XYZ
expect_rc 1 "bad auth token"
expect_err "auth_token: must be 32 lowercase hex digits" "bad auth token: message"

run accounts list
expect_rc 0 "accounts list"
if head -1 "$TMP/out" | grep -Eq '^SID +FRIENDLY_NAME +DATE_CREATED$' &&
	[ "$(grep -c '^AC' "$TMP/out")" -eq 2 ]; then
	ok "accounts list: header and two rows"
else
	fail "accounts list: $(cat "$TMP/out")"
fi
# Aligned: the second column starts at the same offset on every line.
if [ "$(awk '{ print index($0, $2) }' "$TMP/out" | sort -u | wc -l)" -eq 1 ]; then
	ok "accounts list: columns aligned"
else
	fail "accounts list: not aligned: $(cat "$TMP/out")"
fi
run --json accounts list
check_json 'len(j["accounts"]) == 2 and j["accounts"][0]["sid"] == "'$AC'"' "accounts list --json (global option), oldest first"

run accounts update $AC2 --friendly-name Renamed --json
expect_rc 0 "accounts update"
check_json 'j["friendly_name"] == "Renamed"' "accounts update: changed"
run accounts update $AC2
expect_rc 2 "accounts update with nothing to change"
run accounts show ACffffffffffffffffffffffffffffffff
expect_rc 1 "accounts show: unknown SID"
expect_err "account ACffffffffffffffffffffffffffffffff not found" "unknown account: message"
run accounts show nonsense
expect_rc 1 "accounts show: not a SID"
expect_err "'nonsense' is not a account SID|not an? account SID" "not a SID: message"
run accounts show
expect_rc 2 "accounts show: missing SID"
expect_err "^usage: ixctl \[GLOBAL OPTIONS\] accounts show AC" "missing SID: usage line"
run accounts show $AC $AC2
expect_rc 2 "accounts show: two SIDs"
run accounts list --colour
expect_rc 2 "unknown option"

# ---------------------------------------------------------------- domains

printf '<Response><Dial><Sip>sip:bob@192.0.2.1</Sip></Dial></Response>\n' >"$TMP/twiml.xml"
run domains create --account $AC --name Acme --friendly-name "Acme main" \
	--voice-url https://example.com/voice --voice-method get --secure --twiml "$TMP/twiml.xml" --json
expect_rc 0 "domains create"
check_json 'j["domain_name"] == "acme" and j["voice_method"] == "GET" and j["secure"] is True' \
	"domain: label lowercased, method normalised, secure"
check_json 'j["sip_registration"] is False and j["voice_fallback_url"] is None' \
	"domain: defaults, absent URL is null"
check_json '"<Sip>sip:bob@192.0.2.1</Sip>" in j["inline_twiml"]' "domain: --twiml FILE read"
check_json 'j["uri"] == "/2010-04-01/Accounts/'$AC'/SIP/Domains/" + j["sid"] + ".json"' "domain: uri"
SD=$(pyjson 'j["sid"]')

run domains create --account $AC --name ACME
expect_rc 1 "duplicate domain name"
expect_err "domain.domain_name: 'acme' is taken" "duplicate domain name: message"
run domains create --account $AC2 --name acme
expect_rc 1 "duplicate domain name across accounts"
run domains create --account $AC --name "bad_name"
expect_rc 1 "domain name not a DNS label"
expect_err "domain_name: must be one DNS label" "bad domain name: message"
run domains create --account $AC --name other --voice-url ftp://x
expect_rc 1 "bad voice URL"
expect_err "voice_url: must be an http:// or https:// URL" "bad voice URL: message"
run domains create --account $AC --name other --voice-method PUT
expect_rc 1 "bad voice method"
run domains create --account $AC --name other --secure=maybe
expect_rc 1 "bad boolean"
expect_err "--secure: .*not true or false" "bad boolean: message"
run domains create --name other
expect_rc 2 "domains create without --account"
expect_err "missing --account AC" "missing --account: message"
run domains create --account $AC
expect_rc 2 "domains create without --name"
run domains create --account ACffffffffffffffffffffffffffffffff --name other
expect_rc 1 "domains create for an unknown account"
expect_err "account ACffffffffffffffffffffffffffffffff not found" "unknown account: message"
echo '<Response><Hangup/></Response>' | timeout 20 "$IXCTL" --data-dir "$DATA" domains create \
	--account $AC2 --name beta --twiml - --sip-registration >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 0 "domains create --twiml - (stdin)"
expect_out "^inline_twiml +<Response><Hangup/></Response>\\\\n$" "inline TwiML shown with \\n escaped"
run domains create --account $AC --name gamma --twiml "$TMP/nope.xml"
expect_rc 2 "--twiml: unreadable file"

run domains list
expect_rc 0 "domains list"
expect_out "^SD[0-9a-f]{32} +acme +$AC +Acme main +https://example.com/voice +true$" "domains list: acme row"
expect_out "^SD[0-9a-f]{32} +beta +$AC2 +- +- +false$" "domains list: beta row"
run domains list --account $AC2 --json
check_json '[d["domain_name"] for d in j["domains"]] == ["beta"]' "domains list --account"

run domains show acme --json
check_json 'j["sid"] == "'$SD'"' "domains show by name"
run domains show $SD
expect_out "^domain_name +acme$" "domains show by SID (table)"
run domains show nosuch
expect_rc 1 "domains show: unknown name"
expect_err "domain 'nosuch' not found" "unknown domain: message"

run domains update acme --voice-url '' --sip-registration --json
expect_rc 0 "domains update"
check_json 'j["voice_url"] is None and j["sip_registration"] is True and j["secure"] is True' \
	"domains update: cleared URL, set flag, kept the rest"
run domains update acme --name beta
expect_rc 1 "domains update to a taken name"
run domains update acme --account $AC2
expect_rc 2 "domains update cannot move the domain (unknown option)"

# ---------------------------------------------------------------- ACLs

run acls create --account $AC --friendly-name office --json
expect_rc 0 "acls create"
AL=$(pyjson 'j["sid"]')
run acls create --account $AC
expect_rc 2 "acls create without --friendly-name"

run acls add-address $AL 192.0.2.10 --json
expect_rc 0 "acls add-address"
check_json 'j["ip_address"] == "192.0.2.10" and j["cidr_prefix_length"] == 32' "address: default /32"
check_json 'j["friendly_name"] == "192.0.2.10" and j["account_sid"] == "'$AC'"' \
	"address: default name, account from the list"
check_json 'j["ip_access_control_list_sid"] == "'$AL'"' "address: its list"
run acls add-address $AL 198.51.100.0/24 --friendly-name "branch net"
expect_rc 0 "acls add-address with a prefix"
expect_out "^cidr_prefix_length +24$" "address: prefix 24"
for bad in 192.0.2.300 192.0.2 010.0.0.1 ::1 example.com 192.0.2.1/33 192.0.2.1/x; do
	run acls add-address $AL "$bad"
	expect_rc 1 "bad address '$bad'"
done
expect_err "cidr_prefix_length" "bad prefix: message names the field"
run acls add-address $AL 192.0.2.300
expect_err "ip_address: must be a dotted IPv4 address" "bad address: message"
run acls add-address $AL 192.0.2.10
expect_rc 1 "duplicate address"
expect_err "already exists in $AL" "duplicate address: message"
run acls add-address ALffffffffffffffffffffffffffffffff 192.0.2.1
expect_rc 1 "address for an unknown ACL"
run acls add-address $AL
expect_rc 2 "add-address without the address"

run acls show $AL
expect_rc 0 "acls show"
expect_out "^friendly_name +office$" "acls show: the list"
expect_out "^  IP[0-9a-f]{32} +198\.51\.100\.0 +24 +branch net$" "acls show: the addresses table"
run acls show $AL --json
check_json 'sorted(a["ip_address"] for a in j["ip_addresses"]) == ["192.0.2.10", "198.51.100.0"]' \
	"acls show --json: ip_addresses"
run acls list --json
check_json 'len(j["ip_access_control_lists"]) == 1' "acls list --json"
run acls update $AL --friendly-name "HQ office"
expect_rc 0 "acls update"

run acls remove-address $AL 198.51.100.0/16
expect_rc 1 "remove-address with the wrong prefix"
run acls remove-address $AL 198.51.100.0/24
expect_rc 0 "remove-address by address/prefix"
expect_out "^deleted ip_address IP[0-9a-f]{32}$" "remove-address: message"
run acls show $AL --json
IPSID=$(pyjson 'j["ip_addresses"][0]["sid"]')
run acls remove-address $AL 203.0.113.1
expect_rc 1 "remove-address: not in the list"
expect_err "no ip_address '203.0.113.1' in $AL" "remove-address not found: message"

# ------------------------------------------------------- credential lists

run credlists create --account $AC --friendly-name staff --json
expect_rc 0 "credlists create"
CL=$(pyjson 'j["sid"]')
PW='Plain7ext-Secret-99'
run credlists add-credential $CL alice --password "$PW" --json
expect_rc 0 "add-credential with --password"
check_json '"password" not in j and "ha1_md5" not in j and "realm" not in j' "credential JSON has no secret"
check_json 'j["username"] == "alice" and j["credential_list_sid"] == "'$CL'"' "credential fields"
PW2='Env0nly-Password-42'
IXCTL_PASSWORD="$PW2" run credlists add-credential $CL bob
expect_rc 0 "add-credential with IXCTL_PASSWORD"
run credlists add-credential $CL carol
expect_rc 2 "add-credential without a password"
expect_err "which password\?" "no password: message"
run credlists add-credential $CL carol --password short
expect_rc 1 "weak password"
expect_err "password: must be at least 12 characters" "weak password: message"
run credlists add-credential $CL carol --password alllowercase123
expect_rc 1 "password without an uppercase letter"
run credlists add-credential $CL 'bad user' --password "$PW"
expect_rc 1 "bad username"
run credlists add-credential $CL alice --password "$PW"
expect_rc 1 "duplicate username"
expect_err "'alice' already exists in $CL" "duplicate username: message"

# Only the HA1s are stored: MD5 and SHA-256 of user:realm:password.
REALM=$(sql "SELECT value FROM settings WHERE key = 'digest_realm'")
want_md5=$(printf '%s' "alice:$REALM:$PW" | md5sum | cut -d' ' -f1)
want_sha=$(printf '%s' "alice:$REALM:$PW" | sha256sum | cut -d' ' -f1)
if [ "$(sql "SELECT ha1_md5, ha1_sha256 FROM credentials WHERE username = 'alice'")" = "$want_md5|$want_sha" ]; then
	ok "alice's HA1s (MD5 and SHA-256 under $REALM)"
else
	fail "alice's HA1s: $(sql "SELECT realm, ha1_md5, ha1_sha256 FROM credentials")"
fi
if grep -qaF -e "$PW" -e "$PW2" "$DATA"/ixedge.db*; then
	fail "a plaintext password is in the database files"
else
	ok "no plaintext password in ixedge.db, -wal or -shm"
fi

# With -c, the realm becomes the daemon's: sip.<first base domain>.
sed 's|^base_domains:.*|base_domains: [example.net]|' "$LAB" >"$TMP/base.yaml"
timeout 20 "$IXCTL" -c "$TMP/base.yaml" --data-dir "$DATA" credlists set-password $CL alice \
	--password "$PW" >"$TMP/out" 2>"$TMP/err"
rc=$?
expect_rc 0 "set-password with -c (another base domain)"
expect_err "note: digest realm set to sip.example.net" "realm change is reported"
want_md5=$(printf '%s' "alice:sip.example.net:$PW" | md5sum | cut -d' ' -f1)
[ "$(sql "SELECT realm || '|' || ha1_md5 FROM credentials WHERE username = 'alice'")" = "sip.example.net|$want_md5" ] &&
	ok "set-password: rehashed under the new realm" || fail "set-password: $(sql "SELECT realm, ha1_md5 FROM credentials")"

run credlists show $CL
expect_rc 0 "credlists show"
expect_out "^  CR[0-9a-f]{32} +alice +" "credlists show: credentials table"
run credlists show $CL --json
check_json 'sorted(c["username"] for c in j["credentials"]) == ["alice", "bob"]' "credlists show --json"
run credlists list
expect_out "^CL[0-9a-f]{32} +$AC +staff +" "credlists list"
run credlists set-password $CL nobody --password "$PW"
expect_rc 1 "set-password: unknown user"

# ---------------------------------------------------------------- mappings

V0=$(sql "SELECT version FROM config_version")
run mappings add acme calls acl $AL
expect_rc 0 "mappings add calls acl"
V1=$(sql "SELECT version FROM config_version")
[ "$V1" -gt "$V0" ] && ok "a change bumps config_version ($V0 -> $V1): the daemon sees it" ||
	fail "config_version did not change ($V0 -> $V1)"
run mappings add acme calls credlist $CL
expect_rc 0 "mappings add calls credlist"
run mappings add $SD registrations credlist $CL --json
expect_rc 0 "mappings add registrations credlist (by SID)"
check_json 'j["mapping"] == "registrations-credentials" and j["mapped"] is True' "mapping JSON"
run mappings add acme calls acl $AL
expect_rc 1 "mapping twice"
expect_err "already mapped" "mapping twice: message"
run mappings add acme registrations acl $AL
expect_rc 2 "registrations take no ACL"
run mappings add acme calls list $AL
expect_rc 2 "unknown list type"
run mappings add acme calls
expect_rc 2 "mappings add: missing arguments"
run mappings add beta calls acl $AL
expect_rc 1 "mapping across accounts"
expect_err "belongs to another account" "mapping across accounts: message"
run mappings add acme calls acl ALffffffffffffffffffffffffffffffff
expect_rc 1 "mapping an unknown ACL"

run mappings list acme
expect_rc 0 "mappings list"
expect_out "^calls-acl +$AL +HQ office$" "mappings list: the ACL"
expect_out "^registrations-credentials +$CL +staff$" "mappings list: registrations"
run mappings list acme --json
check_json '[m["sid"] for m in j["calls"]["ip_access_control_list_mappings"]] == ["'$AL'"]' "mappings JSON: calls ACLs"
check_json '[m["sid"] for m in j["calls"]["credential_list_mappings"]] == ["'$CL'"]' "mappings JSON: calls credentials"
check_json '[m["sid"] for m in j["registrations"]["credential_list_mappings"]] == ["'$CL'"]' "mappings JSON: registrations"
run mappings remove acme calls credlist $CL
expect_rc 0 "mappings remove"
run mappings remove acme calls credlist $CL
expect_rc 1 "mappings remove: not mapped"
run mappings list beta
expect_out "nothing mapped" "mappings list: an unmapped domain says so"

# ------------------------------------------------------------- connections

NX=NX00112233445566778899aabbccddeeff
runc connections create --edge us1 --sid $NX --friendly-name "DC2 cross-connect" --json
expect_rc 0 "connections create (legacy code)"
check_json 'j["edge"] == "ashburn-ix" and j["sid"] == "'$NX'"' "connection: the edge's name is stored"
run connections create --edge ashburn-ix
expect_rc 2 "connections create without -c"
expect_err "needs the configuration \(-c FILE\)" "connections without -c: message"
runc connections create --edge atlantis-ix
expect_rc 1 "connections create: unknown edge"
expect_err "unknown edge 'atlantis-ix'" "unknown edge: message"
runc connections create --edge london-ix --sid $NX
expect_rc 1 "connections create: duplicate SID"
runc connections create --edge london-ix --sid NX123
expect_rc 1 "connections create: bad SID"
runc connections create
expect_rc 2 "connections create without --edge"
runc connections create --edge frankfurt-ix
expect_rc 0 "connections create with a generated SID"
run connections list
expect_out "^$NX +ashburn-ix +DC2 cross-connect +" "connections list"
run connections update $NX --edge london-ix
expect_rc 2 "connections update --edge without -c"
runc connections update $NX --edge ie1 --json
check_json 'j["edge"] == "london-ix"' "connections update --edge"
run connections show $NX
expect_out "^edge +london-ix$" "connections show"
run connections delete $NX
expect_rc 0 "connections delete"
run connections show $NX
expect_rc 1 "connection gone"

# ------------------------------------------------------------------ calls

python3 - "$DB" "$AC" <<'EOF'
import sqlite3, sys
db, ac = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
cols = ("sid, account_sid, parent_call_sid, direction, \"from\", \"to\", status, start_time, "
        "answer_time, end_time, duration, edge, gateway, sip_call_id, sip_status, end_reason, "
        "hung_up_by, date_created, date_updated")
t0 = 1700000000000
for i in range(60):
    sid = "CA%032x" % i
    status = "completed" if i % 3 else "busy"
    parent = "CA%032x" % 0 if i == 5 else ""
    end = t0 + i * 1000 + 15000
    c.execute("INSERT INTO calls (%s) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" % cols,
              (sid, ac, parent, "inbound" if i % 2 else "outbound-dial", "sip:alice@192.0.2.10",
               "sip:+15551234%03d@acme.sip.ashburn-ix.twilio.com;transport=tcp" % i, status, t0 + i * 1000,
               t0 + i * 1000 + 500, end, 15, "ashburn-ix", "208.78.112.64", "call-%d@host" % i,
               200 if i % 3 else 486, "bye" if i % 3 else "busy", "caller", t0 + i, t0 + i))
c.commit()
EOF
run calls list
expect_rc 0 "calls list"
if head -1 "$TMP/out" | grep -Eq '^SID +STATUS +DIRECTION +FROM +TO +START_TIME +DURATION +EDGE$' &&
	[ "$(grep -c '^CA' "$TMP/out")" -eq 50 ]; then
	ok "calls list: header and the 50 newest"
else
	fail "calls list: $(head -3 "$TMP/out") ... $(grep -c '^CA' "$TMP/out") rows"
fi
expect_out "^CA0{30}3b +completed +inbound +sip:alice@192\.0\.2\.10 +sip:\+15551234059@acme\.sip\.ashburn-ix\.twilio\.c\.\.\. +2023-11-14T22:14:19Z +15 +ashburn-ix$" \
	"calls list: newest first, long values cut, ISO times"
run calls list --limit 1500 --json
expect_rc 0 "calls list --limit beyond the total"
check_json 'len(j["calls"]) == 60 and j["calls"][0]["sid"] == "CA%032x" % 59' "calls --json: all 60, newest first"
run calls list --limit 3 --status busy --json
check_json '[c["status"] for c in j["calls"]] == ["busy"] * 3 and j["calls"][0]["sid"] == "CA%032x" % 57' \
	"calls list --status --limit"
run calls list --direction inbound --parent CA00000000000000000000000000000000 --json
check_json '[c["sid"] for c in j["calls"]] == ["CA%032x" % 5]' "calls list --direction --parent"
run calls list --account $AC2 --json
check_json 'j["calls"] == []' "calls list --account of another account: none"
run calls list --status sideways
expect_rc 1 "calls list --status with no such status"
expect_err "call.status: must be one of: queued ringing" "bad status filter: message"
run calls list --account nonsense
expect_rc 1 "calls list --account not a SID"
run calls list --status failed
expect_rc 0 "calls list --status with no match"
expect_out "^no calls$" "calls list: empty says so"
run calls list --limit 0
expect_rc 2 "calls list --limit 0"
run calls list --limit many
expect_rc 2 "calls list --limit not a number"

CA=$(printf 'CA%032x' 5)
run calls show $CA --json
expect_rc 0 "calls show"
check_json 'set(["sid", "account_sid", "status", "direction", "from", "to", "start_time", "end_time", "duration", "parent_call_sid", "sip_call_id", "edge", "gateway", "sip_response_code", "end_reason", "hung_up_by", "api_version", "uri"]) <= set(j)' \
	"call JSON: the REST and SIP field names"
check_json 'j["duration"] == "15" and j["sip_response_code"] == 200 and j["parent_call_sid"] == "CA" + "0" * 32' \
	"call JSON: duration as the API's string, SIP code, parent"
check_json 'j["start_time"] == "Tue, 14 Nov 2023 22:13:25 +0000" and j["end_time"] == "Tue, 14 Nov 2023 22:13:40 +0000"' \
	"call JSON: RFC 2822 times"
check_json 'j["uri"] == "/2010-04-01/Accounts/'$AC'/Calls/'$CA'.json" and "sip_status" not in j' "call JSON: uri"
run calls show $CA
expect_out "^sip_response_code +200$" "calls show (table)"
expect_out "^parent_call_sid +CA0{32}$" "calls show: parent"
run calls show CAffffffffffffffffffffffffffffffff
expect_rc 1 "calls show: unknown call"
expect_err "call CAffffffffffffffffffffffffffffffff not found" "unknown call: message"
run calls delete $CA --json
expect_rc 0 "calls delete"
check_json 'j == {"sid": "'$CA'", "deleted": True}' "calls delete --json"
run calls show $CA
expect_rc 1 "deleted call is gone"

# ------------------------------------------------------------------ deletes

run credlists remove-credential $CL bob
expect_rc 0 "remove-credential by username"
run credlists remove-credential $CL bob
expect_rc 1 "remove-credential again"
ALICE=$(sql "SELECT sid FROM credentials WHERE username = 'alice'")
run credlists remove-credential ALffffffffffffffffffffffffffffffff $ALICE
expect_rc 1 "remove-credential: wrong list"
run credlists remove-credential $CL $ALICE
expect_rc 0 "remove-credential by SID"
run acls remove-address $AL $IPSID
expect_rc 0 "remove-address by SID"
run acls delete $AL
expect_rc 0 "acls delete"
expect_out "^deleted ip_access_control_list $AL$" "acls delete: message"
[ "$(sql "SELECT count(*) FROM sip_domain_acl_calls")" = 0 ] && ok "acls delete: its mappings went too" ||
	fail "mappings of a deleted ACL remain"
run credlists delete $CL
expect_rc 0 "credlists delete"
run domains delete acme --json
expect_rc 0 "domains delete by name"
check_json 'j["sid"] == "'$SD'"' "domains delete: the SID"
run domains show acme
expect_rc 1 "domain gone"
run accounts delete $AC2
expect_rc 0 "accounts delete"
[ "$(sql "SELECT count(*) FROM sip_domains")" = 0 ] && ok "accounts delete: its domain went too" ||
	fail "a deleted account's domain remains"
[ "$(sql "SELECT count(*) FROM calls")" = 59 ] && ok "call records outlive deletes" ||
	fail "calls: $(sql "SELECT count(*) FROM calls")"
run accounts delete $AC2
expect_rc 1 "accounts delete twice"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
assert c.execute("PRAGMA foreign_key_check").fetchall() == []' "$DB" &&
	ok "database sound after it all" || fail "integrity check"

# -------------------------------------------------------------------- help

run accounts
expect_rc 2 "a group without its command"
run accounts --help
expect_rc 0 "accounts --help"
expect_out "^usage: ixctl \[GLOBAL OPTIONS\] accounts create " "group help lists the commands"
run domains create --help
expect_rc 0 "domains create --help"
expect_out "--voice-url URL" "domains create --help: options"
timeout 20 "$IXCTL" --help >"$TMP/out" 2>&1
for c in "accounts create" "domains update" "acls add-address" "credlists add-credential" \
	"mappings list" "connections create" "calls list"; do
	grep -q "^  $c " "$TMP/out" || fail "--help does not list '$c'"
done
ok "--help lists the store commands"

cli_done
