#!/usr/bin/env bash
# `ixctl allowlist`: the reference's addresses in every format, --edge, exit codes, errors.
# Usage: bash test_ixctl_allowlist.sh BUILD_DIR SOURCE_DIR
set -u

. "$(dirname "$0")/cli_lib.sh"
PROFILE="$SRC/etc/profiles/interconnect.yaml"
LAB="$SRC/etc/lab.yaml"

# The gateway addresses of the reference (sip-interface-over-interconnect.md), by edge.
declare -A GW=(
	[ashburn-ix]="208.78.112.64 208.78.112.65 208.78.112.66"
	[san-jose-ix]="67.213.136.64 67.213.136.65 67.213.136.66"
	[london-ix]="185.187.132.68 185.187.132.69 185.187.132.70"
	[frankfurt-ix]="185.194.136.64 185.194.136.65 185.194.136.66"
	[singapore-ix]="103.75.151.68 103.75.151.69 103.75.151.70"
	[tokyo-ix]="103.144.142.68 103.144.142.69 103.144.142.70"
	[sydney-ix]="103.146.214.68 103.146.214.69 103.146.214.70"
	[sao-paulo-ix]="159.183.255.68 159.183.255.69 159.183.255.70"
)
MEDIA=168.86.128.0/18

# has_addr FILE ADDR: ADDR as a whole token (so .64 does not match .640).
has_addr() {
	grep -Eq "(^|[ ,])${2//./\\.}([ ,]|$)" "$1"
}

# ------------------------------------------------------------ every format

for fmt in nft iptables csv; do
	run allowlist --profile "$PROFILE" --format "$fmt"
	expect_rc 0 "$fmt: interconnect profile"
	cp "$TMP/out" "$TMP/all.$fmt"
	missing=""
	for e in "${!GW[@]}"; do
		for a in ${GW[$e]}; do
			has_addr "$TMP/out" "$a" || missing="$missing $a"
		done
	done
	if [ -z "$missing" ]; then
		ok "$fmt: all 24 gateway addresses present"
	else
		fail "$fmt: missing gateway addresses:$missing"
	fi
	case $fmt in
	nft) media_re="ip saddr $MEDIA udp sport 10000-60000 accept" ;;
	iptables) media_re="-s $MEDIA -p udp --sport 10000:60000 " ;;
	csv) media_re=",media,udp,$MEDIA,10000-60000" ;;
	esac
	if grep -qF -- "$media_re" "$TMP/out"; then
		ok "$fmt: media range $MEDIA with 10000-60000"
	else
		fail "$fmt: no '$media_re' in the output"
	fi
done

# nft and iptables print a rule all edges share once, and say so for the others.
n=$(grep -c "ip saddr $MEDIA " "$TMP/all.nft")
d=$(grep -c "# media udp $MEDIA 10000-60000: the same rule as for ashburn-ix above" "$TMP/all.nft")
if [ "$n" -eq 1 ] && [ "$d" -eq 7 ]; then
	ok "nft: the shared media rule once, 7 notes"
else
	fail "nft: media rule $n times, $d notes (want 1 and 7)"
fi
for e in "${!GW[@]}"; do
	grep -q "# edge $e (interconnect, region " "$TMP/all.nft" || fail "nft: no comment for $e"
done
ok "nft: one comment per edge"

# nft: one table, one chain, balanced braces; nft itself checks it when present.
if [ "$(grep -c '^table inet ixedge_allowlist {$' "$TMP/all.nft")" -eq 1 ] &&
	[ "$(grep -c 'chain ' "$TMP/all.nft")" -eq 1 ] &&
	[ "$(tr -cd '{' <"$TMP/all.nft" | wc -c)" -eq "$(tr -cd '}' <"$TMP/all.nft" | wc -c)" ]; then
	ok "nft: one table, one chain, braces balanced"
else
	fail "nft: structure"
fi
bad=$(grep -Ev '^\s*(#.*)?$|^table |^\s*chain |^\s*type filter hook input priority 0; policy accept;$|^\s*\}$' "$TMP/all.nft" |
	grep -Ev '^		ip6? saddr [0-9a-f.:/]+ (udp|tcp) (s|d)port [0-9]+(-[0-9]+)? accept comment "[a-z0-9-]+ (signalling|media) (udp|tcp|tls)"$')
if [ -z "$bad" ]; then
	ok "nft: every rule line has the expected shape"
else
	fail "nft: unexpected lines: $(echo "$bad" | head -3)"
fi
if command -v nft >/dev/null 2>&1; then
	if nft -c -f "$TMP/all.nft" 2>"$TMP/nfterr"; then
		ok "nft -c accepts the ruleset"
	else
		fail "nft -c: $(head -c 400 "$TMP/nfterr")"
	fi
else
	echo "skip: nft not installed, ruleset not checked by nft itself"
fi

# iptables: restore input, every rule in the documented shape; 8 x 9 + 1 rules.
bad=$(grep -Ev '^(#.*|\*filter|COMMIT)$' "$TMP/all.iptables" |
	grep -Ev '^-A INPUT -s [0-9.]+(/[0-9]+)? -p (udp|tcp) --(s|d)port [0-9]+(:[0-9]+)? -m comment --comment "[a-z0-9-]+ (signalling|media) (udp|tcp|tls)" -j ACCEPT$')
n=$(grep -c '^-A INPUT ' "$TMP/all.iptables")
if [ -z "$bad" ] && [ "$n" -eq 73 ] && [ "$(sed -n '/^\*filter$/=' "$TMP/all.iptables" | wc -l)" -eq 1 ] &&
	[ "$(tail -n 1 "$TMP/all.iptables")" = COMMIT ]; then
	ok "iptables: *filter, 73 -A INPUT rules, COMMIT"
else
	fail "iptables: $n rules; unexpected lines: $(echo "$bad" | head -3)"
fi

# csv: parses, one header, 10 rows per edge, and exactly the reference's ports.
if python3 - "$TMP/all.csv" <<'EOF' 2>"$TMP/pyerr"; then
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["edge", "kind", "protocol", "address", "ports"], rows[0]
body = rows[1:]
assert len(body) == 80, len(body)
by_edge = {}
for r in body:
    assert len(r) == 5, r
    by_edge.setdefault(r[0], []).append(r)
assert len(by_edge) == 8, sorted(by_edge)
want_ports = {"udp": "5060", "tcp": "5060", "tls": "5061"}
for edge, rs in by_edge.items():
    sig = [r for r in rs if r[1] == "signalling"]
    media = [r for r in rs if r[1] == "media"]
    assert len(sig) == 9 and len(media) == 1, (edge, rs)
    for r in sig:
        assert r[4] == want_ports[r[2]], r
    assert len({r[3] for r in sig}) == 3, sig
    assert media[0][2:] == ["udp", "168.86.128.0/18", "10000-60000"], media
EOF
	ok "csv: parses with python3; 8 edges x (9 signalling + 1 media) rows with the reference ports"
else
	fail "csv: $(tail -n 3 "$TMP/pyerr")"
fi

# ------------------------------------------------------------------ --edge

# Name, legacy code and short legacy code select the same single edge.
for sel in frankfurt-ix de1-ix de1 DE1; do
	run allowlist --profile "$PROFILE" --edge "$sel" --format csv
	expect_rc 0 "--edge $sel"
	others=""
	for e in "${!GW[@]}"; do
		for a in ${GW[$e]}; do
			if [ "$e" = frankfurt-ix ]; then
				has_addr "$TMP/out" "$a" || fail "--edge $sel: $a missing"
			else
				has_addr "$TMP/out" "$a" && others="$others $a"
			fi
		done
	done
	[ -z "$others" ] || fail "--edge $sel: other edges' addresses:$others"
	if [ "$(cut -d, -f1 "$TMP/out" | sort -u | tr '\n' ' ')" = "edge frankfurt-ix " ] &&
		grep -qF ",media,udp,$MEDIA,10000-60000" "$TMP/out"; then
		ok "--edge $sel: frankfurt-ix rows only, with its media"
	else
		fail "--edge $sel: rows of other edges or no media"
	fi
done
run allowlist --profile "$PROFILE" --edge sao-paulo-ix --format nft
expect_rc 0 "nft --edge sao-paulo-ix"
if grep -q "ip saddr $MEDIA udp sport 10000-60000 accept" "$TMP/out" &&
	[ "$(grep -c ' accept comment ' "$TMP/out")" -eq 10 ]; then
	ok "nft --edge sao-paulo-ix: its 9 signalling rules and the media rule"
else
	fail "nft --edge sao-paulo-ix: $(grep -c ' accept comment ' "$TMP/out") rules"
fi

# The lab file, and the global -c standing in for --profile.
run allowlist --profile "$LAB" --edge us1 --format iptables
expect_rc 0 "lab --edge us1"
if grep -q -- '-A INPUT -s 127.0.1.65 -p tcp --dport 5060 ' "$TMP/out" &&
	grep -q -- '-A INPUT -s 127.86.128.1 -p udp --sport 10000:60000 ' "$TMP/out" &&
	! grep -q '127.0.2.' "$TMP/out"; then
	ok "lab --edge us1: ashburn-ix gateways and media only"
else
	fail "lab --edge us1: $(head -c 400 "$TMP/out")"
fi
run -c "$PROFILE" allowlist --format csv
expect_rc 0 "-c FILE instead of --profile"
cmp -s "$TMP/out" "$TMP/all.csv" && ok "-c FILE: same output" || fail "-c FILE: output differs"

# ------------------------------------------------------------------ errors

run allowlist --profile "$PROFILE" --edge foo-ix --format nft
expect_rc 1 "unknown edge"
expect_err "^ixctl: allowlist: unknown edge 'foo-ix' in " "unknown edge: message"
expect_no_stdout "unknown edge"

run allowlist --profile "$PROFILE" --edge roaming --format csv
expect_rc 1 "roaming is no edge"

printf 'regions: [{name: a}]\nedges:\n  - {name: x, region: b}\n' >"$TMP/broken.yaml"
run allowlist --profile "$TMP/broken.yaml" --format csv
expect_rc 1 "invalid profile"
expect_err "broken.yaml:3:[0-9]+: edges\[0\]" "invalid profile: file, line and key"
expect_no_stdout "invalid profile"

run allowlist --profile "$TMP/nonexistent.yaml" --format csv
expect_rc 2 "unreadable profile"
expect_err "cannot read .*nonexistent.yaml" "unreadable profile: message"

run allowlist --format csv
expect_rc 2 "no profile"
expect_err "which profile" "no profile: message"
expect_err "^usage: ixctl \[GLOBAL OPTIONS\] allowlist --profile FILE" "usage line"

run allowlist --profile "$PROFILE"
expect_rc 2 "no format"
run allowlist --profile "$PROFILE" --format json
expect_rc 2 "unknown format"
expect_err "unknown format 'json'" "unknown format: message"
run allowlist --profile "$PROFILE" --format csv extra
expect_rc 2 "extra argument"
run allowlist --profile "$PROFILE" --format csv --colour
expect_rc 2 "unknown option"
run allowlist --profile "$PROFILE" --format
expect_rc 2 "option without its argument"
expect_no_stdout "usage errors"

run allowlist --help
expect_rc 0 "--help"
grep -q '^usage: ixctl \[GLOBAL OPTIONS\] allowlist --profile FILE \[--edge NAME\] --format nft|iptables|csv$' "$TMP/out" &&
	ok "--help: usage line" || fail "--help: $(head -c 200 "$TMP/out")"
run help allowlist
expect_rc 0 "help allowlist"
run --help
grep -q '^  allowlist  ' "$TMP/out" && ok "listed by --help" || fail "not listed by --help"

cli_done
