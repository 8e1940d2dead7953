/* `ixctl allowlist`: the firewall rules that accept an edge's signalling and media. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "cli.h"
#include "routing/routing.h"

enum al_format { AL_NFT, AL_IPTABLES, AL_CSV };

enum al_kind { AL_SIGNALLING, AL_MEDIA };

/* Which end of the packet a rule's ports sit on (see docs/ROUTING.md). */
enum al_port_side { AL_SPORT, AL_DPORT };

/* One accept rule: traffic from addr/plen over proto to or from ports. */
struct al_rule {
	size_t edge;
	enum al_kind kind;
	const char *proto; /* "udp", "tcp", "tls" (TCP on the wire) */
	const struct config_ip *ip;
	unsigned plen;
	uint16_t lo, hi;
	enum al_port_side side;
};

struct al_out {
	FILE *f;
	enum al_format fmt;
	const struct config *cfg;
	struct al_rule *seen; /* rules already printed, for nft/iptables */
	size_t nseen;
	bool v6; /* iptables: second pass, IPv6 rules only */
};

static const char *const kind_names[] = {"signalling", "media"};

static unsigned full_len(const struct config_ip *ip)
{
	return ip->family == AF_INET6 ? 128 : 32;
}

/* "208.78.112.64" or "168.86.128.0/18". */
static void addr_text(const struct al_rule *r, char *buf, size_t cap)
{
	if (r->plen == full_len(r->ip))
		snprintf(buf, cap, "%s", r->ip->text);
	else
		snprintf(buf, cap, "%s/%u", r->ip->text, r->plen);
}

static void ports_text(const struct al_rule *r, char sep, char *buf, size_t cap)
{
	if (r->lo == r->hi)
		snprintf(buf, cap, "%u", r->lo);
	else
		snprintf(buf, cap, "%u%c%u", r->lo, sep, r->hi);
}

static bool same_rule(const struct al_rule *a, const struct al_rule *b)
{
	return a->ip->family == b->ip->family && strcmp(a->ip->text, b->ip->text) == 0 &&
	       a->plen == b->plen && strcmp(a->proto, b->proto) == 0 && a->lo == b->lo &&
	       a->hi == b->hi && a->side == b->side;
}

/* The edge that already printed this exact rule, or NULL. */
static const char *printed_by(const struct al_out *o, const struct al_rule *r)
{
	for (size_t i = 0; i < o->nseen; i++) {
		if (same_rule(&o->seen[i], r))
			return o->cfg->edges[o->seen[i].edge].name;
	}
	return NULL;
}

static void rule_print(struct al_out *o, const struct al_rule *r)
{
	const char *edge = o->cfg->edges[r->edge].name, *dup;
	bool tcp = strcmp(r->proto, "udp") != 0;
	const char *side = r->side == AL_SPORT ? "sport" : "dport";
	char addr[INET6_ADDRSTRLEN + 8], ports[16];

	addr_text(r, addr, sizeof(addr));
	if (o->fmt == AL_CSV) {
		ports_text(r, '-', ports, sizeof(ports));
		fprintf(o->f, "%s,%s,%s,%s,%s\n", edge, kind_names[r->kind], r->proto, addr, ports);
		return;
	}
	if (o->fmt == AL_IPTABLES && (r->ip->family == AF_INET6) != o->v6)
		return;
	dup = printed_by(o, r);
	if (dup) {
		ports_text(r, '-', ports, sizeof(ports));
		fprintf(o->f, "%s# %s %s %s %s: the same rule as for %s above\n",
		        o->fmt == AL_NFT ? "\t\t" : "", kind_names[r->kind], r->proto, addr, ports,
		        dup);
		return;
	}
	o->seen[o->nseen++] = *r;
	if (o->fmt == AL_NFT) {
		ports_text(r, '-', ports, sizeof(ports));
		fprintf(o->f, "\t\t%s saddr %s %s %s %s accept comment \"%s %s %s\"\n",
		        r->ip->family == AF_INET6 ? "ip6" : "ip", addr, tcp ? "tcp" : "udp", side,
		        ports, edge, kind_names[r->kind], r->proto);
	} else {
		ports_text(r, ':', ports, sizeof(ports));
		fprintf(
		    o->f,
		    "-A INPUT -s %s -p %s --%s %s -m comment --comment \"%s %s %s\" -j ACCEPT\n",
		    addr, tcp ? "tcp" : "udp", side, ports, edge, kind_names[r->kind], r->proto);
	}
}

/*
 * The edge sends UDP signalling from its gateway port, and media from its
 * pool's ports: those are source ports.  Over TCP and TLS it connects from
 * an ephemeral port to the customer's SIP port, assumed to be the same
 * well-known port (5060, 5061) the gateway uses: a destination port.
 */
static void edge_print(struct al_out *o, size_t ei)
{
	const struct config_edge *e = &o->cfg->edges[ei];

	if (o->fmt == AL_NFT)
		fprintf(o->f, "\t\t# edge %s (%s, region %s)\n", e->name,
		        config_edge_kind_name(e->kind), o->cfg->regions[e->region].name);
	else if (o->fmt == AL_IPTABLES)
		fprintf(o->f, "# edge %s (%s, region %s)\n", e->name,
		        config_edge_kind_name(e->kind), o->cfg->regions[e->region].name);
	for (size_t g = 0; g < e->ngateways; g++) {
		const struct config_gateway *gw = &e->gateways[g];
		const struct {
			const char *proto;
			uint16_t port;
			enum al_port_side side;
		} sig[] = {{"udp", gw->udp, AL_SPORT},
		           {"tcp", gw->tcp, AL_DPORT},
		           {"tls", gw->tls, AL_DPORT}};

		for (size_t i = 0; i < ARRAY_SIZE(sig); i++) {
			struct al_rule r = {ei,          AL_SIGNALLING,     sig[i].proto,
			                    &gw->ip,     full_len(&gw->ip), sig[i].port,
			                    sig[i].port, sig[i].side};

			if (sig[i].port)
				rule_print(o, &r);
		}
	}
	for (size_t m = 0; m < e->media.naddrs; m++) {
		const struct config_prefix *p = &e->media.addrs[m];
		struct al_rule r = {
		    ei,      AL_MEDIA, "udp", &p->ip, p->plen, e->media.port_min, e->media.port_max,
		    AL_SPORT};

		rule_print(o, &r);
	}
}

static size_t rule_count(const struct config *cfg)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->nedges; i++)
		n += 3 * cfg->edges[i].ngateways + cfg->edges[i].media.naddrs;
	return n;
}

static bool has_v6(const struct config *cfg, int only)
{
	for (size_t i = 0; i < cfg->nedges; i++) {
		const struct config_edge *e = &cfg->edges[i];

		if (only >= 0 && (size_t)only != i)
			continue;
		for (size_t g = 0; g < e->ngateways; g++) {
			if (e->gateways[g].ip.family == AF_INET6)
				return true;
		}
		for (size_t m = 0; m < e->media.naddrs; m++) {
			if (e->media.addrs[m].ip.family == AF_INET6)
				return true;
		}
	}
	return false;
}

static void edges_print(struct al_out *o, int only)
{
	for (size_t i = 0; i < o->cfg->nedges; i++) {
		if (only < 0 || (size_t)only == i)
			edge_print(o, i);
	}
}

static void all_print(struct al_out *o, const char *profile, int only)
{
	static const char why[] =
	    "# Accepts the edge's signalling (UDP from its gateway port; TCP and TLS to\n"
	    "# your SIP ports, assumed equal to the gateway's) and media (UDP from its\n"
	    "# media pool's port range).  Keep stateful rules for the replies.\n";

	if (o->fmt == AL_CSV) {
		fputs("edge,kind,protocol,address,ports\n", o->f);
		edges_print(o, only);
		return;
	}
	fprintf(o->f, "# ixedge allow-list for %s (ixctl %s)\n%s", profile, IXEDGE_VERSION, why);
	if (o->fmt == AL_NFT) {
		fputs("# Load with `nft -f FILE`, or copy the rules into your own input chain:\n"
		      "# an accept in this table does not undo a drop in another one.\n"
		      "table inet ixedge_allowlist {\n"
		      "\tchain input {\n"
		      "\t\ttype filter hook input priority 0; policy accept;\n",
		      o->f);
		edges_print(o, only);
		fputs("\t}\n}\n", o->f);
		return;
	}
	fputs("# Load with `iptables-restore --noflush < FILE`.\n*filter\n", o->f);
	edges_print(o, only);
	fputs("COMMIT\n", o->f);
	if (has_v6(o->cfg, only)) {
		o->v6 = true;
		fputs("# IPv6: the block below is for `ip6tables-restore --noflush`.\n*filter\n",
		      o->f);
		edges_print(o, only);
		fputs("COMMIT\n", o->f);
	}
}

static int allowlist_run(const struct cli_ctx *ctx, const struct cli_cmd *cmd, int argc,
                         char **argv)
{
	static const struct option opts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"edge", required_argument, NULL, 'e'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *profile = ctx->config, *edge = NULL, *format = NULL;
	struct al_out o = {.f = stdout};
	struct config *cfg = NULL;
	struct routing *r = NULL;
	int opt, rc, only = -1, status = CLI_EXIT_FAIL;
	char err[512];

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'p') {
			profile = optarg;
		} else if (opt == 'e') {
			edge = optarg;
		} else if (opt == 'f') {
			format = optarg;
		} else if (opt == 'h') {
			cli_cmd_usage(stdout, ctx, cmd);
			fputs(cmd->help, stdout);
			return CLI_EXIT_OK;
		} else if (opt == ':') {
			return cli_usage_error(ctx, cmd, "option '%s' needs an argument",
			                       argv[optind - 1]);
		} else if (optopt) {
			return cli_usage_error(ctx, cmd, "unknown option '-%c'", optopt);
		} else {
			return cli_usage_error(ctx, cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(ctx, cmd, "unexpected argument '%s'", argv[optind]);
	if (!profile)
		return cli_usage_error(ctx, cmd, "which profile? (--profile FILE)");
	if (!format)
		return cli_usage_error(ctx, cmd, "which format? (--format nft|iptables|csv)");
	if (strcmp(format, "nft") == 0)
		o.fmt = AL_NFT;
	else if (strcmp(format, "iptables") == 0)
		o.fmt = AL_IPTABLES;
	else if (strcmp(format, "csv") == 0)
		o.fmt = AL_CSV;
	else
		return cli_usage_error(ctx, cmd, "unknown format '%s' (nft, iptables or csv)",
		                       format);

	rc = config_load(&cfg, profile, err, sizeof(err));
	if (rc == -EINVAL) {
		fprintf(stderr, "%s: allowlist: %s\n", ctx->prog, err);
		goto out;
	} else if (rc) {
		status = cli_usage_error(ctx, cmd, "cannot read '%s': %s", profile, strerror(-rc));
		goto out;
	}
	rc = routing_build(&r, cfg->edges, cfg->nedges, cfg->regions, cfg->nregions,
	                   cfg->connections, cfg->nconnections, cfg->base_domains,
	                   cfg->nbase_domains);
	if (rc) {
		fprintf(stderr, "%s: allowlist: %s: %s\n", ctx->prog, profile, strerror(-rc));
		goto out;
	}
	if (edge) {
		only = routing_edge_find(r, slice_cstr(edge), NULL);
		if (only < 0) {
			fprintf(stderr, "%s: allowlist: unknown edge '", ctx->prog);
			cli_fput_safe(stderr, slice_cstr(edge));
			fprintf(stderr, "' in %s\n", profile);
			goto out;
		}
	}
	o.cfg = cfg;
	o.seen = calloc(rule_count(cfg) + 1, sizeof(*o.seen));
	if (!o.seen) {
		fprintf(stderr, "%s: allowlist: out of memory\n", ctx->prog);
		goto out;
	}
	all_print(&o, profile, only);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: allowlist: cannot write the output: %s\n", ctx->prog,
		        strerror(errno));
		goto out;
	}
	status = CLI_EXIT_OK;
out:
	free(o.seen);
	mem_deref(r);
	mem_deref(cfg);
	return status;
}

const struct cli_cmd cli_cmd_allowlist = {
    .group = "allowlist",
    .name = NULL,
    .args = "--profile FILE [--edge NAME] --format nft|iptables|csv",
    .summary = "print the firewall rules that accept an edge's signalling and media",
    .help = "Loads the topology FILE (an ixedge configuration such as\n"
            "etc/profiles/interconnect.yaml; the global -c FILE when --profile is absent)\n"
            "and prints the rules a customer installs to accept traffic from every edge,\n"
            "or from the one --edge names (edge name or legacy code, with or without -ix):\n"
            "each gateway address with its UDP, TCP and TLS ports, and each media range\n"
            "with its UDP port range.\n"
            "\n"
            "Formats:\n"
            "  nft       one table (inet ixedge_allowlist) with one input chain, a comment\n"
            "            per edge and one accept rule per address, protocol and ports\n"
            "  iptables  iptables-restore input: -A INPUT -s ADDR -p PROTO --sport|--dport\n"
            "            PORTS -j ACCEPT (IPv6 rules in a second block for ip6tables)\n"
            "  csv       edge,kind,protocol,address,ports: every row of every edge\n"
            "A rule two edges share (one media range for all) is printed once in nft and\n"
            "iptables, and noted in a comment for the later edges.\n"
            "\n"
            "Exit status:\n"
            "  0  rules on stdout\n"
            "  1  invalid profile or unknown edge; the reason on stderr\n"
            "  2  usage error (missing or unknown option or format, unreadable file)\n",
    .run = allowlist_run,
};
