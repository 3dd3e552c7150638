// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp libibverbs provider: completion queues. The kernel produces
 * struct sodp_cqe into a shared ring; polling is a read of that ring and
 * a store of the consumer index, with no system call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sodp.h"

/* What ibv_cq_ex can report: no timestamps, no cvlan, flow tag, TM. */
#define SODP_CQ_WC_FLAGS	((uint64_t)IBV_WC_STANDARD_FLAGS)

static int sodp_cq_map(struct ibv_context *ibctx, struct sodp_cq *cq,
		       const struct sodp_create_cq_resp *drv)
{
	int ret;

	ret = sodp_ring_map(ibctx, &cq->ring, drv->mmap_offset, drv->mmap_size,
			    drv->entries, sizeof(struct sodp_cqe),
			    sizeof(struct sodp_cqe));
	if (ret)
		return ret;
	cq->cons = sodp_load_acquire(&cq->ring.hdr->cons);
	cq->cqn = drv->cqn;
	return 0;
}

/*
 * Number of CQEs ready to be consumed, or -1 if the ring is unusable
 * (unmapped after a failed resize, or an impossible producer index).
 * Caller holds cq->lock.
 */
static int64_t sodp_cq_ready(struct sodp_cq *cq)
{
	uint32_t avail;

	if (cq->ring.map == MAP_FAILED)
		return -1;
	avail = sodp_load_acquire(&cq->ring.hdr->prod) - cq->cons;
	if (avail > cq->ring.entries)
		return -1;
	return avail;
}

static void sodp_cq_publish(struct sodp_cq *cq)
{
	sodp_store_release(&cq->ring.hdr->cons, cq->cons);
}

static unsigned int sodp_cqe_wc_flags(const struct sodp_cqe *cqe)
{
	return cqe->wc_flags & (SODP_WC_F_WITH_IMM | SODP_WC_F_WITH_INV);
}

int sodp_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc)
{
	struct sodp_cq *cq = to_sodp_cq(ibcq);
	const struct sodp_cqe *cqe;
	int64_t ready;
	int n;

	if (num_entries < 0)
		return -EINVAL;

	pthread_spin_lock(&cq->lock);
	ready = sodp_cq_ready(cq);
	if (ready < 0) {
		pthread_spin_unlock(&cq->lock);
		return -EIO;
	}

	for (n = 0; n < num_entries && n < ready; n++, wc++) {
		cqe = sodp_ring_slot(&cq->ring, cq->cons + n);
		memset(wc, 0, sizeof(*wc));
		wc->wr_id = cqe->wr_id;
		wc->status = cqe->status;
		wc->opcode = cqe->opcode;
		wc->vendor_err = cqe->vendor_err;
		wc->byte_len = cqe->byte_len;
		/* imm_data and invalidated_rkey share the union */
		wc->imm_data = cqe->imm_data;
		wc->qp_num = cqe->qp_num;
		wc->src_qp = cqe->src_qp;
		wc->wc_flags = sodp_cqe_wc_flags(cqe);
	}

	if (n) {
		cq->cons += n;
		sodp_cq_publish(cq);
	}
	pthread_spin_unlock(&cq->lock);
	return n;
}

/*
 * Discard the CQEs of QP @qpn that are still in the CQ, keeping the
 * others in their order; for a QP that was reset or destroyed (after the
 * kernel has acknowledged that, so it produces no more CQEs for it).
 *
 * The consumer owns the slots from cons to prod: the kernel writes a slot
 * only while it is outside them and never reads one (resize_cq copies
 * them, but runs under cq->lock, as this does). So, holding cq->lock
 * against other pollers, the kept CQEs are moved up towards prod, newest
 * first, and cons is advanced past the holes left at the bottom; the
 * release store of cons hands those slots back to the kernel only after
 * the moves. A CQE the kernel adds meanwhile lies at or past the prod
 * read here and is not touched.
 */
static void sodp_cq_discard_qp(struct sodp_cq *cq, uint32_t qpn)
{
	const struct sodp_cqe *cqe;
	uint32_t prod, from, to;
	int64_t ready;

	pthread_spin_lock(&cq->lock);
	ready = sodp_cq_ready(cq);
	if (ready <= 0)
		goto out;
	prod = cq->cons + (uint32_t)ready;
	to = prod;
	for (from = prod; from != cq->cons;) {
		cqe = sodp_ring_slot(&cq->ring, --from);
		if (cqe->qp_num == qpn)
			continue;
		if (--to != from)
			memcpy(sodp_ring_slot(&cq->ring, to), cqe, sizeof(*cqe));
	}
	if (to != cq->cons) {
		cq->cons = to;
		sodp_cq_publish(cq);
	}
out:
	pthread_spin_unlock(&cq->lock);
}

/* Discard a reset or destroyed QP's CQEs from its send and receive CQs. */
void sodp_cq_discard_qp_cqes(struct ibv_qp *ibqp)
{
	sodp_cq_discard_qp(to_sodp_cq(ibqp->send_cq), ibqp->qp_num);
	if (ibqp->recv_cq != ibqp->send_cq)
		sodp_cq_discard_qp(to_sodp_cq(ibqp->recv_cq), ibqp->qp_num);
}

/* ------------------------------------------------------------------------
 * ibv_cq_ex polling: start_poll takes the lock, end_poll drops it. cur is
 * the CQE the read_* functions report; it stays in the ring (the kernel
 * does not reuse a slot before the consumer index passes it).
 * ------------------------------------------------------------------------
 */

static void sodp_cq_set_cur(struct sodp_cq *cq)
{
	cq->cur = sodp_ring_slot(&cq->ring, cq->cons);
	cq->vcq.cq_ex.status = cq->cur->status;
	cq->vcq.cq_ex.wr_id = cq->cur->wr_id;
}

static int sodp_start_poll(struct ibv_cq_ex *ibcq,
			   struct ibv_poll_cq_attr *attr)
{
	struct sodp_cq *cq = ex_to_sodp_cq(ibcq);
	int64_t ready;

	if (attr->comp_mask)
		return EINVAL;

	pthread_spin_lock(&cq->lock);
	ready = sodp_cq_ready(cq);
	if (ready <= 0) {
		pthread_spin_unlock(&cq->lock);
		return ready < 0 ? EIO : ENOENT;
	}
	sodp_cq_set_cur(cq);
	return 0;
}

static int sodp_next_poll(struct ibv_cq_ex *ibcq)
{
	struct sodp_cq *cq = ex_to_sodp_cq(ibcq);
	int64_t ready;

	if (cq->cur) {
		cq->cur = NULL;
		cq->cons++;
	}
	ready = sodp_cq_ready(cq);
	if (ready <= 0)
		return ready < 0 ? EIO : ENOENT;
	sodp_cq_set_cur(cq);
	return 0;
}

static void sodp_end_poll(struct ibv_cq_ex *ibcq)
{
	struct sodp_cq *cq = ex_to_sodp_cq(ibcq);

	if (cq->cur) {
		cq->cur = NULL;
		cq->cons++;
	}
	sodp_cq_publish(cq);
	pthread_spin_unlock(&cq->lock);
}

static enum ibv_wc_opcode sodp_read_opcode(struct ibv_cq_ex *ibcq)
{
	return ex_to_sodp_cq(ibcq)->cur->opcode;
}

static uint32_t sodp_read_vendor_err(struct ibv_cq_ex *ibcq)
{
	return ex_to_sodp_cq(ibcq)->cur->vendor_err;
}

static uint32_t sodp_read_byte_len(struct ibv_cq_ex *ibcq)
{
	return ex_to_sodp_cq(ibcq)->cur->byte_len;
}

static __be32 sodp_read_imm_data(struct ibv_cq_ex *ibcq)
{
	/* Network order in the CQE already (the invalidated rkey for INV). */
	return (__be32)ex_to_sodp_cq(ibcq)->cur->imm_data;
}

static uint32_t sodp_read_qp_num(struct ibv_cq_ex *ibcq)
{
	return ex_to_sodp_cq(ibcq)->cur->qp_num;
}

static uint32_t sodp_read_src_qp(struct ibv_cq_ex *ibcq)
{
	return ex_to_sodp_cq(ibcq)->cur->src_qp;
}

static unsigned int sodp_read_wc_flags(struct ibv_cq_ex *ibcq)
{
	return sodp_cqe_wc_flags(ex_to_sodp_cq(ibcq)->cur);
}

/* RoCE: no LIDs, SL or path bits. */
static uint32_t sodp_read_slid(struct ibv_cq_ex *ibcq)
{
	return 0;
}

static uint8_t sodp_read_sl(struct ibv_cq_ex *ibcq)
{
	return 0;
}

static uint8_t sodp_read_dlid_path_bits(struct ibv_cq_ex *ibcq)
{
	return 0;
}

static void sodp_cq_set_ex_ops(struct sodp_cq *cq)
{
	struct ibv_cq_ex *ex = &cq->vcq.cq_ex;

	ex->start_poll = sodp_start_poll;
	ex->next_poll = sodp_next_poll;
	ex->end_poll = sodp_end_poll;
	ex->read_opcode = sodp_read_opcode;
	ex->read_vendor_err = sodp_read_vendor_err;
	ex->read_wc_flags = sodp_read_wc_flags;
	if (cq->wc_flags & IBV_WC_EX_WITH_BYTE_LEN)
		ex->read_byte_len = sodp_read_byte_len;
	if (cq->wc_flags & IBV_WC_EX_WITH_IMM)
		ex->read_imm_data = sodp_read_imm_data;
	if (cq->wc_flags & IBV_WC_EX_WITH_QP_NUM)
		ex->read_qp_num = sodp_read_qp_num;
	if (cq->wc_flags & IBV_WC_EX_WITH_SRC_QP)
		ex->read_src_qp = sodp_read_src_qp;
	if (cq->wc_flags & IBV_WC_EX_WITH_SLID)
		ex->read_slid = sodp_read_slid;
	if (cq->wc_flags & IBV_WC_EX_WITH_SL)
		ex->read_sl = sodp_read_sl;
	if (cq->wc_flags & IBV_WC_EX_WITH_DLID_PATH_BITS)
		ex->read_dlid_path_bits = sodp_read_dlid_path_bits;
}

/* ------------------------------------------------------------------------
 * Verbs
 * ------------------------------------------------------------------------
 */

static struct sodp_cq *sodp_cq_alloc(void)
{
	struct sodp_cq *cq;

	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return NULL;
	cq->ring.map = MAP_FAILED;
	if (pthread_spin_init(&cq->lock, PTHREAD_PROCESS_PRIVATE)) {
		free(cq);
		errno = ENOMEM;
		return NULL;
	}
	return cq;
}

static void sodp_cq_free(struct sodp_cq *cq)
{
	pthread_spin_destroy(&cq->lock);
	free(cq);
}

struct ibv_cq *sodp_create_cq(struct ibv_context *ibctx, int cqe,
			      struct ibv_comp_channel *channel,
			      int comp_vector)
{
	struct sodp_cmd_create_cq_resp resp;
	struct sodp_cq *cq;
	int ret;

	cq = sodp_cq_alloc();
	if (!cq)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_cq(ibctx, cqe, channel, comp_vector, &cq->vcq.cq,
				NULL, 0,
				SODP_IBV_RESP(struct ib_uverbs_create_cq_resp,
					      &resp),
				sizeof(resp));
	if (ret)
		goto err_free;

	ret = sodp_cq_map(ibctx, cq, &resp.drv_payload);
	if (ret)
		goto err_destroy;

	/* A plain ibv_cq: the ibv_cq_ex view is not offered, but harmless. */
	cq->wc_flags = SODP_CQ_WC_FLAGS;
	sodp_cq_set_ex_ops(cq);
	return &cq->vcq.cq;

err_destroy:
	ibv_cmd_destroy_cq(&cq->vcq.cq);
err_free:
	sodp_cq_free(cq);
	errno = ret;
	return NULL;
}

struct ibv_cq_ex *sodp_create_cq_ex(struct ibv_context *ibctx,
				    struct ibv_cq_init_attr_ex *attr)
{
	struct sodp_cmd_create_cq_ex_resp resp;
	struct sodp_cq *cq;
	int ret;

	/*
	 * No completion timestamps (the kernel has no clock to offer), no
	 * parent domains, no CQ flags (IGNORE_OVERRUN, single-threaded).
	 */
	if (attr->wc_flags & ~SODP_CQ_WC_FLAGS ||
	    attr->comp_mask & ~(uint32_t)IBV_CQ_INIT_ATTR_MASK_FLAGS ||
	    (attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS && attr->flags)) {
		errno = EOPNOTSUPP;
		return NULL;
	}

	cq = sodp_cq_alloc();
	if (!cq)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_cq_ex(ibctx, attr, &cq->vcq, NULL, 0,
				   SODP_IBV_RESP(struct ib_uverbs_ex_create_cq_resp,
						 &resp),
				   sizeof(resp), 0);
	if (ret)
		goto err_free;

	ret = sodp_cq_map(ibctx, cq, &resp.drv_payload);
	if (ret)
		goto err_destroy;

	cq->wc_flags = attr->wc_flags;
	sodp_cq_set_ex_ops(cq);
	return &cq->vcq.cq_ex;

err_destroy:
	ibv_cmd_destroy_cq(&cq->vcq.cq);
err_free:
	sodp_cq_free(cq);
	errno = ret;
	return NULL;
}

int sodp_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	return ibv_cmd_req_notify_cq(ibcq, solicited_only);
}

/*
 * The kernel allocates a new ring, copies the unconsumed CQEs into it and
 * returns it; the provider maps it, takes its consumer index from the new
 * header, and unmaps the old one. Pollers are held off by cq->lock.
 */
int sodp_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	struct sodp_cq *cq = to_sodp_cq(ibcq);
	struct sodp_cmd_resize_cq_resp resp;
	struct ibv_resize_cq cmd;
	struct sodp_ring ring;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));

	pthread_spin_lock(&cq->lock);
	ret = ibv_cmd_resize_cq(ibcq, cqe, &cmd, sizeof(cmd),
				SODP_IBV_RESP(struct ib_uverbs_resize_cq_resp,
					      &resp),
				sizeof(resp));
	if (ret)
		goto out;

	ret = sodp_ring_map(ibcq->context, &ring, resp.drv_payload.mmap_offset,
			    resp.drv_payload.mmap_size,
			    resp.drv_payload.entries, sizeof(struct sodp_cqe),
			    sizeof(struct sodp_cqe));
	/*
	 * The kernel has switched to the new ring either way: the old one
	 * will never see another CQE. If the new one cannot be mapped, the
	 * CQ is unusable (polling fails with EIO) and can only be destroyed.
	 */
	sodp_ring_unmap(&cq->ring);
	if (ret) {
		sodp_err(ibcq->context, "cannot map the resized CQ %u: %s\n",
			 cq->cqn, strerror(ret));
		goto out;
	}
	cq->ring = ring;
	cq->cons = sodp_load_acquire(&ring.hdr->cons);
	cq->cqn = resp.drv_payload.cqn;
out:
	pthread_spin_unlock(&cq->lock);
	return ret;
}

int sodp_destroy_cq(struct ibv_cq *ibcq)
{
	struct sodp_cq *cq = to_sodp_cq(ibcq);
	int ret;

	ret = ibv_cmd_destroy_cq(ibcq);
	if (ret)
		return ret;

	sodp_ring_unmap(&cq->ring);
	sodp_cq_free(cq);
	return 0;
}
