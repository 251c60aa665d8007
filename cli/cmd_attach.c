/* `smartvm attach ID`: the VM's serial console, interactively
 * (sv_vm_console_attach).
 *
 * Our stdin goes to the guest's console and its output to our stdout. On a
 * terminal, stdin is put in raw mode (every key, Ctrl-C included, is the
 * guest's) and restored on every way out; the detach keys (Ctrl-P Ctrl-Q by
 * default, as docker's) are never sent. The guest's output reaches a
 * terminal through sv_term_filter: it may colour and move the cursor, not
 * set the title, write the clipboard or make the terminal type answers
 * into the guest. With stdin not a terminal (a pipe, a file) the input is
 * sent as it is; once it ends we stay until the console has been quiet for
 * --linger seconds, so the guest's answer is printed.
 *
 * The VM is never changed: detaching, a signal or an error leaves it
 * running. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q"
#define DETACH_KEYS_MAX 16
#define DEFAULT_LINGER_MS 2000
/* After the console closed: how long the VM's end may take to show in its
 * state (the supervisor closes the console before it reports). */
#define END_STATE_WAIT_MS 3000
#define BUF 65536
#define PENDING_MAX (2 * BUF)
#define DETACH_FLUSH_MS 1000
#define TERMINAL_RESET                                                                                       \
	"\x1b[0m\x1b[?25h\x1b[?1047l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1004l\x1b[?2004l"  \
	"\x1b[?1l\x1b>"

typedef struct {
	unsigned char seq[DETACH_KEYS_MAX];
	size_t len;
	size_t matched; /* how many of seq the last input ended with (held back) */
} detach_keys;

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

/* "ctrl-p,ctrl-q", "ctrl-@", "a": docker's --detach-keys syntax. */
static int parse_detach_keys(cli_ctx *cli, const char *text, detach_keys *k)
{
	*k = (detach_keys){0};
	const char *p = text;
	for (;;) {
		const char *end = p + strcspn(p, ",");
		size_t n = (size_t)(end - p);
		int key = -1;
		if (n == 1 && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
			key = (unsigned char)*p;
		else if (n == 6 && !strncmp(p, "ctrl-", 5)) {
			char c = p[5];
			if (c >= 'a' && c <= 'z')
				key = c - 'a' + 1;
			else if (c >= '@' && c <= '_')
				key = c - '@';
		}
		if (key < 0)
			return cli_usage_error(cli,
					       "--detach-keys: \"%.*s\" is not a key (a character, or ctrl-<a-z, @, [, "
					       "\\, ], ^, _>; keys separated by ',')",
					       (int)n, p);
		if (k->len == DETACH_KEYS_MAX)
			return cli_usage_error(cli, "--detach-keys: at most %d keys", DETACH_KEYS_MAX);
		k->seq[k->len++] = (unsigned char)key;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

/* Our output: blocking (a terminal or a pipe that stalls stalls us; the
 * supervisor then drops us rather than wait). */
static int write_stdout(const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(STDOUT_FILENO, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Input on its way to the console. The socket is non-blocking so that a
 * guest that does not read its console never freezes us: the detach keys
 * and the guest's output keep working. */
typedef struct {
	unsigned char data[PENDING_MAX];
	size_t len;
	bool failed; /* the connection refused input */
} pending;

static void pending_add(pending *q, const unsigned char *data, size_t len)
{
	/* Only a terminal is read while input is pending (for its detach
	 * keys); a person typing beyond this into a guest that does not read
	 * loses the excess. */
	size_t room = sizeof(q->data) - q->len;
	if (len > room)
		len = room;
	memcpy(q->data + q->len, data, len);
	q->len += len;
}

static void pending_flush(pending *q, int sock)
{
	while (q->len > 0 && !q->failed) {
		ssize_t w = send(sock, q->data, q->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			q->failed = true;
			q->len = 0;
			return;
		}
		memmove(q->data, q->data + w, q->len - (size_t)w);
		q->len -= (size_t)w;
	}
}

/* Queues input, keeping back what may be the start of the detach keys.
 * True when they were typed (what came before them is queued). */
static bool take_input(pending *q, detach_keys *k, const unsigned char *in, size_t len)
{
	unsigned char out[BUF + DETACH_KEYS_MAX];
	size_t n = 0;
	bool detach = false;
	for (size_t i = 0; i < len && !detach; i++) {
		if (in[i] == k->seq[k->matched]) {
			if (++k->matched == k->len)
				detach = true;
			continue;
		}
		/* Not the sequence after all: what was held is plain input. The
		 * byte may start the sequence anew. */
		memcpy(out + n, k->seq, k->matched);
		n += k->matched;
		k->matched = 0;
		if (in[i] == k->seq[0]) {
			k->matched = 1;
			if (k->len == 1)
				detach = true;
		} else {
			out[n++] = in[i];
		}
	}
	pending_add(q, out, n);
	return detach;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool vm_ended(sv_vm *vm)
{
	sv_vm_state s = sv_vm_get_state(vm);
	return s == SV_VM_STOPPED || s == SV_VM_ERROR;
}

typedef enum { END_DETACHED, END_STDIN_DONE, END_CONSOLE_CLOSED, END_SIGNAL, END_OUTPUT_GONE } end_reason;

/* The relay loop. on_terminal: stdin is a terminal (read even while input
 * is pending, for the detach keys). */
static end_reason relay(int sock, detach_keys *k, sv_term_filter *filter, int linger_ms, bool on_terminal)
{
	static unsigned char in[BUF], out[BUF + SV_TERM_FILTER_SLACK];
	static pending q;
	bool stdin_open = true;
	long long quiet_since = 0;
	for (;;) {
		if (stop_signal)
			return END_SIGNAL;
		int timeout = -1;
		if (!stdin_open && (q.len == 0 || q.failed)) {
			long long left = quiet_since + linger_ms - now_ms();
			if (left <= 0)
				return END_STDIN_DONE;
			timeout = (int)left;
		}
		bool read_stdin = stdin_open && !q.failed && (on_terminal ? q.len < sizeof(q.data) : q.len == 0);
		struct pollfd p[2] = {
		    {.fd = read_stdin ? STDIN_FILENO : -1, .events = POLLIN},
		    {.fd = sock, .events = (short)(POLLIN | (q.len && !q.failed ? POLLOUT : 0))}};
		if (poll(p, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return END_CONSOLE_CLOSED;
		}
		if (p[1].revents & POLLOUT)
			pending_flush(&q, sock);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(sock, in, sizeof(in));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				return END_CONSOLE_CLOSED;
			size_t len = (size_t)n;
			const unsigned char *show = in;
			if (filter) {
				len = sv_term_filter_feed(filter, in, len, out);
				show = out;
			}
			if (write_stdout(show, len) < 0)
				return END_OUTPUT_GONE;
			quiet_since = now_ms();
		}
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				/* A partial detach sequence at the end was plain input. */
				pending_add(&q, k->seq, k->matched);
				k->matched = 0;
				stdin_open = false;
				quiet_since = now_ms();
			} else if (take_input(&q, k, in, (size_t)n)) {
				/* What came before the keys, if the guest takes it soon. */
				for (long long until = now_ms() + DETACH_FLUSH_MS; q.len && !q.failed && now_ms() < until;) {
					pending_flush(&q, sock);
					struct pollfd w = {.fd = sock, .events = POLLOUT};
					if (q.len)
						poll(&w, 1, 50);
				}
				return END_DETACHED;
			}
			pending_flush(&q, sock);
		}
	}
}

static const char *key_name(unsigned char c, char *buf, size_t size)
{
	if (c < 0x20)
		snprintf(buf, size, "Ctrl-%c", c + '@');
	else
		snprintf(buf, size, "%c", c);
	return buf;
}

static void describe_keys(const detach_keys *k, char *text, size_t size)
{
	size_t used = 0;
	text[0] = '\0';
	for (size_t i = 0; i < k->len && used < size; i++) {
		char one[16];
		int w = snprintf(text + used, size - used, "%s%s", i ? " " : "", key_name(k->seq[i], one, sizeof(one)));
		used += w > 0 ? (size_t)w : 0;
	}
}

/* After the console closed: the VM ended (0), or the supervisor dropped
 * us while it runs (1). */
static int console_closed(sv_vm *vm, const char *id)
{
	for (long long until = now_ms() + END_STATE_WAIT_MS; !vm_ended(vm) && now_ms() < until;)
		poll(NULL, 0, 50);
	if (vm_ended(vm)) {
		fprintf(stderr, "smartvm: VM \"%s\" has ended\n", id);
		return CLI_EXIT_OK;
	}
	return cli_error(CLI_EXIT_FAILURE,
			 "VM \"%s\": the console connection was closed while the VM runs (our output did not keep "
			 "up with the console?)",
			 id);
}

static int cmd_attach(cli_ctx *cli, int argc, char **argv)
{
	enum { OPT_DETACH_KEYS = CLI_OPT_LONG_BASE, OPT_LINGER };
	static const struct option longopts[] = {
	    {"detach-keys", required_argument, NULL, OPT_DETACH_KEYS},
	    {"linger", required_argument, NULL, OPT_LINGER},
	    {0},
	};
	cli_opts p;
	const char *id = NULL, *keys_text = DEFAULT_DETACH_KEYS;
	int linger_ms = DEFAULT_LINGER_MS;
	detach_keys keys;
	sv_vm *vm = NULL;
	int c, rc;

	cli_opts_begin(&p, cli, argc, argv, "", longopts);
	while ((c = cli_opts_next(&p)) > 0) {
		if (c == OPT_DETACH_KEYS)
			keys_text = p.optarg;
		else if (c == OPT_LINGER && (rc = cli_parse_seconds_ms(cli, "--linger", p.optarg, &linger_ms)))
			return rc;
	}
	if (c == CLI_OPTS_EXIT)
		return p.exit_code;
	if ((rc = cli_one_arg(&p, "VM id (ID)", &id)) || (rc = parse_detach_keys(cli, keys_text, &keys)) ||
	    (rc = cli_attach(cli, id, &vm)))
		return rc;

	int sock = -1;
	if ((rc = sv_vm_console_attach(vm, &sock)) < 0)
		return cli_fail(rc);
	sv_term_filter *filter = NULL;
	if (isatty(STDOUT_FILENO) && (rc = sv_term_filter_new(&filter)) < 0) {
		close(sock);
		return cli_fail(rc);
	}

	/* Signals end the attach (the VM keeps running); handlers without
	 * SA_RESTART, so poll returns at once. */
	struct sigaction sa = {.sa_handler = on_stop_signal}, old[3];
	const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);

	char keys_desc[128];
	describe_keys(&keys, keys_desc, sizeof(keys_desc));
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		fprintf(stderr, "smartvm: attached to VM \"%s\"'s console; detach with %s\n", id, keys_desc);
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	end_reason why = relay(sock, &keys, filter, linger_ms, raw);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	/* Modes the guest may have switched on stay on in the terminal after
	 * us: the alternate screen, a hidden cursor, mouse and focus reports,
	 * bracketed paste, application keys, colours. Back to normal. */
	if (filter)
		write_stdout(TERMINAL_RESET, sizeof(TERMINAL_RESET) - 1);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	close(sock);
	sv_term_filter_free(filter);

	switch (why) {
	case END_DETACHED:
		if (raw)
			fprintf(stderr, "\nsmartvm: detached from VM \"%s\" (it keeps running)\n", id);
		return CLI_EXIT_OK;
	case END_STDIN_DONE:
		return CLI_EXIT_OK;
	case END_SIGNAL:
		fprintf(stderr, "%ssmartvm: detached from VM \"%s\" on signal %d (it keeps running)\n", raw ? "\n" : "",
			id, (int)stop_signal);
		return 128 + (int)stop_signal;
	case END_OUTPUT_GONE:
		return CLI_EXIT_OK; /* attach | head */
	case END_CONSOLE_CLOSED:
		break;
	}
	if (raw)
		fputc('\n', stderr);
	return console_closed(vm, id);
}

const cli_command cli_attach_commands[] = {
    {
	.name = "attach",
	.summary = "Attach to a running VM's serial console",
	.usage = "[--detach-keys KEYS] [--linger S] ID",
	.help = "Connects the terminal to the VM's serial console (the guest's ttyS0),\n"
		"under QEMU and Firecracker alike: what you type goes to the guest,\n"
		"what the guest prints comes to stdout, from now on (`smartvm logs`\n"
		"has the output before). Press Enter to see a fresh prompt.\n"
		"\n"
		"Detach with Ctrl-P Ctrl-Q (docker's keys; --detach-keys changes them):\n"
		"the VM keeps running. On a terminal, stdin is put in raw mode (Ctrl-C\n"
		"goes to the guest) and restored however attach ends. The guest's\n"
		"output is filtered on a terminal: colours and cursor movement pass;\n"
		"title, clipboard and other OSC/DCS strings and sequences that make\n"
		"the terminal answer (device attributes, cursor position reports) are\n"
		"dropped, so the guest cannot type into itself through your terminal.\n"
		"\n"
		"With stdin not a terminal (printf 'ls\\n' | smartvm attach ID), input\n"
		"is sent as it is, and once it ends attach stays until the console has\n"
		"been quiet for --linger seconds, then detaches.\n"
		"\n"
		"What runs on the console is the guest's: `run -d -- CMD` on the\n"
		"minimal image gives CMD the console as its terminal, so\n"
		"`smartvm run -d --id box --image minimal -- sh` makes a shell to\n"
		"attach to. One client at a time: a second attach is refused, naming\n"
		"the process that is attached. A client that stops reading is\n"
		"disconnected once 256 KiB of output wait for it (the guest never\n"
		"waits).\n"
		"\n"
		"Options:\n"
		"  --detach-keys KEYS  the keys that detach, comma-separated: a\n"
		"                      character or ctrl-<a-z, @, [, \\, ], ^, _>\n"
		"                      (default ctrl-p,ctrl-q)\n"
		"  --linger S          with stdin not a terminal: after it ends, how\n"
		"                      long the console must be quiet before attach\n"
		"                      detaches (default 2)\n"
		"\n"
		"Exits 0 on detach and when the VM ends (\"VM ... has ended\" on\n"
		"stderr), 128+N after signal N (the VM keeps running), 1 if there is\n"
		"no such running VM, its console is already attached, or the\n"
		"connection was dropped while the VM runs.\n",
	.handler = cmd_attach,
    },
    {0},
};
