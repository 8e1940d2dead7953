/* Config value checks: names, addresses, prefixes, port ranges and SIDs. */
#ifndef IXEDGE_APP_CONFIG_VAL_H
#define IXEDGE_APP_CONFIG_VAL_H

#include "app/config.h"

/* Decimal digits with an optional '+': -ERANGE for a negative or huge number, else -EBADMSG. */
int config_val_uint(const char *s, uint64_t *out);
/* A DNS label: 1-63 of [a-z0-9-], not starting or ending with '-'. */
bool config_val_is_label(const char *s);
/* Lowercase DNS name: labels joined by single dots, at most 253 characters. */
bool config_val_is_hostname(const char *s);
/* prefix (two capital letters) followed by 32 lowercase hex digits. */
bool config_val_is_sid(const char *s, const char *prefix);
/* An IPv4 or IPv6 address (no brackets, no prefix); -EINVAL otherwise. */
int config_val_ip(const char *s, struct config_ip *ip);
/* Neither unspecified, multicast nor broadcast. */
bool config_val_is_unicast(const struct config_ip *ip);
/*
 * ADDR or ADDR/LEN.  -EBADMSG when the address has bits set beyond the
 * prefix (net then holds the network, for the message); -EINVAL otherwise.
 */
int config_val_prefix(const char *s, struct config_prefix *p, char *net, size_t netlen);
/* "LOW-HIGH" or "PORT" within 1024-65535, LOW <= HIGH; -EINVAL otherwise. */
int config_val_port_range(const char *s, uint16_t *lo, uint16_t *hi);
/* "IPV4:PORT" or "[IPV6]:PORT"; -EINVAL otherwise. */
int config_val_hostport(const char *s, struct config_ip *ip, uint16_t *port);
/* A copy of s safe to print in one line: truncated, control bytes as '?'. */
void config_val_show(char *dst, size_t cap, const char *s);
/* keys joined with ", " (truncated to cap). */
void config_val_join(char *dst, size_t cap, const char *const *keys, size_t n);

#endif
