/* What the library logs, captured through its log callback
 * (smartvm/log.h), for tests that assert a warning was given. */
#ifndef SVT_LOGCAPTURE_H
#define SVT_LOGCAPTURE_H

#include <smartvm/log.h>

/* Installs a callback that records every message of max_severity or more
 * important as "<severity name>: <message>\n". */
void svt_log_begin(sv_log_severity max_severity);

/* Removes the callback; returns what it recorded (malloc'd; "" if none). */
char *svt_log_end(void);

#endif
