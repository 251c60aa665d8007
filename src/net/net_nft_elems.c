/* A VM's set elements as one nf_tables transaction (see net_nft_elems.h):
 * a batch of NEWSETELEM/DELSETELEM messages, one per element in the
 * caller's order. The kernel handles the whole batch inside sendmsg and then
 * queues its answers in the messages' order: an error for each refused
 * message (its sequence number points at the element) and an
 * acknowledgement of the last one, which only it asks for (one answer per
 * element would fill the socket's receive buffer on a large batch). So the
 * batch committed when that acknowledgement came with no error before it.
 *
 * One socket is kept per process and network namespace, opened
 * close-on-exec (no VMM or supervisor inherits a socket that changes the
 * firewall); a fork or a move to another namespace (the tests do) opens a
 * fresh one. Sequence numbers only grow, so a late answer to an earlier
 * batch is never taken for this one's. */
#include "net/net_nft_elems.h"

#include "net/net_netns.h"
#include "util/error.h"
#include "util/trace.h"
#include <errno.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How long answers may take once sendmsg returned (they are queued by
 * then; this only bounds a kernel that breaks that). */
#define ANSWER_TIMEOUT_MS 5000

/* Under nl_lock. Acknowledgements are short; a refusal quotes its message. */
static char answer_buf[16384];

static pthread_mutex_t nl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mnl_socket *kept_nl;
static sv_netns_owner kept_owner;
static uint32_t next_seq;

/* The process's socket for its current namespace, under nl_lock. */
static struct mnl_socket *nl_socket(void)
{
	sv_netns_owner now = sv_netns_owner_now();
	if (kept_nl && sv_netns_owner_same(&kept_owner, &now))
		return kept_nl;
	if (kept_nl)
		mnl_socket_close(kept_nl); /* in a child, closes only its copy */
	kept_nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (kept_nl && mnl_socket_bind(kept_nl, 0, MNL_SOCKET_AUTOPID) != 0) {
		mnl_socket_close(kept_nl);
		kept_nl = NULL;
	}
	if (!kept_nl)
		return NULL;
	if (!next_seq)
		next_seq = (uint32_t)time(NULL);
	kept_owner = now;
	return kept_nl;
}

/* What the kernel answered to messages first..last. */
typedef struct {
	uint32_t first, last;
	uint32_t acked_seq; /* the message whose answer ends the answers */
	bool acked;
	uint32_t error_seq; /* the earliest refused message */
	int error;	    /* its errno; 0 = none */
	bool got_table;	    /* a NEWTABLE answer came */
} answers;

static void take(answers *a, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_seq - a->first > a->last - a->first)
		return; /* an earlier batch's (unsigned: right across a wrap) */
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
			return;
		const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
		if (nlh->nlmsg_seq == a->acked_seq)
			a->acked = true;
		if (err->error && (!a->error || nlh->nlmsg_seq - a->first < a->error_seq - a->first)) {
			a->error = -err->error;
			a->error_seq = nlh->nlmsg_seq;
		}
	} else if (nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) {
		a->got_table = true;
	}
}

/* Reads answers until acked_seq's came (or a refusal: the transaction is
 * then void). -1 with errno when the socket fails. */
static int read_answers(struct mnl_socket *nl, answers *a)
{
	while (!a->acked) {
		ssize_t got = recv(mnl_socket_get_fd(nl), answer_buf, sizeof(answer_buf), MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (a->error)
				return 0;
			struct pollfd p = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
			int ready = poll(&p, 1, ANSWER_TIMEOUT_MS);
			if (ready == 0)
				errno = ETIMEDOUT;
			if (ready <= 0)
				return -1;
			continue;
		}
		if (got < 0)
			return -1;
		int len = (int)got;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)answer_buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			take(a, nlh);
	}
	return 0;
}

/* The whole batch must fit the socket's send buffer (one sendmsg is one
 * transaction): grown when not, as nft does, as root past wmem_max. */
static void fit_send_buffer(int fd, size_t len)
{
	int have = 0;
	socklen_t size = sizeof(have);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &size) == 0 && (size_t)have >= len)
		return;
	int want = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

static int send_batch(struct mnl_socket *nl, struct nftnl_batch *batch)
{
	int n = nftnl_batch_iovec_len(batch);
	struct iovec iov[n];
	nftnl_batch_iovec(batch, iov, (uint32_t)n);
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	fit_send_buffer(mnl_socket_get_fd(nl), len);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct msghdr msg = {
	    .msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov, .msg_iovlen = (size_t)n};
	return sendmsg(mnl_socket_get_fd(nl), &msg, 0) < 0 ? -1 : 0;
}

/* Appends e's message; false when out of memory. */
static bool put_elem(struct nftnl_batch *batch, const char *table, const sv_nft_elem *e, uint32_t seq,
		     bool ack)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	if (!s || !el || nftnl_set_set_str(s, NFTNL_SET_TABLE, table) ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, e->set) ||
	    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key, e->key_len) ||
	    (e->add && e->data_len && nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, e->data, e->data_len))) {
		nftnl_set_elem_free(el);
		nftnl_set_free(s);
		return false;
	}
	nftnl_set_elem_add(s, el); /* s owns it now */
	struct nlmsghdr *nlh =
	    nftnl_nlmsg_build_hdr(nftnl_batch_buffer(batch), e->add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
				  e->bridge_family ? NFPROTO_BRIDGE : NFPROTO_IPV4,
				  (e->add ? NLM_F_CREATE : 0) | (ack ? NLM_F_ACK : 0), seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return nftnl_batch_update(batch) == 0;
}

static int refused(const char *what, const char *table, const sv_nft_elem *elems, size_t n, const answers *a)
{
	size_t i = a->error_seq - a->first - 1; /* the batch's begin is first */
	if (a->error_seq == a->first || i >= n)
		return sv_err(SV_ENETWORK, "%s: nftables refused the batch: %s", what, strerror(a->error));
	const sv_nft_elem *e = &elems[i];
	return sv_err(SV_ENETWORK, "%s: %s element %s %s set %s %s %s: %s", what,
		      e->add ? "adding" : "deleting", e->text, e->add ? "to" : "from",
		      e->bridge_family ? "bridge" : "ip", table, e->set, strerror(a->error));
}

int sv_nft_elems_apply(const char *table, const sv_nft_elem *elems, size_t n, const char *what)
{
	if (!n)
		return 0;
	sv_trace_span step;
	sv_trace_begin(&step);
	struct nftnl_batch *batch = nftnl_batch_alloc(16384, 4096);
	if (!batch)
		return sv_err(SV_ENOMEM, "out of memory");
	pthread_mutex_lock(&nl_lock);
	int rc = 0;
	struct mnl_socket *nl = nl_socket();
	if (!nl) {
		rc =
		    sv_err(SV_ENETWORK, "%s: opening an nf_tables netlink socket: %s", what, strerror(errno));
		goto out;
	}
	answers a = {.first = next_seq, .acked_seq = next_seq + (uint32_t)n};
	uint32_t seq = next_seq;
	nftnl_batch_begin(nftnl_batch_buffer(batch), seq++);
	bool built = nftnl_batch_update(batch) == 0;
	for (size_t i = 0; i < n && built; i++)
		built = put_elem(batch, table, &elems[i], seq++, i == n - 1);
	if (built) {
		nftnl_batch_end(nftnl_batch_buffer(batch), seq++);
		built = nftnl_batch_update(batch) == 0;
	}
	next_seq = seq;
	a.last = seq - 1;
	if (!built)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if (send_batch(nl, batch) != 0 || read_answers(nl, &a) != 0)
		rc = sv_err(SV_ENETWORK, "%s: nf_tables netlink: %s", what, strerror(errno));
	else if (a.error)
		rc = refused(what, table, elems, n, &a);
out:
	pthread_mutex_unlock(&nl_lock);
	nftnl_batch_free(batch);
	sv_trace_end(&step, "net:nft_elements");
	return rc;
}

int sv_nft_elems_table_exists(const char *table, bool *exists)
{
	*exists = false;
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, table)) {
		nftnl_table_free(t);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	char request[256];
	pthread_mutex_lock(&nl_lock);
	int rc = 0;
	struct mnl_socket *nl = nl_socket();
	answers a = {.first = next_seq, .last = next_seq, .acked_seq = next_seq};
	if (nl) {
		struct nlmsghdr *nlh =
		    nftnl_nlmsg_build_hdr(request, NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK, next_seq++);
		nftnl_table_nlmsg_build_payload(nlh, t);
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 || read_answers(nl, &a) != 0)
			nl = NULL;
	}
	if (!nl)
		rc = sv_err(SV_ENETWORK, "looking up nftables table %s: %s", table, strerror(errno));
	else if (a.error && a.error != ENOENT)
		rc = sv_err(SV_ENETWORK, "looking up nftables table %s: %s", table, strerror(a.error));
	else
		*exists = !a.error && a.got_table;
	pthread_mutex_unlock(&nl_lock);
	nftnl_table_free(t);
	return rc;
}
