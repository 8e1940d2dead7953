/* Private: grammar checks of single header values, used by msg.c. */
#ifndef IXEDGE_SIP_HDR_H
#define IXEDGE_SIP_HDR_H

#include "ixedge/sip.h"

/* delta-seconds up to max; with params, also "(comment)" and ;params. */
int sip_delta_check(struct slice v, uint64_t max, bool params, const char **why);
bool sip_date_valid(struct slice v);
bool sip_warning_valid(struct slice v);
bool sip_token_list_elem_valid(struct slice v, bool params);
bool sip_media_type_valid(struct slice v);
bool sip_call_id_valid(struct slice v);

#endif
