/* A VM's firewall elements go to the kernel as nf_tables messages built with
 * libnftnl (net_nft_elems.c): the keys and data are bytes laid out by hand,
 * so they are proved here against nft itself. The same elements go into two
 * bridges' tables, one through the new path, one as the JSON document
 * libnftables used to get; nft's listing of every set and map must be the
 * same for both. Then removal, refusals (which must name the set and the
 * element), bad keys, and the socket (close-on-exec, one per process and
 * namespace). */
#include "net/net_nft_elems.h"
#include "net/net_nft_lib.h"
#include "net/net_nft_vm.h"
#include "test_net_fixture.h"

#include <dirent.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#define NEW "elnew"
#define REF "elref"

typedef struct {
	const char *family, *name;
	bool map;
	size_t count; /* elements after add_everything */
} set_info;

static const set_info sets[] = {
    {"bridge", "ports", false, 2},   {"bridge", "addrs", false, 2},  {"bridge", "open", false, 1},
    {"ip", "vm_open", false, 1},     {"ip", "dns_ok", false, 1},     {"ip", "wg_ifs", false, 1},
    {"ip", "wg_routes", false, 1},   {"ip", "wg_vms", false, 1},     {"ip", "pub_any_addr", true, 2},
    {"ip", "pub_any_port", true, 2}, {"ip", "pub_ip_addr", true, 2}, {"ip", "pub_ip_port", true, 2},
};

static uint32_t ip_of(const char *text)
{
	uint32_t ip = 0;
	assert_true(sv_ipv4_parse(text, &ip));
	return ip;
}

static void make_tables(const char *bridge)
{
	sv_net_plan plan = {.default_action = SV_EGRESS_ALLOW, .subnet = {ip_of("172.31.0.0"), 24}};
	snprintf(plan.bridge, sizeof(plan.bridge), "%s", bridge);
	char *doc = NULL;
	svn_ok(sv_nft_build_table(&doc, &plan, ""));
	svn_ok(sv_nft_apply(bridge, doc));
	free(doc);
}

static sv_nft_vm_iface iface(const char *dev, const char *mac, const char *ip, bool open, bool dns)
{
	sv_nft_vm_iface f = {.ip = ip_of(ip), .open = open, .dns = dns};
	snprintf(f.dev, sizeof(f.dev), "%s", dev);
	snprintf(f.mac, sizeof(f.mac), "%s", mac);
	return f;
}

static sv_port_pub port(bool udp, const char *host_ip, uint16_t host_port, const char *guest_ip,
			uint16_t guest_port)
{
	return (sv_port_pub){.udp = udp,
			     .host_ip = host_ip ? ip_of(host_ip) : 0,
			     .host_port = host_port,
			     .guest_ip = ip_of(guest_ip),
			     .guest_port = guest_port};
}

/* Ports whose two bytes differ (a swapped byte order shows), the largest
 * port, a 15-byte interface name, MACs with high and low bytes. */
static void fill(sv_nft_batch *b, bool add)
{
	sv_nft_vm_iface a = iface("tap-el1", "52:54:00:ab:cd:01", "172.31.0.2", true, true);
	sv_nft_vm_iface c = iface("fifteen-chars-x", "fe:00:00:00:00:ff", "172.31.0.3", false, false);
	sv_nft_batch_iface(b, add, &a);
	sv_nft_batch_iface(b, add, &c);
	sv_nft_batch_wg(b, add, ip_of("172.31.0.2"), "smwg-el");
	sv_port_pub p[] = {
	    port(false, NULL, 8080, "172.31.0.2", 80), port(true, NULL, 258, "172.31.0.3", 513),
	    port(true, "127.0.0.1", 5353, "172.31.0.3", 53), port(false, "10.9.8.7", 65535, "172.31.0.2", 1)};
	for (size_t i = 0; i < sizeof(p) / sizeof(*p); i++)
		sv_nft_batch_port(b, add, &p[i]);
}

static void ref_add(json_t *cmds, const char *family, const char *set, json_t *elem)
{
	json_array_append_new(cmds, json_pack("{s:{s:{s:s,s:s,s:s,s:[o]}}}", "add", "element", "family",
					      family, "table", "smartvm_" REF, "name", set, "elem", elem));
}

/* The same elements as the JSON document libnftables was given. */
static void add_reference(void)
{
	json_t *cmds = json_array();
	ref_add(cmds, "bridge", "ports", json_string("tap-el1"));
	ref_add(cmds, "bridge", "ports", json_string("fifteen-chars-x"));
	ref_add(cmds, "bridge", "addrs",
		json_pack("{s:[s,s,s]}", "concat", "tap-el1", "52:54:00:ab:cd:01", "172.31.0.2"));
	ref_add(cmds, "bridge", "addrs",
		json_pack("{s:[s,s,s]}", "concat", "fifteen-chars-x", "fe:00:00:00:00:ff", "172.31.0.3"));
	ref_add(cmds, "bridge", "open", json_string("tap-el1"));
	ref_add(cmds, "ip", "vm_open", json_string("172.31.0.2"));
	ref_add(cmds, "ip", "dns_ok", json_string("172.31.0.2"));
	ref_add(cmds, "ip", "wg_ifs", json_string("smwg-el"));
	ref_add(cmds, "ip", "wg_routes", json_pack("{s:[s,s]}", "concat", "172.31.0.2", "smwg-el"));
	ref_add(cmds, "ip", "wg_vms", json_string("172.31.0.2"));
	ref_add(cmds, "ip", "pub_any_addr", json_pack("[{s:[s,i]},s]", "concat", "tcp", 8080, "172.31.0.2"));
	ref_add(cmds, "ip", "pub_any_port", json_pack("[{s:[s,i]},i]", "concat", "tcp", 8080, 80));
	ref_add(cmds, "ip", "pub_any_addr", json_pack("[{s:[s,i]},s]", "concat", "udp", 258, "172.31.0.3"));
	ref_add(cmds, "ip", "pub_any_port", json_pack("[{s:[s,i]},i]", "concat", "udp", 258, 513));
	ref_add(cmds, "ip", "pub_ip_addr",
		json_pack("[{s:[s,s,i]},s]", "concat", "127.0.0.1", "udp", 5353, "172.31.0.3"));
	ref_add(cmds, "ip", "pub_ip_port",
		json_pack("[{s:[s,s,i]},i]", "concat", "127.0.0.1", "udp", 5353, 53));
	ref_add(cmds, "ip", "pub_ip_addr",
		json_pack("[{s:[s,s,i]},s]", "concat", "10.9.8.7", "tcp", 65535, "172.31.0.2"));
	ref_add(cmds, "ip", "pub_ip_port",
		json_pack("[{s:[s,s,i]},i]", "concat", "10.9.8.7", "tcp", 65535, 1));
	json_t *doc = json_pack("{s:o}", "nftables", cmds);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	svn_ok(sv_nft_lib_run(text, "reference elements", NULL));
	free(text);
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The set's elements as nft lists them, each as compact JSON, sorted, one
 * a line; *count gets their number. */
static char *listed(const char *bridge, const set_info *s, size_t *count)
{
	char doc[256], *out = NULL;
	snprintf(doc, sizeof(doc),
		 "{\"nftables\":[{\"list\":{\"%s\":{\"family\":\"%s\",\"table\":\"smartvm_%s\",\"name\":\"%"
		 "s\"}}}]}",
		 s->map ? "map" : "set", s->family, bridge, s->name);
	svn_ok(sv_nft_lib_run(doc, "listing", &out));
	json_t *list = json_loads(out, 0, NULL);
	free(out);
	json_t *elems = NULL, *item;
	size_t i;
	json_array_foreach(json_object_get(list, "nftables"), i, item)
	{
		json_t *obj = json_object_get(item, s->map ? "map" : "set");
		if (obj)
			elems = json_object_get(obj, "elem");
	}
	*count = json_array_size(elems);
	char **texts = calloc(*count + 1, sizeof(*texts));
	json_array_foreach(elems, i, item) texts[i] =
	    json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	qsort(texts, *count, sizeof(*texts), by_text);
	size_t len = 1;
	for (i = 0; i < *count; i++)
		len += strlen(texts[i]) + 1;
	char *all = calloc(1, len);
	for (i = 0; i < *count; i++) {
		strcat(strcat(all, texts[i]), "\n");
		free(texts[i]);
	}
	free(texts);
	json_decref(list);
	return all;
}

static void assert_all_empty(const char *bridge)
{
	for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
		size_t n = 0;
		char *text = listed(bridge, &sets[i], &n);
		if (n)
			fail_msg("%s %s still holds:\n%s", sets[i].family, sets[i].name, text);
		free(text);
	}
}

static void apply(bool add, const char *bridge, int want)
{
	sv_nft_batch b;
	svn_ok(sv_nft_batch_init(&b, bridge));
	fill(&b, add);
	int rc = sv_nft_batch_apply(&b, !add, add ? "adding" : "removing");
	sv_nft_batch_free(&b);
	if (rc != want)
		fail_msg("%s on %s returned %d, wanted %d: %s", add ? "adding" : "removing", bridge, rc, want,
			 sv_last_error());
}

static void test_elements_are_what_nft_makes_of_the_json_document(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	make_tables(NEW);
	make_tables(REF);
	apply(true, NEW, 0);
	add_reference();
	for (size_t i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
		size_t n_new = 0, n_ref = 0;
		char *got = listed(NEW, &sets[i], &n_new), *want = listed(REF, &sets[i], &n_ref);
		if (strcmp(got, want) || n_new != sets[i].count)
			fail_msg(
			    "%s %s: libnftnl path gave (%zu)\n%swanted (%zu, nft from the JSON document)\n%s",
			    sets[i].family, sets[i].name, n_new, got, sets[i].count, want);
		free(got);
		free(want);
	}
	/* nft reads the bytes back as the values given: byte order and padding. */
	size_t n;
	char *text = listed(NEW, &sets[9], &n);
	svt_assert_contains(text, "[{\"concat\":[\"udp\",258]},513]");
	free(text);
	text = listed(NEW, &sets[1], &n);
	svt_assert_contains(text, "{\"concat\":[\"fifteen-chars-x\",\"fe:00:00:00:00:ff\",\"172.31.0.3\"]}");
	free(text);
	/* Adding again is no error (elements already there). */
	apply(true, NEW, 0);
	/* Removal empties every set; removing what is gone succeeds. */
	apply(false, NEW, 0);
	assert_all_empty(NEW);
	apply(false, NEW, 0);
	assert_all_empty(NEW);
	/* Removing from tables that are gone succeeds; adding to them fails
	 * and says which element of which set. */
	svn_ok(sv_nft_delete(NEW, NULL));
	apply(false, NEW, 0);
	apply(true, NEW, SV_ENETWORK);
	svt_assert_contains(sv_last_error(), "adding: adding element tap-el1 to set bridge smartvm_" NEW
					     " ports: No such file or directory");
	svn_ok(sv_nft_delete(REF, NULL));
}

/* A table with only some of the sets: the refusal names the element that
 * failed, nothing of the batch stays, and a removal is refused too (the
 * tables exist, so it is not "already gone"). */
static void test_a_refusal_names_its_element_and_leaves_nothing(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	svn_ok(sv_nft_lib_run(
	    "{\"nftables\":[{\"add\":{\"table\":{\"family\":\"bridge\",\"name\":\"smartvm_part\"}}},"
	    "{\"add\":{\"set\":{\"family\":\"bridge\",\"table\":\"smartvm_part\",\"name\":\"ports\","
	    "\"type\":\"ifname\"}}},"
	    "{\"add\":{\"table\":{\"family\":\"ip\",\"name\":\"smartvm_part\"}}}]}",
	    "partial table", NULL));
	sv_nft_batch b;
	svn_ok(sv_nft_batch_init(&b, "part"));
	sv_nft_vm_iface f = iface("tap-p1", "52:54:00:00:00:07", "172.31.0.9", false, false);
	sv_nft_batch_iface(&b, true, &f);
	assert_int_equal(sv_nft_batch_apply(&b, false, "setting up"), SV_ENETWORK);
	svt_assert_contains(sv_last_error(),
			    "setting up: adding element tap-p1 . 52:54:00:00:00:07 . 172.31.0.9 "
			    "to set bridge smartvm_part addrs: No such file or directory");
	sv_nft_batch_free(&b);
	size_t n = 9;
	free(listed("part", &sets[0], &n));
	assert_int_equal(n, 0); /* the ports element of the same batch did not stay */
	svn_ok(sv_nft_batch_init(&b, "part"));
	sv_nft_batch_iface(&b, false, &f);
	assert_int_equal(sv_nft_batch_apply(&b, true, "removing"), SV_ENETWORK);
	svt_assert_contains(sv_last_error(), "removing: adding element tap-p1 . 52:54:00:00:00:07");
	sv_nft_batch_free(&b);
	/* A map element's text carries its data. */
	svn_ok(sv_nft_batch_init(&b, "part"));
	sv_port_pub p = port(false, "127.0.0.1", 8443, "172.31.0.9", 443);
	sv_nft_batch_port(&b, true, &p);
	assert_int_equal(sv_nft_batch_apply(&b, false, "publishing"), SV_ENETWORK);
	svt_assert_contains(sv_last_error(),
			    "publishing: adding element 127.0.0.1 . tcp . 8443 : 172.31.0.9 to set "
			    "ip smartvm_part pub_ip_addr: No such file or directory");
	sv_nft_batch_free(&b);
}

/* Keys that cannot be laid out are refused before anything is sent. */
static void test_bad_keys_are_refused_before_sending(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	make_tables(NEW);
	static const char *const macs[] = {"52:54:00:ab:cd",	"52:54:00:ab:cd:1",  "52:54:00:ab:cd:0g",
					   "+2:54:00:ab:cd:01", "52-54-00-ab-cd-01", ""};
	for (size_t i = 0; i < sizeof(macs) / sizeof(*macs); i++) {
		sv_nft_batch b;
		svn_ok(sv_nft_batch_init(&b, NEW));
		sv_nft_vm_iface f = iface("tap-ok", macs[i], "172.31.0.2", true, true);
		sv_nft_batch_iface(&b, true, &f);
		assert_int_equal(sv_nft_batch_apply(&b, false, "setting up"), SV_EINVAL);
		svt_assert_contains(sv_last_error(), "setting up: element tap-ok . ");
		svt_assert_contains(sv_last_error(), "of set addrs: not a valid key");
		sv_nft_batch_free(&b);
	}
	sv_nft_batch b;
	svn_ok(sv_nft_batch_init(&b, NEW));
	sv_nft_batch_wg(&b, true, ip_of("172.31.0.2"), "sixteen-chars-xx");
	assert_int_equal(sv_nft_batch_apply(&b, false, "tunnel"), SV_EINVAL);
	svt_assert_contains(sv_last_error(),
			    "tunnel: element sixteen-chars-xx of set wg_ifs: not a valid key");
	sv_nft_batch_free(&b);
	assert_all_empty(NEW);
	assert_int_equal(sv_nft_batch_init(&b, "bad/name"), SV_EINVAL);
}

/* A batch far larger than a VM's (several pages of messages, more answers
 * than a socket buffer holds if each were acknowledged) is still one
 * transaction that commits, and its removal empties the sets. */
static void test_a_large_batch_is_one_transaction(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	make_tables(NEW);
	for (int pass = 0; pass < 2; pass++) {
		sv_nft_batch b;
		svn_ok(sv_nft_batch_init(&b, NEW));
		for (int i = 0; i < 400; i++) {
			char dev[16], mac[18], ip[16];
			snprintf(dev, sizeof(dev), "tap-big%d", i);
			snprintf(mac, sizeof(mac), "52:54:00:00:%02x:%02x", i >> 8, i & 0xff);
			snprintf(ip, sizeof(ip), "172.31.%d.%d", 1 + i / 200, 2 + i % 200);
			sv_nft_vm_iface f = iface(dev, mac, ip, true, true);
			sv_nft_batch_iface(&b, pass == 0, &f);
		}
		int rc = sv_nft_batch_apply(&b, pass == 1, "big");
		if (rc)
			fail_msg("pass %d: %s", pass, sv_last_error());
		sv_nft_batch_free(&b);
		size_t n = 0;
		free(listed(NEW, &sets[1], &n));
		assert_int_equal(n, pass == 0 ? 400 : 0);
	}
	assert_all_empty(NEW);
}

/* nf_tables netlink sockets of this process, failing on one without
 * close-on-exec. */
static int netfilter_sockets(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		int fd = atoi(de->d_name), proto = 0;
		socklen_t len = sizeof(proto);
		if (fd <= 2 || fd == dirfd(d) || getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) ||
		    proto != NETLINK_NETFILTER)
			continue;
		int domain = 0;
		len = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) || domain != AF_NETLINK)
			continue;
		if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			fail_msg("netfilter socket fd %d is inherited by exec'd programs", fd);
		n++;
	}
	closedir(d);
	return n;
}

static int add_and_remove_in_child(void *arg)
{
	(void)arg;
	sv_nft_batch b;
	int rc = sv_nft_batch_init(&b, NEW);
	fill(&b, true);
	rc = rc ? rc : sv_nft_batch_apply(&b, false, "child");
	sv_nft_batch_free(&b);
	if (!rc && sv_nft_batch_init(&b, NEW) == 0) {
		fill(&b, false);
		rc = sv_nft_batch_apply(&b, true, "child");
		sv_nft_batch_free(&b);
	}
	return rc ? 1 : 0;
}

static void test_one_socket_per_process_and_namespace(void **state)
{
	(void)state;
	svn_enter_fresh_netns();
	make_tables(NEW);
	int before = netfilter_sockets();
	for (int i = 0; i < 20; i++) {
		apply(true, NEW, 0);
		apply(false, NEW, 0);
	}
	int after = netfilter_sockets();
	assert_true(after <= before + 1); /* one kept, whatever the number of batches */
	/* A forked child gets its own socket; the parent's still works. */
	assert_int_equal(svn_run_in(-1, add_and_remove_in_child, NULL, 30000), 0);
	apply(true, NEW, 0);
	/* In another namespace the tables are not there: the socket must
	 * not be the first namespace's. */
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int other = svn_netns_new();
	assert_int_equal(setns(other, CLONE_NEWNET), 0);
	apply(true, NEW, SV_ENETWORK);
	apply(false, NEW, 0); /* gone here: nothing to remove */
	assert_int_equal(setns(home, CLONE_NEWNET), 0);
	close(home);
	close(other);
	apply(false, NEW, 0);
	assert_all_empty(NEW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_elements_are_what_nft_makes_of_the_json_document),
	    cmocka_unit_test(test_a_refusal_names_its_element_and_leaves_nothing),
	    cmocka_unit_test(test_bad_keys_are_refused_before_sending),
	    cmocka_unit_test(test_a_large_batch_is_one_transaction),
	    cmocka_unit_test(test_one_socket_per_process_and_namespace),
	};
	return svt_run_group(tests, NULL, NULL);
}
