// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared receive queues: ibv_create_srq, ibv_modify_srq, ibv_query_srq,
 * ibv_destroy_srq, and sodp_srq_take(), through which the responder
 * consumes them.
 *
 * An SRQ is one shared ring of receive WQEs: the provider posts, the
 * kernel consumes under srq->lock (a leaf: several QPs' responders may
 * take from one SRQ at once). Receives are posted through the ring only;
 * there is no doorbell.
 */

#include <linux/log2.h>

#include "sodp.h"

int sodp_create_srq(struct ib_srq *ibsrq, struct ib_srq_init_attr *init,
		    struct ib_udata *udata)
{
	struct sodp_dev *sdev = to_sdev(ibsrq->device);
	struct sodp_srq *srq = to_ssrq(ibsrq);
	struct ib_srq_attr *attr = &init->attr;
	struct sodp_create_srq_resp resp = {};
	struct ib_ucontext *uctx;
	u32 entries, stride;
	int id, err;

	if (!udata)
		return -EOPNOTSUPP;
	if (init->srq_type != IB_SRQT_BASIC)
		return -EOPNOTSUPP;
	if (attr->max_wr < 1 || attr->max_wr > SODP_MAX_SRQ_WR ||
	    attr->max_sge < 1 || attr->max_sge > SODP_MAX_SGE ||
	    attr->srq_limit > attr->max_wr)
		return -EINVAL;
	if (udata->inlen && !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;
	uctx = sodp_udata_to_uctx(udata);
	if (!uctx)
		return -EINVAL;

	id = ida_alloc_range(&sdev->srq_ida, 1, SODP_MAX_SRQ, GFP_KERNEL);
	if (id < 0)
		return id == -ENOSPC ? -ENOMEM : id;
	srq->srqn = id;
	spin_lock_init(&srq->lock);
	srq->cons = 0;
	srq->max_sge = attr->max_sge;
	/* srq_limit means nothing at creation (ibv_create_srq(3)). */
	srq->limit = 0;

	/* A ring of N slots holds N WQEs (prod - cons == N is full). */
	entries = roundup_pow_of_two(attr->max_wr);
	stride = roundup_pow_of_two(sizeof(struct sodp_recv_wqe) +
				    attr->max_sge * sizeof(struct sodp_sge));
	err = sodp_ring_create(&srq->ring, uctx, entries, stride);
	if (err)
		goto err_free_id;

	resp.mmap_offset = srq->ring.mmap_offset;
	resp.mmap_size = srq->ring.size;
	resp.entries = entries;
	resp.stride = stride;
	resp.srqn = srq->srqn;
	err = ib_copy_to_udata(udata, &resp, min(udata->outlen, sizeof(resp)));
	if (err)
		goto err_destroy_ring;

	/* ib_core reports these back to the user. */
	attr->max_wr = entries;

	atomic_inc(&sodp_objs.srqs);
	return 0;

err_destroy_ring:
	sodp_ring_destroy(&srq->ring);
err_free_id:
	ida_free(&sdev->srq_ida, srq->srqn);
	return err;
}

int sodp_modify_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr,
		    enum ib_srq_attr_mask mask, struct ib_udata *udata)
{
	struct sodp_srq *srq = to_ssrq(ibsrq);

	if (mask & ~(IB_SRQ_MAX_WR | IB_SRQ_LIMIT))
		return -EINVAL;
	/* No resizing: IB_DEVICE_SRQ_RESIZE is not advertised. */
	if (mask & IB_SRQ_MAX_WR)
		return -EOPNOTSUPP;
	if (udata && udata->inlen &&
	    !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EOPNOTSUPP;

	if (mask & IB_SRQ_LIMIT) {
		if (attr->srq_limit > srq->ring.entries)
			return -EINVAL;
		spin_lock(&srq->lock);
		srq->limit = attr->srq_limit;	/* 0 disarms */
		spin_unlock(&srq->lock);
	}
	return 0;
}

int sodp_query_srq(struct ib_srq *ibsrq, struct ib_srq_attr *attr)
{
	struct sodp_srq *srq = to_ssrq(ibsrq);

	attr->max_wr = srq->ring.entries;
	attr->max_sge = srq->max_sge;
	spin_lock(&srq->lock);
	attr->srq_limit = srq->limit;
	spin_unlock(&srq->lock);
	return 0;
}

int sodp_destroy_srq(struct ib_srq *ibsrq, struct ib_udata *udata)
{
	struct sodp_srq *srq = to_ssrq(ibsrq);

	/* ib_core destroys every QP using the SRQ first. */
	sodp_ring_destroy(&srq->ring);
	ida_free(&to_sdev(ibsrq->device)->srq_ida, srq->srqn);
	atomic_dec(&sodp_objs.srqs);
	return 0;
}

int sodp_post_srq_recv(struct ib_srq *ibsrq, const struct ib_recv_wr *wr,
		       const struct ib_recv_wr **bad_wr)
{
	/* User SRQs post through the ring; nothing comes this way. */
	if (wr) {
		*bad_wr = wr;
		return -EINVAL;
	}
	return 0;
}

int sodp_srq_take(struct sodp_srq *srq, struct sodp_recv *wqe)
{
	struct ib_srq *ibsrq = &srq->ibsrq;
	bool raise = false;
	u32 prod, n;
	int err;

	spin_lock(&srq->lock);
	/* Pairs with the provider's release of prod: slots after it. */
	prod = smp_load_acquire(&srq->ring.hdr->prod);
	n = prod - srq->cons;
	if (!n) {
		err = -EAGAIN;
		goto out_unlock;
	}
	if (n > srq->ring.entries) {
		err = -EIO;
		goto out_unlock;
	}
	err = sodp_ring_take_recv(&srq->ring, srq->cons, srq->max_sge, wqe);
	if (err)
		goto out_unlock;
	srq->cons++;
	/* The slot is read before the provider may reuse it. */
	smp_store_release(&srq->ring.hdr->cons, srq->cons);

	if (srq->limit && n - 1 < srq->limit) {
		srq->limit = 0;
		raise = true;
	}
out_unlock:
	spin_unlock(&srq->lock);

	if (raise && ibsrq->event_handler) {
		struct ib_event ev = {
			.device = ibsrq->device,
			.element.srq = ibsrq,
			.event = IB_EVENT_SRQ_LIMIT_REACHED,
		};

		ibsrq->event_handler(&ev, ibsrq->srq_context);
	}
	return err;
}
