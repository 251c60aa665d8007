/* The control-plane baseline: the smallest honest Firecracker client, written
 * by hand on a unix socket. It is what smartvm is compared against, so it does
 * only what any client must: one kept-alive connection, one request at a time,
 * each response read completely (headers and Content-Length body) before the
 * next request is sent. */
#ifndef SV_BENCH_RAW_CLIENT_H
#define SV_BENCH_RAW_CLIENT_H

typedef struct {
	int fd;
	char buf[16384];
	int timeout_ms;
} raw_conn;

/* Connects to the API socket, retrying every millisecond until it accepts or
 * timeout_ms passes (the socket appears some time after the spawn). 0 or -1. */
int raw_connect(raw_conn *c, const char *socket_path, int timeout_ms);

/* Sends one request (body may be NULL) and reads the whole response.
 * Returns the HTTP status, or -1 on a transport error. */
int raw_request(raw_conn *c, const char *method, const char *path, const char *body);

void raw_close(raw_conn *c);

#endif
