/* SIP dialogs (RFC 3261 section 12): state of one leg and the requests sent inside it. */
#ifndef IXEDGE_DIALOG_H
#define IXEDGE_DIALOG_H

#include "ixedge/sip.h"
#include "transport/transport.h"

/*
 * Threading: signalling loop only.
 *
 * A dialog owns copies of everything it needs (strings in one buffer), so
 * it never points into a message that may be freed.  It is embedded in a
 * call leg; dialog_reset() frees what it owns.
 */

enum dialog_state { DIALOG_NONE = 0, DIALOG_EARLY, DIALOG_CONFIRMED, DIALOG_TERMINATED };

struct dialog {
	enum dialog_state state;
	bool uac;         /* we sent the request that created it */
	struct buf store; /* backing bytes of the strings below */
	struct slice call_id;
	struct slice local_tag, remote_tag;
	struct slice local_uri, remote_uri; /* From/To name-addr values without tags */
	struct slice remote_target;         /* Contact URI of the peer */
	struct slice route_set;             /* "Route" value list, in send order; may be empty */
	struct slice local_contact;         /* our Contact URI (the gateway address) */
	uint32_t local_cseq, remote_cseq;
	bool remote_cseq_set;
	struct tp_peer peer; /* where in-dialog requests go (next hop) */
};

/* Builds a random tag / Call-ID into out (NUL-terminated); returns its length. */
size_t dialog_tag_new(char *out, size_t len);
size_t dialog_callid_new(char *out, size_t len, struct slice host);

/*
 * UAS: the dialog an incoming INVITE creates once we answer with
 * local_tag (RFC 3261 12.1.1).  src is where the INVITE came from; the
 * next hop for our requests is the first Route (from Record-Route) or the
 * Contact, but over the same transport and local socket.
 */
int dialog_uas_create(struct dialog *d, const struct sip_msg *invite, struct slice local_tag,
                      struct slice local_contact, const struct tp_peer *src);

/*
 * UAC: the dialog a response with a To tag creates for a request we sent
 * (RFC 3261 12.1.2).  Early for 1xx, confirmed for 2xx.  req is our INVITE.
 */
int dialog_uac_create(struct dialog *d, const struct sip_msg *req, const struct sip_msg *resp,
                      struct slice local_contact, const struct tp_peer *next_hop);

/* A 2xx (or target-refresh request/response) may update the remote target. */
int dialog_update_target(struct dialog *d, const struct sip_msg *msg);
void dialog_confirm(struct dialog *d);
void dialog_reset(struct dialog *d);

/*
 * Whether an in-dialog request belongs here: Call-ID, its To tag is our
 * local tag and its From tag the remote tag.  Also checks and records the
 * remote CSeq: -EPROTO when lower than the last one (RFC 3261 12.2.2: 500).
 */
bool dialog_match_request(const struct dialog *d, const struct sip_msg *req);
int dialog_remote_cseq(struct dialog *d, const struct sip_msg *req);

/*
 * Builds an in-dialog request (RFC 3261 12.2.1.1) into out: Request-URI =
 * remote target, Route = route set, From/To with tags, Call-ID, CSeq
 * (incremented unless method is ACK or CANCEL: those take cseq), a Via
 * with branch on via_host, Max-Forwards 70, Contact, then extra and body.
 */
int dialog_request_build(struct dialog *d, struct buf *out, const char *method, uint32_t cseq,
                         struct slice branch, struct slice via_hostport,
                         const struct sip_edit *extra, size_t nextra, struct slice body);

#endif
