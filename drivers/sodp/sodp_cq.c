// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Completion queues: ibv_create_cq, ibv_resize_cq, ibv_req_notify_cq,
 * ibv_destroy_cq, and sodp_cq_post(), through which the engine and the QP
 * code complete work requests.
 *
 * A CQ is one shared ring of struct sodp_cqe: the kernel produces, the
 * provider polls (sodp-abi.h). The producer side (cq->prod, the ring
 * pointer, the notify state) is under cq->lock, irqsave so that any
 * context may complete; the comp_handler and event_handler are called
 * after dropping it.
 */

#include <linux/log2.h>
#include <linux/slab.h>
#include <rdma/uverbs_ioctl.h>

#include "sodp.h"

static void sodp_cq_event(struct sodp_cq *cq, enum ib_event_type type)
{
	struct ib_cq *ibcq = &cq->ibcq;
	struct ib_event ev = {
		.device = ibcq->device,
		.element.cq = ibcq,
		.event = type,
	};

	if (ibcq->event_handler)
		ibcq->event_handler(&ev, ibcq->cq_context);
}

/* The response to create_cq and resize_cq: where the (new) ring is. */
static int sodp_cq_respond(struct sodp_cq *cq, struct sodp_ring *ring,
			   struct ib_udata *udata)
{
	struct sodp_create_cq_resp resp = {
		.mmap_offset = ring->mmap_offset,
		.mmap_size = ring->size,
		.entries = ring->entries,
		.cqn = cq->cqn,
	};

	return ib_copy_to_udata(udata, &resp, min(udata->outlen, sizeof(resp)));
}

/* No request data is defined: accept none, or zeros from a newer provider. */
static bool sodp_cq_udata_ok(struct ib_udata *udata)
{
	return !udata->inlen || ib_is_udata_cleared(udata, 0, udata->inlen);
}

int sodp_create_cq(struct ib_cq *ibcq, const struct ib_cq_init_attr *attr,
		   struct uverbs_attr_bundle *attrs)
{
	struct ib_udata *udata = attrs ? &attrs->driver_udata : NULL;
	struct sodp_dev *sdev = to_sdev(ibcq->device);
	struct sodp_cq *cq = to_scq(ibcq);
	struct ib_ucontext *uctx;
	u32 entries;
	int id, err;

	/* User space only: see the data path in sodp.h. */
	if (!udata)
		return -EOPNOTSUPP;
	if (attr->flags)
		return -EOPNOTSUPP;
	if (attr->cqe < 1 || attr->cqe > SODP_MAX_CQE ||
	    attr->comp_vector >= ibcq->device->num_comp_vectors)
		return -EINVAL;
	if (!sodp_cq_udata_ok(udata))
		return -EOPNOTSUPP;
	uctx = sodp_udata_to_uctx(udata);
	if (!uctx)
		return -EINVAL;

	id = ida_alloc_range(&sdev->cq_ida, 1, SODP_MAX_CQ, GFP_KERNEL);
	if (id < 0)
		return id == -ENOSPC ? -ENOMEM : id;
	cq->cqn = id;
	spin_lock_init(&cq->lock);
	cq->prod = 0;
	cq->notify = 0;
	cq->overflow = false;

	entries = roundup_pow_of_two(attr->cqe + 1);
	err = sodp_ring_create(&cq->ring, uctx, entries,
			       sizeof(struct sodp_cqe));
	if (err)
		goto err_free_id;
	ibcq->cqe = entries - 1;

	err = sodp_cq_respond(cq, &cq->ring, udata);
	if (err)
		goto err_destroy_ring;

	atomic_inc(&sodp_objs.cqs);
	return 0;

err_destroy_ring:
	sodp_ring_destroy(&cq->ring);
err_free_id:
	ida_free(&sdev->cq_ida, cq->cqn);
	return err;
}

int sodp_destroy_cq(struct ib_cq *ibcq, struct ib_udata *udata)
{
	struct sodp_cq *cq = to_scq(ibcq);

	/* ib_core destroys every QP using the CQ first. */
	sodp_ring_destroy(&cq->ring);
	ida_free(&to_sdev(ibcq->device)->cq_ida, cq->cqn);
	atomic_dec(&sodp_objs.cqs);
	return 0;
}

/*
 * The new ring continues the old one's indexes: the unconsumed CQEs keep
 * their indexes (cons..prod) and the header holds the same prod and cons,
 * so the provider goes on polling at its own consumer index in the new
 * mapping (sodp-abi.h).
 */
int sodp_resize_cq(struct ib_cq *ibcq, int cqe, struct ib_udata *udata)
{
	struct sodp_cq *cq = to_scq(ibcq);
	struct sodp_ring new_ring, old_ring;
	struct ib_ucontext *uctx;
	unsigned long flags;
	u32 entries, prod, cons, n, i;
	int err;

	if (!udata)
		return -EOPNOTSUPP;
	if (cqe < 1 || cqe > SODP_MAX_CQE)
		return -EINVAL;
	if (!sodp_cq_udata_ok(udata))
		return -EOPNOTSUPP;
	uctx = sodp_udata_to_uctx(udata);
	if (!uctx)
		return -EINVAL;

	entries = roundup_pow_of_two((u32)cqe + 1);
	err = sodp_ring_create(&new_ring, uctx, entries,
			       sizeof(struct sodp_cqe));
	if (err)
		return err;

	/*
	 * Answer before the swap: ib_uverbs only returns the response if we
	 * succeed, and once swapped nothing may fail.
	 */
	err = sodp_cq_respond(cq, &new_ring, udata);
	if (err)
		goto err_destroy_new;

	spin_lock_irqsave(&cq->lock, flags);
	prod = cq->prod;
	cons = READ_ONCE(cq->ring.hdr->cons);
	n = prod - cons;
	/* An impossible cons is as good as "full": it cannot fit anywhere. */
	if (n > cq->ring.entries || n > (u32)cqe) {
		spin_unlock_irqrestore(&cq->lock, flags);
		err = -EINVAL;
		goto err_destroy_new;
	}
	for (i = 0; i < n; i++)
		memcpy(sodp_ring_slot(&new_ring, cons + i),
		       sodp_ring_slot(&cq->ring, cons + i),
		       sizeof(struct sodp_cqe));
	new_ring.hdr->cons = cons;
	/* Pairs with the provider's acquire of prod: slots first. */
	smp_store_release(&new_ring.hdr->prod, prod);
	old_ring = cq->ring;
	cq->ring = new_ring;
	/* A CQ with room again may report the next overflow. */
	cq->overflow = false;
	spin_unlock_irqrestore(&cq->lock, flags);

	ibcq->cqe = entries - 1;
	sodp_ring_destroy(&old_ring);
	return 0;

err_destroy_new:
	sodp_ring_destroy(&new_ring);
	return err;
}

int sodp_req_notify_cq(struct ib_cq *ibcq, enum ib_cq_notify_flags flags)
{
	struct sodp_cq *cq = to_scq(ibcq);
	unsigned long irqflags;

	spin_lock_irqsave(&cq->lock, irqflags);
	/* NEXT_COMP includes SOLICITED: never narrow an armed request. */
	if (cq->notify != IB_CQ_NEXT_COMP)
		cq->notify = flags & IB_CQ_SOLICITED_MASK;
	spin_unlock_irqrestore(&cq->lock, irqflags);
	/*
	 * IB_CQ_REPORT_MISSED_EVENTS: 0, the provider polls the ring again
	 * after arming anyway.
	 */
	return 0;
}

int sodp_cq_post(struct sodp_cq *cq, const struct sodp_cqe *cqe,
		 bool solicited)
{
	struct ib_cq *ibcq = &cq->ibcq;
	struct sodp_ring *ring;
	bool notify = false, overflow = false;
	unsigned long flags;
	u32 prod;

	spin_lock_irqsave(&cq->lock, flags);
	ring = &cq->ring;
	prod = cq->prod;
	/* Also "full" when the provider wrote an impossible cons. */
	if (prod - READ_ONCE(ring->hdr->cons) >= ring->entries) {
		overflow = !cq->overflow;
		cq->overflow = true;
		spin_unlock_irqrestore(&cq->lock, flags);
		if (overflow)
			sodp_cq_event(cq, IB_EVENT_CQ_ERR);
		return -ENOSPC;
	}

	memcpy(sodp_ring_slot(ring, prod), cqe, sizeof(*cqe));
	cq->prod = ++prod;
	/* Pairs with the provider's acquire of prod: the slot first. */
	smp_store_release(&ring->hdr->prod, prod);

	if (cq->notify == IB_CQ_NEXT_COMP ||
	    (cq->notify == IB_CQ_SOLICITED &&
	     (solicited || cqe->status != IB_WC_SUCCESS))) {
		cq->notify = 0;
		notify = true;
	}
	spin_unlock_irqrestore(&cq->lock, flags);

	if (notify && ibcq->comp_handler)
		ibcq->comp_handler(ibcq, ibcq->cq_context);
	return 0;
}
