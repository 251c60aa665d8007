/* Traffic probes for the net integration tests (header-only, after
 * test_net_fixture.h): a TCP connection or UDP datagram sent from inside a
 * namespace, a listener in a namespace that reports what reached it, and
 * giving a namespace's device an address, MAC and default route. */
#ifndef TEST_NET_PROBE_H
#define TEST_NET_PROBE_H

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* How long a negative check waits for what must not arrive. */
#define WAIT_MS 1500

enum { CONNECTED = 0, REFUSED = 1, NO_ANSWER = 2 };

typedef struct {
	const char *ip; /* connect to */
	uint16_t port;
	const char *src; /* bind to first (NULL = any) */
	bool udp;	 /* send one datagram instead */
	char answer[32]; /* what a TCP server said */
} probe;

/* In a namespace: one TCP connection (reading what the server says) or one
 * UDP datagram. */
SVN_UNUSED static int run_probe(void *arg)
{
	probe *p = arg;
	int fd = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->src) {
		struct sockaddr_in me = {.sin_family = AF_INET};
		inet_pton(AF_INET, p->src, &me.sin_addr);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0)
			return 10;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->port)};
	inet_pton(AF_INET, p->ip, &sa.sin_addr);
	if (p->udp)
		return sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) == 1 ? CONNECTED : NO_ANSWER;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		return errno == ECONNREFUSED ? REFUSED : NO_ANSWER;
	struct pollfd pf = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&pf, 1, 1500) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return NO_ANSWER;
	if (err)
		return err == ECONNREFUSED ? REFUSED : NO_ANSWER;
	pf.events = POLLIN;
	if (poll(&pf, 1, 1500) == 1) {
		ssize_t n = read(fd, p->answer, sizeof(p->answer) - 1);
		p->answer[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return CONNECTED;
}

SVN_UNUSED static int probe_in(int ns, probe *p)
{
	/* The child's copy of answer is lost: a TCP answer is read here. */
	return svn_run_in(ns, run_probe, p, 10000);
}

typedef struct {
	const char *ip;
	int prefix;
	const char *dev;
	const char *gateway;
	const char *mac;
	const char *extra_ip; /* a second address (for spoofing) */
} ns_cfg;

SVN_UNUSED static int configure(void *arg)
{
	const ns_cfg *c = arg;
	uint32_t ip, gw, extra;
	if (!sv_ipv4_parse(c->ip, &ip) || sv_nl_link_set_up("lo") ||
	    (c->mac && svn_set_mac(c->dev, c->mac)) || sv_nl_addr_add(c->dev, ip, c->prefix) ||
	    sv_nl_link_set_up(c->dev))
		return 1;
	if (c->extra_ip && (!sv_ipv4_parse(c->extra_ip, &extra) || sv_nl_addr_add(c->dev, extra, 32)))
		return 2;
	if (c->gateway && (!sv_ipv4_parse(c->gateway, &gw) || svn_default_route(gw) != 0))
		return 3;
	return 0;
}

/* A listener in namespace ns (-1 = here) on TCP and UDP port: each TCP
 * connection is answered with `hello` and, like each datagram, reported on
 * the returned pipe as "T|U <peer>\n". Killed with listener_stop. */
typedef struct {
	pid_t pid;
	int report;
} listener;

SVN_UNUSED static listener listen_in(int ns, uint16_t tcp_port, uint16_t udp_port, const char *hello)
{
	int ready[2], rep[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		if (ns >= 0 && setns(ns, CLONE_NEWNET) != 0)
			_exit(5);
		int one = 1;
		struct pollfd p[2];
		for (int i = 0; i < 2; i++) {
			p[i].fd = socket(AF_INET, (i ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
			p[i].events = POLLIN;
			setsockopt(p[i].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			struct sockaddr_in sa = {.sin_family = AF_INET,
						 .sin_port = htons(i ? udp_port : tcp_port)};
			if (bind(p[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
			    (!i && listen(p[i].fd, 8) != 0))
				_exit(6);
		}
		if (write(ready[1], "r", 1) != 1)
			_exit(7);
		for (;;) {
			if (poll(p, 2, -1) < 0)
				continue;
			for (int i = 0; i < 2; i++) {
				if (!p[i].revents)
					continue;
				struct sockaddr_in peer;
				socklen_t len = sizeof(peer);
				char buf[64], line[64], text[16] = "";
				if (i == 0) {
					int c =
					    accept4(p[0].fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
					if (c < 0)
						continue;
					if (write(c, hello, strlen(hello)) < 0) {
					}
					close(c);
				} else if (recvfrom(p[1].fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer,
						    &len) < 0) {
					continue;
				}
				inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
				int n = snprintf(line, sizeof(line), "%c %s\n", i ? 'U' : 'T', text);
				if (write(rep[1], line, (size_t)n) < 0) {
				}
			}
		}
	}
	close(ready[1]);
	close(rep[1]);
	struct pollfd rp = {.fd = ready[0], .events = POLLIN};
	char r;
	assert_int_equal(poll(&rp, 1, 5000), 1);
	assert_int_equal(read(ready[0], &r, 1), 1);
	close(ready[0]);
	return (listener){pid, rep[0]};
}

/* What the listener reported until `until` appeared (or WAIT_MS passed
 * with until NULL or absent); malloc'd. */
SVN_UNUSED static char *reports(listener *l, const char *until)
{
	char *acc = calloc(1, 4096);
	size_t len = 0;
	long long deadline = sv_now_ms() + WAIT_MS;
	while (!(until && strstr(acc, until))) {
		int left = (int)(deadline - sv_now_ms());
		struct pollfd p = {.fd = l->report, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, left) != 1)
			break;
		ssize_t n = read(l->report, acc + len, 4095 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	return acc;
}

SVN_UNUSED static void listener_stop(listener *l)
{
	kill(l->pid, SIGKILL);
	int status;
	sv_reap(l->pid, 5000, &status);
	close(l->report);
}

/* Brings link name (a char *) down in the caller's namespace: for
 * svn_run_in. */
SVN_UNUSED static int svn_link_down(void *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return svn_nl_talk(nlh) ? 1 : 0;
}

#endif
