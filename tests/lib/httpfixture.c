/* The loopback HTTP test server (see httpfixture.h). One thread per
 * connection, so a stalled or delayed response blocks only its own client;
 * every sleep polls the stopping flag so svt_http_stop returns promptly. */
#include "httpfixture.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "svtest.h"

typedef struct {
	char *path;
	char *query_contains;
	svt_http_response r; /* body owned */
	int hits;
} route;

struct svt_http {
	struct MHD_Daemon *daemon;
	char base[64];
	pthread_mutex_t mu;
	route *routes;
	size_t n_routes;
	char **log;
	size_t n_log, cap_log;
	atomic_bool stopping;
};

static void sleep_unless_stopping(svt_http *h, int ms)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (atomic_load(&h->stopping))
			return;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= ms)
			return;
		poll(NULL, 0, 20);
	}
}

typedef struct {
	svt_http *h;
	char *body;
	size_t len;
	size_t limit; /* bytes sent before the fault */
	svt_fault fault;
	int stall_ms;
	size_t trickle_bytes;
	int trickle_ms;
} faulty_body;

/* The body repeated from offset pos, at most max bytes. */
static size_t repeat_body(const faulty_body *f, uint64_t pos, char *buf, size_t max)
{
	for (size_t i = 0; i < max; i++)
		buf[i] = f->len ? f->body[(pos + i) % f->len] : 'x';
	return max;
}

static ssize_t read_faulty(void *cls, uint64_t pos, char *buf, size_t max)
{
	faulty_body *f = cls;
	if (f->fault == SVT_FAULT_ENDLESS)
		return atomic_load(&f->h->stopping) ? MHD_CONTENT_READER_END_WITH_ERROR
						    : (ssize_t)repeat_body(f, pos, buf, max);
	if (f->fault == SVT_FAULT_TRICKLE) {
		if (pos > 0)
			sleep_unless_stopping(f->h, f->trickle_ms);
		if (atomic_load(&f->h->stopping))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		return (ssize_t)repeat_body(f, pos, buf, max < f->trickle_bytes ? max : f->trickle_bytes);
	}
	if (pos < f->limit) {
		size_t n = f->limit - (size_t)pos;
		if (n > max)
			n = max;
		memcpy(buf, f->body + pos, n);
		return (ssize_t)n;
	}
	if (f->fault == SVT_FAULT_STALL)
		sleep_unless_stopping(f->h, f->stall_ms);
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void free_faulty(void *cls)
{
	faulty_body *f = cls;
	free(f->body);
	free(f);
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	char *q = cls;
	size_t used = strlen(q);
	snprintf(q + used, 4096 - used, "%s%s=%s", used ? "&" : "", key, value ? value : "");
	return MHD_YES;
}

static route *match(svt_http *h, const char *path, const char *query)
{
	for (size_t i = 0; i < h->n_routes; i++)
		if (h->routes[i].query_contains && !strcmp(h->routes[i].path, path) &&
		    strstr(query, h->routes[i].query_contains))
			return &h->routes[i];
	for (size_t i = 0; i < h->n_routes; i++)
		if (!h->routes[i].query_contains && !strcmp(h->routes[i].path, path))
			return &h->routes[i];
	return NULL;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)method;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	svt_http *h = cls;
	char query[4096] = "";
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, query);

	pthread_mutex_lock(&h->mu);
	if (h->n_log == h->cap_log) {
		h->cap_log = h->cap_log ? h->cap_log * 2 : 64;
		h->log = realloc(h->log, h->cap_log * sizeof(char *));
	}
	h->log[h->n_log++] = strdup(url);
	route *rt = match(h, url, query);
	svt_http_response r = {.status = 404};
	char *body = NULL;
	int hit = 0;
	if (rt) {
		hit = ++rt->hits;
		r = rt->r;
		if (r.body_len) {
			body = malloc(r.body_len);
			memcpy(body, r.body, r.body_len);
		}
	}
	pthread_mutex_unlock(&h->mu);

	if (r.delay_ms)
		sleep_unless_stopping(h, r.delay_ms);
	int status = r.status ? r.status : 200;
	struct MHD_Response *resp;
	if (rt && hit <= r.fail_first) {
		status = r.fail_status ? r.fail_status : 500;
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		free(body);
	} else if (rt && r.fault != SVT_FAULT_NONE) {
		faulty_body *f = calloc(1, sizeof(*f));
		*f = (faulty_body){.h = h,
				   .body = body,
				   .len = r.body_len,
				   .limit = r.fault_after < r.body_len ? r.fault_after : r.body_len,
				   .fault = r.fault,
				   .stall_ms = r.stall_ms ? r.stall_ms : 30000,
				   .trickle_bytes = r.trickle_bytes ? r.trickle_bytes : 64,
				   .trickle_ms = r.trickle_ms ? r.trickle_ms : 50};
		bool unknown = !r.body_len || r.fault == SVT_FAULT_ENDLESS || r.fault == SVT_FAULT_TRICKLE;
		resp = MHD_create_response_from_callback(unknown ? MHD_SIZE_UNKNOWN : r.body_len, 4096,
							 read_faulty, f, free_faulty);
	} else {
		resp = MHD_create_response_from_buffer(r.body_len, body ? body : (void *)"",
						       body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	}
	if (r.location)
		MHD_add_response_header(resp, "Location", r.location);
	if (r.content_type)
		MHD_add_response_header(resp, "Content-Type", r.content_type);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

svt_http *svt_http_start(void)
{
	svt_http *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	pthread_mutex_init(&h->mu, NULL);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
				     NULL, answer, h, MHD_OPTION_SOCK_ADDR, &addr,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
	assert_non_null(h->daemon);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%u", (unsigned)info->port);
	return h;
}

void svt_http_stop(svt_http *h)
{
	if (!h)
		return;
	atomic_store(&h->stopping, true);
	MHD_stop_daemon(h->daemon);
	for (size_t i = 0; i < h->n_routes; i++) {
		free(h->routes[i].path);
		free(h->routes[i].query_contains);
		free((void *)h->routes[i].r.body);
		free((void *)h->routes[i].r.location);
		free((void *)h->routes[i].r.content_type);
	}
	for (size_t i = 0; i < h->n_log; i++)
		free(h->log[i]);
	free(h->log);
	free(h->routes);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

const char *svt_http_base(const svt_http *h) { return h->base; }

char *svt_http_url(const svt_http *h, const char *path)
{
	char *s = NULL;
	assert_true(asprintf(&s, "%s%s", h->base, path) > 0);
	return s;
}

void svt_http_route(svt_http *h, const char *path, const char *query_contains, const svt_http_response *r)
{
	route rt = {
	    .path = strdup(path), .query_contains = query_contains ? strdup(query_contains) : NULL, .r = *r};
	if (r->body_len) {
		void *copy = malloc(r->body_len);
		assert_non_null(copy);
		memcpy(copy, r->body, r->body_len);
		rt.r.body = copy;
	} else {
		rt.r.body = NULL;
	}
	rt.r.location = r->location ? strdup(r->location) : NULL;
	rt.r.content_type = r->content_type ? strdup(r->content_type) : NULL;
	pthread_mutex_lock(&h->mu);
	route *routes = realloc(h->routes, (h->n_routes + 1) * sizeof(*routes));
	assert_non_null(routes);
	h->routes = routes;
	h->routes[h->n_routes++] = rt;
	pthread_mutex_unlock(&h->mu);
}

void svt_http_route_text(svt_http *h, const char *path, int status, const char *text)
{
	svt_http_response r = {.status = status, .body = text, .body_len = strlen(text)};
	svt_http_route(h, path, NULL, &r);
}

int svt_http_hits(svt_http *h, const char *path)
{
	int n = 0;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n_log; i++)
		n += !strcmp(h->log[i], path);
	pthread_mutex_unlock(&h->mu);
	return n;
}

int svt_http_total_hits(svt_http *h)
{
	pthread_mutex_lock(&h->mu);
	int n = (int)h->n_log;
	pthread_mutex_unlock(&h->mu);
	return n;
}
