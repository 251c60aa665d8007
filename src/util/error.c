/* The thread-local last error. Owns one heap string per thread; a message is
 * rebuilt (never appended in place) so readers of sv_last_error() see a
 * consistent string until their next call. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* error.h wraps calls to these in sv__failure; here they are defined. */
#undef sv_err
#undef sv_err_errno
#undef sv_err_prefix

static _Thread_local int last_code;
static _Thread_local char *last_message;

static void replace_message(char *message)
{
	free(last_message);
	last_message = message;
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int sv_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	last_code = code;
	replace_message(msg);
	return code;
}

int sv_err_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *head = vformat(fmt, ap);
	va_end(ap);
	char *msg = NULL;
	if (head && asprintf(&msg, "%s: %s", head, strerror(errnum)) < 0)
		msg = NULL;
	free(head);
	last_code = code;
	replace_message(msg);
	return code;
}

int sv_err_prefix(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *head = vformat(fmt, ap);
	va_end(ap);
	char *msg = NULL;
	if (head && asprintf(&msg, "%s: %s", head, last_message ? last_message : "unknown error") < 0)
		msg = NULL;
	free(head);
	if (msg)
		replace_message(msg);
	if (last_code == 0)
		last_code = SV_EIO;
	return last_code;
}

void sv_err_clear(void)
{
	last_code = 0;
	replace_message(NULL);
}

void sv_err_save(sv_err_saved *saved)
{
	saved->code = last_code;
	saved->message = last_message ? strdup(last_message) : NULL;
}

int sv_err_restore(sv_err_saved *saved)
{
	last_code = saved->code;
	replace_message(saved->message);
	saved->message = NULL;
	return last_code;
}

const char *sv_last_error(void)
{
	return last_message ? last_message : "";
}

int sv_last_error_code(void)
{
	return last_code;
}

const char *sv_error_name(int code)
{
	switch (code) {
	case SV_OK: return "OK";
	case SV_EINVAL: return "INVALID_ARGUMENT";
	case SV_ENOMEM: return "OUT_OF_MEMORY";
	case SV_EIO: return "IO_ERROR";
	case SV_EINVALID_STATE: return "INVALID_STATE";
	case SV_ENOTFOUND: return "NOT_FOUND";
	case SV_ETIMEOUT: return "TIMEOUT";
	case SV_EVMM: return "VMM_API_ERROR";
	case SV_EPROCESS: return "PROCESS_FAILED";
	case SV_EDOWNLOAD: return "DOWNLOAD_FAILED";
	case SV_ECHECKSUM: return "CHECKSUM_MISMATCH";
	case SV_EUNSUPPORTED: return "UNSUPPORTED";
	case SV_EEXISTS: return "ALREADY_EXISTS";
	case SV_EBUSY: return "BUSY";
	case SV_EINVALID_SUBNET: return "INVALID_SUBNET";
	case SV_EBASE_IMAGE_RESOLVE_FAILED: return "BASE_IMAGE_RESOLVE_FAILED";
	case SV_ENETWORK: return "NETWORK_ERROR";
	case SV_EARCHIVE: return "ARCHIVE_INVALID";
	case SV_EUNSAFE: return "UNSAFE_PATH";
	default: return "UNKNOWN_ERROR";
	}
}
