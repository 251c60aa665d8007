/* Fuzzes the flags of `smartvm run` that are parsed by hand: --drive and the
 * networking flags (--egress-rule, repeatable, --egress-default, --subnet,
 * --bridge, --net, --no-net), through the CLI's own functions, then checks
 * them as `run` does (cli_run_net_apply validates the networking options).
 * Input: one flag per line, "NAME VALUE". Oracles: a parsed drive has an id
 * and a path; the egress rules the flags produced read back the destinations
 * they were given. */
#include "fuzz.h"

#include "../cli/cmd_net.h"
#include "../cli/cmd_run.h"
#include <string.h>

#define MAX_FLAGS 64

typedef struct {
	cli_run_net net;
	sv_drive_config drives[MAX_FLAGS];
	char *specs[MAX_FLAGS];
	char *rule_texts[MAX_FLAGS];
	size_t n_drives, n_rules;
} flags;

static void one_flag(cli_ctx *cli, flags *f, const char *name, const char *value)
{
	static const struct {
		const char *name;
		int opt;
	} net_flags[] = {
	    {"--net", CLI_OPT_RUN_NET},
	    {"--no-net", CLI_OPT_RUN_NO_NET},
	    {"--bridge", CLI_OPT_RUN_BRIDGE},
	    {"--subnet", CLI_OPT_RUN_SUBNET},
	    {"--egress-rule", CLI_OPT_RUN_EGRESS_RULE},
	    {"--egress-default", CLI_OPT_RUN_EGRESS_DEFAULT},
	};
	if (!strcmp(name, "--drive")) {
		char *spec = strdup(value);
		FZ_CHECK(spec);
		sv_drive_config *d = &f->drives[f->n_drives];
		f->specs[f->n_drives++] = spec;
		if (cli_run_parse_drive(cli, value, spec, d) == 0)
			FZ_CHECK(d->drive_id && *d->drive_id && d->path_on_host && *d->path_on_host);
		return;
	}
	for (size_t i = 0; i < sizeof(net_flags) / sizeof(net_flags[0]); i++) {
		if (strcmp(name, net_flags[i].name))
			continue;
		size_t before = f->net.n_rules;
		cli_run_net_option(cli, &f->net, net_flags[i].opt, value);
		if (f->net.n_rules > before)
			f->rule_texts[f->net.n_rules - 1] = (char *)value;
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	cli_ctx cli;
	memset(&cli, 0, sizeof(cli));
	cli.opts = (sv_manager_options)SV_MANAGER_OPTIONS_INIT;
	flags f;
	memset(&f, 0, sizeof(f));
	size_t n_lines = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n_lines < MAX_FLAGS;
	     line = strtok_r(NULL, "\n", &save), n_lines++) {
		char *value = strchr(line, ' ');
		if (value)
			*value++ = '\0';
		one_flag(&cli, &f, line, value ? value : "");
	}
	/* Each rule still names the destination its flag gave. */
	for (size_t i = 0; i < f.net.n_rules; i++) {
		const char *dest = f.net.rules[i].destination;
		FZ_CHECK(dest && f.rule_texts[i]);
		FZ_CHECK(strstr(f.rule_texts[i], dest) != NULL);
	}
	sv_vm_config cfg = SV_VM_CONFIG_INIT;
	cfg.drives = f.drives;
	cfg.n_drives = f.n_drives;
	cli_run_net_apply(&cli, &f.net, &cfg);
	cli_run_net_free(&f.net);
	for (size_t i = 0; i < f.n_drives; i++)
		free(f.specs[i]);
	free(text);
	return 0;
}
