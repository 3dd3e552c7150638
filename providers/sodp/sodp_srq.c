// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp libibverbs provider: shared receive queues, and receive posting
 * into any receive ring (an SRQ's or a QP's RQ).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sodp.h"

/*
 * Write @wr and its successors into @wq's ring, publish them with one
 * release store of the producer index, and stop at the first WR that is
 * malformed (EINVAL) or does not fit (ENOMEM), reporting it in *bad_wr.
 * The WRs before it are posted.
 */
int sodp_wq_post_recv(struct sodp_wq *wq, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr)
{
	struct sodp_recv_wqe wqe;
	struct sodp_sge sge;
	uint32_t start, cons;
	uint8_t *slot;
	int ret = 0;
	int i;

	pthread_spin_lock(&wq->lock);
	start = wq->prod;
	cons = sodp_load_acquire(&wq->ring.hdr->cons);
	for (; wr; wr = wr->next) {
		if (wr->num_sge < 0 || (uint32_t)wr->num_sge > wq->max_sge) {
			ret = EINVAL;
			break;
		}
		if (wq->prod - cons >= wq->ring.entries) {
			cons = sodp_load_acquire(&wq->ring.hdr->cons);
			if (wq->prod - cons >= wq->ring.entries) {
				ret = ENOMEM;
				break;
			}
		}

		slot = sodp_ring_slot(&wq->ring, wq->prod);
		memset(&wqe, 0, sizeof(wqe));
		wqe.wr_id = wr->wr_id;
		wqe.num_sge = wr->num_sge;
		memcpy(slot, &wqe, sizeof(wqe));
		slot += sizeof(wqe);
		for (i = 0; i < wr->num_sge; i++) {
			sge.addr = wr->sg_list[i].addr;
			sge.length = wr->sg_list[i].length;
			sge.lkey = wr->sg_list[i].lkey;
			memcpy(slot, &sge, sizeof(sge));
			slot += sizeof(sge);
		}
		wq->prod++;
	}
	if (wq->prod != start)
		sodp_store_release(&wq->ring.hdr->prod, wq->prod);
	pthread_spin_unlock(&wq->lock);

	if (ret)
		*bad_wr = wr;
	return ret;
}

/* ------------------------------------------------------------------------
 * SRQ verbs
 * ------------------------------------------------------------------------
 */

static struct sodp_srq *sodp_srq_alloc(void)
{
	struct sodp_srq *srq;

	srq = calloc(1, sizeof(*srq));
	if (!srq)
		return NULL;
	srq->rq.ring.map = MAP_FAILED;
	if (pthread_spin_init(&srq->rq.lock, PTHREAD_PROCESS_PRIVATE)) {
		free(srq);
		errno = ENOMEM;
		return NULL;
	}
	return srq;
}

static void sodp_srq_free(struct sodp_srq *srq)
{
	pthread_spin_destroy(&srq->rq.lock);
	free(srq);
}

/* Map the ring of a just created SRQ granted @max_sge SGEs per WQE. */
static int sodp_srq_map(struct ibv_context *ibctx, struct sodp_srq *srq,
			const struct sodp_create_srq_resp *drv, uint32_t max_sge)
{
	int ret;

	if (max_sge > SODP_MAX_SGE) {
		sodp_err(ibctx, "kernel granted %u SGEs per SRQ WQE\n", max_sge);
		return EPROTO;
	}
	ret = sodp_ring_map(ibctx, &srq->rq.ring, drv->mmap_offset,
			    drv->mmap_size, drv->entries, drv->stride,
			    sizeof(struct sodp_recv_wqe) +
				    max_sge * sizeof(struct sodp_sge));
	if (ret)
		return ret;
	srq->rq.max_sge = max_sge;
	srq->rq.prod = sodp_load_acquire(&srq->rq.ring.hdr->prod);
	srq->srqn = drv->srqn;
	return 0;
}

struct ibv_srq *sodp_create_srq(struct ibv_pd *ibpd,
				struct ibv_srq_init_attr *attr)
{
	struct sodp_cmd_create_srq_resp resp;
	struct sodp_srq *srq;
	int ret;

	srq = sodp_srq_alloc();
	if (!srq)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_srq(ibpd, &srq->vsrq.srq, attr, NULL, 0,
				 SODP_IBV_RESP(struct ib_uverbs_create_srq_resp,
					       &resp),
				 sizeof(resp));
	if (ret)
		goto err_free;

	ret = sodp_srq_map(ibpd->context, srq, &resp.drv_payload,
			   attr->attr.max_sge);
	if (ret)
		goto err_destroy;
	/* ibv_create_srq() fills in context, srq_context and pd. */
	return &srq->vsrq.srq;

err_destroy:
	ibv_cmd_destroy_srq(&srq->vsrq.srq);
err_free:
	sodp_srq_free(srq);
	errno = ret;
	return NULL;
}

/*
 * libibverbs routes a basic SRQ created with ibv_create_srq_ex() through
 * create_srq; this is reached only for other types or attributes. sodp
 * has basic SRQs only: no XRC (no XRC domains), no tag matching.
 */
struct ibv_srq *sodp_create_srq_ex(struct ibv_context *ibctx,
				   struct ibv_srq_init_attr_ex *attr)
{
	struct sodp_cmd_create_srq_resp resp;
	struct sodp_srq *srq;
	int ret;

	if (attr->comp_mask & ~(uint32_t)(IBV_SRQ_INIT_ATTR_PD |
					  IBV_SRQ_INIT_ATTR_TYPE) ||
	    (attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE &&
	     attr->srq_type != IBV_SRQT_BASIC)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_PD)) {
		errno = EINVAL;
		return NULL;
	}

	srq = sodp_srq_alloc();
	if (!srq)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_srq_ex(ibctx, &srq->vsrq, attr, NULL, 0,
				    SODP_IBV_RESP(struct ib_uverbs_create_srq_resp,
						  &resp),
				    sizeof(resp));
	if (ret)
		goto err_free;

	ret = sodp_srq_map(ibctx, srq, &resp.drv_payload, attr->attr.max_sge);
	if (ret)
		goto err_destroy;

	/* Nobody else initialises these on this path. */
	srq->vsrq.srq.srq_context = attr->srq_context;
	srq->vsrq.srq.pd = attr->pd;
	srq->vsrq.srq.events_completed = 0;
	return &srq->vsrq.srq;

err_destroy:
	ibv_cmd_destroy_srq(&srq->vsrq.srq);
err_free:
	sodp_srq_free(srq);
	errno = ret;
	return NULL;
}

/* IBV_SRQ_LIMIT arms the limit event; the kernel refuses IBV_SRQ_MAX_WR. */
int sodp_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		    int attr_mask)
{
	struct ibv_modify_srq cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_modify_srq(ibsrq, attr, attr_mask, &cmd, sizeof(cmd));
}

int sodp_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr)
{
	struct ibv_query_srq cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_query_srq(ibsrq, attr, &cmd, sizeof(cmd));
}

int sodp_destroy_srq(struct ibv_srq *ibsrq)
{
	struct sodp_srq *srq = to_sodp_srq(ibsrq);
	int ret;

	ret = ibv_cmd_destroy_srq(ibsrq);
	if (ret)
		return ret;

	sodp_ring_unmap(&srq->rq.ring);
	sodp_srq_free(srq);
	return 0;
}

/* No doorbell: the kernel looks at the SRQ ring when a message arrives. */
int sodp_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		       struct ibv_recv_wr **bad_wr)
{
	return sodp_wq_post_recv(&to_sodp_srq(ibsrq)->rq, wr, bad_wr);
}
