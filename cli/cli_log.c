/* What the CLI shows on stderr besides its own errors: the library's log
 * messages ("smartvm: warning: ..."), at the level --log-level or
 * SMARTVM_LOG chooses, and download progress bars (--progress). The library
 * prints nothing itself; this file installs its callbacks. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_log(sv_log_severity severity, const char *message, void *userdata)
{
	(void)userdata;
	flockfile(stderr);
	fprintf(stderr, "smartvm: %s: %s\n", sv_log_severity_name(severity), message);
	funlockfile(stderr);
}

int cli_log_init(cli_ctx *cli)
{
	cli->log_level = SV_LOG_WARN;
	const char *env = getenv("SMARTVM_LOG");
	if (env && *env && sv_log_severity_parse(&cli->log_level, env) < 0) {
		cli->log_level = SV_LOG_WARN;
		fprintf(stderr, "smartvm: warning: SMARTVM_LOG: %s; showing warnings\n", sv_last_error());
	}
	return sv_set_log_callback(print_log, NULL, cli->log_level) < 0 ? cli_fail(SV_EINVAL) : 0;
}

int cli_set_log_level(cli_ctx *cli, const char *text)
{
	if (sv_log_severity_parse(&cli->log_level, text) < 0)
		return cli_usage_error(cli, "--log-level: %s", sv_last_error());
	sv_set_log_callback(print_log, NULL, cli->log_level);
	return 0;
}

int cli_set_progress(cli_ctx *cli, const char *text)
{
	if (strcmp(text, "auto") == 0)
		cli->progress = CLI_PROGRESS_AUTO;
	else if (strcmp(text, "always") == 0)
		cli->progress = CLI_PROGRESS_ALWAYS;
	else if (strcmp(text, "never") == 0)
		cli->progress = CLI_PROGRESS_NEVER;
	else
		return cli_usage_error(cli, "--progress: \"%s\" is not auto, always or never", text);
	return 0;
}

/* ---- the progress bar ---- */

#define BAR_WIDTH 30
#define REDRAW_MS 100

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line per file, redrawn in place (\r) at most every REDRAW_MS, ended
 * with a newline when the attempt ends. */
static int draw_progress(const sv_download_progress *p, void *userdata)
{
	cli_ctx *cli = userdata;
	long long now = now_ms();
	if (!p->done && (p->bytes_done == 0 || now - cli->bar_drawn_ms < REDRAW_MS))
		return 0;
	if (p->done && !cli->bar_drawing)
		return 0;
	cli->bar_drawn_ms = now;
	cli->bar_drawing = !p->done;
	const double mib = 1024.0 * 1024.0;
	if (p->bytes_total > 0) {
		int pct = (int)(p->bytes_done * 100 / p->bytes_total);
		char bar[BAR_WIDTH + 1];
		for (int i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < pct * BAR_WIDTH / 100 ? '#' : ' ';
		bar[BAR_WIDTH] = '\0';
		fprintf(stderr, "\r%-36.36s [%s] %3d%% %8.1f / %.1f MiB", p->name, bar, pct,
			(double)p->bytes_done / mib, (double)p->bytes_total / mib);
	} else {
		fprintf(stderr, "\r%-36.36s %8.1f MiB", p->name, (double)p->bytes_done / mib);
	}
	if (p->done)
		fputc('\n', stderr);
	fflush(stderr);
	return 0;
}

const sv_download_options *cli_download_options(cli_ctx *cli)
{
	bool on = cli->progress == CLI_PROGRESS_ALWAYS ||
		  (cli->progress == CLI_PROGRESS_AUTO && isatty(STDERR_FILENO));
	cli->download = (sv_download_options)SV_DOWNLOAD_OPTIONS_INIT;
	if (on) {
		cli->download.progress = draw_progress;
		cli->download.progress_userdata = cli;
	}
	return &cli->download;
}
