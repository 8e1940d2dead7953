/* ixctl calls: the call records the daemon writes (list, show, delete). */
#include "store_cmds.h"

#define N(a) (a), ARRAY_SIZE(a)

static const struct sc_opt call_list_opts[] = {
    {"limit", NULL, 0, "N"},
    {"status", NULL, 0, "STATUS"},
    {"direction", NULL, 0, "DIRECTION"},
    {"account", NULL, 0, "AC..."},
    {"parent", NULL, 0, "CA..."},
};

SC_DEFINE(cli_cmd_calls_list, "calls", "list",
          "[--limit N] [--status STATUS] [--direction DIR] [--account AC...] [--parent CA...] "
          "[--json]",
          "list call records, newest first",
          "Lists call records, newest first: the 50 newest unless --limit N says otherwise\n"
          "(at most 1000000).  Filters: --status (queued ringing in-progress completed busy\n"
          "failed no-answer canceled), --direction (inbound outbound-api outbound-dial),\n"
          "--account, --parent (the legs of one call).  JSON objects carry the REST API's\n"
          "call fields (sid, account_sid, status, direction, from, to, start_time,\n"
          "end_time, duration, parent_call_sid, ...) and the SIP ones (sip_call_id, edge,\n"
          "gateway, sip_response_code, end_reason, hung_up_by).\n",
          .kind = STORE_CALL, .opts = N(call_list_opts),
          .cols = "sid status direction from to start_time duration edge", .run = sc_h_list);
SC_DEFINE(cli_cmd_calls_show, "calls", "show", "CA... [--json]", "show one call record",
          "Prints every field of the call record.\n", .kind = STORE_CALL, .min_pos = 1,
          .max_pos = 1, .run = sc_h_show);
SC_DEFINE(cli_cmd_calls_delete, "calls", "delete", "CA... [--json]", "delete a call record",
          "Deletes one call record (its legs stay: each is a record of its own).\n",
          .kind = STORE_CALL, .min_pos = 1, .max_pos = 1, .run = sc_h_delete);
