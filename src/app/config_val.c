/* Config value checks: the scalar grammars the config schema uses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/config_val.h"

int config_val_uint(const char *s, uint64_t *out)
{
	struct slice sl;
	int rc;

	if (s[0] == '-')
		return s[1] >= '0' && s[1] <= '9' ? -ERANGE : -EBADMSG;
	if (s[0] == '+')
		s++;
	sl = slice_cstr(s);
	rc = slice_to_u64(sl, UINT64_MAX, out);
	return rc == -ERANGE ? -ERANGE : rc ? -EBADMSG : 0;
}

static bool label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
	}
	return true;
}

bool config_val_is_label(const char *s)
{
	return label_ok(s, strlen(s));
}

bool config_val_is_hostname(const char *s)
{
	size_t len = strlen(s), start = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (!label_ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool config_val_is_sid(const char *s, const char *prefix)
{
	if (strlen(s) != CONFIG_SID_LEN || strncmp(s, prefix, 2) != 0)
		return false;
	for (size_t i = 2; i < CONFIG_SID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

int config_val_ip(const char *s, struct config_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, &ip->a.v4) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, s, &ip->a.v6) == 1)
		ip->family = AF_INET6;
	else
		return -EINVAL;
	/* The canonical text, so "::0001" and "::1" compare equal later. */
	if (!inet_ntop(ip->family, &ip->a, ip->text, sizeof(ip->text)))
		return -EINVAL;
	return 0;
}

bool config_val_is_unicast(const struct config_ip *ip)
{
	if (ip->family == AF_INET) {
		uint32_t a = ntohl(ip->a.v4.s_addr);

		return a != 0 && a != 0xffffffffu && (a >> 28) != 0xe;
	}
	return !IN6_IS_ADDR_UNSPECIFIED(&ip->a.v6) && !IN6_IS_ADDR_MULTICAST(&ip->a.v6);
}

int config_val_prefix(const char *s, struct config_prefix *p, char *net, size_t netlen)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct config_ip masked;
	unsigned max, bits;
	uint64_t plen;
	uint8_t *b;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (config_val_ip(addr, &p->ip))
		return -EINVAL;
	max = p->ip.family == AF_INET ? 32 : 128;
	plen = max;
	if (slash && (config_val_uint(slash + 1, &plen) || slash[1] == '+' || plen > max))
		return -EINVAL;
	p->plen = (unsigned)plen;
	masked = p->ip;
	b = (uint8_t *)&masked.a;
	for (unsigned i = 0; i < max / 8; i++) {
		bits = p->plen > i * 8 ? p->plen - i * 8 : 0;
		if (bits < 8)
			b[i] &= (uint8_t)(0xff00u >> bits);
	}
	if (memcmp(&masked.a, &p->ip.a, max / 8) != 0) {
		inet_ntop(masked.family, &masked.a, addr, sizeof(addr));
		snprintf(net, netlen, "%s/%u", addr, p->plen);
		return -EBADMSG;
	}
	return 0;
}

static int port_parse(const char *s, size_t len, uint16_t *out)
{
	uint64_t v;

	if (slice_to_u64((struct slice){s, len}, 65535, &v) || v < 1024)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

int config_val_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');
	uint16_t a, b;

	if (dash) {
		if (port_parse(s, (size_t)(dash - s), &a) ||
		    port_parse(dash + 1, strlen(dash + 1), &b))
			return -EINVAL;
	} else {
		if (port_parse(s, strlen(s), &a))
			return -EINVAL;
		b = a;
	}
	if (a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

int config_val_hostport(const char *s, struct config_ip *ip, uint16_t *port)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon, *h = s;
	size_t hlen;
	uint64_t v;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		/* A second colon means a bare IPv6 address: the port would be ambiguous. */
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (config_val_ip(host, ip) || (s[0] == '[' && ip->family != AF_INET6))
		return -EINVAL;
	if (slice_to_u64(slice_cstr(colon + 1), 65535, &v) || v == 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

void config_val_show(char *dst, size_t cap, const char *s)
{
	size_t len = strlen(s), n = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		if (len >= cap && n + 4 >= cap) {
			/* Leave room for "..." so a cut value is visibly cut. */
			memcpy(dst + n, "...", 3);
			n += 3;
			break;
		}
		dst[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	dst[n] = '\0';
}

void config_val_join(char *dst, size_t cap, const char *const *keys, size_t n)
{
	size_t len = 0;

	if (cap == 0)
		return;
	dst[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(dst + len, cap - len, "%s%s", i ? ", " : "", keys[i]);

		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
}
