// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The QP engine: each QP's send worker executes its send queue, in order,
 * and for now delivers every request to a QP on this host (loopback RC).
 *
 * Why a workqueue, and an unbound one (sodp_wq):
 *
 *   - The worker sleeps: ODP faults take the mmap lock and run
 *     hmm_range_fault(), resp_lock is a mutex, copies of megabytes take
 *     milliseconds. It must run in process context.
 *   - A work item never runs on two CPUs at once (workqueues are
 *     non-reentrant), so each SQ has exactly one consumer and needs no
 *     lock; a doorbell that arrives while the worker runs just queues it
 *     once more.
 *   - Unbound: the worker is not tied to the CPU that rang the doorbell
 *     (usually the one the application polls on), it is not subject to
 *     the per-CPU pools' concurrency management (a long copy or fault on
 *     one QP never holds back another QP's worker queued on the same
 *     CPU, and long CPU-bound runs are not reported as CPU hogs), and the
 *     scheduler spreads QPs over idle CPUs.
 *   - Delayed work gives the RNR timer for free, and a pool of shared
 *     kworkers costs nothing per idle QP, unlike a kthread per QP.
 *
 * A worker executes at most SODP_ENG_BATCH WQEs or SODP_ENG_SLICE_MS per
 * run, then requeues itself, so one busy QP cannot monopolise a worker.
 *
 * Transport split: the requester (sodp_sq_execute()) validates a WQE and
 * its local SGEs and builds a struct sodp_req whose payload is a source
 * (SEND, WRITE) or sink (READ) the responder copies from or into. The
 * responder (sodp_resp_execute()) makes every responder-side check and
 * answers with a syndrome, as a NAK or ACK would. Only sodp_deliver()
 * knows that the responder is local; a RoCEv2 transport replaces it.
 *
 * Errors, as the IB spec and rxe report them:
 *   requester: bad WQE -> LOC_QP_OP_ERR or LOC_LEN_ERR; local key, PD,
 *     bounds or access -> LOC_PROT_ERR; no responder (unknown GID or QPN,
 *     peer not in RTR/RTS/SQD) -> RETRY_EXC_ERR; RNR retries spent ->
 *     RNR_RETRY_EXC_ERR.
 *   responder: rkey problems -> requester REM_ACCESS_ERR, responder ERR +
 *     IB_EVENT_QP_ACCESS_ERR; message longer than the receive buffers ->
 *     receive LOC_LEN_ERR, requester REM_INV_REQ_ERR; bad receive buffer ->
 *     receive LOC_PROT_ERR, requester REM_OP_ERR; unaligned atomic,
 *     SEND_WITH_INV -> requester REM_INV_REQ_ERR, responder ERR +
 *     IB_EVENT_QP_REQ_ERR; corrupt receive ring -> requester REM_OP_ERR,
 *     responder ERR + IB_EVENT_QP_FATAL.
 *   ODP: -ENOMEM, -EBUSY (invalidations kept colliding) and -EINTR are
 *     resource failures, not protection errors, and are not retried (a
 *     retry could spin as long as the collisions last): on the requester's
 *     memory LOC_QP_OP_ERR; on the responder's memory REM_OP_ERR. Any other
 *     fault error (-EFAULT, -EPERM, -ENOENT) is a protection error of the
 *     side it happened on. A requester-side failure after the responder
 *     consumed a receive WQE completes that receive with REM_ABORT_ERR.
 * Every completion in error moves its QP to ERR.
 */

#include <linux/jiffies.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <rdma/ib_verbs.h>

#include "sodp.h"

struct workqueue_struct *sodp_wq;

/*
 * Serialises RDMA atomics on every sodp device: the read, compare or add,
 * and write of the target u64 happen under it, so two atomics (from any
 * QPs) on the same address never interleave. Taken inside an ODP chunk
 * callback (under a region lock), it is a leaf: nothing else is taken
 * and nothing sleeps under it.
 */
static DEFINE_SPINLOCK(sodp_atomic_lock);

#define SODP_ENG_BATCH		64	/* WQEs per run */
#define SODP_ENG_SLICE_MS	2	/* time per run */
#define SODP_RNR_INFINITE	7

/* A local SGE of the WQE being executed, with a view of its MR. */
struct sodp_lsge {
	struct sodp_mr_view v;
	u64 iova;
	u32 len;			/* never 0 */
};

/*
 * What a request carries or receives: inline bytes (a kernel copy), or
 * the requester's SGEs. The responder only copies from (SEND, WRITE) or
 * into (READ) it with sodp_pl_xfer().
 */
struct sodp_payload {
	const u8 *data;			/* inline bytes, or NULL */
	struct sodp_lsge *sge;
	u32 nsge;
	u32 len;
};

/* A position in a payload. */
struct sodp_pl_cur {
	u32 idx;			/* SGE */
	u32 off;			/* in that SGE */
	u32 pos;			/* in the payload */
};

/* A request as it would travel on the wire. */
struct sodp_req {
	u8 opcode;			/* SODP_WR_* */
	bool solicited;
	u32 src_qpn;
	u32 imm;			/* network order */
	u32 rkey;
	u64 remote_addr;
	u64 compare_add;
	u64 swap;
	u32 len;			/* payload (READ: asked) length */
	struct sodp_payload *pl;
};

/* The responder's answer. */
enum sodp_syndrome {
	SODP_SYN_ACK,		/* executed */
	SODP_SYN_RNR,		/* no receive WQE; nothing was done */
	SODP_SYN_INV_REQ,	/* NAK invalid request */
	SODP_SYN_ACCESS,	/* NAK remote access error */
	SODP_SYN_OP,		/* NAK remote operational error */
	SODP_SYN_DEAD,		/* no responder answers */
	SODP_SYN_LOCAL,		/* the requester's payload failed */
};

struct sodp_resp {
	enum sodp_syndrome syn;
	int local_err;			/* SODP_SYN_LOCAL */
	u8 rnr_timer;			/* SODP_SYN_RNR: min_rnr_timer */
	u64 atomic_orig;		/* ACK of an atomic */
};

/*
 * The send worker's scratch space, allocated once per run (never per
 * WQE): too large for the stack.
 */
struct sodp_eng {
	struct sodp_send_wqe wqe;	/* the WQE, copied out of its slot */
	union {
		struct sodp_sge sge[SODP_MAX_SGE];
		u8 data[SODP_MAX_INLINE];
	} tail;
	struct sodp_lsge lsge[SODP_MAX_SGE];
	u32 nlsge;			/* views held in lsge */
	struct sodp_payload pl;
	struct sodp_recv recv;		/* the responder's receive WQE */
	bool doorbell;			/* run inline by sodp_qp_doorbell() */
};

/*
 * A doorbell executes inline only messages up to this size: ibv_post_send()
 * must not block for the copy (or the ODP faults) of a large message,
 * which the worker then executes.
 */
#define SODP_DOORBELL_MAX_LEN	SZ_64K

/* The responder's side of one request, under peer->resp_lock. */
struct sodp_rctx {
	struct sodp_qp *qp;		/* the responder */
	const struct sodp_req *req;
	struct sodp_resp *res;
	struct sodp_recv *recv;
	bool has_recv;			/* a receive WQE was consumed */
	bool to_err;			/* move the responder to ERR */
	int event;			/* with this event, or -1 */
};

/* ---- small helpers ---------------------------------------------------- */

static bool sodp_err_transient(int err)
{
	return err == -ENOMEM || err == -EBUSY || err == -EINTR;
}

static u8 sodp_local_status(int err)
{
	return sodp_err_transient(err) ? IB_WC_LOC_QP_OP_ERR :
					 IB_WC_LOC_PROT_ERR;
}

static u8 sodp_wc_opcode(u8 wr_opcode)
{
	switch (wr_opcode) {
	case SODP_WR_RDMA_WRITE:
	case SODP_WR_RDMA_WRITE_WITH_IMM:
		return SODP_WC_RDMA_WRITE;
	case SODP_WR_RDMA_READ:
		return SODP_WC_RDMA_READ;
	case SODP_WR_ATOMIC_CMP_AND_SWP:
		return SODP_WC_COMP_SWAP;
	case SODP_WR_ATOMIC_FETCH_AND_ADD:
		return SODP_WC_FETCH_ADD;
	case SODP_WR_LOCAL_INV:
		return SODP_WC_LOCAL_INV;
	default:
		return SODP_WC_SEND;
	}
}

static bool sodp_op_is_atomic(u8 op)
{
	return op == SODP_WR_ATOMIC_CMP_AND_SWP ||
	       op == SODP_WR_ATOMIC_FETCH_AND_ADD;
}

/* Raise an affiliated asynchronous event on @qp. */
static void sodp_qp_event(struct sodp_qp *qp, enum ib_event_type type)
{
	struct ib_event ev = {
		.device = qp->ibqp.device,
		.element.qp = &qp->ibqp,
		.event = type,
	};

	if (qp->ibqp.event_handler)
		qp->ibqp.event_handler(&ev, qp->ibqp.qp_context);
}

/* IB spec table 45, in units of 10 us: the RNR NAK timer field. */
static const u16 sodp_rnr_10us[32] = {
	65535, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192,
	256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
	12288, 16384, 24576, 32768, 49152,
};

static unsigned long sodp_rnr_delay(u8 timer)
{
	/* Field 0 is 655.36 ms: one unit more than 65535. */
	unsigned int us = timer ? sodp_rnr_10us[timer & 31] * 10 : 655360;

	return max(usecs_to_jiffies(us), 1UL);
}

/* Does [addr, addr + len) lie inside the view's MR? */
static bool sodp_view_covers(const struct sodp_mr_view *v, u64 addr, u64 len)
{
	u64 end;

	if (check_add_overflow(addr, len, &end))
		return false;
	return addr >= v->iova && end - v->iova <= v->length;
}

/* sodp_odp_chunk_fn: store bytes from a kernel buffer. */
static int sodp_chunk_from_buf(void *priv, void *kaddr, size_t len)
{
	const u8 **src = priv;

	memcpy(kaddr, *src, len);
	*src += len;
	return 0;
}

/* sodp_odp_chunk_fn: touch nothing (probe a range). */
static int sodp_chunk_nop(void *priv, void *kaddr, size_t len)
{
	return 0;
}

struct sodp_atomic_op {
	u8 opcode;
	u64 compare_add;
	u64 swap;
	u64 orig;
};

/*
 * sodp_odp_chunk_fn: execute an atomic on the target u64. The target is
 * 8-byte aligned in the MR's iova space; if the MR's address is not, the
 * u64 may straddle a page and arrive in two chunks: refused (-EINVAL).
 */
static int sodp_chunk_atomic(void *priv, void *kaddr, size_t len)
{
	struct sodp_atomic_op *a = priv;
	u64 val;

	if (len != sizeof(u64))
		return -EINVAL;
	spin_lock(&sodp_atomic_lock);
	memcpy(&val, kaddr, sizeof(val));
	if (a->opcode == SODP_WR_ATOMIC_FETCH_AND_ADD) {
		u64 sum = val + a->compare_add;

		memcpy(kaddr, &sum, sizeof(sum));
	} else if (val == a->compare_add) {
		memcpy(kaddr, &a->swap, sizeof(a->swap));
	}
	spin_unlock(&sodp_atomic_lock);
	a->orig = val;
	return 0;
}

/* ---- payloads ----------------------------------------------------------- */

/*
 * sodp_pl_xfer - move @len bytes between a payload and responder memory
 * @pl: the payload, from position @cur (advanced past the bytes moved)
 * @v: a view of the responder's MR, [iova, iova + len) checked by caller
 * @to_mr: payload -> @v (SEND, WRITE), else @v -> payload (READ)
 * @local: set if the failure was on the payload's (requester's) side
 *
 * Return: 0, or the errno of sodp_mr_copy()/sodp_mr_access().
 */
static int sodp_pl_xfer(struct sodp_payload *pl, struct sodp_pl_cur *cur,
			struct sodp_mr_view *v, u64 iova, u32 len,
			bool to_mr, bool *local)
{
	int err;

	*local = false;
	if (len > pl->len - cur->pos) {
		*local = true;
		return -EINVAL;
	}
	if (pl->data) {
		const u8 *src = pl->data + cur->pos;

		if (!to_mr) {
			*local = true;
			return -EINVAL;
		}
		err = sodp_mr_access(v, iova, len, true, sodp_chunk_from_buf,
				     &src);
		if (!err)
			cur->pos += len;
		return err;
	}
	while (len) {
		struct sodp_lsge *s;
		u32 n;

		if (cur->idx >= pl->nsge) {
			*local = true;
			return -EINVAL;
		}
		s = &pl->sge[cur->idx];
		n = min(len, s->len - cur->off);
		if (to_mr)
			err = sodp_mr_copy(v, iova, &s->v, s->iova + cur->off,
					   n);
		else
			err = sodp_mr_copy(&s->v, s->iova + cur->off, v, iova,
					   n);
		if (err) {
			/*
			 * One errno for two sides: whichever side cannot be
			 * accessed on its own is the one that failed.
			 */
			*local = sodp_mr_access(&s->v, s->iova + cur->off, n,
						!to_mr, sodp_chunk_nop,
						NULL) != 0;
			return err;
		}
		iova += n;
		len -= n;
		cur->pos += n;
		cur->off += n;
		if (cur->off == s->len) {
			cur->idx++;
			cur->off = 0;
		}
	}
	return 0;
}

/* ---- the responder ------------------------------------------------------ */

/* Move the responder to ERR once done, raising @event (-1: none). */
static void sodp_resp_fail(struct sodp_rctx *rc, int event)
{
	if (!rc->to_err || rc->event < 0)
		rc->event = event;
	rc->to_err = true;
}

/* Complete the consumed receive WQE. */
static void sodp_resp_complete(struct sodp_rctx *rc, u8 status, u8 opcode,
			       u32 byte_len, bool with_imm)
{
	const struct sodp_req *req = rc->req;
	struct sodp_qp *qp = rc->qp;
	struct sodp_cqe cqe = {
		.wr_id = rc->recv->wr_id,
		.status = status,
		.opcode = opcode,
		.byte_len = byte_len,
		.qp_num = qp->qpn,
		.src_qp = req->src_qpn,
	};

	if (with_imm) {
		cqe.wc_flags = SODP_WC_F_WITH_IMM;
		cqe.imm_data = req->imm;
	}
	rc->has_recv = false;
	/* An error completion also wakes a solicited-only waiter. */
	if (sodp_cq_post(qp->rcq, &cqe,
			 req->solicited || status != IB_WC_SUCCESS) ||
	    status != IB_WC_SUCCESS)
		sodp_resp_fail(rc, -1);
}

/* Take the next receive WQE. Return: false if the request is answered. */
static bool sodp_resp_take_recv(struct sodp_rctx *rc)
{
	int err = sodp_qp_take_recv(rc->qp, rc->recv);

	if (!err) {
		rc->has_recv = true;
		return true;
	}
	if (err == -EAGAIN) {
		rc->res->syn = SODP_SYN_RNR;
		rc->res->rnr_timer = READ_ONCE(rc->qp->attr.min_rnr_timer);
	} else {
		rc->res->syn = SODP_SYN_OP;
		sodp_resp_fail(rc, IB_EVENT_QP_FATAL);
	}
	return false;
}

/*
 * A transfer between the payload and the responder's memory failed.
 * @rkey: the responder's side was an rkey range (else a receive buffer).
 */
static void sodp_resp_xfer_failed(struct sodp_rctx *rc, int err, bool local,
				  bool rkey)
{
	struct sodp_resp *res = rc->res;
	u8 status;

	if (local) {
		res->syn = SODP_SYN_LOCAL;
		res->local_err = err;
		status = IB_WC_REM_ABORT_ERR;
	} else if (sodp_err_transient(err)) {
		res->syn = SODP_SYN_OP;
		status = IB_WC_LOC_QP_OP_ERR;
	} else if (rkey) {
		res->syn = SODP_SYN_ACCESS;
		sodp_resp_fail(rc, IB_EVENT_QP_ACCESS_ERR);
		status = IB_WC_LOC_ACCESS_ERR;
	} else {
		res->syn = SODP_SYN_OP;
		status = IB_WC_LOC_PROT_ERR;
	}
	if (rc->has_recv)
		sodp_resp_complete(rc, status, SODP_WC_RECV, 0, false);
}

/* Look up and check an rkey range of the request; put @v when done. */
static int sodp_resp_rkey(struct sodp_qp *qp, const struct sodp_req *req,
			  u64 len, int access, struct sodp_mr_view *v)
{
	if (!(READ_ONCE(qp->attr.qp_access_flags) & access))
		return -EACCES;
	if (sodp_mr_lookup(qp->sdev, req->rkey, v))
		return -ENOENT;
	if (v->pd != qp->ibqp.pd || !(v->access & access) ||
	    !sodp_view_covers(v, req->remote_addr, len)) {
		sodp_mr_view_put(v);
		return -EACCES;
	}
	return 0;
}

/* An rkey check failed: NAK remote access error, the responder to ERR. */
static void sodp_resp_access_err(struct sodp_rctx *rc)
{
	rc->res->syn = SODP_SYN_ACCESS;
	sodp_resp_fail(rc, IB_EVENT_QP_ACCESS_ERR);
	if (rc->has_recv)
		sodp_resp_complete(rc, IB_WC_LOC_ACCESS_ERR, SODP_WC_RECV, 0,
				   false);
}

static void sodp_resp_send(struct sodp_rctx *rc)
{
	const struct sodp_req *req = rc->req;
	struct sodp_qp *qp = rc->qp;
	struct sodp_recv *recv = rc->recv;
	struct sodp_pl_cur cur = {};
	u32 nsge, left, i;
	u64 room = 0;
	bool local;
	int err;

	if (!sodp_resp_take_recv(rc))
		return;
	nsge = min_t(u32, recv->num_sge, SODP_MAX_SGE);
	for (i = 0; i < nsge; i++)
		room += recv->sge[i].length;
	if (req->len > room) {
		rc->res->syn = SODP_SYN_INV_REQ;
		sodp_resp_complete(rc, IB_WC_LOC_LEN_ERR, SODP_WC_RECV, 0,
				   false);
		return;
	}

	left = req->len;
	for (i = 0; left && i < nsge; i++) {
		const struct sodp_sge *s = &recv->sge[i];
		struct sodp_mr_view v;
		u32 n = min(s->length, left);

		if (!n)
			continue;
		if (sodp_mr_lookup(qp->sdev, s->lkey, &v)) {
			sodp_resp_xfer_failed(rc, -ENOENT, false, false);
			return;
		}
		if (v.pd != qp->ibqp.pd ||
		    !(v.access & IB_ACCESS_LOCAL_WRITE) ||
		    !sodp_view_covers(&v, s->addr, n)) {
			sodp_mr_view_put(&v);
			sodp_resp_xfer_failed(rc, -EACCES, false, false);
			return;
		}
		err = sodp_pl_xfer(req->pl, &cur, &v, s->addr, n, true,
				   &local);
		sodp_mr_view_put(&v);
		if (err) {
			sodp_resp_xfer_failed(rc, err, local, false);
			return;
		}
		left -= n;
	}

	rc->res->syn = SODP_SYN_ACK;
	sodp_resp_complete(rc, IB_WC_SUCCESS, SODP_WC_RECV, req->len,
			   req->opcode == SODP_WR_SEND_WITH_IMM);
}

static void sodp_resp_write(struct sodp_rctx *rc)
{
	const struct sodp_req *req = rc->req;
	bool imm = req->opcode == SODP_WR_RDMA_WRITE_WITH_IMM;
	struct sodp_pl_cur cur = {};
	struct sodp_mr_view v;
	bool local;
	int err;

	if (imm && !sodp_resp_take_recv(rc))
		return;
	/* A zero-length write names no memory: its rkey is not checked. */
	if (req->len) {
		if (sodp_resp_rkey(rc->qp, req, req->len,
				   IB_ACCESS_REMOTE_WRITE, &v)) {
			sodp_resp_access_err(rc);
			return;
		}
		err = sodp_pl_xfer(req->pl, &cur, &v, req->remote_addr,
				   req->len, true, &local);
		sodp_mr_view_put(&v);
		if (err) {
			sodp_resp_xfer_failed(rc, err, local, true);
			return;
		}
	}
	rc->res->syn = SODP_SYN_ACK;
	if (imm)
		sodp_resp_complete(rc, IB_WC_SUCCESS,
				   SODP_WC_RECV_RDMA_WITH_IMM, req->len, true);
}

static void sodp_resp_read(struct sodp_rctx *rc)
{
	const struct sodp_req *req = rc->req;
	struct sodp_pl_cur cur = {};
	struct sodp_mr_view v;
	bool local;
	int err;

	if (req->len) {
		if (sodp_resp_rkey(rc->qp, req, req->len,
				   IB_ACCESS_REMOTE_READ, &v)) {
			sodp_resp_access_err(rc);
			return;
		}
		err = sodp_pl_xfer(req->pl, &cur, &v, req->remote_addr,
				   req->len, false, &local);
		sodp_mr_view_put(&v);
		if (err) {
			sodp_resp_xfer_failed(rc, err, local, true);
			return;
		}
	}
	rc->res->syn = SODP_SYN_ACK;
}

static void sodp_resp_atomic(struct sodp_rctx *rc)
{
	const struct sodp_req *req = rc->req;
	struct sodp_atomic_op a = {
		.opcode = req->opcode,
		.compare_add = req->compare_add,
		.swap = req->swap,
	};
	struct sodp_mr_view v;
	int err;

	if (!IS_ALIGNED(req->remote_addr, sizeof(u64))) {
		rc->res->syn = SODP_SYN_INV_REQ;
		sodp_resp_fail(rc, IB_EVENT_QP_REQ_ERR);
		return;
	}
	if (sodp_resp_rkey(rc->qp, req, sizeof(u64), IB_ACCESS_REMOTE_ATOMIC,
			   &v)) {
		sodp_resp_access_err(rc);
		return;
	}
	err = sodp_mr_access(&v, req->remote_addr, sizeof(u64), true,
			     sodp_chunk_atomic, &a);
	sodp_mr_view_put(&v);
	if (err == -EINVAL) {
		rc->res->syn = SODP_SYN_INV_REQ;
		sodp_resp_fail(rc, IB_EVENT_QP_REQ_ERR);
		return;
	}
	if (err) {
		sodp_resp_xfer_failed(rc, err, false, true);
		return;
	}
	rc->res->syn = SODP_SYN_ACK;
	rc->res->atomic_orig = a.orig;
}

/*
 * sodp_resp_execute - execute an incoming request on the responder @qp
 * @recv: room for the receive WQE a SEND or WRITE_WITH_IMM consumes
 *
 * Takes qp->resp_lock (the caller holds no resp_lock); every responder
 * check is made here. Moves @qp to ERR itself, after dropping the lock.
 */
static void sodp_resp_execute(struct sodp_qp *qp, const struct sodp_req *req,
			      struct sodp_resp *res, struct sodp_recv *recv)
{
	struct sodp_rctx rc = {
		.qp = qp,
		.req = req,
		.res = res,
		.recv = recv,
		.event = -1,
	};
	enum ib_qp_state state;

	mutex_lock(&qp->resp_lock);
	state = READ_ONCE(qp->state);
	if (state != IB_QPS_RTR && state != IB_QPS_RTS &&
	    state != IB_QPS_SQD) {
		res->syn = SODP_SYN_DEAD;
		goto unlock;
	}

	/* No responder resources for READs and atomics: an invalid request. */
	if ((req->opcode == SODP_WR_RDMA_READ ||
	     sodp_op_is_atomic(req->opcode)) &&
	    !READ_ONCE(qp->attr.max_dest_rd_atomic)) {
		res->syn = SODP_SYN_INV_REQ;
		sodp_resp_fail(&rc, IB_EVENT_QP_REQ_ERR);
		goto unlock;
	}

	switch (req->opcode) {
	case SODP_WR_SEND:
	case SODP_WR_SEND_WITH_IMM:
		sodp_resp_send(&rc);
		break;
	case SODP_WR_RDMA_WRITE:
	case SODP_WR_RDMA_WRITE_WITH_IMM:
		sodp_resp_write(&rc);
		break;
	case SODP_WR_RDMA_READ:
		sodp_resp_read(&rc);
		break;
	case SODP_WR_ATOMIC_CMP_AND_SWP:
	case SODP_WR_ATOMIC_FETCH_AND_ADD:
		sodp_resp_atomic(&rc);
		break;
	default:
		/*
		 * SEND_WITH_INV: no key of a sodp device can be invalidated
		 * remotely (no MWs, no FRMR), as rxe with user MRs.
		 */
		res->syn = SODP_SYN_INV_REQ;
		sodp_resp_fail(&rc, IB_EVENT_QP_REQ_ERR);
		break;
	}

unlock:
	mutex_unlock(&qp->resp_lock);
	if (rc.to_err)
		sodp_qp_to_error(qp, rc.event);
}

/* ---- delivery: loopback only for now ------------------------------------ */

/*
 * The responder QP @qp's connection names, with a reference on it and on
 * its device (*@pdev), or NULL if it is not on this host.
 */
static struct sodp_qp *sodp_peer_get(struct sodp_qp *qp,
				     struct sodp_dev **pdev)
{
	const struct rdma_ah_attr *ah = &qp->attr.ah_attr;
	struct sodp_dev *sdev;
	struct sodp_qp *peer;

	if (!(rdma_ah_get_ah_flags(ah) & IB_AH_GRH))
		return NULL;
	sdev = sodp_dev_get_by_gid(&rdma_ah_read_grh(ah)->dgid);
	if (!sdev)
		return NULL;
	peer = sodp_qp_get_by_qpn(sdev, READ_ONCE(qp->attr.dest_qp_num));
	if (!peer) {
		ib_device_put(&sdev->ibdev);
		return NULL;
	}
	*pdev = sdev;
	return peer;
}

/*
 * Deliver @req and wait for the answer. The references on the peer and its
 * device live only for this one request.
 */
static void sodp_deliver(struct sodp_qp *qp, const struct sodp_req *req,
			 struct sodp_resp *res, struct sodp_recv *recv)
{
	struct sodp_dev *pdev;
	struct sodp_qp *peer;

	peer = sodp_peer_get(qp, &pdev);
	if (!peer) {
		/* The wire transport will go here. */
		res->syn = SODP_SYN_DEAD;
		return;
	}
	sodp_resp_execute(peer, req, res, recv);
	sodp_qp_put(peer);
	ib_device_put(&pdev->ibdev);
}

/* ---- the requester ------------------------------------------------------ */

/*
 * Copy the WQE at sq_cons out of its slot (header first, then only the
 * tail it announces, bounded by the stride) and validate it. Nothing in
 * the slot is read twice.
 * Return: IB_WC_SUCCESS or the completion status of a bad WQE.
 */
static u8 sodp_wqe_fetch(struct sodp_qp *qp, struct sodp_eng *e)
{
	const void *slot = sodp_ring_slot(&qp->sq, qp->sq_cons);
	struct sodp_send_wqe *w = &e->wqe;
	size_t room;

	if (qp->sq.stride < sizeof(*w)) {
		memset(w, 0, sizeof(*w));
		return IB_WC_LOC_QP_OP_ERR;
	}
	memcpy(w, slot, sizeof(*w));
	room = qp->sq.stride - sizeof(*w);

	switch (w->opcode) {
	case SODP_WR_SEND:
	case SODP_WR_SEND_WITH_IMM:
	case SODP_WR_SEND_WITH_INV:
	case SODP_WR_RDMA_WRITE:
	case SODP_WR_RDMA_WRITE_WITH_IMM:
		break;
	case SODP_WR_RDMA_READ:
	case SODP_WR_ATOMIC_CMP_AND_SWP:
	case SODP_WR_ATOMIC_FETCH_AND_ADD:
	case SODP_WR_LOCAL_INV:
		if (w->flags & SODP_SEND_F_INLINE)
			return IB_WC_LOC_QP_OP_ERR;
		break;
	default:
		return IB_WC_LOC_QP_OP_ERR;
	}

	if (w->flags & SODP_SEND_F_INLINE) {
		if (w->inline_len > qp->max_inline ||
		    w->inline_len > SODP_MAX_INLINE || w->inline_len > room)
			return IB_WC_LOC_LEN_ERR;
		memcpy(e->tail.data, slot + sizeof(*w), w->inline_len);
	} else {
		if (w->num_sge > qp->max_send_sge ||
		    w->num_sge > SODP_MAX_SGE ||
		    w->num_sge * sizeof(struct sodp_sge) > room)
			return IB_WC_LOC_QP_OP_ERR;
		memcpy(e->tail.sge, slot + sizeof(*w),
		       w->num_sge * sizeof(struct sodp_sge));
	}
	return IB_WC_SUCCESS;
}

static void sodp_lsge_put(struct sodp_eng *e)
{
	while (e->nlsge)
		sodp_mr_view_put(&e->lsge[--e->nlsge].v);
}

/*
 * Look up and check the WQE's local SGEs (zero-length ones are skipped);
 * @write: the operation stores into them. Sets *@len to their sum.
 */
static u8 sodp_lsge_resolve(struct sodp_qp *qp, struct sodp_eng *e,
			    bool write, u32 *len)
{
	u64 total = 0;
	u32 i;

	for (i = 0; i < e->wqe.num_sge; i++) {
		const struct sodp_sge *s = &e->tail.sge[i];
		struct sodp_lsge *l = &e->lsge[e->nlsge];

		if (!s->length)
			continue;
		if (sodp_mr_lookup(qp->sdev, s->lkey, &l->v))
			return IB_WC_LOC_PROT_ERR;
		e->nlsge++;
		if (l->v.pd != qp->ibqp.pd ||
		    (write && !(l->v.access & IB_ACCESS_LOCAL_WRITE)) ||
		    !sodp_view_covers(&l->v, s->addr, s->length))
			return IB_WC_LOC_PROT_ERR;
		l->iova = s->addr;
		l->len = s->length;
		total += s->length;
	}
	if (total > SODP_MAX_MSG_SZ)
		return IB_WC_LOC_LEN_ERR;
	*len = total;
	return IB_WC_SUCCESS;
}

/* Store an atomic's original value into its local SGE. */
static u8 sodp_atomic_store(struct sodp_eng *e, u64 orig)
{
	const u8 *src = (const u8 *)&orig;
	int err;

	err = sodp_mr_access(&e->lsge[0].v, e->lsge[0].iova, sizeof(orig),
			     true, sodp_chunk_from_buf, &src);
	return err ? sodp_local_status(err) : IB_WC_SUCCESS;
}

/*
 * Retire the head WQE: release its slot, then complete it if signaled or
 * in error. An error or a full CQ moves the QP to ERR.
 */
static void sodp_sq_complete(struct sodp_qp *qp, const struct sodp_send_wqe *w,
			     u8 status, u32 byte_len)
{
	struct sodp_cqe cqe = {
		.wr_id = w->wr_id,
		.status = status,
		.opcode = sodp_wc_opcode(w->opcode),
		.byte_len = byte_len,
		.qp_num = qp->qpn,
	};

	qp->rnr_tries = 0;
	qp->retry_tries = 0;
	qp->sq_cons++;
	/* Release: the slot was read before it is handed back. */
	smp_store_release(&qp->sq.hdr->cons, qp->sq_cons);

	if (status == IB_WC_SUCCESS && !qp->sq_sig_all &&
	    !(w->flags & SODP_SEND_F_SIGNALED))
		return;
	if (sodp_cq_post(qp->scq, &cqe, status != IB_WC_SUCCESS) ||
	    status != IB_WC_SUCCESS)
		sodp_qp_to_error(qp, -1);
}

/*
 * An RNR NAK: retry the head WQE after the responder's min_rnr_timer, or
 * fail it once the retries are spent. Return: true if it will be retried.
 */
static bool sodp_sq_rnr(struct sodp_qp *qp, u8 timer)
{
	unsigned int retry = READ_ONCE(qp->attr.rnr_retry);

	if (retry == 0 ||
	    (retry != SODP_RNR_INFINITE && qp->rnr_tries >= retry))
		return false;
	if (qp->rnr_tries < SODP_RNR_INFINITE)
		qp->rnr_tries++;
	/* Not mod_delayed_work(): a kick (a state change) must not wait. */
	queue_delayed_work(sodp_wq, &qp->sq_work, sodp_rnr_delay(timer));
	return true;
}

/*
 * No responder answered (unknown destination, peer QP not ready): as a
 * requester whose packet got no ACK, retry the head WQE after the local
 * ACK timeout (4.096 us * 2^timeout), retry_cnt times, then fail it. A
 * timeout of 0 disables the timer (IB spec): the requester keeps trying,
 * once a second here, until the peer answers or the QP leaves RTS.
 * Return: true if it will be retried.
 */
static bool sodp_sq_retry(struct sodp_qp *qp)
{
	unsigned int timeout = READ_ONCE(qp->attr.timeout);
	unsigned long delay;

	if (timeout) {
		if (qp->retry_tries >= READ_ONCE(qp->attr.retry_cnt))
			return false;
		qp->retry_tries++;
		/* 4.096 us << 31 is 2.4 hours: u64 nanoseconds. */
		delay = nsecs_to_jiffies(4096ULL << min(timeout, 31U));
	} else {
		delay = HZ;
	}
	queue_delayed_work(sodp_wq, &qp->sq_work, max(delay, 1UL));
	return true;
}

/*
 * Execute the WQE at sq_cons (the ring holds it). Return: false if it is
 * waiting for an RNR or transport retry, or is too large for a doorbell
 * (not consumed: the run stops, the worker is queued), else true.
 */
static bool sodp_sq_execute(struct sodp_qp *qp, struct sodp_eng *e)
{
	struct sodp_send_wqe *w = &e->wqe;
	struct sodp_resp res = {};
	struct sodp_req req;
	u32 len = 0;
	u8 status;
	u8 op;

	e->nlsge = 0;
	status = sodp_wqe_fetch(qp, e);
	if (status != IB_WC_SUCCESS)
		goto complete;
	op = w->opcode;

	if (op == SODP_WR_LOCAL_INV) {
		/* No key of a sodp device can be invalidated. */
		status = IB_WC_LOC_QP_OP_ERR;
		goto complete;
	}
	if (sodp_op_is_atomic(op)) {
		if (w->num_sge != 1) {
			status = IB_WC_LOC_QP_OP_ERR;
			goto complete;
		}
		if (e->tail.sge[0].length != sizeof(u64)) {
			status = IB_WC_LOC_LEN_ERR;
			goto complete;
		}
	}

	e->pl.data = NULL;
	if (w->flags & SODP_SEND_F_INLINE) {
		e->pl.data = e->tail.data;
		len = w->inline_len;
	} else {
		status = sodp_lsge_resolve(qp, e, op == SODP_WR_RDMA_READ ||
					   sodp_op_is_atomic(op), &len);
		if (status != IB_WC_SUCCESS)
			goto complete;
	}
	if (e->doorbell && len > SODP_DOORBELL_MAX_LEN) {
		/* Not in the poster's system call: the worker takes it. */
		sodp_lsge_put(e);
		queue_delayed_work(sodp_wq, &qp->sq_work, 0);
		return false;
	}
	e->pl.sge = e->lsge;
	e->pl.nsge = e->nlsge;
	e->pl.len = len;

	req = (struct sodp_req) {
		.opcode = op,
		.solicited = w->flags & SODP_SEND_F_SOLICITED,
		.src_qpn = qp->qpn,
		.imm = w->imm_data,
		.rkey = w->rkey,
		.remote_addr = w->remote_addr,
		.compare_add = w->compare_add,
		.swap = w->swap,
		.len = len,
		.pl = &e->pl,
	};
	sodp_deliver(qp, &req, &res, &e->recv);

	switch (res.syn) {
	case SODP_SYN_ACK:
		status = IB_WC_SUCCESS;
		if (sodp_op_is_atomic(op))
			status = sodp_atomic_store(e, res.atomic_orig);
		break;
	case SODP_SYN_RNR:
		if (sodp_sq_rnr(qp, res.rnr_timer)) {
			sodp_lsge_put(e);
			return false;
		}
		status = IB_WC_RNR_RETRY_EXC_ERR;
		break;
	case SODP_SYN_INV_REQ:
		status = IB_WC_REM_INV_REQ_ERR;
		break;
	case SODP_SYN_ACCESS:
		status = IB_WC_REM_ACCESS_ERR;
		break;
	case SODP_SYN_OP:
		status = IB_WC_REM_OP_ERR;
		break;
	case SODP_SYN_LOCAL:
		status = sodp_local_status(res.local_err);
		break;
	default:
		if (sodp_sq_retry(qp)) {
			sodp_lsge_put(e);
			return false;
		}
		status = IB_WC_RETRY_EXC_ERR;
		break;
	}

complete:
	sodp_lsge_put(e);
	sodp_sq_complete(qp, w, status, len);
	return true;
}

/* ---- the send worker ---------------------------------------------------- */

/* In ERR: complete every posted WQE with WR_FLUSH_ERR. */
static void sodp_sq_flush(struct sodp_qp *qp)
{
	struct sodp_send_wqe w;
	unsigned int n = 0;
	u32 prod;

	/* Acquire: the slots up to prod are written before we read them. */
	prod = smp_load_acquire(&qp->sq.hdr->prod);

	/* A corrupt index: nothing can be flushed. */
	if (prod - qp->sq_cons > qp->sq.entries)
		return;
	while (qp->sq_cons != prod) {
		struct sodp_cqe cqe = {
			.status = IB_WC_WR_FLUSH_ERR,
			.qp_num = qp->qpn,
		};

		memcpy(&w, sodp_ring_slot(&qp->sq, qp->sq_cons), sizeof(w));
		cqe.wr_id = w.wr_id;
		cqe.opcode = sodp_wc_opcode(w.opcode);
		qp->sq_cons++;
		/* Release: the slot was read before it is handed back. */
		smp_store_release(&qp->sq.hdr->cons, qp->sq_cons);
		/* A full CQ loses the completion; the QP is in ERR already. */
		sodp_cq_post(qp->scq, &cqe, true);
		if (++n % SODP_ENG_BATCH == 0)
			cond_resched();
	}
	qp->rnr_tries = 0;
	qp->retry_tries = 0;
}

/*
 * The doorbell protocol (sodp-abi.h): announce IDLE, then look once more.
 * Return: true if the worker may stop (nothing new, or a corrupt index the
 * next run deals with), false if a WQE appeared (IDLE withdrawn).
 */
static bool sodp_sq_idle(struct sodp_qp *qp)
{
	u32 prod;

	sodp_ring_set_flags(&qp->sq, SODP_RING_F_IDLE, 0);
	/*
	 * Full barrier: IDLE is visible before we look at prod again. Pairs
	 * with the provider's barrier between storing prod and reading
	 * flags, so either we see its WQE or it sees IDLE and rings.
	 */
	smp_mb();
	/* Acquire: the slots up to prod are written before we read them. */
	prod = smp_load_acquire(&qp->sq.hdr->prod);
	if (prod == qp->sq_cons || prod - qp->sq_cons > qp->sq.entries)
		return true;
	sodp_ring_set_flags(&qp->sq, 0, SODP_RING_F_IDLE);
	return false;
}

/*
 * In SQD, between two WQEs and with no WQE in RNR retries: nothing is in
 * flight, the SQ is drained.
 */
static void sodp_sq_drained(struct sodp_qp *qp)
{
	if (!READ_ONCE(qp->sq_draining))
		return;
	WRITE_ONCE(qp->sq_draining, false);
	sodp_qp_event(qp, IB_EVENT_SQ_DRAINED);
}

/**
 * sodp_qp_sq_work - the send worker: executes the QP's send queue
 * @work: qp->sq_work
 */
/* Execute the SQ for one batch or time slice; the caller holds sq_mutex. */
static void sodp_sq_run(struct sodp_qp *qp, bool doorbell)
{
	unsigned long end = jiffies + msecs_to_jiffies(SODP_ENG_SLICE_MS);
	struct sodp_eng *e = NULL;
	unsigned int done = 0;
	u32 prod;

	for (;;) {
		switch (READ_ONCE(qp->state)) {
		case IB_QPS_RTS:
			break;
		case IB_QPS_ERR:
			sodp_sq_flush(qp);
			if (sodp_sq_idle(qp))
				goto out;
			if (++done >= SODP_ENG_BATCH) {
				queue_delayed_work(sodp_wq, &qp->sq_work, 0);
				goto out;
			}
			continue;
		case IB_QPS_SQD:
			/* A WQE in RNR or transport retries: finish it. */
			if (qp->rnr_tries || qp->retry_tries)
				break;
			sodp_sq_drained(qp);
			fallthrough;
		default:
			/* RESET, INIT, RTR, SQD: posted WQEs wait. */
			sodp_ring_set_flags(&qp->sq, SODP_RING_F_IDLE, 0);
			goto out;
		}

		/* Acquire: slots up to prod are written before we read. */
		prod = smp_load_acquire(&qp->sq.hdr->prod);
		if (prod == qp->sq_cons) {
			if (sodp_sq_idle(qp))
				goto out;
			continue;
		}
		if (prod - qp->sq_cons > qp->sq.entries) {
			/* Corrupt ring. to_error kicks us to flush. */
			sodp_qp_to_error(qp, IB_EVENT_QP_FATAL);
			goto out;
		}
		if (done >= SODP_ENG_BATCH || time_after(jiffies, end)) {
			/* Let other work run; IDLE stays clear. */
			queue_delayed_work(sodp_wq, &qp->sq_work, 0);
			goto out;
		}
		if (!e) {
			e = kmalloc(sizeof(*e), GFP_KERNEL);
			if (!e) {
				queue_delayed_work(sodp_wq, &qp->sq_work, 1);
				goto out;
			}
			e->doorbell = doorbell;
		}
		if (!sodp_sq_execute(qp, e))
			goto out;	/* retry wait, or handed to the worker */
		done++;
		cond_resched();
	}
out:
	kfree(e);
}

void sodp_qp_sq_work(struct work_struct *work)
{
	struct sodp_qp *qp = container_of(to_delayed_work(work),
					  struct sodp_qp, sq_work);

	mutex_lock(&qp->sq_mutex);
	sodp_sq_run(qp, false);
	mutex_unlock(&qp->sq_mutex);
}

/**
 * sodp_qp_doorbell - the provider found the SQ idle and posted to it
 * @qp: the QP (ib_uverbs holds its uobject: it is not being destroyed)
 *
 * Executes the SQ right here, in the poster's system call, when no one
 * else is executing it: a worker would first have to be scheduled, and
 * when the application busy-polls every CPU that costs a scheduler tick
 * (milliseconds) per message. One batch or time slice at most; anything
 * left goes to the worker. The memory touched belongs to the MRs' owners
 * (the ODP layer faults through each region's own mm), not to current.
 */
void sodp_qp_doorbell(struct sodp_qp *qp)
{
	sodp_ring_set_flags(&qp->sq, 0, SODP_RING_F_IDLE);
	/*
	 * The head WQE waits for its RNR or transport retry timer, which a
	 * new WQE behind it must not cut short: the worker will see the new
	 * WQE when the timer fires. A run that is merely queued (a doorbell
	 * that found the SQ busy, a batch continuation) is no reason to
	 * wait: it may not get a CPU for a scheduler tick, and finds nothing
	 * to do if we run the SQ now.
	 */
	if (timer_pending(&qp->sq_work.timer))
		return;
	if (fatal_signal_pending(current) || !mutex_trylock(&qp->sq_mutex)) {
		/* Running elsewhere (or we are dying): queue a run after. */
		queue_delayed_work(sodp_wq, &qp->sq_work, 0);
		return;
	}
	sodp_sq_run(qp, true);
	mutex_unlock(&qp->sq_mutex);
}

/**
 * sodp_qp_kick - wake the send worker now (a state change)
 * @qp: the QP
 *
 * Withdraws IDLE first, so that the provider stops ringing while the
 * worker is on its way. Callable from any context that may take a
 * spinlock.
 */
void sodp_qp_kick(struct sodp_qp *qp)
{
	sodp_ring_set_flags(&qp->sq, 0, SODP_RING_F_IDLE);
	mod_delayed_work(sodp_wq, &qp->sq_work, 0);
}

int sodp_engine_init(void)
{
	sodp_wq = alloc_workqueue("sodp_qp", WQ_UNBOUND, 0);
	return sodp_wq ? 0 : -ENOMEM;
}

void sodp_engine_exit(void)
{
	destroy_workqueue(sodp_wq);
	sodp_wq = NULL;
}
