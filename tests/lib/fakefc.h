/* Test fixture: one fake Firecracker process in its own temporary directory.
 *
 * svt_fakefc_start spawns tests/fake_firecracker with
 * `--api-sock <dir>/firecracker.sock --id <id>`, recording into <dir>/records,
 * its stdout and stderr in <dir>/console.log, and waits for the socket.
 * svt_fakefc_stop ends it (SIGTERM, SIGKILL if it lingers), reaps it, removes
 * the directory and asserts that no process and no file is left behind.
 * Include after cmocka's headers (svtest.h).
 */
#ifndef SVTEST_FAKEFC_H
#define SVTEST_FAKEFC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
	char *dir;        /* private temporary directory */
	char *sock;       /* <dir>/firecracker.sock */
	char *record_dir; /* <dir>/records (FAKE_FC_RECORD_DIR) */
	char *console;    /* <dir>/console.log */
	char *id;
	pid_t pid;
	int pidfd;
	bool exited;      /* reaped; status holds the wait status */
	int status;
} svt_fakefc;

/* Spawns the fake; extra_env ("K=V", NULL-terminated, may be NULL) is added to
 * the child's environment. Does not wait for the socket. */
svt_fakefc *svt_fakefc_spawn(const char *id, const char *const *extra_env);

/* Spawns and waits (at most 5 s) for the API socket; fails the test otherwise. */
svt_fakefc *svt_fakefc_start(const char *id, const char *const *extra_env);

/* True once the socket exists (false on timeout or if the process exited). */
bool svt_fakefc_wait_socket(svt_fakefc *f, int timeout_ms);

/* Waits at most timeout_ms for the process to exit and reaps it. */
bool svt_fakefc_wait_exit(svt_fakefc *f, int timeout_ms);

/* Every recorded request so far: a JSON array of {method, path, body, status}. */
json_t *svt_fakefc_records(svt_fakefc *f);

/* A file in the fake's directory (malloc'd path), written with text. */
char *svt_fakefc_file(svt_fakefc *f, const char *name, const char *text);

/* The console (stdout + stderr) so far, malloc'd. */
char *svt_fakefc_console(svt_fakefc *f);

/* One raw HTTP request on the fake's socket with libcurl (fresh connection).
 * body may be NULL. Returns the status; *resp (may be NULL) gets the body. */
long svt_fakefc_http(svt_fakefc *f, const char *method, const char *path, const char *body, char **resp);

/* Stops, reaps, removes everything; asserts nothing is left. NULL is fine. */
void svt_fakefc_stop(svt_fakefc *f);

#endif
