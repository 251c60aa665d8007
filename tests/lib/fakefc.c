/* The fake Firecracker fixture (see fakefc.h). Every wait has a timeout and
 * every spawned fake is reaped, also when a test fails midway (stop is what
 * each test's teardown calls). */
#include "svtest.h"
#include "fakefc.h"

#include "util/file.h"
#include "util/spawn.h"
#include "util/strv.h"
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <smartvm/manager.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *join(const char *a, const char *b)
{
	char *p = sv_path_join(a, b);
	assert_non_null(p);
	return p;
}

/* environ, minus any FAKE_FC_* the test runner had, plus ours. */
static char **child_env(svt_fakefc *f, const char *const *extra)
{
	sv_strv_builder b = { 0 };
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "FAKE_FC_", 8))
			sv_strv_push(&b, *e);
	sv_strv_pushf(&b, "FAKE_FC_RECORD_DIR=%s", f->record_dir);
	for (size_t i = 0; extra && extra[i]; i++)
		sv_strv_push(&b, extra[i]);
	char **env = NULL;
	assert_int_equal(sv_strv_finish(&b, &env), 0);
	return env;
}

svt_fakefc *svt_fakefc_spawn(const char *id, const char *const *extra_env)
{
	svt_fakefc *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = svt_tmpdir();
	f->sock = join(f->dir, "firecracker.sock");
	f->record_dir = join(f->dir, "records");
	f->console = join(f->dir, "console.log");
	f->id = strdup(id);
	f->pidfd = -1;
	assert_int_equal(sv_mkdir_p(f->record_dir, 0755), 0);

	int out = open(f->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(out >= 0);
	const char *argv[] = { svt_fake_firecracker(), "--api-sock", f->sock, "--id", id, NULL };
	char **env = child_env(f, extra_env);
	sv_spawn_opts so = {
		.argv = argv,
		.envp = (const char *const *)env,
		.stdin_fd = -1,
		.stdout_fd = out,
		.stderr_fd = out,
	};
	int rc = sv_spawn(&so, &f->pid, &f->pidfd);
	close(out);
	sv_strv_free(env);
	assert_int_equal(rc, 0);
	return f;
}

bool svt_fakefc_wait_socket(svt_fakefc *f, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	while (!sv_path_exists(f->sock)) {
		/* A fake that died will never make it: stop waiting at once. */
		if (sv_pidfd_wait_exit(f->pidfd, 2) == 0)
			return false;
		if (sv_now_ms() >= deadline)
			return false;
	}
	return true;
}

svt_fakefc *svt_fakefc_start(const char *id, const char *const *extra_env)
{
	svt_fakefc *f = svt_fakefc_spawn(id, extra_env);
	if (!svt_fakefc_wait_socket(f, 5000)) {
		char *console = svt_fakefc_console(f);
		print_error("fake firecracker console:\n%s\n", console);
		free(console);
		svt_fakefc_stop(f);
		fail_msg("the fake firecracker did not create its socket within 5 s");
	}
	return f;
}

bool svt_fakefc_wait_exit(svt_fakefc *f, int timeout_ms)
{
	if (f->exited)
		return true;
	if (sv_pidfd_wait_exit(f->pidfd, timeout_ms) != 0)
		return false;
	assert_int_equal(sv_reap(f->pid, 1000, &f->status), 0);
	f->exited = true;
	return true;
}

json_t *svt_fakefc_records(svt_fakefc *f)
{
	char *name = NULL;
	assert_true(asprintf(&name, "%s.jsonl", f->id) > 0);
	char *path = join(f->record_dir, name);
	free(name);
	json_t *all = json_array();
	FILE *in = fopen(path, "re");
	free(path);
	if (!in)
		return all;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, in) > 0) {
		json_error_t err;
		json_t *rec = json_loads(line, 0, &err);
		if (!rec)
			fail_msg("recorded request is not JSON (%s): %s", err.text, line);
		json_array_append_new(all, rec);
	}
	free(line);
	fclose(in);
	return all;
}

char *svt_fakefc_file(svt_fakefc *f, const char *name, const char *text)
{
	return svt_write(f->dir, name, text);
}

char *svt_fakefc_console(svt_fakefc *f)
{
	char *text = NULL;
	if (sv_read_file(f->console, 1 << 20, &text, NULL) != 0)
		return strdup("");
	return text;
}

typedef struct {
	char *data;
	size_t len;
} sink;

static size_t to_sink(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	sink *s = userdata;
	size_t n = size * nmemb;
	char *nd = realloc(s->data, s->len + n + 1);
	if (!nd)
		return 0;
	memcpy(nd + s->len, ptr, n);
	s->data = nd;
	s->len += n;
	s->data[s->len] = '\0';
	return n;
}

long svt_fakefc_http(svt_fakefc *f, const char *method, const char *path, const char *body, char **resp)
{
	CURL *c = curl_easy_init();
	assert_non_null(c);
	char *url = NULL;
	assert_true(asprintf(&url, "http://localhost%s", path) > 0);
	sink s = { 0 };
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
	}
	CURLcode res = curl_easy_perform(c);
	if (res != CURLE_OK)
		fail_msg("%s %s on %s: %s", method, path, f->sock, curl_easy_strerror(res));
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	if (resp)
		*resp = s.data ? s.data : strdup("");
	else
		free(s.data);
	return status;
}

void svt_fakefc_stop(svt_fakefc *f)
{
	if (!f)
		return;
	if (!f->exited) {
		kill(f->pid, SIGTERM);
		if (!svt_fakefc_wait_exit(f, 3000)) {
			kill(f->pid, SIGKILL);
			svt_fakefc_wait_exit(f, 3000);
		}
	}
	if (f->pidfd >= 0)
		close(f->pidfd);
	svt_assert_no_processes_with(f->dir);
	char *dir = strdup(f->dir);
	svt_rm_tmpdir(f->dir);
	assert_false(sv_path_exists(dir));
	free(dir);
	free(f->sock);
	free(f->record_dir);
	free(f->console);
	free(f->id);
	free(f);
}
