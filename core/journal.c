#include "journal.h"

bool journal_accept(journal *jn, const job *j) {
  (void)jn;
  (void)j;
  return true;
}

void journal_finish(journal *jn, const char *job_id) {
  (void)jn;
  (void)job_id;
}
