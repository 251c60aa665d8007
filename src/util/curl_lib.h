/* libcurl, loaded at its first use (util/lazy_lib.h says why): the
 * Firecracker API client and the image downloads call it through this
 * table. sv_curl_load() before the first call in a path that may be the
 * process's first use of it; sv_curl() after. */
#ifndef SV_UTIL_CURL_LIB_H
#define SV_UTIL_CURL_LIB_H

#include "util/lazy_lib.h"
#include <curl/curl.h>

#define SV_CURL_FUNCTIONS(X, T)                                                                              \
	X(T, global_init, curl_global_init)                                                                  \
	X(T, easy_init, curl_easy_init)                                                                      \
	X(T, easy_setopt, curl_easy_setopt)                                                                  \
	X(T, easy_perform, curl_easy_perform)                                                                \
	X(T, easy_getinfo, curl_easy_getinfo)                                                                \
	X(T, easy_cleanup, curl_easy_cleanup)                                                                \
	X(T, easy_strerror, curl_easy_strerror)                                                              \
	X(T, easy_escape, curl_easy_escape)                                                                  \
	X(T, free, curl_free)                                                                                \
	X(T, slist_append, curl_slist_append)                                                                \
	X(T, slist_free_all, curl_slist_free_all)                                                            \
	X(T, url, curl_url)                                                                                  \
	X(T, url_set, curl_url_set)                                                                          \
	X(T, url_get, curl_url_get)                                                                          \
	X(T, url_cleanup, curl_url_cleanup)

SV_LAZY_TABLE(SV_CURL_FUNCTIONS, sv_curl_api);

/* 0 once libcurl is loaded and globally initialised; otherwise an sv_err
 * that says why. */
int sv_curl_load(void);

/* Its functions: only after sv_curl_load() returned 0 (anything holding a
 * CURL handle is past that). */
const sv_curl_api *sv_curl(void);

#endif
