// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_app_check: behaviours that applications (UCX, MPI, perftest...)
 * rely on, through unmodified libibverbs, on loopback QP pairs of one
 * device (as sodp_rc_check).
 *
 *   sodp_app_check DEV SCENARIO
 *
 * Output as sodp_rc_check (tap.h): "ok - ...", "not ok - ...: why",
 * "# ..."; exit 1 if an assertion failed, 2 on a setup error. Where the
 * behaviour asserted is sodp's (and mlx5's) but not rxe's, the assertion
 * is made only on a sodp device and printed as a comment elsewhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <infiniband/verbs.h>

#include "tap.h"

#define LW		IBV_ACCESS_LOCAL_WRITE
#define RW		IBV_ACCESS_REMOTE_WRITE
#define RR		IBV_ACCESS_REMOTE_READ
#define RA		IBV_ACCESS_REMOTE_ATOMIC
#define ODP		IBV_ACCESS_ON_DEMAND
#define REMOTE		(RW | RR | RA)
/* One mask for the MRs and the QPs, as many programs write it. */
#define APP_MASK	(ODP | LW | RW | RR | RA)
#define BUF		(64 * 1024UL)
#define WAIT_MS		10000
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *devname;
static bool is_sodp;
static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_device_attr_ex dattr;
static struct ibv_port_attr pattr;
static union ibv_gid gid;
static int gid_index = -1;

static void __attribute__((format(printf, 3, 4)))
expect_sodp(bool cond, const char *what, const char *fmt, ...)
{
	va_list ap;
	char why[512];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (is_sodp)
		expect(cond, what, "%s", why);
	else
		note("%s (sodp only; on %s: %s)", what, devname,
		     cond ? "same" : why);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The RoCEv2 GID with an IPv4-mapped address. */
static void find_gid(void)
{
	struct ibv_gid_entry e;
	int i;

	for (i = 0; i < pattr.gid_tbl_len && i < 256; i++) {
		if (ibv_query_gid_ex(ctx, 1, i, &e, 0) ||
		    e.gid_type != IBV_GID_TYPE_ROCE_V2 ||
		    memcmp(e.gid.raw, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
			continue;
		gid_index = i;
		gid = e.gid;
		return;
	}
	die("%s has no RoCEv2 IPv4 GID", devname);
}

static bool has_odp(void)
{
	const struct ibv_odp_caps *c = &dattr.odp_caps;
	uint32_t need = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV |
			IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ |
			IBV_ODP_SUPPORT_ATOMIC;

	return (c->general_caps & IBV_ODP_SUPPORT) &&
	       (c->per_transport_caps.rc_odp_caps & need) == need;
}

/* ---- QPs ---------------------------------------------------------------- */

struct side {
	struct ibv_qp *qp;
	struct ibv_cq *scq, *rcq;
	bool own_cqs;
	char *buf;
	struct ibv_mr *mr;
};

static struct ibv_cq *must_cq(int cqe)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, cqe, NULL, NULL, 0);

	if (!cq)
		die("ibv_create_cq(%d)", cqe);
	return cq;
}

static struct ibv_qp *must_qp(struct ibv_cq *scq, struct ibv_cq *rcq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = scq, .recv_cq = rcq, .qp_type = IBV_QPT_RC,
		.cap = { 64, 64, 1, 1, 0 }, .sq_sig_all = 1,
	};
	struct ibv_qp *qp = ibv_create_qp(pd, &a);

	if (!qp)
		die("ibv_create_qp");
	return qp;
}

/* A QP with its buffer; on its own CQs unless scq/rcq are given. */
static void side_init(struct side *s, struct ibv_cq *scq, struct ibv_cq *rcq)
{
	s->own_cqs = !scq;
	s->scq = scq ? scq : must_cq(256);
	s->rcq = rcq ? rcq : must_cq(256);
	s->qp = must_qp(s->scq, s->rcq);
	s->buf = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->buf == MAP_FAILED)
		die("mmap");
	s->mr = ibv_reg_mr(pd, s->buf, BUF, (LW | REMOTE) |
			   (has_odp() ? ODP : 0));
	if (!s->mr)
		die("ibv_reg_mr");
}

static void side_free(struct side *s)
{
	if (s->qp && ibv_destroy_qp(s->qp))
		die("ibv_destroy_qp");
	if (ibv_dereg_mr(s->mr))
		die("ibv_dereg_mr");
	if (s->own_cqs && (ibv_destroy_cq(s->scq) || ibv_destroy_cq(s->rcq)))
		die("ibv_destroy_cq");
	munmap(s->buf, BUF);
}

static int to_state(struct ibv_qp *qp, enum ibv_qp_state s)
{
	struct ibv_qp_attr at = { .qp_state = s };

	return ibv_modify_qp(qp, &at, IBV_QP_STATE);
}

static int to_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr at = {
		.qp_state = IBV_QPS_INIT, .port_num = 1,
		.qp_access_flags = access,
	};

	return ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int to_rtr_rts(struct ibv_qp *qp, uint32_t dqpn)
{
	int rd = dattr.orig_attr.max_qp_rd_atom < 16 ?
		 dattr.orig_attr.max_qp_rd_atom : 16;
	struct ibv_qp_attr at = {
		.qp_state = IBV_QPS_RTR, .path_mtu = pattr.active_mtu,
		.dest_qp_num = dqpn, .max_dest_rd_atomic = rd,
		.min_rnr_timer = 1,
		.ah_attr = {
			.is_global = 1, .port_num = 1,
			.grh = { .dgid = gid, .sgid_index = gid_index,
				 .hop_limit = 64 },
		},
	};
	int ret;

	ret = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return ret;
	at = (struct ibv_qp_attr){
		.qp_state = IBV_QPS_RTS, .timeout = 14, .retry_cnt = 7,
		.rnr_retry = 7, .max_rd_atomic = rd,
	};
	return ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

static void connect_qp(struct ibv_qp *qp, int access, uint32_t dqpn)
{
	int ret = to_init(qp, access);

	if (!ret)
		ret = to_rtr_rts(qp, dqpn);
	if (ret) {
		errno = ret;
		die("connecting QP %u to %u", qp->qp_num, dqpn);
	}
}

static int post_recv(struct side *s, uint64_t id)
{
	struct ibv_sge sg = { (uintptr_t)s->buf, 64, s->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = &sg, .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(s->qp, &wr, &bad);
}

/* SEND, RDMA WRITE/READ or FETCH_ADD of 8 bytes at offset 0 to @dst. */
static int post_op(struct side *s, enum ibv_wr_opcode op, uint64_t id,
		   const struct side *dst)
{
	struct ibv_sge sg = { (uintptr_t)s->buf + 4096, 8, s->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = id, .opcode = op, .sg_list = &sg, .num_sge = 1,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;

	if (op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr.wr.atomic.remote_addr = (uintptr_t)dst->buf;
		wr.wr.atomic.rkey = dst->mr->rkey;
		wr.wr.atomic.compare_add = 5;
	} else if (dst) {
		wr.wr.rdma.remote_addr = (uintptr_t)dst->buf;
		wr.wr.rdma.rkey = dst->mr->rkey;
	}
	return ibv_post_send(s->qp, &wr, &bad);
}

/* Poll up to n completions from cq within ms; returns how many. */
static int poll_n(struct ibv_cq *cq, struct ibv_wc *wc, int n, long ms)
{
	long end = now_ms() + ms;
	int got = 0, r;

	while (got < n) {
		r = ibv_poll_cq(cq, n - got, wc + got);
		if (r < 0)
			break;
		got += r;
		if (got < n && now_ms() > end)
			break;
		if (!r)
			usleep(200);
	}
	return got;
}

static const char *st(int s)
{
	return ibv_wc_status_str(s);
}

/*
 * Exactly the completions @want (wr_id, status, qp_num) come out of cq in
 * this order, and nothing after them within a short wait.
 */
struct wcw {
	uint64_t id;
	enum ibv_wc_status status;
	uint32_t qpn;
};

static void expect_cq(struct ibv_cq *cq, const struct wcw *want, int n,
		      bool sodp_only, const char *what)
{
	struct ibv_wc wc[32];
	char why[1024] = "";
	int got, i, len = 0;

	got = poll_n(cq, wc, n, WAIT_MS);
	if (got == n)
		got += poll_n(cq, wc + n, ARRAY_SIZE(wc) - n, 300);
	for (i = 0; i < got || i < n; i++) {
		if (i < got && i < n && wc[i].wr_id == want[i].id &&
		    wc[i].status == want[i].status &&
		    wc[i].qp_num == want[i].qpn)
			continue;
		if (i < got)
			len += snprintf(why + len, sizeof(why) - len,
					"#%d: wr_id %" PRIu64 " %s qp %u",
					i, wc[i].wr_id, st(wc[i].status),
					wc[i].qp_num);
		else
			len += snprintf(why + len, sizeof(why) - len,
					"#%d: nothing", i);
		if (i < n)
			len += snprintf(why + len, sizeof(why) - len,
					" (want wr_id %" PRIu64 " %s qp %u); ",
					want[i].id, st(want[i].status),
					want[i].qpn);
		else
			len += snprintf(why + len, sizeof(why) - len,
					" (want nothing); ");
		if (len >= (int)sizeof(why) - 100)
			break;
	}
	if (sodp_only)
		expect_sodp(!len, what, "%s", why);
	else
		expect(!len, what, "%s", why);
}

/* ---- access: one access mask for the MR and the QP ----------------------- */

/* Does this kernel's ib_core define IB_ACCESS_FLUSH_* (since 6.2)? */
static bool kernel_has_flush_bits(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		die("uname");
	return maj > 6 || (maj == 6 && min >= 2);
}

static int sc_access(void)
{
	static const struct { int bit; const char *name; } defined[] = {
		{ 0, "LOCAL_WRITE" }, { 1, "REMOTE_WRITE" },
		{ 2, "REMOTE_READ" }, { 3, "REMOTE_ATOMIC" },
		{ 4, "MW_BIND" }, { 5, "ZERO_BASED" }, { 6, "ON_DEMAND" },
		{ 7, "HUGETLB" }, { 20, "RELAXED_ORDERING" },
		{ 21, "optional 21" }, { 29, "optional 29" },
	};
	bool flush = kernel_has_flush_bits();
	struct side a, b;
	struct ibv_qp_attr at;
	struct ibv_qp_init_attr ia;
	struct ibv_wc wc;
	char bad[256];
	unsigned int i, len;
	int ret, bit;

	side_init(&a, NULL, NULL);
	side_init(&b, NULL, NULL);

	expect(!to_init(a.qp, APP_MASK),
	       "RESET -> INIT with ON_DEMAND | LOCAL_WRITE | REMOTE_* (one mask for MR and QP)",
	       "%s", strerror(to_init(a.qp, APP_MASK)));
	memset(&at, 0, sizeof(at));
	ret = ibv_query_qp(a.qp, &at, IBV_QP_ACCESS_FLAGS, &ia);
	expect_sodp(!ret && at.qp_access_flags == REMOTE,
		    "query_qp: only the remote bits are kept",
		    "ret %d access 0x%x", ret, at.qp_access_flags);
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT,
				   .qp_access_flags = APP_MASK | IBV_ACCESS_RELAXED_ORDERING };
	expect(!ibv_modify_qp(a.qp, &at, IBV_QP_STATE | IBV_QP_ACCESS_FLAGS),
	       "INIT -> INIT with the same mask and RELAXED_ORDERING", "%s",
	       strerror(errno));

	for (i = 0; i < ARRAY_SIZE(defined); i++) {
		char what[128];

		to_state(a.qp, IBV_QPS_RESET);
		ret = to_init(a.qp, RW | (1 << defined[i].bit));
		snprintf(what, sizeof(what),
			 "INIT with REMOTE_WRITE | %s (bit %d): accepted",
			 defined[i].name, defined[i].bit);
		expect(!ret, what, "%s", strerror(ret));
	}
	for (bit = 8; bit <= 9; bit++) {
		char what[128];

		to_state(a.qp, IBV_QPS_RESET);
		ret = to_init(a.qp, RW | (1 << bit));
		snprintf(what, sizeof(what),
			 "INIT with IB_ACCESS_FLUSH_%s (bit %d): %s on this kernel",
			 bit == 8 ? "GLOBAL" : "PERSISTENT", bit,
			 flush ? "accepted (ib_core >= 6.2 defines it)" :
				 "EINVAL (ib_core < 6.2 does not define it)");
		if (flush)
			expect(!ret, what, "%s", strerror(ret));
		else
			expect_sodp(ret == EINVAL, what, "%s", strerror(ret));
	}
	len = 0;
	bad[0] = 0;
	for (bit = 10; bit <= 31; bit++) {
		if (bit >= 20 && bit <= 29)
			continue;
		to_state(a.qp, IBV_QPS_RESET);
		ret = to_init(a.qp, RW | (int)(1U << bit));
		if (ret != EINVAL)
			len += snprintf(bad + len, sizeof(bad) - len,
					"bit %d: %s; ", bit, strerror(ret));
	}
	expect_sodp(!len, "INIT with an undefined bit (10..19, 30, 31): EINVAL each",
		    "%s", bad);

	/* The application-style mask on both QPs: the remote rights work. */
	to_state(a.qp, IBV_QPS_RESET);
	connect_qp(a.qp, APP_MASK, b.qp->qp_num);
	connect_qp(b.qp, APP_MASK, a.qp->qp_num);
	memset(b.buf, 0, 8);
	memcpy(a.buf + 4096, "sodp-app", 8);
	post_op(&a, IBV_WR_RDMA_WRITE, 1, &b);
	ret = poll_n(a.scq, &wc, 1, WAIT_MS);
	expect(ret == 1 && wc.status == IBV_WC_SUCCESS &&
	       !memcmp(b.buf, "sodp-app", 8),
	       "RDMA WRITE to a QP whose INIT mask had ON_DEMAND and LOCAL_WRITE",
	       "%d %s", ret, ret ? st(wc.status) : "");
	post_op(&a, IBV_WR_RDMA_READ, 2, &b);
	ret = poll_n(a.scq, &wc, 1, WAIT_MS);
	expect(ret == 1 && wc.status == IBV_WC_SUCCESS, "RDMA READ from it",
	       "%d %s", ret, ret ? st(wc.status) : "");
	post_op(&a, IBV_WR_ATOMIC_FETCH_AND_ADD, 3, &b);
	ret = poll_n(a.scq, &wc, 1, WAIT_MS);
	expect(ret == 1 && wc.status == IBV_WC_SUCCESS, "FETCH_AND_ADD on it",
	       "%d %s", ret, ret ? st(wc.status) : "");

	/* Local bits grant nothing remote: no REMOTE_WRITE, no WRITE. */
	to_state(b.qp, IBV_QPS_RESET);
	to_state(a.qp, IBV_QPS_RESET);
	connect_qp(a.qp, APP_MASK, b.qp->qp_num);
	connect_qp(b.qp, ODP | LW | RR | IBV_ACCESS_MW_BIND, a.qp->qp_num);
	post_op(&a, IBV_WR_RDMA_WRITE, 4, &b);
	ret = poll_n(a.scq, &wc, 1, WAIT_MS);
	expect(ret == 1 && wc.status == IBV_WC_REM_ACCESS_ERR,
	       "RDMA WRITE to a QP with ON_DEMAND | LOCAL_WRITE | REMOTE_READ | MW_BIND: IBV_WC_REM_ACCESS_ERR",
	       "%d %s", ret, ret ? st(wc.status) : "");

	side_free(&a);
	side_free(&b);
	return 0;
}

/* ---- cqclean: a reset or destroyed QP leaves nothing in shared CQs ------- */

/* A SEND from @s to @peer, once @peer has received it. */
static void send_to(struct side *s, uint64_t id, struct side *peer,
		    uint64_t rid)
{
	struct ibv_wc wc;

	if (post_recv(peer, rid) || post_op(s, IBV_WR_SEND, id, NULL))
		die("posting SEND %" PRIu64, id);
	if (poll_n(peer->rcq, &wc, 1, WAIT_MS) != 1 || wc.status)
		die("SEND %" PRIu64 " did not arrive", id);
}

/*
 * A SEND from Y to Yp (Y's completion goes to the shared send CQ) and one
 * from Yp to Y (Y's receive completion to the shared receive CQ). Only
 * Yp's own CQs are polled: Y's receive completion is in place before Yp's
 * requester completion.
 */
static void y_traffic(struct side *y, struct side *yp, uint64_t sid,
		      uint64_t rid)
{
	struct ibv_wc wc;

	send_to(y, sid, yp, 0);
	if (post_recv(y, rid) || post_op(yp, IBV_WR_SEND, 0, NULL))
		die("posting Yp's SEND");
	if (poll_n(yp->scq, &wc, 1, WAIT_MS) != 1 || wc.status)
		die("Yp's SEND did not complete");
}

static int sc_cqclean(void)
{
	struct ibv_cq *scq = must_cq(256), *rcq = must_cq(256);
	struct side x, y, xp, yp;
	uint32_t xq, yq;
	int i;

	side_init(&x, scq, rcq);
	side_init(&y, scq, rcq);
	side_init(&xp, NULL, NULL);
	side_init(&yp, NULL, NULL);
	xq = x.qp->qp_num;
	yq = y.qp->qp_num;
	connect_qp(x.qp, REMOTE, xp.qp->qp_num);
	connect_qp(xp.qp, REMOTE, xq);
	connect_qp(y.qp, REMOTE, yp.qp->qp_num);
	connect_qp(yp.qp, REMOTE, yq);
	note("QP X %u and QP Y %u share a send CQ and a receive CQ", xq, yq);

	/* CQEs of Y, then X's flushes, then Y's again. */
	y_traffic(&y, &yp, 100, 200);
	for (i = 1; i <= 3; i++)
		post_recv(&x, i);
	/* No receive at Xp: these wait (RNR, rnr_retry 7) until the flush. */
	post_op(&x, IBV_WR_SEND, 4, NULL);
	post_op(&x, IBV_WR_SEND, 5, NULL);
	msleep(100);
	expect(!to_state(x.qp, IBV_QPS_ERR), "X -> ERR with 3 receives and 2 SENDs outstanding",
	       "%s", strerror(errno));
	msleep(300);
	y_traffic(&y, &yp, 101, 201);
	msleep(100);
	expect(!to_state(x.qp, IBV_QPS_RESET), "X -> RESET", "%s",
	       strerror(errno));
	expect_cq(scq, (struct wcw[]){ { 100, IBV_WC_SUCCESS, yq },
				       { 101, IBV_WC_SUCCESS, yq } }, 2, true,
		  "after X's RESET its send CQ holds Y's 2 completions in order, none of X's flushes");
	expect_cq(rcq, (struct wcw[]){ { 200, IBV_WC_SUCCESS, yq },
				       { 201, IBV_WC_SUCCESS, yq } }, 2, true,
		  "and its receive CQ Y's 2 receives in order, none of X's flushes");

	/* RESET -> INIT -> RTR -> RTS: the next poll is the new work. */
	connect_qp(x.qp, REMOTE, xp.qp->qp_num);
	send_to(&x, 6, &xp, 0);
	expect_cq(scq, (struct wcw[]){ { 6, IBV_WC_SUCCESS, xq } }, 1, false,
		  "X recovered (RESET, INIT, RTR, RTS): the next poll is its new SEND, successful");

	/* Destroy: X's unpolled completions go, Y's stay. */
	send_to(&x, 7, &xp, 0);
	y_traffic(&y, &yp, 102, 202);
	post_recv(&x, 8);
	post_recv(&x, 9);
	expect(!to_state(x.qp, IBV_QPS_ERR), "X -> ERR with 2 receives", "%s",
	       strerror(errno));
	msleep(100);
	y_traffic(&y, &yp, 103, 203);
	msleep(100);
	expect(!ibv_destroy_qp(x.qp), "destroy X with completions unpolled",
	       "%s", strerror(errno));
	x.qp = NULL;
	expect_cq(scq, (struct wcw[]){ { 102, IBV_WC_SUCCESS, yq },
				       { 103, IBV_WC_SUCCESS, yq } }, 2, true,
		  "after X's destroy the send CQ holds Y's completions only, in order");
	expect_cq(rcq, (struct wcw[]){ { 202, IBV_WC_SUCCESS, yq },
				       { 203, IBV_WC_SUCCESS, yq } }, 2, true,
		  "and the receive CQ Y's receives only, in order");
	side_free(&x);
	side_free(&y);
	side_free(&xp);
	side_free(&yp);
	ibv_destroy_cq(scq);
	ibv_destroy_cq(rcq);
	return 0;
}

/* ---- cqrace: the same while another thread polls the CQs ----------------- */

struct race {
	struct ibv_cq *scq, *rcq;
	uint32_t xq, yq;
	atomic_uint x_epoch;	/* RESETs of X done */
	atomic_uint y_done;	/* Y completions polled */
	atomic_bool stop;
	/* the poller's findings */
	unsigned int y_next, y_bad, x_seen, x_bad, x_stale, other;
	char why[256];
};

static void race_wc(struct race *r, const struct ibv_wc *wc,
		    unsigned int epoch)
{
	if (wc->qp_num == r->yq) {
		if ((wc->wr_id != r->y_next || wc->status) && !r->y_bad++)
			snprintf(r->why, sizeof(r->why),
				 "Y: wr_id %" PRIu64 " %s, want %u success",
				 wc->wr_id, st(wc->status), r->y_next);
		atomic_store(&r->y_done, ++r->y_next);
	} else if (wc->qp_num == r->xq) {
		r->x_seen++;
		if (wc->status != IBV_WC_WR_FLUSH_ERR)
			r->x_bad++;
		/* X's work of an epoch that was reset before this poll */
		if ((unsigned int)(wc->wr_id >> 32) < epoch)
			r->x_stale++;
	} else {
		r->other++;
	}
}

static void *race_poller(void *arg)
{
	struct race *r = arg;
	struct ibv_wc wc[16];
	unsigned int epoch;
	int i, n, k;

	while (!atomic_load(&r->stop)) {
		for (k = 0; k < 2; k++) {
			/* Read before the poll: what was reset is gone. */
			epoch = atomic_load(&r->x_epoch);
			n = ibv_poll_cq(k ? r->rcq : r->scq, 16, wc);
			for (i = 0; i < n; i++)
				race_wc(r, &wc[i], epoch);
		}
	}
	return NULL;
}

static int sc_cqrace(void)
{
	const unsigned int total = 3000, depth = 32;
	struct race r = { 0 };
	struct side x, y, yp;
	struct ibv_wc wc[4];
	unsigned int posted = 0, cycles = 0, j;
	uint64_t e;
	pthread_t t;
	long end;
	int n;

	r.scq = must_cq(1024);
	r.rcq = must_cq(1024);
	side_init(&x, r.scq, r.rcq);
	side_init(&y, r.scq, r.rcq);
	side_init(&yp, NULL, NULL);
	r.xq = x.qp->qp_num;
	r.yq = y.qp->qp_num;
	connect_qp(y.qp, REMOTE, yp.qp->qp_num);
	connect_qp(yp.qp, REMOTE, r.yq);
	if (pthread_create(&t, NULL, race_poller, &r))
		die("pthread_create");

	/* Y streams WRITEs; X cycles INIT, ERR (flushes), RESET meanwhile. */
	end = now_ms() + 120000;
	while ((atomic_load(&r.y_done) < total || cycles < 50) &&
	       now_ms() < end) {
		while (posted < total &&
		       posted - atomic_load(&r.y_done) < depth)
			if (post_op(&y, IBV_WR_RDMA_WRITE, posted++, &yp))
				die("posting WRITE %u", posted - 1);
		e = (uint64_t)atomic_load(&r.x_epoch) << 32;
		if (to_init(x.qp, REMOTE))
			die("X -> INIT");
		for (j = 0; j < 4; j++)
			post_recv(&x, e | j);
		if (to_state(x.qp, IBV_QPS_ERR))
			die("X -> ERR");
		for (j = 0; j < 4; j++)
			post_op(&x, IBV_WR_SEND, e | (100 + j), NULL);
		if (to_state(x.qp, IBV_QPS_RESET))
			die("X -> RESET");
		atomic_fetch_add(&r.x_epoch, 1);
		cycles++;
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);

	note("%u X cycles (INIT, 4 receives, ERR, 4 SENDs, RESET); the poller saw %u of X's flushes",
	     cycles, r.x_seen);
	expect(r.y_next == total && !r.y_bad,
	       "Y's 3000 WRITE completions were polled once each, in order, successful, while X was reset",
	       "%u polled, %u wrong: %s", r.y_next, r.y_bad, r.why);
	expect(!r.x_bad && !r.other,
	       "every completion of X polled was a flush", "%u not a flush, %u of no QP",
	       r.x_bad, r.other);
	expect_sodp(!r.x_stale,
		    "no completion of X polled after the RESET that ended its work",
		    "%u stale completions polled", r.x_stale);
	n = poll_n(r.scq, wc, 4, 300) + poll_n(r.rcq, wc, 4, 300);
	expect_sodp(!n, "nothing left in the CQs after X's last RESET",
		    "%d completions", n);

	side_free(&x);
	side_free(&y);
	side_free(&yp);
	ibv_destroy_cq(r.scq);
	ibv_destroy_cq(r.rcq);
	return 0;
}

/* ---- cqex: unsupported is EOPNOTSUPP, bad is EINVAL ---------------------- */

/* 0 if created (and destroyed again), else errno */
static int cqex_create(struct ibv_cq_init_attr_ex c)
{
	struct ibv_cq_ex *cq;

	errno = 0;
	cq = ibv_create_cq_ex(ctx, &c);
	if (!cq)
		return errno ? errno : -1;
	if (ibv_destroy_cq(ibv_cq_ex_to_cq(cq)))
		die("ibv_destroy_cq");
	return 0;
}

static const char *err_str(int e)
{
	return e ? strerror(e) : "created";
}

static void cqex_expect(struct ibv_cq_init_attr_ex c, int want,
			const char *what)
{
	int got = cqex_create(c);
	char w[256];

	snprintf(w, sizeof(w), "ibv_create_cq_ex with %s: %s", what,
		 want ? strerror(want) : "created");
	if (want != EOPNOTSUPP) {
		expect(got == want, w, "%s", err_str(got));
		return;
	}
	/* Elsewhere it may be supported; never EINVAL (UCX aborts on it). */
	if (!is_sodp)
		expect(got != EINVAL, w, "%s", err_str(got));
	expect_sodp(got == EOPNOTSUPP, w, "%s", err_str(got));
}

static int sc_cqex(void)
{
	static const struct { uint64_t f; const char *name; } wc_flags[] = {
		{ IBV_WC_EX_WITH_COMPLETION_TIMESTAMP, "COMPLETION_TIMESTAMP" },
		{ IBV_WC_EX_WITH_CVLAN, "CVLAN" },
		{ IBV_WC_EX_WITH_FLOW_TAG, "FLOW_TAG" },
		{ IBV_WC_EX_WITH_TM_INFO, "TM_INFO" },
		{ IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
		  "COMPLETION_TIMESTAMP_WALLCLOCK" },
		{ 1ULL << 12, "undefined bit 12" },
		{ 1ULL << 31, "undefined bit 31" },
		{ 1ULL << 63, "undefined bit 63" },
	};
	static const struct { uint32_t f; const char *name; } flags[] = {
		{ IBV_CREATE_CQ_ATTR_SINGLE_THREADED, "SINGLE_THREADED" },
		{ IBV_CREATE_CQ_ATTR_IGNORE_OVERRUN, "IGNORE_OVERRUN" },
		{ 1U << 2, "undefined bit 2" },
		{ 1U << 31, "undefined bit 31" },
	};
	const struct ibv_cq_init_attr_ex base = {
		.cqe = 16, .wc_flags = IBV_WC_STANDARD_FLAGS,
	};
	struct ibv_cq_init_attr_ex c;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	char what[128];
	struct ibv_cq *cq;
	unsigned int i;

	cqex_expect(base, 0, "the standard wc_flags");
	c = base;
	c.comp_mask = IBV_CQ_INIT_ATTR_MASK_FLAGS;
	cqex_expect(c, 0, "comp_mask FLAGS and no flag");

	for (i = 0; i < ARRAY_SIZE(wc_flags); i++) {
		c = base;
		c.wc_flags |= wc_flags[i].f;
		snprintf(what, sizeof(what), "wc_flags %s", wc_flags[i].name);
		cqex_expect(c, EOPNOTSUPP, what);
	}
	c = base;
	c.comp_mask = IBV_CQ_INIT_ATTR_MASK_PD;
	c.parent_domain = pd;
	cqex_expect(c, EOPNOTSUPP, "comp_mask PD (a parent domain)");
	c = base;
	c.comp_mask = 1U << 2;
	cqex_expect(c, EOPNOTSUPP, "comp_mask undefined bit 2");
	c = base;
	c.comp_mask = 1U << 31;
	cqex_expect(c, EOPNOTSUPP, "comp_mask undefined bit 31");
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		c = base;
		c.comp_mask = IBV_CQ_INIT_ATTR_MASK_FLAGS;
		c.flags = flags[i].f;
		snprintf(what, sizeof(what), "flags %s", flags[i].name);
		cqex_expect(c, EOPNOTSUPP, what);
	}

	/* UCX passes its CPU number as the completion vector. */
	note("num_comp_vectors %d, %ld CPUs", ctx->num_comp_vectors, cpus);
	expect_sodp(ctx->num_comp_vectors >= cpus,
		    "num_comp_vectors is at least the number of CPUs",
		    "%d < %ld", ctx->num_comp_vectors, cpus);
	for (i = 0; i < (unsigned int)cpus && i < 64; i++) {
		c = base;
		c.comp_vector = i;
		snprintf(what, sizeof(what), "comp_vector %u (a CPU number)", i);
		cqex_expect(c, 0, what);
		cq = ibv_create_cq(ctx, 16, NULL, NULL, i);
		expect(cq != NULL, "ibv_create_cq with that comp_vector", "%s",
		       strerror(errno));
		if (cq)
			ibv_destroy_cq(cq);
	}

	/* Merely bad requests stay EINVAL. */
	c = base;
	c.comp_vector = ctx->num_comp_vectors;
	cqex_expect(c, EINVAL, "comp_vector = num_comp_vectors");
	c = base;
	c.cqe = 0;
	cqex_expect(c, EINVAL, "cqe 0");
	c = base;
	c.cqe = dattr.orig_attr.max_cqe + 1;
	cqex_expect(c, EINVAL, "cqe max_cqe + 1");
	c = base;
	c.cqe = UINT32_MAX;
	cqex_expect(c, EINVAL, "cqe UINT32_MAX");
	return 0;
}

/* ---- port: what UCX checks in ibv_query_port ----------------------------- */

static int sc_port(void)
{
	static const union ibv_gid zero;
	struct ibv_port_attr pa;
	union ibv_gid g0;
	char path[256], type[64] = "";
	FILE *f;
	int ret, w, s;

	memset(&pa, 0xa5, sizeof(pa));
	ret = ibv_query_port(ctx, 1, &pa);
	expect(!ret, "ibv_query_port", "%s", strerror(ret));
	w = pa.active_width;
	s = pa.active_speed;
	note("state %d phys_state %d link_layer %d active_width %d active_speed %d active_mtu %d max_mtu %d gid_tbl_len %d pkey_tbl_len %d",
	     pa.state, pa.phys_state, pa.link_layer, w, s, pa.active_mtu,
	     pa.max_mtu, pa.gid_tbl_len, pa.pkey_tbl_len);
	expect(pa.state == IBV_PORT_ACTIVE, "state IBV_PORT_ACTIVE", "%s",
	       ibv_port_state_str(pa.state));
	expect(pa.phys_state == 5, "phys_state 5 (LinkUp)", "%d", pa.phys_state);
	expect(pa.link_layer == IBV_LINK_LAYER_ETHERNET, "link_layer Ethernet",
	       "%d", pa.link_layer);
	expect(w == 1 || w == 2 || w == 4 || w == 8 || w == 16,
	       "active_width one of 1, 2, 4, 8, 16 (IB_WIDTH_*)", "%d", w);
	expect(s == 1 || s == 2 || s == 4 || s == 8 || s == 16 || s == 32 ||
	       s == 64 || s == 128,
	       "active_speed a valid IB speed (SDR..NDR)", "%d", s);
	expect(pa.active_mtu >= IBV_MTU_256 && pa.active_mtu <= pa.max_mtu &&
	       pa.max_mtu <= IBV_MTU_4096, "active_mtu valid, at most max_mtu",
	       "%d / %d", pa.active_mtu, pa.max_mtu);
	expect(pa.gid_tbl_len > 0 && pa.pkey_tbl_len > 0,
	       "gid_tbl_len and pkey_tbl_len > 0", "%d %d", pa.gid_tbl_len,
	       pa.pkey_tbl_len);
	ret = ibv_query_gid(ctx, 1, 0, &g0);
	expect(!ret && memcmp(&g0, &zero, sizeof(g0)),
	       "GID index 0 is present (non-zero)", "ret %d", ret);
	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/1/gid_attrs/types/0", devname);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(type, sizeof(type), f))
			type[0] = 0;
		fclose(f);
	}
	type[strcspn(type, "\n")] = 0;
	expect(!strncmp(type, "RoCE v2", 7) || !strncmp(type, "IB/RoCE v1", 10),
	       "GID index 0 has a type UCX knows (RoCE v2 or IB/RoCE v1)",
	       "'%s'", type);
	expect_sodp(!strcmp(type, "RoCE v2"), "GID index 0 is RoCE v2", "'%s'",
		    type);
	return 0;
}

/* ---- main ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
	const char *help;
} scenarios[] = {
	{ "access", sc_access, "INIT takes every access bit ib_core defines" },
	{ "cqclean", sc_cqclean, "a reset or destroyed QP leaves no CQE" },
	{ "cqrace", sc_cqrace, "the same while another thread polls" },
	{ "cqex", sc_cqex, "ibv_create_cq_ex: EOPNOTSUPP vs EINVAL" },
	{ "port", sc_port, "ibv_query_port as UCX checks it" },
};

int main(int argc, char **argv)
{
	char path[512];
	unsigned int i;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DEV SCENARIO\n", argv[0]);
		for (i = 0; i < ARRAY_SIZE(scenarios); i++)
			fprintf(stderr, "  %-8s %s\n", scenarios[i].name,
				scenarios[i].help);
		return 64;
	}
	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(argv[2], scenarios[i].name))
			break;
	if (i == ARRAY_SIZE(scenarios)) {
		fprintf(stderr, "unknown scenario %s\n", argv[2]);
		return 64;
	}
	devname = argv[1];
	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/sodp_abi_version",
		 devname);
	is_sodp = !access(path, F_OK);
	ctx = open_dev(devname);
	if (ibv_query_device_ex(ctx, NULL, &dattr))
		die("ibv_query_device_ex");
	if (ibv_query_port(ctx, 1, &pattr))
		die("ibv_query_port");
	find_gid();
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd");
	ret = scenarios[i].fn();
	if (ibv_dealloc_pd(pd))
		die("ibv_dealloc_pd");
	if (ibv_close_device(ctx))
		die("ibv_close_device");
	if (ret)
		return ret;
	return fails ? 1 : 0;
}
