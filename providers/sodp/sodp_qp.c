// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp libibverbs provider: queue pairs (RC only). Work requests are
 * written into the shared send and receive rings (sodp-abi.h); the kernel
 * engine consumes them. A system call is made only to wake an idle
 * engine (the doorbell) or to have the receives of a QP in the error
 * state flushed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sodp.h"

/* ibv_qp_ex operations sodp offers (RC). */
#define SODP_SEND_OPS_FLAGS                                                    \
	((uint64_t)(IBV_QP_EX_WITH_RDMA_WRITE |                                \
		    IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM | IBV_QP_EX_WITH_SEND | \
		    IBV_QP_EX_WITH_SEND_WITH_IMM | IBV_QP_EX_WITH_RDMA_READ |  \
		    IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |                        \
		    IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD |                      \
		    IBV_QP_EX_WITH_LOCAL_INV | IBV_QP_EX_WITH_SEND_WITH_INV))

#define SODP_QP_COMP_MASK                                                      \
	((uint32_t)(IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_CREATE_FLAGS |      \
		    IBV_QP_INIT_ATTR_SEND_OPS_FLAGS))

/* Where a send WQE's SGEs or inline data start inside its slot. */
#define SODP_SEND_TAIL(wqe) ((uint8_t *)(wqe) + sizeof(struct sodp_send_wqe))

/* ------------------------------------------------------------------------
 * Send queue helpers (callers hold qp->sq.lock)
 * ------------------------------------------------------------------------
 */

/* Opcodes whose payload may be carried inline: sends and RDMA writes. */
static bool sodp_op_has_inline(uint8_t opcode)
{
	switch (opcode) {
	case SODP_WR_SEND:
	case SODP_WR_SEND_WITH_IMM:
	case SODP_WR_SEND_WITH_INV:
	case SODP_WR_RDMA_WRITE:
	case SODP_WR_RDMA_WRITE_WITH_IMM:
		return true;
	default:
		return false;
	}
}

static uint8_t sodp_send_flags(unsigned int ibv_flags)
{
	uint8_t flags = 0;

	if (ibv_flags & IBV_SEND_SIGNALED)
		flags |= SODP_SEND_F_SIGNALED;
	if (ibv_flags & IBV_SEND_SOLICITED)
		flags |= SODP_SEND_F_SOLICITED;
	if (ibv_flags & IBV_SEND_FENCE)
		flags |= SODP_SEND_F_FENCE;
	return flags;
}

/*
 * Is slot @prod free? *cons caches the kernel's consumer index and is
 * reloaded only when the queue looks full.
 */
static bool sodp_sq_has_room(struct sodp_wq *sq, uint32_t prod, uint32_t *cons)
{
	if (prod - *cons < sq->ring.entries)
		return true;
	*cons = sodp_load_acquire(&sq->ring.hdr->cons);
	return prod - *cons < sq->ring.entries;
}

/*
 * Publish the send queue up to sq.prod. Returns true if the engine sleeps
 * and the doorbell must be rung: the store of prod and the load of flags
 * are ordered by a full barrier, matching the kernel's "set IDLE, full
 * barrier, look at prod again" (sodp-abi.h).
 */
static bool sodp_sq_publish(struct sodp_qp *qp)
{
	struct sodp_ring_hdr *hdr = qp->sq.ring.hdr;

	sodp_store_release(&hdr->prod, qp->sq.prod);
	atomic_thread_fence(memory_order_seq_cst);
	return sodp_load_relaxed(&hdr->flags) & SODP_RING_F_IDLE;
}

/*
 * Copy the payload of @sg_list to @dst, the tail of the slot whose header
 * is (or will be copied from) @wqe: inline data.
 */
static int sodp_copy_inline(struct sodp_qp *qp, uint8_t *dst,
			    struct sodp_send_wqe *wqe,
			    const struct ibv_sge *sg_list, int num_sge)
{
	uint32_t total = 0;
	int i;

	for (i = 0; i < num_sge; i++) {
		if (sg_list[i].length > qp->sq.max_inline - total)
			return EINVAL;
		memcpy(dst + total, (void *)(uintptr_t)sg_list[i].addr,
		       sg_list[i].length);
		total += sg_list[i].length;
	}
	wqe->inline_len = total;
	wqe->num_sge = 0;
	wqe->flags |= SODP_SEND_F_INLINE;
	return 0;
}

/* Same for a gather list: the SGEs go to @dst. */
static void sodp_copy_sges(uint8_t *dst, struct sodp_send_wqe *wqe,
			   const struct ibv_sge *sg_list, size_t num_sge)
{
	struct sodp_sge sge;
	size_t i;

	for (i = 0; i < num_sge; i++) {
		sge.addr = sg_list[i].addr;
		sge.length = sg_list[i].length;
		sge.lkey = sg_list[i].lkey;
		memcpy(dst + i * sizeof(sge), &sge, sizeof(sge));
	}
	wqe->num_sge = num_sge;
	wqe->inline_len = 0;
	wqe->flags &= ~SODP_SEND_F_INLINE;
}

/* Write one ibv_send_wr into slot sq.prod (not yet published). */
static int sodp_post_one_send(struct sodp_qp *qp, struct ibv_send_wr *wr,
			      uint32_t *cons)
{
	struct sodp_send_wqe *slot;
	struct sodp_send_wqe wqe;
	bool inl;
	int ret;

	memset(&wqe, 0, sizeof(wqe));
	switch (wr->opcode) {
	case IBV_WR_SEND:
		break;
	case IBV_WR_SEND_WITH_IMM:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		wqe.imm_data = wr->imm_data;
		break;
	case IBV_WR_SEND_WITH_INV:
	case IBV_WR_LOCAL_INV:
		wqe.imm_data = wr->invalidate_rkey;
		break;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_READ:
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		wqe.rkey = wr->wr.atomic.rkey;
		wqe.remote_addr = wr->wr.atomic.remote_addr;
		wqe.compare_add = wr->wr.atomic.compare_add;
		wqe.swap = wr->wr.atomic.swap;
		break;
	default:
		return EINVAL;
	}
	if (wr->opcode == IBV_WR_RDMA_WRITE ||
	    wr->opcode == IBV_WR_RDMA_WRITE_WITH_IMM ||
	    wr->opcode == IBV_WR_RDMA_READ) {
		wqe.rkey = wr->wr.rdma.rkey;
		wqe.remote_addr = wr->wr.rdma.remote_addr;
	}
	wqe.wr_id = wr->wr_id;
	wqe.opcode = wr->opcode;
	wqe.flags = sodp_send_flags(wr->send_flags);

	/* IBV_SEND_INLINE means nothing for reads, atomics, LOCAL_INV. */
	inl = (wr->send_flags & IBV_SEND_INLINE) &&
	      sodp_op_has_inline(wqe.opcode);
	if (wr->num_sge < 0 ||
	    (!inl && (uint32_t)wr->num_sge > qp->sq.max_sge))
		return EINVAL;
	if (!sodp_sq_has_room(&qp->sq, qp->sq.prod, cons))
		return ENOMEM;

	slot = sodp_ring_slot(&qp->sq.ring, qp->sq.prod);
	if (inl) {
		ret = sodp_copy_inline(qp, SODP_SEND_TAIL(slot), &wqe,
				       wr->sg_list, wr->num_sge);
		if (ret)
			return ret;
	} else {
		sodp_copy_sges(SODP_SEND_TAIL(slot), &wqe, wr->sg_list,
			       wr->num_sge);
	}
	/* The tail went to the slot directly; now the header. */
	memcpy(slot, &wqe, sizeof(wqe));
	qp->sq.prod++;
	return 0;
}

int sodp_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		   struct ibv_send_wr **bad_wr)
{
	struct sodp_qp *qp = to_sodp_qp(ibqp);
	bool ring = false;
	uint32_t start, cons;
	int ret = 0;

	/* C10-96: posting to a QP in RESET is an immediate error. */
	if (ibqp->state == IBV_QPS_RESET) {
		*bad_wr = wr;
		return EINVAL;
	}

	pthread_spin_lock(&qp->sq.lock);
	start = qp->sq.prod;
	cons = sodp_load_acquire(&qp->sq.ring.hdr->cons);
	for (; wr; wr = wr->next) {
		ret = sodp_post_one_send(qp, wr, &cons);
		if (ret)
			break;
	}
	if (qp->sq.prod != start)
		ring = sodp_sq_publish(qp);
	pthread_spin_unlock(&qp->sq.lock);

	if (ret)
		*bad_wr = wr;
	if (ring) {
		int db = sodp_doorbell(ibqp, IB_USER_VERBS_CMD_POST_SEND);

		if (!ret)
			ret = db;
	}
	return ret;
}

int sodp_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		   struct ibv_recv_wr **bad_wr)
{
	struct sodp_qp *qp = to_sodp_qp(ibqp);
	int ret;

	/* Receives go to the SRQ; none may be posted in RESET. */
	if (ibqp->srq || qp->rq.ring.map == MAP_FAILED ||
	    ibqp->state == IBV_QPS_RESET) {
		*bad_wr = wr;
		return EINVAL;
	}

	ret = sodp_wq_post_recv(&qp->rq, wr, bad_wr);

	/*
	 * A QP in ERR flushes its receives only when told: look at the flag
	 * after publishing prod (the full barrier orders the two).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (sodp_load_relaxed(&qp->sq.ring.hdr->flags) & SODP_RING_F_ERROR) {
		int db = sodp_doorbell(ibqp, IB_USER_VERBS_CMD_POST_RECV);

		if (!ret)
			ret = db;
	}
	return ret;
}

/* ------------------------------------------------------------------------
 * ibv_qp_ex: wr_start, builders, setters, wr_complete / wr_abort. The
 * send queue lock is held from wr_start to wr_complete or wr_abort.
 * Builders write the WQE header straight into the next slot; setters
 * complete the last one built. Nothing is visible to the kernel before
 * wr_complete publishes the producer index; the first error of a batch
 * makes wr_complete discard the whole batch and return that error.
 * ------------------------------------------------------------------------
 */

static void sodp_wr_start(struct ibv_qp_ex *ibqp)
{
	struct sodp_qp *qp = ex_to_sodp_qp(ibqp);

	pthread_spin_lock(&qp->sq.lock);
	qp->wr_err = ibqp->qp_base.state == IBV_QPS_RESET ? EINVAL : 0;
	qp->wr_prod = qp->sq.prod;
	qp->wr_cons = sodp_load_acquire(&qp->sq.ring.hdr->cons);
	qp->wr_cur = NULL;
}

static int sodp_wr_complete(struct ibv_qp_ex *ibqp)
{
	struct sodp_qp *qp = ex_to_sodp_qp(ibqp);
	bool ring = false;
	int ret = qp->wr_err;

	if (!ret && qp->wr_prod != qp->sq.prod) {
		qp->sq.prod = qp->wr_prod;
		ring = sodp_sq_publish(qp);
	}
	qp->wr_cur = NULL;
	pthread_spin_unlock(&qp->sq.lock);

	if (ring)
		ret = sodp_doorbell(&ibqp->qp_base, IB_USER_VERBS_CMD_POST_SEND);
	return ret;
}

static void sodp_wr_abort(struct ibv_qp_ex *ibqp)
{
	struct sodp_qp *qp = ex_to_sodp_qp(ibqp);

	/* sq.prod was never advanced: the slots written are simply reused. */
	qp->wr_cur = NULL;
	pthread_spin_unlock(&qp->sq.lock);
}

/* Start a new WQE in the next slot; NULL (and wr_err set) if impossible. */
static struct sodp_send_wqe *sodp_wr_new(struct sodp_qp *qp, uint8_t opcode)
{
	struct ibv_qp_ex *ibqp = &qp->vqp.qp_ex;
	struct sodp_send_wqe *wqe;

	qp->wr_cur = NULL;
	if (qp->wr_err)
		return NULL;
	if (!sodp_sq_has_room(&qp->sq, qp->wr_prod, &qp->wr_cons)) {
		qp->wr_err = ENOMEM;
		return NULL;
	}

	wqe = sodp_ring_slot(&qp->sq.ring, qp->wr_prod);
	memset(wqe, 0, sizeof(*wqe));
	wqe->wr_id = ibqp->wr_id;
	wqe->opcode = opcode;
	wqe->flags = sodp_send_flags(ibqp->wr_flags);
	qp->wr_prod++;
	qp->wr_cur = wqe;
	return wqe;
}

static void sodp_wr_send(struct ibv_qp_ex *ibqp)
{
	sodp_wr_new(ex_to_sodp_qp(ibqp), SODP_WR_SEND);
}

static void sodp_wr_send_imm(struct ibv_qp_ex *ibqp, __be32 imm_data)
{
	struct sodp_send_wqe *wqe;

	wqe = sodp_wr_new(ex_to_sodp_qp(ibqp), SODP_WR_SEND_WITH_IMM);
	if (wqe)
		wqe->imm_data = (__u32)imm_data;
}

static void sodp_wr_send_inv(struct ibv_qp_ex *ibqp, uint32_t invalidate_rkey)
{
	struct sodp_send_wqe *wqe;

	wqe = sodp_wr_new(ex_to_sodp_qp(ibqp), SODP_WR_SEND_WITH_INV);
	if (wqe)
		wqe->imm_data = invalidate_rkey;
}

static void sodp_wr_rdma(struct ibv_qp_ex *ibqp, uint8_t opcode, uint32_t rkey,
			 uint64_t remote_addr, __u32 imm_data)
{
	struct sodp_send_wqe *wqe;

	wqe = sodp_wr_new(ex_to_sodp_qp(ibqp), opcode);
	if (!wqe)
		return;
	wqe->rkey = rkey;
	wqe->remote_addr = remote_addr;
	wqe->imm_data = imm_data;
}

static void sodp_wr_rdma_write(struct ibv_qp_ex *ibqp, uint32_t rkey,
			       uint64_t remote_addr)
{
	sodp_wr_rdma(ibqp, SODP_WR_RDMA_WRITE, rkey, remote_addr, 0);
}

static void sodp_wr_rdma_write_imm(struct ibv_qp_ex *ibqp, uint32_t rkey,
				   uint64_t remote_addr, __be32 imm_data)
{
	sodp_wr_rdma(ibqp, SODP_WR_RDMA_WRITE_WITH_IMM, rkey, remote_addr,
		     (__u32)imm_data);
}

static void sodp_wr_rdma_read(struct ibv_qp_ex *ibqp, uint32_t rkey,
			      uint64_t remote_addr)
{
	sodp_wr_rdma(ibqp, SODP_WR_RDMA_READ, rkey, remote_addr, 0);
}

static void sodp_wr_atomic(struct ibv_qp_ex *ibqp, uint8_t opcode,
			   uint32_t rkey, uint64_t remote_addr,
			   uint64_t compare_add, uint64_t swap)
{
	struct sodp_send_wqe *wqe;

	wqe = sodp_wr_new(ex_to_sodp_qp(ibqp), opcode);
	if (!wqe)
		return;
	wqe->rkey = rkey;
	wqe->remote_addr = remote_addr;
	wqe->compare_add = compare_add;
	wqe->swap = swap;
}

static void sodp_wr_atomic_cmp_swp(struct ibv_qp_ex *ibqp, uint32_t rkey,
				   uint64_t remote_addr, uint64_t compare,
				   uint64_t swap)
{
	sodp_wr_atomic(ibqp, SODP_WR_ATOMIC_CMP_AND_SWP, rkey, remote_addr,
		       compare, swap);
}

static void sodp_wr_atomic_fetch_add(struct ibv_qp_ex *ibqp, uint32_t rkey,
				     uint64_t remote_addr, uint64_t add)
{
	sodp_wr_atomic(ibqp, SODP_WR_ATOMIC_FETCH_AND_ADD, rkey, remote_addr,
		       add, 0);
}

static void sodp_wr_local_inv(struct ibv_qp_ex *ibqp, uint32_t invalidate_rkey)
{
	struct sodp_send_wqe *wqe;

	wqe = sodp_wr_new(ex_to_sodp_qp(ibqp), SODP_WR_LOCAL_INV);
	if (wqe)
		wqe->imm_data = invalidate_rkey;
}

/* The WQE a setter applies to, or NULL if the batch already failed. */
static struct sodp_send_wqe *sodp_wr_cur(struct sodp_qp *qp)
{
	if (qp->wr_err)
		return NULL;
	if (!qp->wr_cur) {
		/* A setter without a builder before it. */
		qp->wr_err = EINVAL;
		return NULL;
	}
	return qp->wr_cur;
}

static void sodp_wr_set_sge(struct ibv_qp_ex *ibqp, uint32_t lkey,
			    uint64_t addr, uint32_t length)
{
	struct sodp_qp *qp = ex_to_sodp_qp(ibqp);
	struct sodp_send_wqe *wqe = sodp_wr_cur(qp);
	struct ibv_sge sge = { .addr = addr, .length = length, .lkey = lkey };

	if (!wqe)
		return;
	if (qp->sq.max_sge < 1) {
		qp->wr_err = EINVAL;
		return;
	}
	sodp_copy_sges(SODP_SEND_TAIL(wqe), wqe, &sge, 1);
}

static void sodp_wr_set_sge_list(struct ibv_qp_ex *ibqp, size_t num_sge,
				 const struct ibv_sge *sg_list)
{
	struct sodp_qp *qp = ex_to_sodp_qp(ibqp);
	struct sodp_send_wqe *wqe = sodp_wr_cur(qp);

	if (!wqe)
		return;
	if (num_sge > qp->sq.max_sge) {
		qp->wr_err = EINVAL;
		return;
	}
	sodp_copy_sges(SODP_SEND_TAIL(wqe), wqe, sg_list, num_sge);
}

static void sodp_wr_set_inline_data_list(struct ibv_qp_ex *ibqp,
					 size_t num_buf,
					 const struct ibv_data_buf *buf_list)
{
	struct sodp_qp *qp = ex_to_sodp_qp(ibqp);
	struct sodp_send_wqe *wqe = sodp_wr_cur(qp);
	uint8_t *dst;
	size_t total = 0;
	size_t i;

	if (!wqe)
		return;
	if (!sodp_op_has_inline(wqe->opcode)) {
		qp->wr_err = EINVAL;
		return;
	}
	dst = SODP_SEND_TAIL(wqe);
	for (i = 0; i < num_buf; i++) {
		if (buf_list[i].length > qp->sq.max_inline - total) {
			qp->wr_err = EINVAL;
			return;
		}
		memcpy(dst + total, buf_list[i].addr, buf_list[i].length);
		total += buf_list[i].length;
	}
	wqe->inline_len = total;
	wqe->num_sge = 0;
	wqe->flags |= SODP_SEND_F_INLINE;
}

static void sodp_wr_set_inline_data(struct ibv_qp_ex *ibqp, void *addr,
				    size_t length)
{
	struct ibv_data_buf buf = { .addr = addr, .length = length };

	sodp_wr_set_inline_data_list(ibqp, 1, &buf);
}

static void sodp_qp_set_send_ops(struct sodp_qp *qp, uint64_t ops)
{
	struct ibv_qp_ex *ex = &qp->vqp.qp_ex;

	if (ops & IBV_QP_EX_WITH_RDMA_WRITE)
		ex->wr_rdma_write = sodp_wr_rdma_write;
	if (ops & IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM)
		ex->wr_rdma_write_imm = sodp_wr_rdma_write_imm;
	if (ops & IBV_QP_EX_WITH_SEND)
		ex->wr_send = sodp_wr_send;
	if (ops & IBV_QP_EX_WITH_SEND_WITH_IMM)
		ex->wr_send_imm = sodp_wr_send_imm;
	if (ops & IBV_QP_EX_WITH_RDMA_READ)
		ex->wr_rdma_read = sodp_wr_rdma_read;
	if (ops & IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP)
		ex->wr_atomic_cmp_swp = sodp_wr_atomic_cmp_swp;
	if (ops & IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD)
		ex->wr_atomic_fetch_add = sodp_wr_atomic_fetch_add;
	if (ops & IBV_QP_EX_WITH_LOCAL_INV)
		ex->wr_local_inv = sodp_wr_local_inv;
	if (ops & IBV_QP_EX_WITH_SEND_WITH_INV)
		ex->wr_send_inv = sodp_wr_send_inv;

	ex->wr_set_sge = sodp_wr_set_sge;
	ex->wr_set_sge_list = sodp_wr_set_sge_list;
	ex->wr_set_inline_data = sodp_wr_set_inline_data;
	ex->wr_set_inline_data_list = sodp_wr_set_inline_data_list;
	ex->wr_start = sodp_wr_start;
	ex->wr_complete = sodp_wr_complete;
	ex->wr_abort = sodp_wr_abort;
}

/* ------------------------------------------------------------------------
 * QP verbs
 * ------------------------------------------------------------------------
 */

static struct sodp_qp *sodp_qp_alloc(void)
{
	struct sodp_qp *qp;

	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return NULL;
	qp->sq.ring.map = MAP_FAILED;
	qp->rq.ring.map = MAP_FAILED;
	if (pthread_spin_init(&qp->sq.lock, PTHREAD_PROCESS_PRIVATE))
		goto err_free;
	if (pthread_spin_init(&qp->rq.lock, PTHREAD_PROCESS_PRIVATE))
		goto err_sq_lock;
	return qp;

err_sq_lock:
	pthread_spin_destroy(&qp->sq.lock);
err_free:
	free(qp);
	errno = ENOMEM;
	return NULL;
}

static void sodp_qp_free(struct sodp_qp *qp)
{
	sodp_ring_unmap(&qp->rq.ring);
	sodp_ring_unmap(&qp->sq.ring);
	pthread_spin_destroy(&qp->rq.lock);
	pthread_spin_destroy(&qp->sq.lock);
	free(qp);
}

/*
 * Map the rings of a just created QP. @cap is what the kernel granted;
 * each ring's slots must hold a WQE of that size.
 */
static int sodp_qp_map(struct ibv_context *ibctx, struct sodp_qp *qp,
		       const struct ibv_qp_cap *cap, bool has_srq,
		       const struct sodp_create_qp_resp *drv)
{
	size_t tail;
	int ret;

	if (cap->max_send_sge > SODP_MAX_SGE ||
	    cap->max_inline_data > SODP_MAX_INLINE ||
	    cap->max_recv_sge > SODP_MAX_SGE) {
		sodp_err(ibctx, "kernel granted impossible QP caps\n");
		return EPROTO;
	}

	tail = (size_t)cap->max_send_sge * sizeof(struct sodp_sge);
	if (tail < cap->max_inline_data)
		tail = cap->max_inline_data;
	ret = sodp_ring_map(ibctx, &qp->sq.ring, drv->sq_mmap_offset,
			    drv->sq_mmap_size, drv->sq_entries, drv->sq_stride,
			    sizeof(struct sodp_send_wqe) + tail);
	if (ret)
		return ret;
	qp->sq.max_sge = cap->max_send_sge;
	qp->sq.max_inline = cap->max_inline_data;
	qp->sq.prod = sodp_load_acquire(&qp->sq.ring.hdr->prod);

	if (!has_srq) {
		ret = sodp_ring_map(ibctx, &qp->rq.ring, drv->rq_mmap_offset,
				    drv->rq_mmap_size, drv->rq_entries,
				    drv->rq_stride,
				    sizeof(struct sodp_recv_wqe) +
					    (size_t)cap->max_recv_sge *
						    sizeof(struct sodp_sge));
		if (ret)
			return ret;	/* the caller unmaps the SQ */
		qp->rq.max_sge = cap->max_recv_sge;
		qp->rq.prod = sodp_load_acquire(&qp->rq.ring.hdr->prod);
	}

	qp->qpn = drv->qpn;
	return 0;
}

struct ibv_qp *sodp_create_qp_ex(struct ibv_context *ibctx,
				 struct ibv_qp_init_attr_ex *attr)
{
	struct sodp_cmd_create_qp_ex_resp resp;
	struct sodp_qp *qp;
	int ret;

	if (attr->qp_type != IBV_QPT_RC ||
	    attr->comp_mask & ~SODP_QP_COMP_MASK ||
	    (attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS &&
	     attr->create_flags) ||
	    (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS &&
	     attr->send_ops_flags & ~SODP_SEND_OPS_FLAGS)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD)) {
		errno = EINVAL;
		return NULL;
	}

	qp = sodp_qp_alloc();
	if (!qp)
		return NULL;

	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_create_qp_ex2(ibctx, &qp->vqp, attr, NULL, 0,
				    SODP_IBV_RESP(struct ib_uverbs_ex_create_qp_resp,
						  &resp),
				    sizeof(resp));
	if (ret)
		goto err_free;

	ret = sodp_qp_map(ibctx, qp, &attr->cap, attr->srq, &resp.drv_payload);
	if (ret)
		goto err_destroy;

	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) {
		sodp_qp_set_send_ops(qp, attr->send_ops_flags);
		qp->vqp.comp_mask |= SODP_VERBS_QP_EX;
	}
	return &qp->vqp.qp;

err_destroy:
	ibv_cmd_destroy_qp(&qp->vqp.qp);
err_free:
	sodp_qp_free(qp);
	errno = ret;
	return NULL;
}

struct ibv_qp *sodp_create_qp(struct ibv_pd *ibpd,
			      struct ibv_qp_init_attr *attr)
{
	struct ibv_qp_init_attr_ex attr_ex;
	struct ibv_qp *ibqp;

	memset(&attr_ex, 0, sizeof(attr_ex));
	attr_ex.qp_context = attr->qp_context;
	attr_ex.send_cq = attr->send_cq;
	attr_ex.recv_cq = attr->recv_cq;
	attr_ex.srq = attr->srq;
	attr_ex.cap = attr->cap;
	attr_ex.qp_type = attr->qp_type;
	attr_ex.sq_sig_all = attr->sq_sig_all;
	attr_ex.comp_mask = IBV_QP_INIT_ATTR_PD;
	attr_ex.pd = ibpd;

	ibqp = sodp_create_qp_ex(ibpd->context, &attr_ex);
	if (ibqp)
		attr->cap = attr_ex.cap;
	return ibqp;
}

/*
 * After RESET the kernel has discarded every posted WQE by moving each
 * ring's consumer index up to its producer index; continue from there.
 */
static void sodp_qp_reset_indexes(struct sodp_qp *qp)
{
	pthread_spin_lock(&qp->sq.lock);
	qp->sq.prod = sodp_load_acquire(&qp->sq.ring.hdr->prod);
	pthread_spin_unlock(&qp->sq.lock);

	if (qp->rq.ring.map != MAP_FAILED) {
		pthread_spin_lock(&qp->rq.lock);
		qp->rq.prod = sodp_load_acquire(&qp->rq.ring.hdr->prod);
		pthread_spin_unlock(&qp->rq.lock);
	}
}

int sodp_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		   int attr_mask)
{
	struct ibv_modify_qp cmd;
	int ret;

	memset(&cmd, 0, sizeof(cmd));
	ret = ibv_cmd_modify_qp(ibqp, attr, attr_mask, &cmd, sizeof(cmd));
	if (ret)
		return ret;

	/* As mlx5: a reset QP leaves no completion behind (sodp-abi.h). */
	if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RESET) {
		sodp_qp_reset_indexes(to_sodp_qp(ibqp));
		sodp_cq_discard_qp_cqes(ibqp);
	}
	return 0;
}

int sodp_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		  int attr_mask, struct ibv_qp_init_attr *init_attr)
{
	struct ibv_query_qp cmd;

	memset(&cmd, 0, sizeof(cmd));
	return ibv_cmd_query_qp(ibqp, attr, attr_mask, init_attr, &cmd,
				sizeof(cmd));
}

int sodp_destroy_qp(struct ibv_qp *ibqp)
{
	int ret;

	ret = ibv_cmd_destroy_qp(ibqp);
	if (ret)
		return ret;

	/* Nor does a destroyed one: its number may come back. */
	sodp_cq_discard_qp_cqes(ibqp);
	sodp_qp_free(to_sodp_qp(ibqp));
	return 0;
}
