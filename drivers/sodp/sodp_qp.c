// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Queue pairs (RC only): ibv_create_qp, ibv_modify_qp, ibv_query_qp,
 * ibv_destroy_qp, the post_send doorbell, the post_recv flush doorbell,
 * and the receive side the engine uses: taking receive WQEs, flushing the
 * RQ, moving a QP to the error state.
 *
 * A QP has two shared rings, its SQ and (without an SRQ) its RQ, both
 * produced by the provider. The SQ is consumed by the QP's send worker
 * only (sodp_engine.c); the RQ under qp->resp_lock, by whoever executes an
 * incoming request for the QP. State changes take state_lock and then
 * resp_lock, so a responder holding resp_lock sees a stable state.
 *
 * Lifetime: a QP is found by number (sodp_qp_get_by_qpn()) only while it
 * is in the device's qp_xa, with a reference. destroy removes it from
 * qp_xa, drops the initial reference and waits for the others, then stops
 * its send worker; nothing can find or kick it after that.
 */

#include <linux/log2.h>
#include <linux/slab.h>
#include <rdma/ib_cache.h>

#include "sodp.h"

/* qp_access_flags: what the responder checks (sodp_engine.c) and keeps. */
#define SODP_QP_ACCESS		(IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ | \
				 IB_ACCESS_REMOTE_ATOMIC)

#define SODP_PSN_MASK		0xffffff
#define SODP_QPN_MASK		0xffffff

static void sodp_qp_event(struct sodp_qp *qp, enum ib_event_type type)
{
	struct ib_qp *ibqp = &qp->ibqp;
	struct ib_event ev = {
		.device = ibqp->device,
		.element.qp = ibqp,
		.event = type,
	};

	if (ibqp->event_handler)
		ibqp->event_handler(&ev, ibqp->qp_context);
}

static int sodp_qp_check_caps(struct ib_qp_init_attr *init)
{
	struct ib_qp_cap *cap = &init->cap;

	if (cap->max_send_wr < 1 || cap->max_send_wr > SODP_MAX_QP_WR ||
	    cap->max_send_sge > SODP_MAX_SGE ||
	    cap->max_inline_data > SODP_MAX_INLINE)
		return -EINVAL;
	if (init->srq)
		return 0;
	if (cap->max_recv_wr < 1 || cap->max_recv_wr > SODP_MAX_QP_WR ||
	    cap->max_recv_sge > SODP_MAX_SGE)
		return -EINVAL;
	return 0;
}

int sodp_create_qp(struct ib_qp *ibqp, struct ib_qp_init_attr *init,
		   struct ib_udata *udata)
{
	struct sodp_dev *sdev = to_sdev(ibqp->device);
	struct sodp_qp *qp = to_sqp(ibqp);
	struct ib_qp_cap *cap = &init->cap;
	struct sodp_create_qp_resp resp = {};
	struct ib_ucontext *uctx;
	u32 entries, stride, tail, qpn;
	int err;

	/* User space only: see the data path in sodp.h. */
	if (!udata)
		return -EOPNOTSUPP;
	if (init->qp_type != IB_QPT_RC || init->create_flags ||
	    init->rwq_ind_tbl)
		return -EOPNOTSUPP;
	if (!init->send_cq || !init->recv_cq)
		return -EINVAL;
	err = sodp_qp_check_caps(init);
	if (err)
		return err;
	if (udata->inlen && !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;
	uctx = sodp_udata_to_uctx(udata);
	if (!uctx)
		return -EINVAL;

	qp->sdev = sdev;
	refcount_set(&qp->ref, 1);
	init_completion(&qp->free_done);
	mutex_init(&qp->sq_mutex);
	mutex_init(&qp->state_lock);
	mutex_init(&qp->resp_lock);
	qp->state = IB_QPS_RESET;
	memset(&qp->attr, 0, sizeof(qp->attr));
	qp->sq_draining = false;
	qp->sq_cons = 0;
	qp->rq_cons = 0;
	qp->rnr_tries = 0;
	qp->retry_tries = 0;
	qp->max_send_sge = cap->max_send_sge;
	qp->max_inline = cap->max_inline_data;
	qp->sq_sig_all = init->sq_sig_type == IB_SIGNAL_ALL_WR;
	INIT_DELAYED_WORK(&qp->sq_work, sodp_qp_sq_work);
	qp->scq = to_scq(init->send_cq);
	qp->rcq = to_scq(init->recv_cq);
	qp->srq = init->srq ? to_ssrq(init->srq) : NULL;

	/* Send queue: a ring of N slots holds N WQEs. */
	tail = max_t(u32, cap->max_send_sge * sizeof(struct sodp_sge),
		     cap->max_inline_data);
	stride = roundup_pow_of_two(sizeof(struct sodp_send_wqe) + tail);
	entries = roundup_pow_of_two(cap->max_send_wr);
	err = sodp_ring_create(&qp->sq, uctx, entries, stride);
	if (err)
		goto err_destroy_mutex;
	/* Nothing runs yet: the first post rings the doorbell. */
	qp->sq.hdr->flags = SODP_RING_F_IDLE;
	cap->max_send_wr = entries;

	/* Receive queue, unless the QP receives from an SRQ. */
	if (qp->srq) {
		memset(&qp->rq, 0, sizeof(qp->rq));
		qp->max_recv_sge = 0;
		cap->max_recv_wr = 0;
		cap->max_recv_sge = 0;
	} else {
		stride = roundup_pow_of_two(sizeof(struct sodp_recv_wqe) +
					    cap->max_recv_sge *
					    sizeof(struct sodp_sge));
		entries = roundup_pow_of_two(cap->max_recv_wr);
		err = sodp_ring_create(&qp->rq, uctx, entries, stride);
		if (err)
			goto err_destroy_sq;
		qp->max_recv_sge = cap->max_recv_sge;
		cap->max_recv_wr = entries;
	}

	/* Reserve a number; the QP is published once complete. */
	err = xa_alloc_cyclic(&sdev->qp_xa, &qpn, NULL,
			      XA_LIMIT(2, SODP_MAX_QP + 1), &sdev->qp_next,
			      GFP_KERNEL);
	if (err < 0) {
		if (err == -EBUSY)
			err = -ENOMEM;
		goto err_destroy_rq;
	}
	qp->qpn = qpn;
	ibqp->qp_num = qpn;

	resp.sq_mmap_offset = qp->sq.mmap_offset;
	resp.sq_mmap_size = qp->sq.size;
	resp.sq_entries = qp->sq.entries;
	resp.sq_stride = qp->sq.stride;
	if (!qp->srq) {
		resp.rq_mmap_offset = qp->rq.mmap_offset;
		resp.rq_mmap_size = qp->rq.size;
		resp.rq_entries = qp->rq.entries;
		resp.rq_stride = qp->rq.stride;
	}
	resp.qpn = qpn;
	err = ib_copy_to_udata(udata, &resp, min(udata->outlen, sizeof(resp)));
	if (err)
		goto err_erase;

	/* The slot is reserved: storing into it allocates nothing. */
	err = xa_err(xa_store(&sdev->qp_xa, qpn, qp, GFP_KERNEL));
	if (err)
		goto err_erase;

	atomic_inc(&sodp_objs.qps);
	return 0;

err_erase:
	xa_erase(&sdev->qp_xa, qpn);
err_destroy_rq:
	sodp_ring_destroy(&qp->rq);
err_destroy_sq:
	sodp_ring_destroy(&qp->sq);
err_destroy_mutex:
	mutex_destroy(&qp->resp_lock);
	mutex_destroy(&qp->state_lock);
	mutex_destroy(&qp->sq_mutex);
	return err;
}

/* Checks every attribute in @mask before anything is changed. */
static int sodp_qp_check_attr(struct sodp_qp *qp, struct ib_qp_attr *attr,
			      int mask)
{
	if (mask & ~IB_QP_ATTR_STANDARD_BITS)
		return -EOPNOTSUPP;
	/* No automatic path migration: one path only. */
	if (mask & IB_QP_ALT_PATH)
		return -EOPNOTSUPP;
	if ((mask & IB_QP_PORT) && attr->port_num != SODP_PORT)
		return -EINVAL;
	if ((mask & IB_QP_PKEY_INDEX) &&
	    attr->pkey_index >= SODP_PKEY_TBL_LEN)
		return -EINVAL;
	if ((mask & IB_QP_PATH_MTU) &&
	    (attr->path_mtu < IB_MTU_256 || attr->path_mtu > IB_MTU_4096))
		return -EINVAL;
	/*
	 * Many programs pass one mask for their MRs and QPs (LOCAL_WRITE,
	 * ON_DEMAND, RELAXED_ORDERING... with the remote bits): every bit
	 * this kernel's ib_core defines is accepted and only the remote bits
	 * are kept, as mlx5 and rxe do; a bit it does not define is EINVAL.
	 */
	if ((mask & IB_QP_ACCESS_FLAGS) &&
	    (attr->qp_access_flags & ~IB_ACCESS_SUPPORTED))
		return -EINVAL;
	if ((mask & IB_QP_MAX_QP_RD_ATOMIC) &&
	    attr->max_rd_atomic > SODP_MAX_RD_ATOMIC)
		return -EINVAL;
	if ((mask & IB_QP_MAX_DEST_RD_ATOMIC) &&
	    attr->max_dest_rd_atomic > SODP_MAX_RD_ATOMIC)
		return -EINVAL;
	if (mask & IB_QP_AV) {
		/* RoCEv2: a GRH, and the source GID ib_core resolved. */
		if (attr->ah_attr.type != RDMA_AH_ATTR_TYPE_ROCE ||
		    !(rdma_ah_get_ah_flags(&attr->ah_attr) & IB_AH_GRH) ||
		    !attr->ah_attr.grh.sgid_attr)
			return -EINVAL;
	}
	if ((mask & IB_QP_MIN_RNR_TIMER) && attr->min_rnr_timer > 31)
		return -EINVAL;
	if ((mask & IB_QP_RNR_RETRY) && attr->rnr_retry > 7)
		return -EINVAL;
	if ((mask & IB_QP_RETRY_CNT) && attr->retry_cnt > 7)
		return -EINVAL;
	if ((mask & IB_QP_TIMEOUT) && attr->timeout > 31)
		return -EINVAL;
	if ((mask & IB_QP_DEST_QPN) && attr->dest_qp_num > SODP_QPN_MASK)
		return -EINVAL;
	return 0;
}

/* Stores the attributes of @mask; they were checked. */
static void sodp_qp_store_attr(struct sodp_qp *qp, struct ib_qp_attr *attr,
			       int mask)
{
	struct ib_qp_attr *a = &qp->attr;

	lockdep_assert_held(&qp->state_lock);

	if (mask & IB_QP_PKEY_INDEX)
		a->pkey_index = attr->pkey_index;
	if (mask & IB_QP_PORT)
		a->port_num = attr->port_num;
	if (mask & IB_QP_ACCESS_FLAGS)
		a->qp_access_flags = attr->qp_access_flags & SODP_QP_ACCESS;
	if (mask & IB_QP_AV)
		/* Holds the sgid_attr; released by the next or destroy. */
		rdma_replace_ah_attr(&a->ah_attr, &attr->ah_attr);
	if (mask & IB_QP_PATH_MTU)
		a->path_mtu = attr->path_mtu;
	if (mask & IB_QP_TIMEOUT)
		a->timeout = attr->timeout;
	if (mask & IB_QP_RETRY_CNT)
		a->retry_cnt = attr->retry_cnt;
	if (mask & IB_QP_RNR_RETRY)
		a->rnr_retry = attr->rnr_retry;
	if (mask & IB_QP_RQ_PSN)
		a->rq_psn = attr->rq_psn & SODP_PSN_MASK;
	if (mask & IB_QP_SQ_PSN)
		a->sq_psn = attr->sq_psn & SODP_PSN_MASK;
	if (mask & IB_QP_MAX_QP_RD_ATOMIC)
		a->max_rd_atomic = attr->max_rd_atomic;
	if (mask & IB_QP_MAX_DEST_RD_ATOMIC)
		a->max_dest_rd_atomic = attr->max_dest_rd_atomic;
	if (mask & IB_QP_MIN_RNR_TIMER)
		a->min_rnr_timer = attr->min_rnr_timer;
	if (mask & IB_QP_DEST_QPN)
		a->dest_qp_num = attr->dest_qp_num;
	if (mask & IB_QP_PATH_MIG_STATE)
		a->path_mig_state = attr->path_mig_state;
	if (mask & IB_QP_EN_SQD_ASYNC_NOTIFY)
		a->en_sqd_async_notify = attr->en_sqd_async_notify;
}

/* RQ flush with resp_lock held. */
static void __sodp_qp_flush_rq(struct sodp_qp *qp)
{
	struct sodp_ring *rq = &qp->rq;
	struct sodp_cqe cqe = {
		.status = IB_WC_WR_FLUSH_ERR,
		.opcode = SODP_WC_RECV,
		.qp_num = qp->qpn,
	};
	const struct sodp_recv_wqe *slot;
	u32 prod;

	lockdep_assert_held(&qp->resp_lock);

	if (!rq->entries)
		return;
	/* Pairs with the provider's release of prod: slots after it. */
	prod = smp_load_acquire(&rq->hdr->prod);
	/* An impossible prod: nothing sensible to flush. */
	if (prod - qp->rq_cons > rq->entries)
		return;
	while (qp->rq_cons != prod) {
		slot = sodp_ring_slot(rq, qp->rq_cons);
		cqe.wr_id = READ_ONCE(slot->wr_id);
		/* A full CQ loses the completion (and raised CQ_ERR). */
		sodp_cq_post(qp->rcq, &cqe, false);
		qp->rq_cons++;
	}
	/* The slots are read before the provider may reuse them. */
	smp_store_release(&rq->hdr->cons, qp->rq_cons);
}

void sodp_qp_flush_rq(struct sodp_qp *qp)
{
	mutex_lock(&qp->resp_lock);
	__sodp_qp_flush_rq(qp);
	mutex_unlock(&qp->resp_lock);
}

/*
 * The state change of modify_qp, with state_lock held. Returns whether to
 * kick the send worker; sets *reset_sq when the SQ is to be emptied once
 * the worker is stopped (sodp_qp_reset_sq()).
 */
static bool sodp_qp_set_state(struct sodp_qp *qp, enum ib_qp_state cur,
			      enum ib_qp_state new, struct ib_qp_attr *attr,
			      int mask, bool *reset_sq)
{
	bool kick = false;

	lockdep_assert_held(&qp->state_lock);

	mutex_lock(&qp->resp_lock);
	WRITE_ONCE(qp->state, new);
	switch (new) {
	case IB_QPS_RESET:
		/* Discard the posted receives (sodp-abi.h). */
		if (qp->rq.entries) {
			qp->rq_cons = READ_ONCE(qp->rq.hdr->prod);
			WRITE_ONCE(qp->rq.hdr->cons, qp->rq_cons);
		}
		*reset_sq = true;
		break;
	case IB_QPS_ERR:
		sodp_ring_set_flags(&qp->sq, SODP_RING_F_ERROR, 0);
		__sodp_qp_flush_rq(qp);
		kick = true;	/* the worker flushes the SQ */
		break;
	case IB_QPS_SQD:
		if (cur != IB_QPS_SQD)
			qp->sq_draining = (mask & IB_QP_EN_SQD_ASYNC_NOTIFY) &&
					  attr->en_sqd_async_notify;
		kick = true;
		break;
	case IB_QPS_RTS:
		/* From RTR, or SQD: the worker (re)starts the SQ. */
		kick = true;
		break;
	default:
		break;
	}
	mutex_unlock(&qp->resp_lock);
	return kick;
}

/*
 * Empty the SQ of a QP just moved to RESET. The worker must not run
 * meanwhile, and it may take state_lock (sodp_qp_to_error()), so it is
 * stopped with no lock held; the discard is skipped if the QP left RESET
 * in between (another modify_qp).
 */
static void sodp_qp_reset_sq(struct sodp_qp *qp)
{
	cancel_delayed_work_sync(&qp->sq_work);

	/* Nor may a doorbell execute it inline (sodp_qp_doorbell()). */
	mutex_lock(&qp->sq_mutex);
	mutex_lock(&qp->state_lock);
	if (qp->state == IB_QPS_RESET) {
		qp->sq_cons = READ_ONCE(qp->sq.hdr->prod);
		WRITE_ONCE(qp->sq.hdr->cons, qp->sq_cons);
		qp->rnr_tries = 0;
		qp->retry_tries = 0;
		qp->sq_draining = false;
		sodp_ring_set_flags(&qp->sq, SODP_RING_F_IDLE,
				    SODP_RING_F_ERROR);
	}
	mutex_unlock(&qp->state_lock);
	mutex_unlock(&qp->sq_mutex);
}

int sodp_modify_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
		   struct ib_udata *udata)
{
	struct sodp_qp *qp = to_sqp(ibqp);
	enum ib_qp_state cur, new;
	bool kick = false, reset_sq = false;
	int err;

	/* No driver data is defined either way. */
	if (udata && udata->inlen &&
	    !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;

	mutex_lock(&qp->state_lock);
	/* IB_QP_CUR_STATE is the caller's belief, checked, never trusted. */
	cur = qp->state;
	if ((mask & IB_QP_CUR_STATE) && attr->cur_qp_state != cur) {
		err = -EINVAL;
		goto out_unlock;
	}
	new = (mask & IB_QP_STATE) ? attr->qp_state : cur;
	if (!ib_modify_qp_is_ok(cur, new, IB_QPT_RC, mask)) {
		err = -EINVAL;
		goto out_unlock;
	}
	err = sodp_qp_check_attr(qp, attr, mask);
	if (err)
		goto out_unlock;

	sodp_qp_store_attr(qp, attr, mask);
	if (mask & IB_QP_STATE)
		kick = sodp_qp_set_state(qp, cur, new, attr, mask, &reset_sq);
out_unlock:
	mutex_unlock(&qp->state_lock);

	if (reset_sq)
		sodp_qp_reset_sq(qp);
	if (kick)
		sodp_qp_kick(qp);
	return err;
}

int sodp_query_qp(struct ib_qp *ibqp, struct ib_qp_attr *attr, int mask,
		  struct ib_qp_init_attr *init)
{
	struct sodp_qp *qp = to_sqp(ibqp);

	mutex_lock(&qp->state_lock);
	*attr = qp->attr;
	attr->qp_state = qp->state;
	attr->cur_qp_state = qp->state;
	attr->sq_draining = READ_ONCE(qp->sq_draining);
	mutex_unlock(&qp->state_lock);

	/* Callers get no reference on a GID attribute from query. */
	attr->ah_attr.grh.sgid_attr = NULL;
	memset(&attr->alt_ah_attr, 0, sizeof(attr->alt_ah_attr));

	attr->cap.max_send_wr = qp->sq.entries;
	attr->cap.max_recv_wr = qp->rq.entries;
	attr->cap.max_send_sge = qp->max_send_sge;
	attr->cap.max_recv_sge = qp->max_recv_sge;
	attr->cap.max_inline_data = qp->max_inline;

	memset(init, 0, sizeof(*init));
	init->qp_type = IB_QPT_RC;
	init->send_cq = ibqp->send_cq;
	init->recv_cq = ibqp->recv_cq;
	init->srq = ibqp->srq;
	init->cap = attr->cap;
	init->sq_sig_type = qp->sq_sig_all ? IB_SIGNAL_ALL_WR :
					     IB_SIGNAL_REQ_WR;
	return 0;
}

int sodp_destroy_qp(struct ib_qp *ibqp, struct ib_udata *udata)
{
	struct sodp_qp *qp = to_sqp(ibqp);

	/* No new references: lookups take theirs under the xarray lock. */
	xa_erase(&qp->sdev->qp_xa, qp->qpn);

	/* Peers executing on it from now on fail; no RQ flush: see below. */
	mutex_lock(&qp->state_lock);
	mutex_lock(&qp->resp_lock);
	WRITE_ONCE(qp->state, IB_QPS_ERR);
	sodp_ring_set_flags(&qp->sq, SODP_RING_F_ERROR, 0);
	mutex_unlock(&qp->resp_lock);
	mutex_unlock(&qp->state_lock);

	/*
	 * Wait for the peers' workers, which may still kick this QP's
	 * worker, then stop that worker (it may requeue itself: the cancel
	 * prevents it).
	 */
	sodp_qp_put(qp);
	wait_for_completion(&qp->free_done);
	cancel_delayed_work_sync(&qp->sq_work);

	/*
	 * The CQs may be destroyed right after this returns: a destroyed
	 * QP generates no completions, so nothing is flushed.
	 */
	sodp_ring_destroy(&qp->rq);
	sodp_ring_destroy(&qp->sq);
	rdma_destroy_ah_attr(&qp->attr.ah_attr);
	mutex_destroy(&qp->resp_lock);
	mutex_destroy(&qp->state_lock);
	mutex_destroy(&qp->sq_mutex);
	atomic_dec(&sodp_objs.qps);
	return 0;
}

int sodp_post_send(struct ib_qp *ibqp, const struct ib_send_wr *wr,
		   const struct ib_send_wr **bad_wr)
{
	/* User QPs post through the ring; this is only the doorbell. */
	if (wr) {
		*bad_wr = wr;
		return -EINVAL;
	}
	sodp_qp_doorbell(to_sqp(ibqp));
	return 0;
}

int sodp_post_recv(struct ib_qp *ibqp, const struct ib_recv_wr *wr,
		   const struct ib_recv_wr **bad_wr)
{
	struct sodp_qp *qp = to_sqp(ibqp);

	if (wr) {
		*bad_wr = wr;
		return -EINVAL;
	}
	/* The doorbell of a QP in ERR: flush what was just posted. */
	if (READ_ONCE(qp->state) == IB_QPS_ERR)
		sodp_qp_flush_rq(qp);
	return 0;
}

struct sodp_qp *sodp_qp_get_by_qpn(struct sodp_dev *sdev, u32 qpn)
{
	struct sodp_qp *qp;

	/*
	 * Under the xarray's lock, not just RCU: once destroy's xa_erase()
	 * returns, nobody holds the QP without a reference, so destroy need
	 * not wait for a grace period before ib_core frees it.
	 */
	xa_lock(&sdev->qp_xa);
	qp = xa_load(&sdev->qp_xa, qpn);
	if (qp && !refcount_inc_not_zero(&qp->ref))
		qp = NULL;
	xa_unlock(&sdev->qp_xa);
	return qp;
}

void sodp_qp_put(struct sodp_qp *qp)
{
	if (refcount_dec_and_test(&qp->ref))
		complete(&qp->free_done);
}

void sodp_qp_to_error(struct sodp_qp *qp, int event)
{
	bool changed = false;

	mutex_lock(&qp->state_lock);
	mutex_lock(&qp->resp_lock);
	/* Already in ERR, or reset meanwhile: the error is stale. */
	if (qp->state != IB_QPS_ERR && qp->state != IB_QPS_RESET) {
		WRITE_ONCE(qp->state, IB_QPS_ERR);
		sodp_ring_set_flags(&qp->sq, SODP_RING_F_ERROR, 0);
		__sodp_qp_flush_rq(qp);
		changed = true;
	}
	mutex_unlock(&qp->resp_lock);
	mutex_unlock(&qp->state_lock);

	if (!changed)
		return;
	if (event >= 0)
		sodp_qp_event(qp, event);
	sodp_qp_kick(qp);
}

int sodp_qp_take_recv(struct sodp_qp *qp, struct sodp_recv *wqe)
{
	struct sodp_ring *rq = &qp->rq;
	u32 prod, n;
	int err;

	lockdep_assert_held(&qp->resp_lock);

	if (qp->srq)
		return sodp_srq_take(qp->srq, wqe);

	/* Pairs with the provider's release of prod: slots after it. */
	prod = smp_load_acquire(&rq->hdr->prod);
	n = prod - qp->rq_cons;
	if (!n)
		return -EAGAIN;
	if (n > rq->entries)
		return -EIO;
	err = sodp_ring_take_recv(rq, qp->rq_cons, qp->max_recv_sge, wqe);
	if (err)
		return err;
	qp->rq_cons++;
	/* The slot is read before the provider may reuse it. */
	smp_store_release(&rq->hdr->cons, qp->rq_cons);
	return 0;
}
