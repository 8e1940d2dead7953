/* TwiML internals shared by the parser's files: attribute value checks. */
#ifndef IXEDGE_TWIML_PRIV_H
#define IXEDGE_TWIML_PRIV_H

#include "control/twiml.h"

/*
 * Each check returns 0 or a negative errno and, on failure, writes a short
 * English reason to why (without the element name: the parser adds the
 * position and the element).  Values are already entity-decoded by expat.
 */

/* http(s) URL, absolute or relative to the document's URL; no spaces or controls. */
int twiml_check_url(struct slice s, char *why, size_t cap);

/* <Sip> text: sip:/sips: URI, lengths, X- headers only, routing parameters. */
int twiml_check_sip_uri(struct slice s, char *why, size_t cap);

/* callerId: a sip:/sips:/tel: URI or a SIP user part (E.164 number, name). */
int twiml_check_caller_id(struct slice s, char *why, size_t cap);

/* username/password: printable, no control characters, length-limited. */
int twiml_check_cred(struct slice s, char *why, size_t cap);

/* Copies s into out for an error message: at most 32 bytes, controls as '?'. */
void twiml_show(char *out, size_t cap, struct slice s);

#endif
