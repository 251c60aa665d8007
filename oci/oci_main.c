/* smartvm-oci: an OCI runtime (runc's command line) that runs each
 * container in a smartvm VM. This file parses the global options and hands
 * the rest to the command; the commands are in oci_create.c,
 * oci_lifecycle.c, oci_exec.c, oci_ps.c, oci_pause.c, oci_list.c and
 * oci_features.c. docs/oci.md is the user's guide. */
#include "oci_commands.h"
#include "oci_log.h"
#include "oci_state.h"

#include "sv_build_config.h"

#include <getopt.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <string.h>

static const char usage[] = "usage: smartvm-oci [GLOBAL OPTIONS] COMMAND [ARGS]\n"
			    "\n"
			    "An OCI runtime: runs each container in its own smartvm VM.\n"
			    "\n"
			    "Commands:\n"
			    "  create --bundle DIR [--pid-file F] [--console-socket S] ID\n"
			    "                 boot the container's VM; its process waits for start\n"
			    "  start ID       run the bundle's process in the VM\n"
			    "  state ID       print the container's state (the spec's JSON)\n"
			    "  kill [--all] ID [SIGNAL]\n"
			    "                 signal the container's process (default TERM); --all:\n"
			    "                 exec's processes too\n"
			    "  delete [--force] ID\n"
			    "                 remove a stopped (with --force: any) container\n"
			    "  exec [--process FILE] [-t] [--console-socket S] [--pid-file F] [-d]\n"
			    "       [--cwd D] [-e K=V] [-u UID[:GID]] [--ignore-paused] ID [ARGS...]\n"
			    "                 run another process in the container's VM\n"
			    "  ps [--format table|json] ID\n"
			    "                 the host pids standing for the container's processes\n"
			    "  pause ID       pause the container's VM\n"
			    "  resume ID      resume it\n"
			    "  list [--format table|json] [-q]\n"
			    "                 the containers under --root\n"
			    "  features       print the implemented features (JSON)\n"
			    "\n"
			    "Global options:\n"
			    "  --root DIR         state directories (default " OCI_DEFAULT_ROOT ")\n"
			    "  --log FILE         also write errors to FILE\n"
			    "  --log-format text|json\n"
			    "                     the --log file's format (default text)\n"
			    "  --systemd-cgroup   linux.cgroupsPath is systemd's slice:prefix:name\n"
			    "  --criu PATH, --rootless true|false|auto\n"
			    "                     accepted (runc's; containerd's shim may pass them)\n"
			    "  --data-dir DIR     smartvm's data dir, with the base image (default\n"
			    "                     $SMARTVM_DATA_DIR, else /var/lib/smartvm)\n"
			    "  --vmm auto|firecracker|qemu\n"
			    "  --accel auto|kvm|tcg\n"
			    "                     the VMM and QEMU's accelerator (default auto)\n"
			    "  -v, --version      print the version\n"
			    "\n"
			    "Annotations io.smartvm.vcpus (default 1), io.smartvm.mem_mib (default\n"
			    "256) and io.smartvm.image (default minimal) size and boot the VM.\n"
			    "docs/oci.md has the details and the engines' configuration.\n";

enum {
	OPT_ROOT = 256,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_SYSTEMD_CGROUP,
	OPT_DEBUG,
	OPT_DATA_DIR,
	OPT_VMM,
	OPT_ACCEL,
	OPT_CRIU,
	OPT_ROOTLESS
};

static const struct option global_opts[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"log", required_argument, NULL, OPT_LOG},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR},
    {"vmm", required_argument, NULL, OPT_VMM},
    {"accel", required_argument, NULL, OPT_ACCEL},
    {"criu", required_argument, NULL, OPT_CRIU},
    {"rootless", required_argument, NULL, OPT_ROOTLESS},
    {"version", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {0},
};

static const struct {
	const char *name;
	int (*run)(const oci_globals *g, int argc, char **argv);
} commands[] = {
    {"create", oci_cmd_create}, {"start", oci_cmd_start},   {"state", oci_cmd_state},
    {"kill", oci_cmd_kill},	{"delete", oci_cmd_delete}, {"features", oci_cmd_features},
    {"exec", oci_cmd_exec},	{"ps", oci_cmd_ps},	    {"pause", oci_cmd_pause},
    {"resume", oci_cmd_resume}, {"list", oci_cmd_list},
};

int main(int argc, char **argv)
{
	oci_globals g = {.root = OCI_DEFAULT_ROOT, .vmm = SV_VMM_AUTO};
	const char *log_path = NULL, *log_format = "text";
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			g.root = optarg;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			log_format = optarg;
			break;
		case OPT_SYSTEMD_CGROUP:
			g.systemd_cgroup = true;
			break;
		case OPT_DEBUG:
		case OPT_CRIU: /* containerd's shim passes its CriuPath option; no checkpoints here */
			break;
		case OPT_ROOTLESS:
			if (strcmp(optarg, "true") && strcmp(optarg, "false") && strcmp(optarg, "auto"))
				return oci_log_error("--rootless: \"%s\" is not one of true, false, auto",
						     optarg);
			break;
		case OPT_DATA_DIR:
			g.data_dir = optarg;
			break;
		case OPT_VMM:
			if (!strcmp(optarg, "qemu"))
				g.vmm = SV_VMM_QEMU;
			else if (!strcmp(optarg, "firecracker"))
				g.vmm = SV_VMM_FIRECRACKER;
			else if (strcmp(optarg, "auto"))
				return oci_log_error("--vmm: \"%s\" is not one of auto, firecracker, qemu",
						     optarg);
			break;
		case OPT_ACCEL:
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "tcg"))
				return oci_log_error("--accel: \"%s\" is not one of auto, kvm, tcg", optarg);
			g.accel = optarg;
			break;
		case 'v':
			printf("smartvm-oci version %s\nspec: 1.2.1\n", SV_VERSION);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return oci_log_error("unknown global option %s", argv[optind - 1]);
		}
	}
	bool json = !strcmp(log_format, "json");
	if (!json && strcmp(log_format, "text"))
		return oci_log_error("--log-format: \"%s\" is not one of text, json", log_format);
	if (oci_log_open(log_path, json) < 0)
		return oci_log_error("%s", sv_last_error());
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(argv[optind], commands[i].name))
			return commands[i].run(&g, argc - optind, argv + optind);
	return oci_log_error("unknown command \"%s\" (create, start, state, kill, delete, exec, ps, pause, "
			     "resume, list, features)",
			     argv[optind]);
}
