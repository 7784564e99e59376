#include "audit.h"

#include "log.h"

void audit_job(server *s, const job *j, job_outcome o, uint64_t duration_us) {
  (void)s;
  log_kv(LOG_INFO, "audit", KV_S("req", j->id), KV_I("accepted", j->accepted_wall),
         KV_S("team", j->team_id), KV_S("user", j->user_id), KV_S("channel", j->channel_id),
         KV_S("text", j->text), KV_S("plugin", j->plugin), KV_S("cmd", j->cmd),
         KV_S("identity", j->identity ? j->identity : "none"),
         KV_S("session", j->session ? j->session : ""), KV_S("outcome", job_outcome_name(o)),
         KV_D("ms", (double)duration_us / 1000.0));
}
