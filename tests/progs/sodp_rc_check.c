// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp_rc_check: the RC data path through unmodified libibverbs, over
 * loopback QP pairs (two QPs of one device connected to each other through
 * the device's RoCEv2 IPv4 GID).
 *
 *   sodp_rc_check DEV SCENARIO [ARGS]
 *
 * Prints one line per assertion, "ok - ..." or "not ok - ...: why", and
 * "# ..." comments; exits 1 if any assertion failed, 2 on a setup error.
 * Scenarios: see the table at the end of this file.
 *
 * The program runs against any RoCE device (it is validated against rxe).
 * Where sodp's documented behaviour differs from rxe's (no invalidatable
 * keys, no UD QPs, ODP required), the assertion is made only when DEV is a
 * sodp device (it has /sys/class/infiniband/DEV/sodp_abi_version); on
 * other devices the outcome is printed as a comment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <infiniband/verbs.h>

#include "tap.h"

#define PG		4096UL
#define BUF		(64 * 1024UL)
#define LW		IBV_ACCESS_LOCAL_WRITE
#define RW		IBV_ACCESS_REMOTE_WRITE
#define RR		IBV_ACCESS_REMOTE_READ
#define RA		IBV_ACCESS_REMOTE_ATOMIC
#define ODP		IBV_ACCESS_ON_DEMAND
#define ALL_RIGHTS	(LW | RW | RR | RA)
#define REMOTE_RIGHTS	(RW | RR | RA)
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

/* expect a return value of 0 or a positive errno */
static bool expect_rc(int got, int want, const char *what)
{
	return expect(got == want, what, "got %d (%s), want %d (%s)", got,
		      strerror(got), want, strerror(want));
}

/* sodp-only assertion: on other devices only a comment */
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

/* The RoCEv2 GID with an IPv4-mapped address (else any RoCEv2 GID). */
static void find_gid(void)
{
	struct ibv_gid_entry e;
	int i, any = -1;

	for (i = 0; i < pattr.gid_tbl_len && i < 256; i++) {
		if (ibv_query_gid_ex(ctx, 1, i, &e, 0))
			continue;
		if (e.gid_type != IBV_GID_TYPE_ROCE_V2)
			continue;
		if (any < 0)
			any = i;
		if (!memcmp(e.gid.raw, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
			gid_index = i;
			gid = e.gid;
			return;
		}
	}
	if (any < 0)
		die("%s has no RoCEv2 GID", devname);
	gid_index = any;
	if (ibv_query_gid(ctx, 1, any, &gid))
		die("ibv_query_gid");
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu", len);
	return p;
}

static struct ibv_mr *must_reg(void *addr, size_t len, int access)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, addr, len, access);

	if (!mr)
		die("ibv_reg_mr(%p, %zu, 0x%x)", addr, len, access);
	return mr;
}

static bool has_odp(uint32_t need_rc, bool implicit)
{
	const struct ibv_odp_caps *c = &dattr.odp_caps;

	if (!(c->general_caps & IBV_ODP_SUPPORT))
		return false;
	if (implicit && !(c->general_caps & IBV_ODP_SUPPORT_IMPLICIT))
		return false;
	return (c->per_transport_caps.rc_odp_caps & need_rc) == need_rc;
}

/* ---- QP pairs --------------------------------------------------------- */

struct side {
	struct ibv_qp *qp;
	struct ibv_cq *scq, *rcq;
	char *buf;
	struct ibv_mr *mr;
};

struct popts {
	int b_access;		/* responder's qp_access_flags */
	uint8_t rnr_retry;	/* a's */
	uint8_t min_rnr_timer;	/* b's */
	uint8_t timeout, retry_cnt;
	uint32_t a_dest;	/* a's dest QPN if nonzero */
	struct ibv_srq *srq;	/* b's */
	uint32_t max_send_wr, max_recv_wr, max_sge, max_inline;
	bool sig_all;
	bool ex;		/* a created with ibv_create_qp_ex + ops */
	bool no_connect;
};

struct pair {
	struct side a, b;
};

static const struct popts defaults = {
	.b_access = REMOTE_RIGHTS, .rnr_retry = 7, .min_rnr_timer = 1,
	.timeout = 14, .retry_cnt = 7, .max_send_wr = 64, .max_recv_wr = 64,
	.max_sge = 4, .max_inline = 64, .sig_all = true,
};

static struct ibv_qp *make_qp(struct ibv_cq *scq, struct ibv_cq *rcq,
			      struct ibv_srq *srq, const struct popts *o,
			      bool ex)
{
	struct ibv_qp_init_attr_ex a = {
		.send_cq = scq, .recv_cq = rcq, .srq = srq,
		.cap = { o->max_send_wr, o->max_recv_wr, o->max_sge,
			 o->max_sge, o->max_inline },
		.qp_type = IBV_QPT_RC, .sq_sig_all = o->sig_all,
		.comp_mask = IBV_QP_INIT_ATTR_PD, .pd = pd,
	};

	if (ex) {
		a.comp_mask |= IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
		a.send_ops_flags = IBV_QP_EX_WITH_SEND |
			IBV_QP_EX_WITH_SEND_WITH_IMM |
			IBV_QP_EX_WITH_RDMA_WRITE |
			IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM |
			IBV_QP_EX_WITH_RDMA_READ |
			IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |
			IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD;
	}
	return ibv_create_qp_ex(ctx, &a);
}

static int to_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr at = {
		.qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = 1,
		.qp_access_flags = access,
	};

	return ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int rd_atom(void)
{
	return dattr.orig_attr.max_qp_rd_atom < 16 ?
		dattr.orig_attr.max_qp_rd_atom : 16;
}

static int to_rtr(struct ibv_qp *qp, uint32_t dqpn, uint8_t min_rnr)
{
	struct ibv_qp_attr at = {
		.qp_state = IBV_QPS_RTR, .path_mtu = pattr.active_mtu,
		.dest_qp_num = dqpn, .rq_psn = 0x1234,
		.max_dest_rd_atomic = rd_atom(), .min_rnr_timer = min_rnr,
		.ah_attr = {
			.is_global = 1, .port_num = 1,
			.grh = { .dgid = gid, .sgid_index = gid_index,
				 .hop_limit = 64 },
		},
	};

	return ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_AV |
			     IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			     IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			     IBV_QP_MIN_RNR_TIMER);
}

static int to_rts(struct ibv_qp *qp, const struct popts *o)
{
	struct ibv_qp_attr at = {
		.qp_state = IBV_QPS_RTS, .timeout = o->timeout,
		.retry_cnt = o->retry_cnt, .rnr_retry = o->rnr_retry,
		.sq_psn = 0x1234, .max_rd_atomic = rd_atom(),
	};

	return ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

static int to_state(struct ibv_qp *qp, enum ibv_qp_state s)
{
	struct ibv_qp_attr at = { .qp_state = s };

	return ibv_modify_qp(qp, &at, IBV_QP_STATE);
}

/* connect qp to dqpn: INIT, RTR, RTS */
static void connect_qp(struct ibv_qp *qp, int access, uint32_t dqpn,
		       const struct popts *o)
{
	int ret;

	ret = to_init(qp, access);
	if (!ret)
		ret = to_rtr(qp, dqpn, o->min_rnr_timer);
	if (!ret)
		ret = to_rts(qp, o);
	if (ret) {
		errno = ret;
		die("connecting QP %u to %u", qp->qp_num, dqpn);
	}
}

static void make_side(struct side *s, const struct popts *o, bool ex,
		      struct ibv_srq *srq)
{
	s->scq = ibv_create_cq(ctx, 256, NULL, NULL, 0);
	s->rcq = ibv_create_cq(ctx, 256, NULL, NULL, 0);
	if (!s->scq || !s->rcq)
		die("ibv_create_cq");
	s->qp = make_qp(s->scq, s->rcq, srq, o, ex);
	if (!s->qp)
		die("ibv_create_qp_ex");
	s->buf = map_anon(BUF);
	/* SODP_RC_ODP=1: every scenario's buffers are ODP MRs. */
	s->mr = must_reg(s->buf, BUF,
			 ALL_RIGHTS | (getenv("SODP_RC_ODP") ? ODP : 0));
}

static struct pair *pair_new(const struct popts *o)
{
	struct pair *p = calloc(1, sizeof(*p));

	if (!p)
		die("calloc");
	make_side(&p->a, o, o->ex, NULL);
	make_side(&p->b, o, false, o->srq);
	if (o->no_connect)
		return p;
	connect_qp(p->a.qp, REMOTE_RIGHTS,
		   o->a_dest ? o->a_dest : p->b.qp->qp_num, o);
	connect_qp(p->b.qp, o->b_access, p->a.qp->qp_num, o);
	return p;
}

static void side_free(struct side *s)
{
	if (s->qp && ibv_destroy_qp(s->qp))
		die("ibv_destroy_qp");
	if (s->mr && ibv_dereg_mr(s->mr))
		die("ibv_dereg_mr");
	if (s->scq && ibv_destroy_cq(s->scq))
		die("ibv_destroy_cq");
	if (s->rcq && ibv_destroy_cq(s->rcq))
		die("ibv_destroy_cq");
	if (s->buf)
		munmap(s->buf, BUF);
}

static void pair_free(struct pair *p)
{
	side_free(&p->a);
	side_free(&p->b);
	free(p);
}

/* post helpers: return ibv_post_* result */
static int post_recv_sge(struct ibv_qp *qp, struct ibv_srq *srq,
			 uint64_t id, struct ibv_sge *sg, int n)
{
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = sg, .num_sge = n };
	struct ibv_recv_wr *bad;

	if (srq)
		return ibv_post_srq_recv(srq, &wr, &bad);
	return ibv_post_recv(qp, &wr, &bad);
}

static int post_recv(struct side *s, uint64_t id, size_t off, uint32_t len)
{
	struct ibv_sge sg = {
		(uintptr_t)s->buf + off, len, s->mr->lkey
	};

	return post_recv_sge(s->qp, NULL, id, &sg, 1);
}

struct wrd {
	enum ibv_wr_opcode op;
	uint64_t id;
	int flags;
	struct ibv_sge sg[4];
	int nsge;
	uint64_t raddr;
	uint32_t rkey;
	uint32_t imm;		/* host order */
	uint64_t cmp, swp;
};

static int post(struct ibv_qp *qp, const struct wrd *d)
{
	struct ibv_send_wr wr = {
		.wr_id = d->id, .opcode = d->op, .send_flags = d->flags,
		.sg_list = (struct ibv_sge *)d->sg, .num_sge = d->nsge,
	}, *bad;

	if (d->op == IBV_WR_SEND_WITH_IMM ||
	    d->op == IBV_WR_RDMA_WRITE_WITH_IMM)
		wr.imm_data = htonl(d->imm);
	if (d->op == IBV_WR_SEND_WITH_INV || d->op == IBV_WR_LOCAL_INV)
		wr.invalidate_rkey = d->rkey;
	if (d->op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	    d->op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr.wr.atomic.remote_addr = d->raddr;
		wr.wr.atomic.rkey = d->rkey;
		wr.wr.atomic.compare_add = d->cmp;
		wr.wr.atomic.swap = d->swp;
	} else {
		wr.wr.rdma.remote_addr = d->raddr;
		wr.wr.rdma.rkey = d->rkey;
	}
	return ibv_post_send(qp, &wr, &bad);
}

static struct ibv_sge sge(struct side *s, size_t off, uint32_t len)
{
	struct ibv_sge sg = { (uintptr_t)s->buf + off, len, s->mr->lkey };

	return sg;
}

/* poll n completions from cq within ms; returns how many */
static int poll_n(struct ibv_cq *cq, struct ibv_wc *wc, int n, long ms)
{
	long end = now_ms() + ms;
	int got = 0, r;

	while (got < n) {
		r = ibv_poll_cq(cq, n - got, wc + got);
		if (r < 0)
			return got;
		got += r;
		if (got < n) {
			if (now_ms() > end)
				break;
			if (!r)
				usleep(200);
		}
	}
	return got;
}

/* one completion, or status -1 if none within ms */
static struct ibv_wc poll1(struct ibv_cq *cq, long ms)
{
	struct ibv_wc wc;

	if (poll_n(cq, &wc, 1, ms) != 1) {
		memset(&wc, 0, sizeof(wc));
		wc.status = -1;
	}
	return wc;
}

static const char *st(int s)
{
	return s < 0 ? "no completion" : ibv_wc_status_str(s);
}

/*
 * An error completion with status want. On sodp exactly that; elsewhere
 * (rxe reports some errors as another status, or as a flush) any error.
 */
static void expect_err(const struct ibv_wc *w, int want, uint64_t id,
		       const char *what)
{
	bool exact = (int)w->status == want && w->wr_id == id;

	if (is_sodp || exact) {
		expect(exact, what, "%s wr_id %" PRIu64, st(w->status),
		       w->wr_id);
		return;
	}
	expect(w->status != IBV_WC_SUCCESS &&
	       w->status != (enum ibv_wc_status)-1, what,
	       "%s (any error accepted on %s)", st(w->status), devname);
	note("%s: %s reports %s", what, devname, st(w->status));
}

struct want {
	int status;
	int opcode;		/* -1: do not check */
	uint64_t id;
	long byte_len;		/* -1: do not check */
	int wc_flags;		/* -1: do not check */
	uint32_t imm;
	uint32_t qp_num, src_qp;	/* 0: do not check */
};

static void expect_wc(const struct ibv_wc *w, const struct want *x,
		      const char *what)
{
	char why[512] = "";
	int n = 0;

	if ((int)w->status != x->status) {
		n += snprintf(why + n, sizeof(why) - n, "status %s want %s; ",
			      st(w->status), st(x->status));
	} else if (x->status == IBV_WC_SUCCESS) {
		if (x->opcode >= 0 && (int)w->opcode != x->opcode)
			n += snprintf(why + n, sizeof(why) - n,
				      "opcode %d want %d; ", w->opcode,
				      x->opcode);
		if (x->byte_len >= 0 && w->byte_len != x->byte_len)
			n += snprintf(why + n, sizeof(why) - n,
				      "byte_len %u want %ld; ", w->byte_len,
				      x->byte_len);
		if (x->wc_flags >= 0 &&
		    (w->wc_flags & (IBV_WC_WITH_IMM | IBV_WC_WITH_INV)) !=
		    (unsigned int)x->wc_flags)
			n += snprintf(why + n, sizeof(why) - n,
				      "wc_flags 0x%x want 0x%x; ", w->wc_flags,
				      x->wc_flags);
		if (x->wc_flags > 0 && (x->wc_flags & IBV_WC_WITH_IMM) &&
		    ntohl(w->imm_data) != x->imm)
			n += snprintf(why + n, sizeof(why) - n,
				      "imm 0x%x want 0x%x; ", ntohl(w->imm_data),
				      x->imm);
		if (x->src_qp && is_sodp && w->src_qp != x->src_qp)
			n += snprintf(why + n, sizeof(why) - n,
				      "src_qp %u want %u; ", w->src_qp,
				      x->src_qp);
	}
	if (w->status != (enum ibv_wc_status)-1 && w->wr_id != x->id)
		n += snprintf(why + n, sizeof(why) - n,
			      "wr_id %" PRIu64 " want %" PRIu64 "; ", w->wr_id,
			      x->id);
	if (w->status != (enum ibv_wc_status)-1 && x->qp_num &&
	    w->qp_num != x->qp_num)
		n += snprintf(why + n, sizeof(why) - n, "qp_num %u want %u; ",
			      w->qp_num, x->qp_num);
	expect(!n, what, "%s", why);
}

static void fill(void *p, size_t len, unsigned int seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		c[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

/* the async event of this type within ms (acked); false if none */
static bool async_event(enum ibv_event_type type, void *obj, long ms,
			const char **got)
{
	struct ibv_async_event ev;
	long end = now_ms() + ms;
	struct pollfd pfd = { .fd = ctx->async_fd, .events = POLLIN };
	int fl = fcntl(ctx->async_fd, F_GETFL);

	fcntl(ctx->async_fd, F_SETFL, fl | O_NONBLOCK);
	*got = "nothing";
	while (now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (ibv_get_async_event(ctx, &ev))
			continue;
		*got = ibv_event_type_str(ev.event_type);
		ibv_ack_async_event(&ev);
		if (ev.event_type == type &&
		    (!obj || ev.element.qp == obj || ev.element.srq == obj ||
		     ev.element.cq == obj)) {
			fcntl(ctx->async_fd, F_SETFL, fl);
			return true;
		}
	}
	fcntl(ctx->async_fd, F_SETFL, fl);
	return false;
}

static void drain_async(void)
{
	const char *got = "nothing";

	while (async_event(IBV_EVENT_DEVICE_FATAL, NULL, 50, &got))
		;
}

static enum ibv_qp_state qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_attr at;
	struct ibv_qp_init_attr ia;

	if (ibv_query_qp(qp, &at, IBV_QP_STATE, &ia))
		return -1;
	return at.qp_state;
}

/* ---- scenarios -------------------------------------------------------- */

static int sc_ops(int argc, char **argv)
{
	struct popts o = defaults;
	struct pair *p = pair_new(&o);
	struct side *a = &p->a, *b = &p->b;
	uint32_t aq = a->qp->qp_num, bq = b->qp->qp_num;
	struct ibv_wc w;
	struct wrd d;
	uint64_t *at;
	int i, n;

	note("gid index %d, active_mtu %d, max_qp_rd_atom %d", gid_index,
	     128 << pattr.active_mtu, dattr.orig_attr.max_qp_rd_atom);

	/* SEND */
	fill(a->buf, 1000, 1);
	memset(b->buf, 0, BUF);
	post_recv(b, 11, 0, 4096);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 1,
			  .sg = { sge(a, 0, 1000) }, .nsge = 1 };
	expect_rc(post(a->qp, &d), 0, "SEND posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_SEND, 1, -1, -1, 0, aq, 0 },
		  "SEND: requester completion (status, opcode, wr_id, qp_num)");
	expect_wc((w = poll1(b->rcq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RECV, 11, 1000, 0, 0, bq, aq },
		  "SEND: receive completion (opcode RECV, byte_len 1000, no imm, src_qp, qp_num)");
	expect(!memcmp(a->buf, b->buf, 1000) && !b->buf[1000],
	       "SEND: the data arrived, nothing past it", "mismatch");

	/* SEND_WITH_IMM, 3 SGEs into a receive of 2 SGEs */
	fill(a->buf, 3 * PG, 2);
	memset(b->buf, 0, BUF);
	{
		struct ibv_sge rs[2] = { sge(b, 8 * PG, 100),
					 sge(b, 4 * PG, 4 * PG) };

		post_recv_sge(b->qp, NULL, 12, rs, 2);
	}
	d = (struct wrd){ .op = IBV_WR_SEND_WITH_IMM, .id = 2, .imm = 0xdeadbeef,
			  .sg = { sge(a, 0, 50), sge(a, PG, 300),
				  sge(a, 2 * PG + 7, 1000) }, .nsge = 3 };
	expect_rc(post(a->qp, &d), 0, "SEND_WITH_IMM with 3 SGEs posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_SEND, 2, -1, -1, 0, aq, 0 },
		  "SEND_WITH_IMM: requester completion");
	expect_wc((w = poll1(b->rcq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RECV, 12, 1350, IBV_WC_WITH_IMM,
				  0xdeadbeef, bq, aq },
		  "SEND_WITH_IMM: receive completion (byte_len 1350, IBV_WC_WITH_IMM, imm_data)");
	{
		char want[1350];

		memcpy(want, a->buf, 50);
		memcpy(want + 50, a->buf + PG, 300);
		memcpy(want + 350, a->buf + 2 * PG + 7, 1000);
		expect(!memcmp(b->buf + 8 * PG, want, 100) &&
		       !memcmp(b->buf + 4 * PG, want + 100, 1250) &&
		       !b->buf[4 * PG + 1250],
		       "multiple SGEs: gathered and scattered in order",
		       "mismatch");
	}

	/* inline SEND (source buffer reused right after posting) */
	memset(b->buf, 0, BUF);
	post_recv(b, 13, 0, 4096);
	strcpy(a->buf, "inline payload of forty-two bytes.........");
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 3, .flags = IBV_SEND_INLINE,
			  .sg = { { (uintptr_t)a->buf, 42, 0 } }, .nsge = 1 };
	expect_rc(post(a->qp, &d), 0, "inline SEND (lkey 0) posted");
	memset(a->buf, 'X', 42);
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_SEND, 3, -1, -1, 0, aq, 0 },
		  "inline SEND: requester completion");
	expect_wc((w = poll1(b->rcq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RECV, 13, 42, 0, 0, bq, aq },
		  "inline SEND: receive completion");
	expect(!memcmp(b->buf, "inline payload of forty-two bytes.........", 42),
	       "inline SEND: the data copied at post time arrived",
	       "got '%.42s'", b->buf);

	/* zero-length SEND */
	post_recv(b, 14, 0, 4096);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 4 };
	expect_rc(post(a->qp, &d), 0, "zero-length SEND posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_SEND, 4, -1, -1, 0, aq, 0 },
		  "zero-length SEND: requester completion");
	expect_wc((w = poll1(b->rcq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RECV, 14, 0, 0, 0, bq, aq },
		  "zero-length SEND: receive completion, byte_len 0");

	/* RDMA_WRITE, 3 SGEs, 20 KiB; the responder sees no completion */
	fill(a->buf, BUF, 3);
	memset(b->buf, 0, BUF);
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 5,
			  .sg = { sge(a, 0, 8192), sge(a, 3 * PG, 4096),
				  sge(a, 5 * PG + 1, 8191) }, .nsge = 3,
			  .raddr = (uintptr_t)b->buf + 3, .rkey = b->mr->rkey };
	expect_rc(post(a->qp, &d), 0, "RDMA_WRITE posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RDMA_WRITE, 5, -1, -1, 0, aq, 0 },
		  "RDMA_WRITE: requester completion (opcode RDMA_WRITE)");
	expect(!memcmp(b->buf + 3, a->buf, 8192) &&
	       !memcmp(b->buf + 3 + 8192, a->buf + 3 * PG, 4096) &&
	       !memcmp(b->buf + 3 + 12288, a->buf + 5 * PG + 1, 8191) &&
	       !b->buf[0] && !b->buf[3 + 20479],
	       "RDMA_WRITE: data landed at the remote address, nothing around it",
	       "mismatch");
	expect(ibv_poll_cq(b->rcq, 1, &w) == 0,
	       "RDMA_WRITE: no receive completion", "got one");

	/* RDMA_WRITE_WITH_IMM consumes a receive; byte_len 0..: total */
	post_recv(b, 15, 0, 0);
	fill(a->buf, 5000, 4);
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE_WITH_IMM, .id = 6,
			  .imm = 0x01020304, .sg = { sge(a, 0, 5000) },
			  .nsge = 1, .raddr = (uintptr_t)b->buf + PG,
			  .rkey = b->mr->rkey };
	expect_rc(post(a->qp, &d), 0, "RDMA_WRITE_WITH_IMM posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RDMA_WRITE, 6, -1, -1, 0, aq, 0 },
		  "RDMA_WRITE_WITH_IMM: requester completion");
	expect_wc((w = poll1(b->rcq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RECV_RDMA_WITH_IMM, 15, 5000,
				  IBV_WC_WITH_IMM, 0x01020304, bq, aq },
		  "RDMA_WRITE_WITH_IMM: receive completion (RECV_RDMA_WITH_IMM, byte_len, imm)");
	expect(!memcmp(b->buf + PG, a->buf, 5000),
	       "RDMA_WRITE_WITH_IMM: data landed", "mismatch");

	/* RDMA_READ, 2 SGEs, 12 KiB at an odd remote offset */
	fill(b->buf, BUF, 5);
	memset(a->buf, 0, BUF);
	d = (struct wrd){ .op = IBV_WR_RDMA_READ, .id = 7,
			  .sg = { sge(a, 100, 5000), sge(a, 8 * PG, 7288) },
			  .nsge = 2, .raddr = (uintptr_t)b->buf + 777,
			  .rkey = b->mr->rkey };
	expect_rc(post(a->qp, &d), 0, "RDMA_READ posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RDMA_READ, 7, 12288, -1, 0, aq, 0 },
		  "RDMA_READ: requester completion (opcode RDMA_READ, byte_len 12288)");
	expect(!memcmp(a->buf + 100, b->buf + 777, 5000) &&
	       !memcmp(a->buf + 8 * PG, b->buf + 777 + 5000, 7288) &&
	       !a->buf[99] && !a->buf[5100] && !a->buf[8 * PG + 7288],
	       "RDMA_READ: data read into both SGEs", "mismatch");

	/* atomics */
	at = (uint64_t *)(b->buf + 64);
	*at = 100;
	memset(a->buf, 0, 64);
	d = (struct wrd){ .op = IBV_WR_ATOMIC_CMP_AND_SWP, .id = 8,
			  .sg = { sge(a, 0, 8) }, .nsge = 1,
			  .raddr = (uintptr_t)at, .rkey = b->mr->rkey,
			  .cmp = 100, .swp = 0x1122334455667788ULL };
	expect_rc(post(a->qp, &d), 0, "ATOMIC_CMP_AND_SWP posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_COMP_SWAP, 8, 8, -1, 0, aq, 0 },
		  "ATOMIC_CMP_AND_SWP: completion (COMP_SWAP, byte_len 8)");
	expect(*(uint64_t *)a->buf == 100 && *at == 0x1122334455667788ULL,
	       "ATOMIC_CMP_AND_SWP: old value returned, swapped",
	       "returned %" PRIu64 ", remote 0x%" PRIx64,
	       *(uint64_t *)a->buf, *at);
	d.id = 9;
	d.cmp = 5;
	d.swp = 6;
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect(w.status == IBV_WC_SUCCESS &&
	       *(uint64_t *)a->buf == 0x1122334455667788ULL &&
	       *at == 0x1122334455667788ULL,
	       "ATOMIC_CMP_AND_SWP: no swap on compare mismatch",
	       "%s, remote 0x%" PRIx64, st(w.status), *at);
	*at = 1000;
	d = (struct wrd){ .op = IBV_WR_ATOMIC_FETCH_AND_ADD, .id = 10,
			  .sg = { sge(a, 8, 8) }, .nsge = 1,
			  .raddr = (uintptr_t)at, .rkey = b->mr->rkey,
			  .cmp = 0xffffffff00000001ULL };
	expect_rc(post(a->qp, &d), 0, "ATOMIC_FETCH_AND_ADD posted");
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_FETCH_ADD, 10, 8, -1, 0, aq, 0 },
		  "ATOMIC_FETCH_AND_ADD: completion (FETCH_ADD, byte_len 8)");
	expect(*(uint64_t *)(a->buf + 8) == 1000 &&
	       *at == 1000 + 0xffffffff00000001ULL,
	       "ATOMIC_FETCH_AND_ADD: old value returned, 64-bit add wraps",
	       "returned %" PRIu64 ", remote 0x%" PRIx64,
	       *(uint64_t *)(a->buf + 8), *at);
	d.raddr = (uintptr_t)b->buf + 65;
	d.id = 11;
	post(a->qp, &d);
	w = poll1(a->scq, is_sodp ? WAIT_MS : 3000);
	expect_sodp(w.status != IBV_WC_SUCCESS &&
		    w.status != (enum ibv_wc_status)-1,
		    "atomic at an unaligned address fails", "%s",
		    st(w.status));
	pair_free(p);

	/* unsignalled: 5 unsignalled WRITEs and a signalled one: 1 CQE */
	o.sig_all = false;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	fill(a->buf, BUF, 6);
	for (i = 0; i < 6; i++) {
		d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 100 + i,
				  .flags = i == 5 ? IBV_SEND_SIGNALED : 0,
				  .sg = { sge(a, i * PG, PG) }, .nsge = 1,
				  .raddr = (uintptr_t)b->buf + i * PG,
				  .rkey = b->mr->rkey };
		post(a->qp, &d);
	}
	expect_wc((w = poll1(a->scq, WAIT_MS), &w),
		  &(struct want){ 0, IBV_WC_RDMA_WRITE, 105, -1, -1, 0,
				  a->qp->qp_num, 0 },
		  "unsignalled WRITEs then a signalled one: one completion, the signalled one's");
	msleep(100);
	n = ibv_poll_cq(a->scq, 1, &w);
	expect(n == 0, "no completion for the unsignalled WRITEs",
	       "%d more", n);
	expect(!memcmp(a->buf, b->buf, 6 * PG),
	       "all six WRITEs landed", "mismatch");
	/* many unsignalled ones wrap the send queue (64 entries) */
	for (i = 0; i < 300; i++) {
		d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 1000 + i,
				  .flags = i % 32 == 31 ? IBV_SEND_SIGNALED : 0,
				  .sg = { sge(a, 0, 64) }, .nsge = 1,
				  .raddr = (uintptr_t)b->buf,
				  .rkey = b->mr->rkey };
		if (post(a->qp, &d))
			break;
		if (i % 32 == 31) {
			w = poll1(a->scq, WAIT_MS);
			if (w.status || w.wr_id != 1000U + i)
				break;
		}
	}
	expect(i == 300, "300 WRITEs, every 32nd signalled, wrap the send queue",
	       "stopped at %d: %s wr_id %" PRIu64, i, st(w.status), w.wr_id);
	pair_free(p);

	/* LOCAL_INV and SEND_WITH_INV: no invalidatable key exists */
	o.sig_all = true;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	d = (struct wrd){ .op = IBV_WR_LOCAL_INV, .id = 20,
			  .rkey = a->mr->lkey };
	n = post(a->qp, &d);
	w = n ? (struct ibv_wc){ .status = -1 } : poll1(a->scq, 5000);
	expect_sodp(!n && w.status == IBV_WC_LOC_QP_OP_ERR,
		    "LOCAL_INV of an MR's key: IBV_WC_LOC_QP_OP_ERR",
		    "post %d, %s", n, st(w.status));
	pair_free(p);
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	post_recv(b, 21, 0, 64);
	d = (struct wrd){ .op = IBV_WR_SEND_WITH_INV, .id = 22,
			  .sg = { sge(a, 0, 8) }, .nsge = 1,
			  .rkey = b->mr->rkey };
	n = post(a->qp, &d);
	w = n ? (struct ibv_wc){ .status = -1 } : poll1(a->scq, 5000);
	expect_sodp(!n && w.status == IBV_WC_REM_INV_REQ_ERR,
		    "SEND_WITH_INV: requester IBV_WC_REM_INV_REQ_ERR",
		    "post %d, %s", n, st(w.status));
	pair_free(p);
	drain_async();
	return 0;
}

/* ibv_create_qp_ex + ibv_wr_*, ibv_create_cq_ex + ibv_start_poll */
struct exwc {
	int status, opcode;
	uint64_t id;
	uint32_t len, imm, qpn, src, flags;
};

static int poll_ex(struct ibv_cq_ex *cq, struct exwc *out, int n, long ms)
{
	struct ibv_poll_cq_attr pa = {};
	long end = now_ms() + ms;
	int got = 0, r;

	while (got < n) {
		r = ibv_start_poll(cq, &pa);
		if (r == ENOENT) {
			if (now_ms() > end)
				return got;
			usleep(200);
			continue;
		}
		if (r)
			return got;
		do {
			struct exwc *e = &out[got++];

			e->status = cq->status;
			e->id = cq->wr_id;
			e->opcode = ibv_wc_read_opcode(cq);
			e->len = ibv_wc_read_byte_len(cq);
			e->flags = ibv_wc_read_wc_flags(cq);
			e->imm = e->flags & IBV_WC_WITH_IMM ?
				ntohl(ibv_wc_read_imm_data(cq)) : 0;
			e->qpn = ibv_wc_read_qp_num(cq);
			e->src = ibv_wc_read_src_qp(cq);
			if (got == n)
				break;
		} while (!ibv_next_poll(cq));
		ibv_end_poll(cq);
	}
	return got;
}

/* flags < 0: requester completion, wc_flags and imm not checked */
static void expect_ex(const struct exwc *e, int op, uint64_t id, int len,
		      int flags, uint32_t imm, uint32_t qpn, uint32_t src,
		      const char *what)
{
	expect(e->status == IBV_WC_SUCCESS && e->opcode == op &&
	       e->id == id && (len < 0 || e->len == (uint32_t)len) &&
	       (flags < 0 || ((e->flags & IBV_WC_WITH_IMM) == (uint32_t)flags &&
			      e->imm == imm)) &&
	       e->qpn == qpn && (!src || !is_sodp || e->src == src), what,
	       "status %s opcode %d id %" PRIu64 " len %u flags 0x%x imm 0x%x qpn %u src %u",
	       st(e->status), e->opcode, e->id, e->len, e->flags, e->imm,
	       e->qpn, e->src);
}

static int sc_ex(int argc, char **argv)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 64,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM |
			IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP,
	};
	struct ibv_cq_ex *acq = ibv_create_cq_ex(ctx, &ca);
	struct ibv_cq_ex *bcq = ibv_create_cq_ex(ctx, &ca);
	struct popts o = defaults;
	struct pair *p;
	struct side *a, *b;
	struct ibv_qp_ex *x;
	struct exwc e[8];
	uint64_t *at;
	int n;

	if (!expect(acq && bcq, "ibv_create_cq_ex with BYTE_LEN, IMM, QP_NUM, SRC_QP",
		    "%s", strerror(errno)))
		return 1;
	o.ex = true;
	o.no_connect = true;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	/* rebuild both QPs on the extended CQs */
	ibv_destroy_qp(a->qp);
	ibv_destroy_qp(b->qp);
	a->qp = make_qp(ibv_cq_ex_to_cq(acq), ibv_cq_ex_to_cq(acq), NULL, &o,
			true);
	b->qp = make_qp(ibv_cq_ex_to_cq(bcq), ibv_cq_ex_to_cq(bcq), NULL, &o,
			false);
	if (!expect(a->qp && b->qp,
		    "ibv_create_qp_ex with send_ops_flags (SEND, SEND_WITH_IMM, WRITE, WRITE_WITH_IMM, READ, atomics)",
		    "%s", strerror(errno)))
		return 1;
	connect_qp(a->qp, REMOTE_RIGHTS, b->qp->qp_num, &o);
	connect_qp(b->qp, REMOTE_RIGHTS, a->qp->qp_num, &o);
	x = ibv_qp_to_qp_ex(a->qp);
	if (!expect(x != NULL, "ibv_qp_to_qp_ex", "NULL"))
		return 1;

	fill(a->buf, BUF, 9);
	memset(b->buf, 0, BUF);
	at = (uint64_t *)(b->buf + 12 * PG);
	*at = 7;
	post_recv(b, 50, 0, PG);
	post_recv(b, 51, PG, PG);
	post_recv(b, 52, 0, 0);

	ibv_wr_start(x);
	x->wr_id = 1;
	x->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(x);
	ibv_wr_set_sge(x, a->mr->lkey, (uintptr_t)a->buf, 300);
	x->wr_id = 2;
	ibv_wr_send_imm(x, htonl(0xabcd));
	/* rxe (6.12) fails ibv_wr_set_inline_data: inline on sodp only */
	if (is_sodp)
		ibv_wr_set_inline_data(x, a->buf + 1000, 40);
	else
		ibv_wr_set_sge(x, a->mr->lkey, (uintptr_t)a->buf + 1000, 40);
	x->wr_id = 3;
	ibv_wr_rdma_write(x, b->mr->rkey, (uintptr_t)b->buf + 4 * PG);
	{
		struct ibv_sge sl[2] = { sge(a, 0, 100), sge(a, 2 * PG, 200) };

		ibv_wr_set_sge_list(x, 2, sl);
	}
	x->wr_id = 4;
	ibv_wr_rdma_write_imm(x, b->mr->rkey, (uintptr_t)b->buf + 6 * PG,
			      htonl(0x5555));
	ibv_wr_set_sge(x, a->mr->lkey, (uintptr_t)a->buf + 3 * PG, 1234);
	x->wr_id = 5;
	ibv_wr_rdma_read(x, b->mr->rkey, (uintptr_t)b->buf + 4 * PG);
	ibv_wr_set_sge(x, a->mr->lkey, (uintptr_t)a->buf + 10 * PG, 300);
	x->wr_id = 6;
	ibv_wr_atomic_cmp_swp(x, b->mr->rkey, (uintptr_t)at, 7, 8);
	ibv_wr_set_sge(x, a->mr->lkey, (uintptr_t)a->buf + 11 * PG, 8);
	x->wr_id = 7;
	ibv_wr_atomic_fetch_add(x, b->mr->rkey, (uintptr_t)at, 10);
	ibv_wr_set_sge(x, a->mr->lkey, (uintptr_t)a->buf + 11 * PG + 8, 8);
	expect_rc(ibv_wr_complete(x), 0, "ibv_wr_complete of 7 WRs");

	n = poll_ex(acq, e, 7, WAIT_MS);
	expect(n == 7, "7 requester completions through ibv_start_poll/ibv_next_poll",
	       "got %d", n);
	if (n == 7) {
		uint32_t q = a->qp->qp_num;

		expect_ex(&e[0], IBV_WC_SEND, 1, -1, -1, 0, q, 0, "ex SEND: completion fields");
		expect_ex(&e[1], IBV_WC_SEND, 2, -1, -1, 0, q, 0, "ex SEND_IMM inline: completion fields");
		expect_ex(&e[2], IBV_WC_RDMA_WRITE, 3, -1, -1, 0, q, 0, "ex RDMA_WRITE: completion fields");
		expect_ex(&e[3], IBV_WC_RDMA_WRITE, 4, -1, -1, 0, q, 0, "ex RDMA_WRITE_IMM: completion fields");
		expect_ex(&e[4], IBV_WC_RDMA_READ, 5, 300, -1, 0, q, 0, "ex RDMA_READ: completion fields");
		expect_ex(&e[5], IBV_WC_COMP_SWAP, 6, 8, -1, 0, q, 0, "ex CMP_AND_SWP: completion fields");
		expect_ex(&e[6], IBV_WC_FETCH_ADD, 7, 8, -1, 0, q, 0, "ex FETCH_AND_ADD: completion fields");
	}
	n = poll_ex(bcq, e, 3, WAIT_MS);
	expect(n == 3, "3 receive completions through the extended CQ",
	       "got %d", n);
	if (n == 3) {
		uint32_t q = b->qp->qp_num, s = a->qp->qp_num;

		expect_ex(&e[0], IBV_WC_RECV, 50, 300, 0, 0, q, s,
			  "ex RECV: byte_len, qp_num, src_qp");
		expect_ex(&e[1], IBV_WC_RECV, 51, 40, IBV_WC_WITH_IMM, 0xabcd,
			  q, s, "ex RECV with imm: read_imm_data, read_wc_flags");
		expect_ex(&e[2], IBV_WC_RECV_RDMA_WITH_IMM, 52, 1234,
			  IBV_WC_WITH_IMM, 0x5555, q, s,
			  "ex RECV_RDMA_WITH_IMM: byte_len, imm");
	}
	expect(!memcmp(b->buf, a->buf, 300), "ex SEND: data", "mismatch");
	expect(!memcmp(b->buf + PG, a->buf + 1000, 40),
	       is_sodp ? "ex SEND_IMM inline: data" : "ex SEND_IMM: data",
	       "mismatch");
	/* rxe (6.12, rdma-core 44) lands other data here: sodp only */
	expect_sodp(!memcmp(b->buf + 4 * PG, a->buf, 100) &&
		    !memcmp(b->buf + 4 * PG + 100, a->buf + 2 * PG, 200),
		    "ex RDMA_WRITE with an SGE list: data", "mismatch");
	expect(!memcmp(b->buf + 6 * PG, a->buf + 3 * PG, 1234),
	       "ex RDMA_WRITE_IMM: data", "mismatch");
	expect(!memcmp(a->buf + 10 * PG, b->buf + 4 * PG, 300),
	       "ex RDMA_READ: data", "mismatch");
	expect(*(uint64_t *)(a->buf + 11 * PG) == 7 &&
	       *(uint64_t *)(a->buf + 11 * PG + 8) == 8 && *at == 18,
	       "ex atomics: 7 -> swap 8 -> add 10 = 18, old values returned",
	       "%" PRIu64 " %" PRIu64 " %" PRIu64,
	       *(uint64_t *)(a->buf + 11 * PG),
	       *(uint64_t *)(a->buf + 11 * PG + 8), *at);

	ibv_destroy_qp(a->qp);
	ibv_destroy_qp(b->qp);
	a->qp = b->qp = NULL;
	pair_free(p);
	expect_rc(ibv_destroy_cq(ibv_cq_ex_to_cq(acq)), 0, "destroy extended CQ");
	ibv_destroy_cq(ibv_cq_ex_to_cq(bcq));
	return 0;
}

/* completion channel: next-completion and solicited-only */
static bool cq_event(struct ibv_comp_channel *ch, struct ibv_cq *want,
		     long ms)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
	struct ibv_cq *cq;
	void *cctx;

	if (poll(&pfd, 1, ms) <= 0)
		return false;
	if (ibv_get_cq_event(ch, &cq, &cctx))
		return false;
	ibv_ack_cq_events(cq, 1);
	return cq == want && cctx == (void *)0x5eed;
}

static int sc_notify(int argc, char **argv)
{
	struct ibv_comp_channel *ch = ibv_create_comp_channel(ctx);
	struct popts o = defaults;
	struct pair *p;
	struct side *a, *b;
	struct ibv_cq *cq;
	struct ibv_wc w;
	struct wrd d;

	if (!ch)
		die("ibv_create_comp_channel");
	fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) | O_NONBLOCK);
	o.no_connect = true;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	cq = ibv_create_cq(ctx, 32, (void *)0x5eed, ch, 0);
	if (!expect(cq != NULL, "ibv_create_cq on a completion channel", "%s",
		    strerror(errno)))
		return 1;
	ibv_destroy_qp(b->qp);
	b->qp = make_qp(b->scq, cq, NULL, &o, false);
	if (!b->qp)
		die("create qp");
	connect_qp(a->qp, REMOTE_RIGHTS, b->qp->qp_num, &o);
	connect_qp(b->qp, REMOTE_RIGHTS, a->qp->qp_num, &o);

	/* next completion */
	expect(!cq_event(ch, cq, 300), "no event before arming", "got one");
	expect_rc(ibv_req_notify_cq(cq, 0), 0, "ibv_req_notify_cq(next)");
	post_recv(b, 1, 0, 64);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 1,
			  .sg = { sge(a, 0, 8) }, .nsge = 1 };
	post(a->qp, &d);
	expect(cq_event(ch, cq, WAIT_MS), "armed CQ: a receive completion raises an event with cq_context",
	       "no event");
	expect(poll1(cq, WAIT_MS).wr_id == 1, "the completion is there", "no");
	poll1(a->scq, WAIT_MS);
	post_recv(b, 2, 0, 64);
	post(a->qp, &d);
	poll1(a->scq, WAIT_MS);
	expect(!cq_event(ch, cq, 500), "unarmed CQ: no event", "got one");
	poll1(cq, WAIT_MS);

	/* solicited only */
	expect_rc(ibv_req_notify_cq(cq, 1), 0, "ibv_req_notify_cq(solicited_only)");
	post_recv(b, 3, 0, 64);
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect(!cq_event(ch, cq, 500),
	       "solicited-armed CQ: an unsolicited SEND raises no event",
	       "got one (%s)", st(w.status));
	expect(poll1(cq, WAIT_MS).wr_id == 3, "the unsolicited receive completed",
	       "no");
	post_recv(b, 4, 0, 64);
	d.flags = IBV_SEND_SOLICITED;
	post(a->qp, &d);
	expect(cq_event(ch, cq, WAIT_MS),
	       "solicited-armed CQ: a solicited SEND raises an event", "none");
	expect(poll1(cq, WAIT_MS).wr_id == 4, "the solicited receive completed",
	       "no");
	poll1(a->scq, WAIT_MS);
	/* a solicited WRITE_WITH_IMM too */
	expect_rc(ibv_req_notify_cq(cq, 1), 0, "re-arm solicited_only");
	post_recv(b, 5, 0, 0);
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE_WITH_IMM, .id = 5,
			  .flags = IBV_SEND_SOLICITED, .sg = { sge(a, 0, 8) },
			  .nsge = 1, .raddr = (uintptr_t)b->buf,
			  .rkey = b->mr->rkey, .imm = 1 };
	post(a->qp, &d);
	expect(cq_event(ch, cq, WAIT_MS),
	       "solicited RDMA_WRITE_WITH_IMM raises an event", "none");
	poll1(cq, WAIT_MS);
	poll1(a->scq, WAIT_MS);

	ibv_destroy_qp(b->qp);
	b->qp = NULL;
	expect_rc(ibv_destroy_cq(cq), 0, "destroy the channel's CQ");
	pair_free(p);
	expect_rc(ibv_destroy_comp_channel(ch), 0, "destroy the completion channel");
	return 0;
}

static int sc_resize(int argc, char **argv)
{
	struct popts o = defaults;
	struct pair *p;
	struct side *a, *b;
	struct ibv_cq *cq;
	struct ibv_wc w[16];
	struct wrd d;
	int i, n, cqe0, ret;

	o.no_connect = true;
	o.max_recv_wr = 16;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!cq)
		die("create cq");
	cqe0 = cq->cqe;
	expect(cqe0 >= 16, "ibv_create_cq(16): cqe >= 16", "cqe %d", cqe0);
	ibv_destroy_qp(b->qp);
	b->qp = make_qp(b->scq, cq, NULL, &o, false);
	if (!b->qp)
		die("create qp");
	connect_qp(a->qp, REMOTE_RIGHTS, b->qp->qp_num, &o);
	connect_qp(b->qp, REMOTE_RIGHTS, a->qp->qp_num, &o);

	for (i = 0; i < 10; i++)
		post_recv(b, 100 + i, i * 64, 64);
	for (i = 0; i < 10; i++) {
		d = (struct wrd){ .op = IBV_WR_SEND, .id = i,
				  .sg = { sge(a, 0, 8 + i) }, .nsge = 1 };
		post(a->qp, &d);
	}
	n = poll_n(a->scq, w, 10, WAIT_MS);
	expect(n == 10, "10 SENDs completed", "%d", n);

	ret = ibv_resize_cq(cq, 4);
	expect_rc(ret, EINVAL, "ibv_resize_cq below the 10 CQEs present: EINVAL");
	ret = ibv_resize_cq(cq, 100);
	expect_rc(ret, 0, "ibv_resize_cq grow to 100 with 10 CQEs present");
	expect(cq->cqe >= 100, "cqe >= 100 after growing", "cqe %d", cq->cqe);
	n = poll_n(cq, w, 5, WAIT_MS);
	expect(n == 5, "5 CQEs polled after growing", "%d", n);
	ret = ibv_resize_cq(cq, 12);
	expect_rc(ret, 0, "ibv_resize_cq shrink to 12 with 5 CQEs present");
	expect(cq->cqe >= 12 && cq->cqe < 100, "cqe in [12, 100) after shrinking",
	       "cqe %d", cq->cqe);
	n += poll_n(cq, w + 5, 6, 500);
	expect(n == 10, "every CQE survived both resizes (10, none extra)",
	       "%d", n);
	for (i = 0; i < n; i++)
		if (w[i].status || w[i].wr_id != 100U + i ||
		    w[i].byte_len != 8U + i || w[i].opcode != IBV_WC_RECV)
			break;
	expect(i == 10, "the CQEs kept their order and fields",
	       "entry %d: %s wr_id %" PRIu64 " len %u", i, st(w[i].status),
	       w[i].wr_id, w[i].byte_len);

	/* traffic after the resize wraps the new ring */
	for (i = 0; i < 40; i++) {
		post_recv(b, 200 + i, 0, 64);
		d = (struct wrd){ .op = IBV_WR_SEND, .id = i,
				  .sg = { sge(a, 0, 8) }, .nsge = 1 };
		post(a->qp, &d);
		if (poll_n(a->scq, w, 1, WAIT_MS) != 1 || w[0].status)
			break;
		if (poll_n(cq, w, 1, WAIT_MS) != 1 || w[0].status ||
		    w[0].wr_id != 200U + i)
			break;
	}
	expect(i == 40, "40 SEND/RECV through the resized CQ", "stopped at %d",
	       i);
	ret = ibv_resize_cq(cq, dattr.orig_attr.max_cqe + 1);
	expect_rc(ret, EINVAL, "ibv_resize_cq above max_cqe: EINVAL");
	ret = ibv_resize_cq(cq, 0);
	expect(ret != 0, "ibv_resize_cq(0) fails", "succeeded");

	ibv_destroy_qp(b->qp);
	b->qp = NULL;
	ibv_destroy_cq(cq);
	pair_free(p);

	/* CQ overflow at create: cqe beyond max_cqe */
	cq = ibv_create_cq(ctx, dattr.orig_attr.max_cqe + 1, NULL, NULL, 0);
	expect(!cq && errno == EINVAL, "ibv_create_cq(max_cqe + 1): EINVAL",
	       "%p %s", (void *)cq, strerror(errno));
	if (cq)
		ibv_destroy_cq(cq);
	return 0;
}

static int sc_srq(int argc, char **argv)
{
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 64, .max_sge = 2 } };
	struct ibv_srq *srq = ibv_create_srq(pd, &sa);
	struct popts o = defaults;
	struct pair *p1, *p2;
	struct ibv_srq_attr qa;
	struct ibv_sge sg;
	struct ibv_cq *rcq;
	struct ibv_wc w[4];
	struct wrd d;
	const char *got = "nothing";
	char *rbuf;
	struct ibv_mr *rmr;
	int i, n, seen[2] = { 0, 0 };

	if (!expect(srq != NULL, "ibv_create_srq(64 WRs, 2 SGEs)", "%s",
		    strerror(errno)))
		return 1;
	rbuf = map_anon(BUF);
	rmr = must_reg(rbuf, BUF, LW);
	o.no_connect = true;
	o.srq = srq;
	p1 = pair_new(&o);
	p2 = pair_new(&o);
	/* both responders complete receives into one CQ */
	rcq = ibv_create_cq(ctx, 64, NULL, NULL, 0);
	ibv_destroy_qp(p1->b.qp);
	ibv_destroy_qp(p2->b.qp);
	p1->b.qp = make_qp(p1->b.scq, rcq, srq, &o, false);
	p2->b.qp = make_qp(p2->b.scq, rcq, srq, &o, false);
	if (!p1->b.qp || !p2->b.qp)
		die("create SRQ QPs");
	connect_qp(p1->a.qp, REMOTE_RIGHTS, p1->b.qp->qp_num, &o);
	connect_qp(p1->b.qp, REMOTE_RIGHTS, p1->a.qp->qp_num, &o);
	connect_qp(p2->a.qp, REMOTE_RIGHTS, p2->b.qp->qp_num, &o);
	connect_qp(p2->b.qp, REMOTE_RIGHTS, p2->a.qp->qp_num, &o);
	{
		struct ibv_recv_wr wr = { 0 }, *bad;

		expect_rc(ibv_post_recv(p1->b.qp, &wr, &bad), EINVAL,
			  "ibv_post_recv on a QP with an SRQ: EINVAL");
	}

	for (i = 0; i < 6; i++) {
		sg = (struct ibv_sge){ (uintptr_t)rbuf + i * PG, PG, rmr->lkey };
		if (post_recv_sge(NULL, srq, 500 + i, &sg, 1))
			die("ibv_post_srq_recv");
	}
	qa.srq_limit = 4;
	expect_rc(ibv_modify_srq(srq, &qa, IBV_SRQ_LIMIT), 0,
		  "ibv_modify_srq(srq_limit 4) with 6 receives posted");
	fill(p1->a.buf, PG, 1);
	fill(p2->a.buf, PG, 2);
	for (i = 0; i < 2; i++) {
		d = (struct wrd){ .op = IBV_WR_SEND, .id = i,
				  .sg = { sge(&p1->a, 0, 100 + i) }, .nsge = 1 };
		post(p1->a.qp, &d);
		d.sg[0] = sge(&p2->a, 0, 200 + i);
		post(p2->a.qp, &d);
		poll_n(p1->a.scq, w, 1, WAIT_MS);
		poll_n(p2->a.scq, w, 1, WAIT_MS);
		if (!i)
			expect(!async_event(IBV_EVENT_SRQ_LIMIT_REACHED, srq,
					    300, &got),
			       "no SRQ limit event with 4 receives left",
			       "got one");
	}
	n = poll_n(rcq, w, 4, WAIT_MS);
	expect(n == 4, "4 receives through the SRQ from two QPs", "%d", n);
	for (i = 0; i < n; i++) {
		int k = w[i].qp_num == p2->b.qp->qp_num;
		uint32_t src = k ? p2->a.qp->qp_num : p1->a.qp->qp_num;
		uint32_t len = (k ? 200 : 100) + seen[k];

		if (w[i].status || w[i].opcode != IBV_WC_RECV ||
		    (is_sodp && w[i].src_qp != src) || w[i].byte_len != len ||
		    w[i].wr_id < 500 || w[i].wr_id > 505 ||
		    memcmp(rbuf + (w[i].wr_id - 500) * PG,
			   k ? p2->a.buf : p1->a.buf, len))
			break;
		seen[k]++;
	}
	expect(i == 4 && seen[0] == 2 && seen[1] == 2,
	       "SRQ receives: qp_num tells the QP, src_qp the sender, data in the SRQ WQE's buffer",
	       "entry %d: %s qp %u src %u len %u id %" PRIu64, i,
	       st(w[i].status), w[i].qp_num, w[i].src_qp, w[i].byte_len,
	       w[i].wr_id);
	/* the fifth receive takes the SRQ below its limit */
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 9,
			  .sg = { sge(&p1->a, 0, 10) }, .nsge = 1 };
	post(p1->a.qp, &d);
	poll_n(p1->a.scq, w, 1, WAIT_MS);
	expect(async_event(IBV_EVENT_SRQ_LIMIT_REACHED, srq, WAIT_MS, &got),
	       "3 receives left < srq_limit 4: IBV_EVENT_SRQ_LIMIT_REACHED",
	       "got %s", got);
	expect(!ibv_query_srq(srq, &qa) && qa.srq_limit == 0 && qa.max_wr >= 64,
	       "ibv_query_srq: the limit disarmed (0), max_wr >= 64",
	       "limit %u max_wr %u", qa.srq_limit, qa.max_wr);
	poll_n(rcq, w, 1, WAIT_MS);
	qa.srq_limit = 100000;
	expect_rc(ibv_modify_srq(srq, &qa, IBV_SRQ_LIMIT), EINVAL,
		  "srq_limit above max_wr: EINVAL");
	expect_rc(ibv_destroy_srq(srq), EBUSY,
		  "ibv_destroy_srq while QPs use it: EBUSY");

	ibv_destroy_qp(p1->b.qp);
	ibv_destroy_qp(p2->b.qp);
	p1->b.qp = p2->b.qp = NULL;
	pair_free(p1);
	pair_free(p2);
	ibv_destroy_cq(rcq);
	expect_rc(ibv_destroy_srq(srq), 0, "ibv_destroy_srq with receives still posted");
	ibv_dereg_mr(rmr);

	sa.attr.max_wr = dattr.orig_attr.max_srq_wr + 1;
	srq = ibv_create_srq(pd, &sa);
	expect(!srq && errno == EINVAL, "ibv_create_srq(max_srq_wr + 1): EINVAL",
	       "%p %s", (void *)srq, strerror(errno));
	sa.attr.max_wr = 16;
	sa.attr.max_sge = dattr.orig_attr.max_srq_sge + 1;
	srq = ibv_create_srq(pd, &sa);
	expect(!srq && errno == EINVAL, "ibv_create_srq(max_srq_sge + 1): EINVAL",
	       "%p %s", (void *)srq, strerror(errno));
	drain_async();
	return 0;
}

/* QP state machine, query_qp */
static int sc_state(int argc, char **argv)
{
	struct popts o = defaults;
	struct pair *p;
	struct ibv_qp *qp;
	struct ibv_qp_attr at;
	struct ibv_qp_init_attr ia;
	int ret;

	o.no_connect = true;
	p = pair_new(&o);
	qp = p->a.qp;
	expect(qp_state(qp) == IBV_QPS_RESET, "a new QP is in RESET", "%d",
	       qp_state(qp));
	expect_rc(to_state(qp, IBV_QPS_RTS), EINVAL, "RESET -> RTS: EINVAL");
	expect_rc(to_state(qp, IBV_QPS_RTR), EINVAL, "RESET -> RTR: EINVAL");
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT };
	ret = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX);
	expect_rc(ret, EINVAL, "RESET -> INIT without port and access flags: EINVAL");
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT, .port_num = 2,
				   .qp_access_flags = RW };
	ret = ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	expect_rc(ret, EINVAL, "RESET -> INIT with port 2: EINVAL");
	expect(qp_state(qp) == IBV_QPS_RESET, "still RESET after the failures",
	       "%d", qp_state(qp));
	expect_rc(to_init(qp, RW | RR), 0, "RESET -> INIT");
	expect_rc(to_state(qp, IBV_QPS_RTS), EINVAL, "INIT -> RTS: EINVAL");
	expect_rc(to_state(qp, IBV_QPS_RTR), EINVAL,
		  "INIT -> RTR without AV, path MTU, dest QPN...: EINVAL");
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT,
				   .qp_access_flags = RW | RR | RA };
	expect_rc(ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_ACCESS_FLAGS), 0,
		  "INIT -> INIT changing access flags");
	expect_rc(to_rtr(qp, p->b.qp->qp_num, 5), 0, "INIT -> RTR");
	expect_rc(to_state(qp, IBV_QPS_RTS), EINVAL,
		  "RTR -> RTS without timeout, retry counts, SQ PSN: EINVAL");
	o.timeout = 17;
	o.retry_cnt = 5;
	o.rnr_retry = 6;
	expect_rc(to_rts(qp, &o), 0, "RTR -> RTS");
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS,
				   .cur_qp_state = IBV_QPS_RTS };
	expect_rc(ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_CUR_STATE), 0,
		  "RTS -> RTS with IBV_QP_CUR_STATE RTS (right)");
	expect_rc(to_state(qp, IBV_QPS_INIT), EINVAL, "RTS -> INIT: EINVAL");
	expect_rc(to_state(qp, IBV_QPS_RTR), EINVAL, "RTS -> RTR: EINVAL");

	memset(&at, 0, sizeof(at));
	ret = ibv_query_qp(qp, &at, IBV_QP_STATE | IBV_QP_PATH_MTU |
			   IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_SQ_PSN |
			   IBV_QP_ACCESS_FLAGS | IBV_QP_TIMEOUT |
			   IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			   IBV_QP_MIN_RNR_TIMER | IBV_QP_MAX_QP_RD_ATOMIC |
			   IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_CAP | IBV_QP_AV |
			   IBV_QP_PORT, &ia);
	expect_rc(ret, 0, "ibv_query_qp");
	expect(at.qp_state == IBV_QPS_RTS && at.path_mtu == pattr.active_mtu &&
	       at.dest_qp_num == p->b.qp->qp_num && at.rq_psn == 0x1234 &&
	       at.sq_psn == 0x1234 && at.qp_access_flags == (RW | RR | RA) &&
	       at.timeout == 17 && at.retry_cnt == 5 && at.rnr_retry == 6 &&
	       at.min_rnr_timer == 5 && at.max_rd_atomic == rd_atom() &&
	       at.max_dest_rd_atomic == rd_atom(),
	       "ibv_query_qp returns what was set (state, MTU, dest QPN, PSNs, access, timeout, retries, RNR timer, rd_atomic)",
	       "state %d mtu %d dqpn %u rq_psn 0x%x sq_psn 0x%x access 0x%x timeout %u retry %u rnr %u min_rnr %u rd %u/%u",
	       at.qp_state, at.path_mtu, at.dest_qp_num, at.rq_psn, at.sq_psn,
	       at.qp_access_flags, at.timeout, at.retry_cnt, at.rnr_retry,
	       at.min_rnr_timer, at.max_rd_atomic, at.max_dest_rd_atomic);
	expect(at.cap.max_send_wr >= 64 && at.cap.max_recv_wr >= 64 &&
	       at.cap.max_send_sge >= 4 && at.cap.max_recv_sge >= 4 &&
	       at.cap.max_inline_data >= 64 && ia.qp_type == IBV_QPT_RC &&
	       ia.sq_sig_all == 1 && ia.send_cq == p->a.scq &&
	       ia.recv_cq == p->a.rcq,
	       "ibv_query_qp: caps >= requested, init attributes",
	       "send %u recv %u sge %u/%u inline %u type %d sig_all %d",
	       at.cap.max_send_wr, at.cap.max_recv_wr, at.cap.max_send_sge,
	       at.cap.max_recv_sge, at.cap.max_inline_data, ia.qp_type,
	       ia.sq_sig_all);
	expect(at.ah_attr.is_global && at.ah_attr.port_num == 1 &&
	       !memcmp(at.ah_attr.grh.dgid.raw, gid.raw, 16) &&
	       at.ah_attr.grh.sgid_index == gid_index,
	       "ibv_query_qp: the address vector (dgid, sgid_index, port)",
	       "global %d port %d sgid_index %d", at.ah_attr.is_global,
	       at.ah_attr.port_num, at.ah_attr.grh.sgid_index);

	expect_rc(to_state(qp, IBV_QPS_SQD), 0, "RTS -> SQD");
	expect(qp_state(qp) == IBV_QPS_SQD || qp_state(qp) == IBV_QPS_SQE ||
	       qp_state(qp) == IBV_QPS_RTS,
	       "query after SQD", "%d", qp_state(qp));
	expect_rc(to_state(qp, IBV_QPS_ERR), 0, "-> ERR");
	expect(qp_state(qp) == IBV_QPS_ERR, "query: ERR", "%d", qp_state(qp));
	expect_rc(to_state(qp, IBV_QPS_RTS), EINVAL, "ERR -> RTS: EINVAL");
	/* IBV_QP_CUR_STATE is a consistency check, never an override. */
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS,
				   .cur_qp_state = IBV_QPS_RTS };
	if (is_sodp) {
		expect_rc(ibv_modify_qp(qp, &at, IBV_QP_STATE | IBV_QP_CUR_STATE),
			  EINVAL, "ERR -> RTS claiming IBV_QP_CUR_STATE RTS (wrong): EINVAL");
		expect(qp_state(qp) == IBV_QPS_ERR, "... and the QP stays in ERR",
		       "%d", qp_state(qp));
	}
	expect_rc(to_state(qp, IBV_QPS_RESET), 0, "ERR -> RESET");
	expect_rc(to_state(qp, IBV_QPS_RESET), 0, "RESET -> RESET");
	expect_rc(to_init(qp, RW), 0, "RESET -> INIT again");
	pair_free(p);
	drain_async();
	return 0;
}

/* ERR flushes; posting in ERR is flushed; RESET and reconnect works */
static int sc_flush(int argc, char **argv)
{
	struct popts o = defaults;
	struct pair *p, *q;
	struct side *a, *b;
	struct ibv_wc w[8];
	struct wrd d;
	int i, n;

	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	for (i = 0; i < 3; i++)
		post_recv(b, 10 + i, 0, 64);
	expect_rc(to_state(b->qp, IBV_QPS_ERR), 0, "responder -> ERR with 3 receives posted");
	n = poll_n(b->rcq, w, 3, WAIT_MS);
	for (i = 0; i < n; i++)
		if (w[i].status != IBV_WC_WR_FLUSH_ERR ||
		    w[i].wr_id != 10U + i || w[i].qp_num != b->qp->qp_num)
			break;
	expect(n == 3 && i == 3,
	       "3 receives flushed in order: IBV_WC_WR_FLUSH_ERR, wr_id, qp_num",
	       "%d completions, entry %d %s", n, i, st(w[i].status));
	expect_rc(post_recv(b, 20, 0, 64), 0, "ibv_post_recv in ERR succeeds");
	n = poll_n(b->rcq, w, 1, is_sodp ? WAIT_MS : 2000);
	expect_sodp(n == 1 && w[0].status == IBV_WC_WR_FLUSH_ERR && w[0].wr_id == 20,
	       "a receive posted in ERR is flushed", "%d %s", n,
	       n ? st(w[0].status) : "");
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 21,
			  .sg = { sge(b, 0, 8) }, .nsge = 1 };
	expect_rc(post(b->qp, &d), 0, "ibv_post_send in ERR succeeds");
	n = poll_n(b->scq, w, 1, WAIT_MS);
	expect(n == 1 && w[0].status == IBV_WC_WR_FLUSH_ERR && w[0].wr_id == 21,
	       "a SEND posted in ERR is flushed", "%d %s", n,
	       n ? st(w[0].status) : "");

	/* sends stuck behind an RNR wait (no receive, infinite retry) */
	for (i = 0; i < 4; i++) {
		d = (struct wrd){ .op = IBV_WR_SEND, .id = 30 + i,
				  .sg = { sge(a, 0, 8) }, .nsge = 1 };
		post(a->qp, &d);
	}
	msleep(200);
	expect(ibv_poll_cq(a->scq, 1, w) == 0,
	       "SENDs to a peer in ERR do not complete yet", "%s",
	       st(w[0].status));
	pair_free(p);

	/* requester in RNR wait, then moved to ERR: its SENDs flush */
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	for (i = 0; i < 4; i++) {
		d = (struct wrd){ .op = IBV_WR_SEND, .id = 40 + i,
				  .sg = { sge(a, 0, 8) }, .nsge = 1 };
		post(a->qp, &d);
	}
	post_recv(a, 49, 0, 64);
	msleep(300);
	expect(ibv_poll_cq(a->scq, 1, w) == 0,
	       "SENDs without a receive wait (rnr_retry 7)", "%s",
	       st(w[0].status));
	expect_rc(to_state(a->qp, IBV_QPS_ERR), 0, "requester -> ERR with 4 SENDs outstanding");
	n = poll_n(a->scq, w, 4, WAIT_MS);
	for (i = 0; i < n; i++)
		if (w[i].status != IBV_WC_WR_FLUSH_ERR ||
		    w[i].wr_id != 40U + i)
			break;
	expect(n == 4 && i == 4, "4 SENDs flushed in order with IBV_WC_WR_FLUSH_ERR",
	       "%d completions, entry %d %s id %" PRIu64, n, i,
	       st(w[i].status), w[i].wr_id);
	n = poll_n(a->rcq, w, 1, WAIT_MS);
	expect(n == 1 && w[0].status == IBV_WC_WR_FLUSH_ERR && w[0].wr_id == 49,
	       "its receive flushed too", "%d", n);
	msleep(100);
	expect(ibv_poll_cq(a->scq, 1, w) == 0 && ibv_poll_cq(a->rcq, 1, w) == 0,
	       "nothing more", "extra completion");

	/* RESET and connect again to a new peer: traffic works */
	expect_rc(to_state(a->qp, IBV_QPS_RESET), 0, "ERR -> RESET");
	o.no_connect = true;
	q = pair_new(&o);
	connect_qp(a->qp, REMOTE_RIGHTS, q->b.qp->qp_num, &o);
	connect_qp(q->b.qp, REMOTE_RIGHTS, a->qp->qp_num, &o);
	post_recv(&q->b, 60, 0, 64);
	fill(a->buf, 64, 7);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 61,
			  .sg = { sge(a, 0, 64) }, .nsge = 1 };
	expect_rc(post(a->qp, &d), 0, "SEND after RESET and re-INIT/RTR/RTS");
	n = poll_n(a->scq, w, 1, WAIT_MS);
	expect(n == 1 && !w[0].status && w[0].wr_id == 61,
	       "it completes", "%d %s", n, n ? st(w[0].status) : "");
	n = poll_n(q->b.rcq, w, 1, WAIT_MS);
	expect(n == 1 && !w[0].status &&
	       (!is_sodp || w[0].src_qp == a->qp->qp_num) &&
	       !memcmp(q->b.buf, a->buf, 64), "and arrives", "%d", n);
	pair_free(q);
	pair_free(p);
	drain_async();
	return 0;
}

/* requester error, responder event and state */
static void remote_error(const char *what, struct popts *o, int op,
			 int rkey_kind, size_t roff, uint32_t len)
{
	struct pair *p = pair_new(o);
	struct side *a = &p->a, *b = &p->b;
	struct ibv_mr *mr2 = NULL;
	struct ibv_wc w;
	struct wrd d;
	const char *got = "nothing";
	char name[256];
	uint32_t rkey = b->mr->rkey;

	if (rkey_kind == 1)
		rkey = b->mr->rkey ^ 0x5a5a00;
	if (rkey_kind == 2) {	/* MR without remote rights */
		mr2 = must_reg(b->buf, BUF, LW);
		rkey = mr2->rkey;
	}
	if (rkey_kind == 3) {	/* read-only MR */
		mr2 = must_reg(b->buf, BUF, LW | RR);
		rkey = mr2->rkey;
	}
	post_recv(b, 1, 0, 64);
	d = (struct wrd){ .op = op, .id = 7, .sg = { sge(a, 0, len ? len : 8) },
			  .nsge = 1, .raddr = (uintptr_t)b->buf + roff,
			  .rkey = rkey, .cmp = 1, .swp = 2 };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	snprintf(name, sizeof(name), "%s: requester IBV_WC_REM_ACCESS_ERR", what);
	expect_err(&w, IBV_WC_REM_ACCESS_ERR, 7, name);
	snprintf(name, sizeof(name), "%s: responder gets IBV_EVENT_QP_ACCESS_ERR",
		 what);
	expect_sodp(async_event(IBV_EVENT_QP_ACCESS_ERR, b->qp,
				is_sodp ? WAIT_MS : 2000, &got), name,
		    "got %s", got);
	snprintf(name, sizeof(name), "%s: responder QP in ERR, its receive flushed",
		 what);
	w = poll1(b->rcq, WAIT_MS);
	expect(qp_state(b->qp) == IBV_QPS_ERR &&
	       w.status == IBV_WC_WR_FLUSH_ERR, name, "state %d, %s",
	       qp_state(b->qp), st(w.status));
	snprintf(name, sizeof(name), "%s: requester QP in ERR", what);
	expect(qp_state(a->qp) == IBV_QPS_ERR, name, "state %d",
	       qp_state(a->qp));
	if (mr2)
		ibv_dereg_mr(mr2);
	pair_free(p);
	drain_async();
}

static int sc_errors(int argc, char **argv)
{
	struct popts o = defaults;
	struct pair *p;
	struct side *a, *b;
	struct ibv_wc w;
	struct wrd d;
	const char *got = "nothing";
	long t;

	remote_error("WRITE with a bad rkey", &o, IBV_WR_RDMA_WRITE, 1, 0, 64);
	remote_error("READ with a bad rkey", &o, IBV_WR_RDMA_READ, 1, 0, 64);
	remote_error("WRITE past the end of the MR", &o, IBV_WR_RDMA_WRITE, 0,
		     BUF - 32, 64);
	remote_error("READ before the start of the MR", &o, IBV_WR_RDMA_READ, 0,
		     -(size_t)4096, 64);
	remote_error("WRITE to an MR without REMOTE_WRITE", &o,
		     IBV_WR_RDMA_WRITE, 3, 0, 64);
	remote_error("READ from an MR without REMOTE_READ", &o,
		     IBV_WR_RDMA_READ, 2, 0, 64);
	remote_error("atomic on an MR without REMOTE_ATOMIC", &o,
		     IBV_WR_ATOMIC_FETCH_AND_ADD, 3, 0, 8);
	o.b_access = RR | RA;
	remote_error("WRITE to a QP without IBV_ACCESS_REMOTE_WRITE", &o,
		     IBV_WR_RDMA_WRITE, 0, 0, 64);
	o.b_access = RW | RA;
	remote_error("READ from a QP without IBV_ACCESS_REMOTE_READ", &o,
		     IBV_WR_RDMA_READ, 0, 0, 64);
	o = defaults;

	/* bad lkey */
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	post_recv(b, 1, 0, 64);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 2,
			  .sg = { { (uintptr_t)a->buf, 8, a->mr->lkey ^ 0x700 } },
			  .nsge = 1 };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect_err(&w, IBV_WC_LOC_PROT_ERR, 2,
		   "SEND with a bad lkey: IBV_WC_LOC_PROT_ERR");
	pair_free(p);
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 3,
			  .sg = { { (uintptr_t)a->buf + BUF - 8, 64,
				    a->mr->lkey } }, .nsge = 1,
			  .raddr = (uintptr_t)b->buf, .rkey = b->mr->rkey };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect_err(&w, IBV_WC_LOC_PROT_ERR, 3,
		   "WRITE with a local SGE past its MR: IBV_WC_LOC_PROT_ERR");
	pair_free(p);

	/* receive buffer too small */
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	post_recv(b, 4, 0, 16);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 5,
			  .sg = { sge(a, 0, 100) }, .nsge = 1 };
	post(a->qp, &d);
	w = poll1(b->rcq, WAIT_MS);
	expect_err(&w, IBV_WC_LOC_LEN_ERR, 4,
		   "SEND of 100 bytes into a 16-byte receive: responder IBV_WC_LOC_LEN_ERR");
	w = poll1(a->scq, WAIT_MS);
	expect_err(&w, IBV_WC_REM_INV_REQ_ERR, 5,
		   "... requester IBV_WC_REM_INV_REQ_ERR");
	pair_free(p);
	drain_async();

	/* RNR: rnr_retry 0 fails at once */
	o.rnr_retry = 0;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 6,
			  .sg = { sge(a, 0, 8) }, .nsge = 1 };
	t = now_ms();
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	t = now_ms() - t;
	expect(w.status == IBV_WC_RNR_RETRY_EXC_ERR && w.wr_id == 6 &&
	       t < 5000,
	       "SEND without a receive, rnr_retry 0: IBV_WC_RNR_RETRY_EXC_ERR quickly",
	       "%s after %ld ms", st(w.status), t);
	expect(qp_state(b->qp) == IBV_QPS_RTS, "the responder stays in RTS",
	       "%d", qp_state(b->qp));
	pair_free(p);

	/* RNR: rnr_retry 7 waits for a receive posted 300 ms later */
	o.rnr_retry = 7;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	fill(a->buf, 512, 3);
	d = (struct wrd){ .op = IBV_WR_SEND, .id = 7,
			  .sg = { sge(a, 0, 512) }, .nsge = 1 };
	post(a->qp, &d);
	msleep(300);
	expect(ibv_poll_cq(a->scq, 1, &w) == 0,
	       "rnr_retry 7: the SEND waits for a receive", "%s",
	       st(w.status));
	post_recv(b, 8, 0, PG);
	w = poll1(a->scq, WAIT_MS);
	expect(w.status == IBV_WC_SUCCESS && w.wr_id == 7,
	       "... and completes once a receive is posted 300 ms later", "%s",
	       st(w.status));
	w = poll1(b->rcq, WAIT_MS);
	expect(w.status == IBV_WC_SUCCESS && w.byte_len == 512 &&
	       !memcmp(a->buf, b->buf, 512), "... with the data", "%s len %u",
	       st(w.status), w.byte_len);
	pair_free(p);

	/* a peer QPN that does not exist */
	o = defaults;
	o.a_dest = 0xfffff0;
	o.timeout = 8;
	o.retry_cnt = 1;
	p = pair_new(&o);
	a = &p->a;
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 9,
			  .sg = { sge(a, 0, 8) }, .nsge = 1,
			  .raddr = (uintptr_t)p->b.buf, .rkey = p->b.mr->rkey };
	post(a->qp, &d);
	w = poll1(a->scq, 60000);
	expect(w.status == IBV_WC_RETRY_EXC_ERR && w.wr_id == 9,
	       "WRITE to a QPN that does not exist: IBV_WC_RETRY_EXC_ERR",
	       "%s", st(w.status));
	pair_free(p);

	/* a peer QP that is not ready (INIT) */
	o = defaults;
	o.no_connect = true;
	o.timeout = 8;
	o.retry_cnt = 1;
	p = pair_new(&o);
	connect_qp(p->a.qp, REMOTE_RIGHTS, p->b.qp->qp_num, &o);
	to_init(p->b.qp, REMOTE_RIGHTS);
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 10,
			  .sg = { sge(&p->a, 0, 8) }, .nsge = 1,
			  .raddr = (uintptr_t)p->b.buf, .rkey = p->b.mr->rkey };
	post(p->a.qp, &d);
	w = poll1(p->a.scq, 60000);
	expect(w.status == IBV_WC_RETRY_EXC_ERR && w.wr_id == 10,
	       "WRITE to a peer QP in INIT: IBV_WC_RETRY_EXC_ERR", "%s",
	       st(w.status));
	pair_free(p);
	(void)got;
	drain_async();
	return 0;
}

/* bad input at create and post */
static int sc_create(int argc, char **argv)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	struct ibv_qp_init_attr ia = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { 16, 16, 1, 1, 0 },
	};
	const struct ibv_device_attr *da = &dattr.orig_attr;
	struct ibv_qp *qp;
	struct ibv_qp_init_attr t;

	if (!cq)
		die("create cq");
	note("max_qp %d max_qp_wr %d max_sge %d max_cq %d max_cqe %d max_srq %d max_srq_wr %d max_srq_sge %d max_qp_rd_atom %d atomic_cap %d",
	     da->max_qp, da->max_qp_wr, da->max_sge, da->max_cq, da->max_cqe,
	     da->max_srq, da->max_srq_wr, da->max_srq_sge,
	     da->max_qp_rd_atom, da->atomic_cap);
	expect_sodp(da->max_qp == 65536 && da->max_qp_wr == 16384 &&
		    da->max_sge == 32 && da->max_cq == 65536 &&
		    da->max_cqe == 65535 && da->max_srq == 65536 &&
		    da->max_srq_wr == 16384 && da->max_srq_sge == 32 &&
		    da->max_qp_rd_atom == 16 &&
		    da->atomic_cap == IBV_ATOMIC_HCA,
		    "device attributes: max_qp 65536, max_qp_wr 16384, max_sge 32, max_cq 65536, max_cqe 65535, max_srq 65536/16384/32, max_qp_rd_atom 16, ATOMIC_HCA",
		    "see the comment above");
	expect_sodp(pattr.max_msg_sz == 0x80000000, "port max_msg_sz 0x80000000",
		    "0x%x", pattr.max_msg_sz);
#define TRY(field, val, err, what) do {					\
	t = ia;								\
	t.field = (val);						\
	qp = ibv_create_qp(pd, &t);					\
	expect(!qp && errno == (err), what, "%p %s", (void *)qp,	\
	       strerror(errno));					\
	if (qp)								\
		ibv_destroy_qp(qp);					\
} while (0)
	TRY(cap.max_send_wr, da->max_qp_wr + 1, EINVAL,
	    "RC QP with max_send_wr > max_qp_wr: EINVAL");
	TRY(cap.max_recv_wr, da->max_qp_wr + 1, EINVAL,
	    "RC QP with max_recv_wr > max_qp_wr: EINVAL");
	TRY(cap.max_send_sge, da->max_sge + 1, EINVAL,
	    "RC QP with max_send_sge > max_sge: EINVAL");
	TRY(cap.max_recv_sge, da->max_sge + 1, EINVAL,
	    "RC QP with max_recv_sge > max_sge: EINVAL");
	TRY(cap.max_inline_data, 1 << 20, EINVAL,
	    "RC QP with 1 MiB of inline data: EINVAL");
	t = ia;
	t.cap.max_send_wr = da->max_qp_wr;
	qp = ibv_create_qp(pd, &t);
	expect(qp != NULL, "RC QP with max_send_wr = max_qp_wr", "%s",
	       strerror(errno));
	if (qp)
		ibv_destroy_qp(qp);
	t = ia;
	t.qp_type = IBV_QPT_UD;
	qp = ibv_create_qp(pd, &t);
	expect_sodp(!qp && errno == EOPNOTSUPP, "UD QP: EOPNOTSUPP", "%p %s",
		    (void *)qp, strerror(errno));
	if (qp)
		ibv_destroy_qp(qp);
	t = ia;
	t.qp_type = IBV_QPT_UC;
	qp = ibv_create_qp(pd, &t);
	expect_sodp(!qp && errno == EOPNOTSUPP, "UC QP: EOPNOTSUPP", "%p %s",
		    (void *)qp, strerror(errno));
	if (qp)
		ibv_destroy_qp(qp);

	/* post-time errors */
	{
		struct popts o = defaults;
		struct pair *p;
		struct ibv_sge sg[8] = {};
		struct ibv_send_wr wr = { .opcode = IBV_WR_SEND, .sg_list = sg,
					  .num_sge = 5 }, *bad;
		struct ibv_recv_wr rw = { .sg_list = sg, .num_sge = 5 }, *rbad;
		int i, ret;

		o.max_send_wr = 4;
		o.max_recv_wr = 4;
		p = pair_new(&o);
		ret = ibv_post_send(p->a.qp, &wr, &bad);
		expect(ret == EINVAL && bad == &wr,
		       "ibv_post_send with more SGEs than max_send_sge: EINVAL, bad_wr",
		       "%d", ret);
		ret = ibv_post_recv(p->a.qp, &rw, &rbad);
		expect(ret == EINVAL && rbad == &rw,
		       "ibv_post_recv with more SGEs than max_recv_sge: EINVAL",
		       "%d", ret);
		wr.num_sge = 1;
		sg[0] = sge(&p->a, 0, 4096);
		wr.send_flags = IBV_SEND_INLINE;
		ret = ibv_post_send(p->a.qp, &wr, &bad);
		expect(ret == EINVAL, "inline SEND of 4096 bytes (max_inline 64): EINVAL",
		       "%d", ret);
		/* overfill the receive queue: cap is what query says */
		struct ibv_qp_attr at;
		struct ibv_qp_init_attr qi;

		ibv_query_qp(p->b.qp, &at, IBV_QP_CAP, &qi);
		rw.num_sge = 1;
		for (i = 0; i < (int)at.cap.max_recv_wr; i++)
			if (ibv_post_recv(p->b.qp, &rw, &rbad))
				break;
		ret = ibv_post_recv(p->b.qp, &rw, &rbad);
		expect(i == (int)at.cap.max_recv_wr && ret == ENOMEM,
		       "receive queue full after max_recv_wr receives: ENOMEM",
		       "%d posted of %u, then %d", i, at.cap.max_recv_wr, ret);
		pair_free(p);
	}
	ibv_destroy_cq(cq);
	return 0;
}

/* ---- ODP under change (sodp; skipped where the device lacks ODP) ------ */

struct churn {
	char *addr;
	size_t len;
	pthread_mutex_t lock;
	atomic_bool on, stop;
	atomic_long n;
};

static void *churner(void *arg)
{
	struct churn *c = arg;

	while (!atomic_load(&c->stop)) {
		pthread_mutex_lock(&c->lock);
		if (atomic_load(&c->on)) {
			madvise(c->addr, c->len, MADV_DONTNEED);
			atomic_fetch_add(&c->n, 1);
		}
		pthread_mutex_unlock(&c->lock);
		usleep(100);
	}
	return NULL;
}

/* churn off and no madvise in progress */
static void churn_pause(struct churn *c)
{
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->on, false);
	pthread_mutex_unlock(&c->lock);
}

static bool odp_needed(uint32_t caps, bool implicit, const char *what)
{
	if (has_odp(caps, implicit))
		return true;
	if (is_sodp)
		expect(false, what, "sodp must report ODP caps 0x%x%s", caps,
		       implicit ? " and implicit ODP" : "");
	else
		note("SKIP %s: %s has no such ODP caps", what, devname);
	return false;
}

static int sc_odp(int argc, char **argv)
{
	int iters = argc > 0 ? atoi(argv[0]) : 100;
	uint32_t rc = IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ;
	struct popts o = defaults;
	struct pair *p;
	struct side *a, *b;
	struct churn c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct ibv_mr *tmr;
	struct ibv_wc w;
	struct wrd d;
	pthread_t th;
	char *t;
	int i, fd, bad = 0;
	const size_t TL = 16 * PG;

	if (!odp_needed(rc, false, "ODP RC WRITE/READ"))
		return 0;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;

	/* 1. shared memfd target: DONTNEED keeps the data (page cache) */
	fd = memfd_create("odp-target", 0);
	if (fd < 0 || ftruncate(fd, TL))
		die("memfd");
	t = mmap(NULL, TL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t == MAP_FAILED)
		die("mmap memfd");
	memset(t, 0, TL);
	tmr = must_reg(t, TL, ALL_RIGHTS | ODP);
	c.addr = t;
	c.len = TL;
	pthread_create(&th, NULL, churner, &c);
	for (i = 0; i < iters && !bad; i++) {
		size_t off = (i * 3 % 13) * PG + (i & 7) * 8;
		uint32_t len = 2 * PG + i;

		fill(a->buf, len, i);
		d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = i,
				  .sg = { sge(a, 0, len) }, .nsge = 1,
				  .raddr = (uintptr_t)t + off,
				  .rkey = tmr->rkey };
		atomic_store(&c.on, true);
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		churn_pause(&c);
		if (w.status || memcmp(t + off, a->buf, len))
			bad = 1;
		/* read it back while the mapping keeps being zapped */
		memset(a->buf + 8 * PG, 0, len);
		d = (struct wrd){ .op = IBV_WR_RDMA_READ, .id = i,
				  .sg = { sge(a, 8 * PG, len) }, .nsge = 1,
				  .raddr = (uintptr_t)t + off,
				  .rkey = tmr->rkey };
		atomic_store(&c.on, true);
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		churn_pause(&c);
		if (w.status || memcmp(a->buf + 8 * PG, a->buf, len))
			bad = 2;
	}
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	note("%ld MADV_DONTNEEDs during %d WRITE+READ pairs",
	     atomic_load(&c.n), i);
	expect(!bad && atomic_load(&c.n) > 0,
	       "ODP target (shared memfd) under concurrent MADV_DONTNEED: every WRITE lands and the CPU sees it, every READ returns it",
	       "iteration %d: %s %s", i - 1, bad == 1 ? "WRITE" : "READ",
	       st(w.status));
	ibv_dereg_mr(tmr);
	munmap(t, TL);
	close(fd);

	/* 2. private anonymous target: DONTNEED between operations */
	t = map_anon(TL);
	tmr = must_reg(t, TL, ALL_RIGHTS | ODP);
	for (i = 0; i < 20 && !bad; i++) {
		fill(a->buf, TL, 100 + i);
		d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = i,
				  .sg = { sge(a, 0, TL) }, .nsge = 1,
				  .raddr = (uintptr_t)t, .rkey = tmr->rkey };
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		if (w.status || memcmp(t, a->buf, TL))
			bad = 1;
		madvise(t, TL, MADV_DONTNEED);
		d = (struct wrd){ .op = IBV_WR_RDMA_READ, .id = i,
				  .sg = { sge(a, 0, TL) }, .nsge = 1,
				  .raddr = (uintptr_t)t, .rkey = tmr->rkey };
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		if (w.status || a->buf[0] || memcmp(a->buf, a->buf + 1, TL - 1))
			bad = 2;
	}
	expect(!bad,
	       "ODP target (private anonymous): WRITE lands, MADV_DONTNEED, READ returns zeros (20 rounds)",
	       "round %d: %s %s", i - 1, bad == 1 ? "WRITE" : "READ",
	       st(w.status));

	/* 3. fork: COW-split the target */
	fill(a->buf, TL, 200);
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 300,
			  .sg = { sge(a, 0, TL) }, .nsge = 1,
			  .raddr = (uintptr_t)t, .rkey = tmr->rkey };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	if (w.status || memcmp(t, a->buf, TL))
		die("write before fork: %s", st(w.status));
	{
		int go[2], done[2], status;
		pid_t pid;
		char ch = 0;

		if (pipe(go) || pipe(done))
			die("pipe");
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			char *want = malloc(TL);

			fill(want, TL, 200);
			if (read(go[0], &ch, 1) != 1)
				_exit(3);
			_exit(memcmp(t, want, TL) ? 1 : 0);
		}
		fill(a->buf, TL, 201);
		d.id = 301;
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		expect(!w.status && !memcmp(t, a->buf, TL),
		       "after fork: the parent's WRITE lands in the parent's pages",
		       "%s", st(w.status));
		if (write(go[1], &ch, 1) != 1)
			die("write");
		waitpid(pid, &status, 0);
		expect(WIFEXITED(status) && !WEXITSTATUS(status),
		       "after fork: the child's view is unchanged",
		       "child status 0x%x", status);
		/* the parent's CPU writes, device reads them */
		fill(t, TL, 202);
		d = (struct wrd){ .op = IBV_WR_RDMA_READ, .id = 302,
				  .sg = { sge(a, 0, TL) }, .nsge = 1,
				  .raddr = (uintptr_t)t, .rkey = tmr->rkey };
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		expect(!w.status && !memcmp(t, a->buf, TL),
		       "after fork: a READ sees the parent's new data", "%s",
		       st(w.status));
		close(go[0]);
		close(go[1]);
		close(done[0]);
		close(done[1]);
	}

	/* 4. munmap while WRITEs run: REM_ACCESS_ERR, no hang */
	{
		int n = 0;

		for (i = 0; i < 2000; i++) {
			d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = i,
					  .sg = { sge(a, 0, PG) }, .nsge = 1,
					  .raddr = (uintptr_t)t + (i % 16) * PG,
					  .rkey = tmr->rkey };
			if (i == 20)
				munmap(t, TL);
			if (post(a->qp, &d))
				break;
			w = poll1(a->scq, WAIT_MS);
			n++;
			if (w.status)
				break;
		}
		expect(w.status == IBV_WC_REM_ACCESS_ERR && n == 21,
		       "ODP target munmapped between WRITEs: the next WRITE fails with IBV_WC_REM_ACCESS_ERR",
		       "after %d WRITEs: %s", n, st(w.status));
		expect(qp_state(b->qp) == IBV_QPS_ERR || qp_state(b->qp) == IBV_QPS_RTS,
		       "the responder QP is still queryable", "%d",
		       qp_state(b->qp));
	}
	ibv_dereg_mr(tmr);
	pair_free(p);
	drain_async();

	/* 5. munmap concurrent with a WRITE stream (no result asserted but no hang) */
	p = pair_new(&o);
	a = &p->a;
	t = map_anon(TL);
	tmr = must_reg(t, TL, ALL_RIGHTS | ODP);
	{
		int n = 0, errs = 0;
		long end;

		for (i = 0; i < 8; i++) {
			d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = i,
					  .sg = { sge(a, 0, TL) }, .nsge = 1,
					  .raddr = (uintptr_t)t, .rkey = tmr->rkey };
			post(a->qp, &d);
		}
		munmap(t, TL);
		end = now_ms() + WAIT_MS;
		while (n < 8 && now_ms() < end) {
			if (ibv_poll_cq(a->scq, 1, &w) == 1) {
				n++;
				errs += w.status != IBV_WC_SUCCESS;
			}
		}
		expect(n == 8, "8 WRITEs racing munmap of their ODP target all complete (no hang)",
		       "%d of 8 in %d ms", n, WAIT_MS);
		note("%d of them failed", errs);
	}
	ibv_dereg_mr(tmr);
	pair_free(p);
	drain_async();
	return 0;
}

/*
 * A message whose ODP faults take long on one QP does not hold up another
 * QP: a WRITE of SIZE MiB (default 256) from and into untouched ODP
 * memory (every target page is faulted in and allocated) runs on pair p,
 * while pair q does 200 SEND round trips; q must finish all of them
 * before p's WRITE completes, then the WRITE completes with the data.
 */
static int sc_stall(int argc, char **argv)
{
	size_t big = (argc > 0 ? strtoul(argv[0], NULL, 0) : 256) << 20;
	uint32_t rc = IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_SEND |
		      IBV_ODP_SUPPORT_RECV;
	struct popts o = defaults;
	struct ibv_mr *smr, *dmr;
	struct pair *p, *q;
	struct ibv_wc w[2];
	struct wrd d;
	char *src, *dst;
	long t0, tq = 0;
	int i, n, rounds = 0;

	if (!odp_needed(rc, false, "stall: ODP WRITE, SEND and RECV"))
		return 0;
	p = pair_new(&o);
	q = pair_new(&o);
	src = map_anon(big);
	dst = map_anon(big);
	/* Only the last page of the source is touched: a marker. */
	memset(src + big - PG, 0x77, PG);
	smr = must_reg(src, big, ALL_RIGHTS | ODP);
	dmr = must_reg(dst, big, ALL_RIGHTS | ODP);

	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 1,
			  .flags = IBV_SEND_SIGNALED,
			  .sg = { { (uintptr_t)src, (uint32_t)big, smr->lkey } },
			  .nsge = 1, .raddr = (uintptr_t)dst,
			  .rkey = dmr->rkey };
	t0 = now_ms();
	expect_rc(post(p->a.qp, &d), 0, "stall: post a WRITE into untouched ODP memory");

	for (i = 0; i < 200; i++) {
		struct wrd sd = { .op = IBV_WR_SEND, .id = 100 + i,
				  .flags = IBV_SEND_SIGNALED,
				  .sg = { sge(&q->a, 0, 64) }, .nsge = 1 };

		if (post_recv(&q->b, 100 + i, 0, 64) || post(q->a.qp, &sd))
			break;
		if (poll_n(q->a.scq, &w[0], 1, WAIT_MS) != 1 ||
		    poll_n(q->b.rcq, &w[1], 1, WAIT_MS) != 1 ||
		    w[0].status || w[1].status)
			break;
		rounds++;
	}
	tq = now_ms() - t0;
	n = ibv_poll_cq(p->a.scq, 1, w);
	expect(rounds == 200 && n == 0,
	       "stall: 200 SEND round trips on another QP complete while the WRITE still faults",
	       "%d round trips in %ld ms, WRITE completions by then: %d",
	       rounds, tq, n);
	if (n == 0)
		n = poll_n(p->a.scq, w, 1, 120000);
	expect(n == 1 && w[0].status == IBV_WC_SUCCESS &&
	       !memcmp(dst + big - PG, src + big - PG, PG) && dst[0] == 0,
	       "stall: the WRITE then completes with the data",
	       "n %d %s after %ld ms", n, n ? st(w[0].status) : "-",
	       now_ms() - t0);
	note("stall: %zu MiB ODP WRITE took %ld ms, 200 round trips %ld ms",
	     big >> 20, now_ms() - t0, tq);

	if (ibv_dereg_mr(smr) || ibv_dereg_mr(dmr))
		die("ibv_dereg_mr");
	munmap(src, big);
	munmap(dst, big);
	pair_free(q);
	pair_free(p);
	return 0;
}

static int sc_implicit(int argc, char **argv)
{
	uint32_t rc = IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ |
		IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV;
	struct popts o = defaults;
	struct pair *p;
	struct side *a, *b;
	struct ibv_mr *im;
	struct ibv_wc w;
	struct wrd d;
	char *src, *dst;

	if (!odp_needed(rc, true, "implicit ODP"))
		return 0;
	im = ibv_reg_mr(pd, NULL, SIZE_MAX, ALL_RIGHTS | ODP);
	if (!expect(im != NULL, "implicit ODP MR (NULL, SIZE_MAX)", "%s",
		    strerror(errno)))
		return 1;
	p = pair_new(&o);
	a = &p->a;
	b = &p->b;
	src = map_anon(BUF);
	dst = map_anon(BUF);
	fill(src, BUF, 77);
	/* source: implicit lkey; target: implicit rkey */
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 1,
			  .sg = { { (uintptr_t)src + 5, BUF - 10, im->lkey } },
			  .nsge = 1, .raddr = (uintptr_t)dst + 5,
			  .rkey = im->rkey };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect(!w.status && !memcmp(dst + 5, src + 5, BUF - 10) && !dst[4] &&
	       !dst[BUF - 5],
	       "WRITE from implicit-ODP memory into implicit-ODP memory", "%s",
	       st(w.status));
	memset(src, 0, BUF);
	d = (struct wrd){ .op = IBV_WR_RDMA_READ, .id = 2,
			  .sg = { { (uintptr_t)src, BUF, im->lkey } },
			  .nsge = 1, .raddr = (uintptr_t)dst, .rkey = im->rkey };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect(!w.status && !memcmp(dst, src, BUF),
	       "READ through the implicit MR", "%s", st(w.status));
	/* SEND from implicit into a receive on implicit */
	{
		struct ibv_sge rs = { (uintptr_t)dst, PG, im->lkey };

		fill(src, PG, 78);
		post_recv_sge(b->qp, NULL, 3, &rs, 1);
		d = (struct wrd){ .op = IBV_WR_SEND, .id = 3,
				  .sg = { { (uintptr_t)src, 1000, im->lkey } },
				  .nsge = 1 };
		post(a->qp, &d);
		w = poll1(a->scq, WAIT_MS);
		expect(!w.status, "SEND from implicit ODP", "%s", st(w.status));
		w = poll1(b->rcq, WAIT_MS);
		expect(!w.status && w.byte_len == 1000 &&
		       !memcmp(dst, src, 1000),
		       "... into a receive on implicit ODP", "%s",
		       st(w.status));
	}
	/* a target that is not mapped: REM_ACCESS_ERR */
	munmap(dst, BUF);
	d = (struct wrd){ .op = IBV_WR_RDMA_WRITE, .id = 4,
			  .sg = { { (uintptr_t)src, 64, im->lkey } },
			  .nsge = 1, .raddr = (uintptr_t)dst, .rkey = im->rkey };
	post(a->qp, &d);
	w = poll1(a->scq, WAIT_MS);
	expect(w.status == IBV_WC_REM_ACCESS_ERR,
	       "WRITE to unmapped memory through the implicit rkey: IBV_WC_REM_ACCESS_ERR",
	       "%s", st(w.status));
	pair_free(p);
	ibv_dereg_mr(im);
	munmap(src, BUF);
	drain_async();
	return 0;
}

/* ---- teardown with traffic in flight ---------------------------------- */

struct poster {
	struct pair *p;
	uint64_t raddr;
	uint32_t rkey;
	atomic_bool stop;
	atomic_long posted;
	int op;
};

static void *poster_fn(void *arg)
{
	struct poster *s = arg;
	struct side *a = &s->p->a;
	struct ibv_wc w[16];
	struct wrd d;
	long out = 0;
	int n;

	while (!atomic_load(&s->stop)) {
		if (out < 32) {
			d = (struct wrd){ .op = s->op, .id = 1,
					  .sg = { sge(a, 0, 16 * PG) },
					  .nsge = 1,
					  .raddr = s->raddr, .rkey = s->rkey };
			if (!post(a->qp, &d)) {
				out++;
				atomic_fetch_add(&s->posted, 1);
			}
		}
		n = ibv_poll_cq(a->scq, 16, w);
		if (n > 0)
			out -= n;
		if (out >= 32)
			usleep(100);
	}
	return NULL;
}

/*
 * Fill every ring this process has mapped from the uverbs device (the
 * provider's CQ, SQ, RQ rings: headers, indexes and slots) with @byte.
 * Return: the number of mappings scribbled on.
 */
static int scribble_rings(int byte)
{
	char line[512], path[256];
	unsigned long lo, hi;
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (!f)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		path[0] = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi,
			   path) < 2 || !strstr(path, "uverbs"))
			continue;
		if (!strstr(line, " rw"))
			continue;
		memset((void *)lo, byte, hi - lo);
		n++;
	}
	fclose(f);
	return n;
}

/*
 * Userspace owns the rings: garbage in every index and slot must not hurt
 * the kernel. The QP pair then carries on as it can (the kernel moves what
 * it cannot trust to ERR); everything is torn down; the case checks the
 * kernel log and that no object is left.
 */
static int sc_corrupt(int argc, char **argv)
{
	static const int bytes[] = { 0xff, 0x00, 0x5a };
	struct popts o = defaults;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(bytes); k++) {
		struct pair *p = pair_new(&o);
		struct ibv_wc w[16];
		struct wrd d;
		int i, n;

		for (i = 0; i < 4; i++)
			post_recv(&p->b, i, 0, 64);
		n = scribble_rings(bytes[k]);
		expect(n >= 4, "corrupt: rings of 2 QPs and 4 CQs scribbled on",
		       "0x%02x: %d uverbs mappings", bytes[k], n);
		/* Post, ring doorbells, poll, arm, flush: the kernel reads. */
		for (i = 0; i < 8; i++) {
			d = (struct wrd){ .op = IBV_WR_SEND, .id = i,
					  .flags = IBV_SEND_SIGNALED,
					  .sg = { sge(&p->a, 0, 64) }, .nsge = 1 };
			post(p->a.qp, &d);
			post_recv(&p->b, 10 + i, 0, 64);
		}
		msleep(100);
		ibv_poll_cq(p->a.scq, 16, w);
		ibv_poll_cq(p->b.rcq, 16, w);
		ibv_req_notify_cq(p->a.scq, 0);
		to_state(p->a.qp, IBV_QPS_ERR);
		to_state(p->b.qp, IBV_QPS_ERR);
		post(p->a.qp, &d);
		post_recv(&p->b, 30, 0, 64);
		msleep(100);
		ibv_poll_cq(p->a.scq, 16, w);
		expect(qp_state(p->a.qp) == IBV_QPS_ERR,
		       "corrupt: the requester QP is in ERR, the process goes on",
		       "0x%02x: state %d", bytes[k], qp_state(p->a.qp));
		expect_rc(to_state(p->a.qp, IBV_QPS_RESET), 0,
			  "corrupt: ERR -> RESET still works");
		pair_free(p);
	}
	return 0;
}

static int sc_teardown(int argc, char **argv)
{
	struct popts o = defaults;
	struct poster s = { .op = IBV_WR_RDMA_WRITE };
	struct ibv_wc w[64];
	pthread_t th;
	int ret, i;

	/* 1. responder's MR deregistered under a WRITE stream */
	s.p = pair_new(&o);
	s.raddr = (uintptr_t)s.p->b.buf;
	s.rkey = s.p->b.mr->rkey;
	pthread_create(&th, NULL, poster_fn, &s);
	msleep(300);
	ret = ibv_dereg_mr(s.p->b.mr);
	s.p->b.mr = NULL;
	expect_rc(ret, 0, "dereg the target MR while WRITEs stream into it");
	msleep(300);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	note("%ld WRITEs posted", atomic_load(&s.posted));
	expect(qp_state(s.p->a.qp) == IBV_QPS_ERR,
	       "the requester ends in ERR (REM_ACCESS_ERR)", "state %d",
	       qp_state(s.p->a.qp));
	pair_free(s.p);
	drain_async();

	/* 2. responder QP destroyed under a READ stream */
	s = (struct poster){ .op = IBV_WR_RDMA_READ };
	o.timeout = 8;
	o.retry_cnt = 1;
	s.p = pair_new(&o);
	s.raddr = (uintptr_t)s.p->b.buf;
	s.rkey = s.p->b.mr->rkey;
	pthread_create(&th, NULL, poster_fn, &s);
	msleep(300);
	ret = ibv_destroy_qp(s.p->b.qp);
	s.p->b.qp = NULL;
	expect_rc(ret, 0, "destroy the responder QP while READs stream from it");
	expect_rc(ibv_destroy_cq(s.p->b.rcq), 0, "then its CQ");
	s.p->b.rcq = NULL;
	msleep(500);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	note("%ld READs posted", atomic_load(&s.posted));
	pair_free(s.p);
	drain_async();

	/* 3. requester QP destroyed with its send queue full of WRITEs */
	s = (struct poster){ .op = IBV_WR_RDMA_WRITE };
	o = defaults;
	s.p = pair_new(&o);
	s.raddr = (uintptr_t)s.p->b.buf;
	s.rkey = s.p->b.mr->rkey;
	pthread_create(&th, NULL, poster_fn, &s);
	msleep(300);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	for (i = 0; i < 32; i++) {
		struct wrd d = { .op = IBV_WR_RDMA_WRITE, .id = 2,
				 .sg = { sge(&s.p->a, 0, BUF) }, .nsge = 1,
				 .raddr = (uintptr_t)s.p->b.buf,
				 .rkey = s.p->b.mr->rkey };

		if (post(s.p->a.qp, &d))
			break;
	}
	expect_rc(ibv_destroy_cq(s.p->a.scq), EBUSY,
		  "destroying a CQ still attached to a QP: EBUSY");
	ret = ibv_destroy_qp(s.p->a.qp);
	s.p->a.qp = NULL;
	expect_rc(ret, 0, "destroy a requester QP with WRITEs in flight");
	ibv_poll_cq(s.p->a.scq, 64, w);
	ret = ibv_destroy_cq(s.p->a.scq);
	s.p->a.scq = NULL;
	expect_rc(ret, 0, "destroy its CQ right after");
	pair_free(s.p);

	/* 4. exit with traffic in flight: the kernel cleans up */
	if (argc > 0 && !strcmp(argv[0], "exit")) {
		s = (struct poster){ .op = IBV_WR_RDMA_WRITE };
		s.p = pair_new(&o);
		s.raddr = (uintptr_t)s.p->b.buf;
	s.rkey = s.p->b.mr->rkey;
	pthread_create(&th, NULL, poster_fn, &s);
		msleep(300);
		note("exiting with %ld WRITEs posted, QPs live", atomic_load(&s.posted));
		fflush(stdout);
		_exit(fails ? 1 : 0);
	}
	drain_async();
	return 0;
}

/* a WRITE or SEND stream for SECONDS (for kill -9 from a case) */
static int sc_stream(int argc, char **argv)
{
	int secs = argc > 0 ? atoi(argv[0]) : 10;
	struct popts o = defaults;
	struct poster s = { .op = IBV_WR_RDMA_WRITE };
	pthread_t th;

	s.p = pair_new(&o);
	s.raddr = (uintptr_t)s.p->b.buf;
	s.rkey = s.p->b.mr->rkey;
	pthread_create(&th, NULL, poster_fn, &s);
	printf("streaming\n");
	fflush(stdout);
	sleep(secs);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	note("%ld WRITEs posted", atomic_load(&s.posted));
	pair_free(s.p);
	return 0;
}

struct scenario {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static const struct scenario scenarios[] = {
	{ "ops", sc_ops, "every RC operation, SGEs, inline, (un)signalled" },
	{ "ex", sc_ex, "ibv_create_qp_ex + ibv_wr_*, ibv_create_cq_ex polling" },
	{ "notify", sc_notify, "completion channel, next and solicited" },
	{ "resize", sc_resize, "ibv_resize_cq grow and shrink" },
	{ "srq", sc_srq, "SRQ on two QPs, srq_limit event" },
	{ "state", sc_state, "QP state machine, ibv_query_qp" },
	{ "flush", sc_flush, "ERR flushes, RESET and reconnect" },
	{ "errors", sc_errors, "remote/local errors, RNR, retry exceeded" },
	{ "create", sc_create, "bad input at create and post" },
	{ "odp", sc_odp, "[N]: ODP target under DONTNEED, fork, munmap" },
	{ "implicit", sc_implicit, "implicit ODP as source and target" },
	{ "corrupt", sc_corrupt, "garbage in every ring: the kernel survives" },
	{ "stall", sc_stall, "[MiB]: a long ODP fault on one QP, another QP flows" },
	{ "teardown", sc_teardown, "[exit]: destroy while traffic flows" },
	{ "stream", sc_stream, "[SECONDS]: a WRITE stream" },
};

int main(int argc, char **argv)
{
	char path[512];
	unsigned int i;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DEV SCENARIO [ARGS]\n", argv[0]);
		for (i = 0; i < ARRAY_SIZE(scenarios); i++)
			fprintf(stderr, "  %-9s %s\n", scenarios[i].name,
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
	ret = scenarios[i].fn(argc - 3, argv + 3);
	if (ibv_dealloc_pd(pd))
		die("ibv_dealloc_pd");
	if (ibv_close_device(ctx))
		die("ibv_close_device");
	if (ret)
		return ret;
	return fails ? 1 : 0;
}
