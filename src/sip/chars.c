/* The RFC 3261 character class table and small scanners built on it. */
#include <string.h>

#include "sip_priv.h"

#define IS_LOW(c)   ((c) >= 'a' && (c) <= 'z')
#define IS_UP(c)    ((c) >= 'A' && (c) <= 'Z')
#define IS_DIG(c)   ((c) >= '0' && (c) <= '9')
#define IS_ALNUM(c) (IS_LOW(c) || IS_UP(c) || IS_DIG(c))
#define IS_MARK(c)                                                                                 \
	((c) == '-' || (c) == '_' || (c) == '.' || (c) == '!' || (c) == '~' || (c) == '*' ||       \
	 (c) == '\'' || (c) == '(' || (c) == ')')
#define IS_UNRES(c) (IS_ALNUM(c) || IS_MARK(c))

/* Flags of one byte as a constant expression, so the table below is const. */
#define CC_OF(c)                                                                                   \
	((IS_LOW(c) || IS_UP(c) ? CC_ALPHA : 0) | (IS_DIG(c) ? CC_DIGIT : 0) |                     \
	 (IS_DIG(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F') ? CC_HEX : 0) |    \
	 (IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '!' || (c) == '%' || (c) == '*' ||     \
	          (c) == '_' || (c) == '+' || (c) == '`' || (c) == '\'' || (c) == '~'              \
	      ? CC_TOKEN                                                                           \
	      : 0) |                                                                               \
	 (IS_UNRES(c) ? CC_UNRESERVED : 0) |                                                       \
	 (IS_UNRES(c) || (c) == '&' || (c) == '=' || (c) == '+' || (c) == '$' || (c) == ',' ||     \
	          (c) == ';' || (c) == '?' || (c) == '/'                                           \
	      ? CC_USER                                                                            \
	      : 0) |                                                                               \
	 (IS_UNRES(c) || (c) == '&' || (c) == '=' || (c) == '+' || (c) == '$' || (c) == ','        \
	      ? CC_PASS                                                                            \
	      : 0) |                                                                               \
	 (IS_UNRES(c) || (c) == '[' || (c) == ']' || (c) == '/' || (c) == ':' || (c) == '&' ||     \
	          (c) == '+' || (c) == '$'                                                         \
	      ? CC_PARAM                                                                           \
	      : 0) |                                                                               \
	 (IS_UNRES(c) || (c) == '[' || (c) == ']' || (c) == '/' || (c) == '?' || (c) == ':' ||     \
	          (c) == '+' || (c) == '$'                                                         \
	      ? CC_HNV                                                                             \
	      : 0) |                                                                               \
	 (IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_' ? CC_HOST : 0) |                   \
	 (IS_ALNUM(c) || (c) == '+' || (c) == '-' || (c) == '.' ? CC_SCHEME : 0) |                 \
	 ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n' ? CC_WS : 0) |                   \
	 (IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '!' || (c) == '%' || (c) == '*' ||     \
	          (c) == '_' || (c) == '+' || (c) == '`' || (c) == '\'' || (c) == '~' ||           \
	          (c) == '(' || (c) == ')' || (c) == '<' || (c) == '>' || (c) == ':' ||            \
	          (c) == '\\' || (c) == '"' || (c) == '/' || (c) == '[' || (c) == ']' ||           \
	          (c) == '?' || (c) == '{' || (c) == '}'                                           \
	      ? CC_WORD                                                                            \
	      : 0) |                                                                               \
	 (((c) < 32 && (c) != '\t') || (c) == 127 ? CC_CTL : 0))

#define CC4(b)  CC_OF(b), CC_OF(b + 1), CC_OF(b + 2), CC_OF(b + 3)
#define CC16(b) CC4(b), CC4(b + 4), CC4(b + 8), CC4(b + 12)
#define CC64(b) CC16(b), CC16(b + 16), CC16(b + 32), CC16(b + 48)

const uint16_t sip_cc[256] = {CC64(0), CC64(64), CC64(128), CC64(192)};

const char *sip_skip_escaped(const char *p, const char *end, unsigned cls, bool *bad_escape)
{
	while (p < end) {
		if (cc_is(*p, cls)) {
			p++;
		} else if (*p == '%') {
			if (end - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0) {
				if (bad_escape)
					*bad_escape = true;
				return p;
			}
			p += 3;
		} else {
			break;
		}
	}
	return p;
}

int sip_fail(struct sip_perr *err, const char *base, const char *at, const char *what,
             uint16_t status)
{
	if (err && !err->what) {
		err->offset = (size_t)(at - base);
		err->what = what;
		err->status = status;
	}
	return -EBADMSG;
}

int sip_adopt(struct sip_perr *err, const char *msg_start, struct slice hname, const char *base,
              const struct sip_perr *sub, int e)
{
	if (err && !err->what && sub->what) {
		*err = *sub;
		err->offset += (size_t)(base - msg_start);
		if (!err->hname.len)
			err->hname = hname;
	}
	return e;
}
