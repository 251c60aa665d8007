/* A programmable HTTP server on 127.0.0.1 for tests (libmicrohttpd): an
 * ephemeral port, routes with fixed responses, and faults — any status,
 * redirects, a body cut short, a stall, an endless body, a trickle, the
 * first N hits failing, a slow answer — plus a log of every request path to count hits.
 *
 * Routes are matched on the path and, optionally, on a substring of the
 * decoded query ("k=v&k2=v2", in request order); routes with a query
 * condition are tried first, then the first path-only route. Unmatched
 * requests get 404. Thread-safe; every test stops its server. */
#ifndef SVT_HTTPFIXTURE_H
#define SVT_HTTPFIXTURE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct svt_http svt_http;

typedef enum {
	SVT_FAULT_NONE = 0,
	SVT_FAULT_TRUNCATE, /* announce the full Content-Length, send fault_after bytes, drop */
	SVT_FAULT_STALL,    /* send fault_after bytes, then nothing for stall_ms, then drop */
	SVT_FAULT_ENDLESS,  /* no Content-Length; the body repeated for ever, as fast as it goes */
	SVT_FAULT_TRICKLE,  /* no Content-Length; trickle_bytes of the body every trickle_ms, for ever */
} svt_fault;

typedef struct {
	int status;	  /* default 200 */
	const void *body; /* copied; may be NULL */
	size_t body_len;
	const char *location; /* Location header, for redirects */
	const char *content_type;
	svt_fault fault;
	size_t fault_after;
	int stall_ms;	/* default 30000 (cut short when the server stops) */
	int fail_first; /* the first N hits answer fail_status (default 500) */
	int fail_status;
	int delay_ms;	      /* wait this long before answering */
	size_t trickle_bytes; /* SVT_FAULT_TRICKLE: default 64 */
	int trickle_ms;	      /* SVT_FAULT_TRICKLE: default 50 */
} svt_http_response;

/* Starts a server (asserts on failure). */
svt_http *svt_http_start(void);
/* Stops it, ending stalled responses at once. NULL is fine. */
void svt_http_stop(svt_http *h);

/* "http://127.0.0.1:<port>" (owned by h). */
const char *svt_http_base(const svt_http *h);
/* base + path, malloc'd. */
char *svt_http_url(const svt_http *h, const char *path);

/* Adds a route. query_contains NULL = any query. Later routes do not replace
 * earlier ones; use a fresh server for a fresh table. */
void svt_http_route(svt_http *h, const char *path, const char *query_contains, const svt_http_response *r);
/* A 200 (or status) route with a text body. */
void svt_http_route_text(svt_http *h, const char *path, int status, const char *text);

/* Requests received for path (any query, any outcome). */
int svt_http_hits(svt_http *h, const char *path);
/* Requests received in total. */
int svt_http_total_hits(svt_http *h);

#endif
