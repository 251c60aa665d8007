/* Diagnostics to stderr, filtered by SMARTVM_LOG=error|warn|info|debug
 * (default warn). The library never prints anything else. */
#ifndef SV_UTIL_LOG_H
#define SV_UTIL_LOG_H

typedef enum { SV_LOG_ERROR = 0, SV_LOG_WARN, SV_LOG_INFO, SV_LOG_DEBUG } sv_log_severity;

void sv_log(sv_log_severity sev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sv_warn(...) sv_log(SV_LOG_WARN, __VA_ARGS__)
#define sv_info(...) sv_log(SV_LOG_INFO, __VA_ARGS__)
#define sv_debug(...) sv_log(SV_LOG_DEBUG, __VA_ARGS__)

#endif
