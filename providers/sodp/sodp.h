/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sodp libibverbs provider: internal types shared by the provider's files.
 */
#ifndef SODP_PROVIDER_H
#define SODP_PROVIDER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/mman.h>

#include <infiniband/verbs.h>
#include <rdma/sodp-abi.h>

#include "ibverbs_private.h"

#define sodp_container_of(ptr, type, member)                                   \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* One sodp RDMA device as libibverbs sees it. */
struct sodp_device {
	struct verbs_device vdev;	/* must be first: libibverbs frees via us */
};

/* An open device context (ibv_open_device). */
struct sodp_context {
	struct verbs_context vctx;
	uint32_t kernel_abi_version;	/* from GET_CONTEXT's response */
	uint64_t caps;			/* SODP_UCTX_CAP_* */
};

struct sodp_pd {
	struct ibv_pd ibv_pd;
	uint32_t pdn;			/* device-wide PD number (never 0) */
};

struct sodp_mr {
	struct verbs_mr vmr;		/* libibverbs' part */
};

/*
 * One shared ring (sodp-abi.h) mapped from cmd_fd. The kernel chose the
 * geometry; sodp_ring_map() checks that it fits the mapping.
 */
struct sodp_ring {
	void *map;			/* MAP_FAILED when not mapped */
	size_t map_size;
	struct sodp_ring_hdr *hdr;	/* == map */
	uint8_t *slots;			/* map + SODP_RING_ENTRIES_OFFSET */
	uint32_t entries;		/* power of two */
	uint32_t stride;		/* power of two, bytes */
};

static inline void *sodp_ring_slot(const struct sodp_ring *ring, uint32_t idx)
{
	return ring->slots + (size_t)(idx & (ring->entries - 1)) * ring->stride;
}

/*
 * Ring indexes and flags are shared with the kernel (sodp-abi.h): the
 * producer publishes with release, the consumer observes with acquire.
 */
static inline uint32_t sodp_load_acquire(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint32_t sodp_load_relaxed(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void sodp_store_release(__u32 *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/*
 * A queue the provider produces into (SQ, RQ, SRQ). lock serialises the
 * posters; prod is the provider's producer index, published in
 * ring.hdr->prod with release semantics.
 */
struct sodp_wq {
	struct sodp_ring ring;
	pthread_spinlock_t lock;
	uint32_t prod;
	uint32_t max_sge;		/* SGEs a WQE may carry */
	uint32_t max_inline;		/* SQ: inline bytes a WQE may carry */
};

struct sodp_cq {
	struct verbs_cq vcq;
	/*
	 * Serialises pollers, and resize_cq against them. With the
	 * ibv_cq_ex interface it is held from a successful start_poll to
	 * end_poll.
	 */
	pthread_spinlock_t lock;
	struct sodp_ring ring;
	uint32_t cons;			/* the provider's consumer index */
	uint32_t cqn;
	uint64_t wc_flags;		/* IBV_WC_EX_WITH_* (create_cq_ex) */
	const struct sodp_cqe *cur;	/* ibv_cq_ex: the current CQE */
};

struct sodp_srq {
	struct verbs_srq vsrq;
	struct sodp_wq rq;
	uint32_t srqn;
};

struct sodp_qp {
	struct verbs_qp vqp;
	struct sodp_wq sq;
	struct sodp_wq rq;		/* unmapped with an SRQ */
	uint32_t qpn;

	/* ibv_qp_ex batch (wr_start .. wr_complete/wr_abort), under sq.lock */
	uint32_t wr_prod;		/* next free slot */
	uint32_t wr_cons;		/* cached kernel consumer index */
	struct sodp_send_wqe *wr_cur;	/* the WQE being built, or NULL */
	int wr_err;			/* first error of the batch */
};

static inline struct sodp_cq *to_sodp_cq(struct ibv_cq *ibcq)
{
	return sodp_container_of(ibcq, struct sodp_cq, vcq.cq);
}

static inline struct sodp_cq *ex_to_sodp_cq(struct ibv_cq_ex *ibcq)
{
	return sodp_container_of(ibcq, struct sodp_cq, vcq.cq_ex);
}

static inline struct sodp_srq *to_sodp_srq(struct ibv_srq *ibsrq)
{
	return sodp_container_of(ibsrq, struct sodp_srq, vsrq.srq);
}

static inline struct sodp_qp *to_sodp_qp(struct ibv_qp *ibqp)
{
	return sodp_container_of(ibqp, struct sodp_qp, vqp.qp);
}

static inline struct sodp_qp *ex_to_sodp_qp(struct ibv_qp_ex *ibqp)
{
	return sodp_container_of(ibqp, struct sodp_qp, vqp.qp_ex);
}

static inline struct sodp_context *to_sodp_ctx(struct ibv_context *ibctx)
{
	return sodp_container_of(ibctx, struct sodp_context, vctx.context);
}

static inline struct sodp_pd *to_sodp_pd(struct ibv_pd *ibpd)
{
	return sodp_container_of(ibpd, struct sodp_pd, ibv_pd);
}

static inline struct sodp_mr *to_sodp_mr(struct verbs_mr *vmr)
{
	return sodp_container_of(vmr, struct sodp_mr, vmr);
}

/*
 * Error message in the shape of libibverbs' verbs_err():
 * "<ibdev>: <function>:<line>: <message>". Unlike verbs_err() it always
 * goes to stderr: these are conditions the user has to act on.
 */
#define sodp_err(ibctx, ...) sodp_err_at((ibctx), __func__, __LINE__, __VA_ARGS__)

void sodp_err_at(const struct ibv_context *ibctx, const char *func, int line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------------
 * Command layouts: libibverbs' core command followed by sodp's driver data
 * from <rdma/sodp-abi.h>. The checks fail the build if the kernel ABI
 * header ever changes in a way that would leave padding between the parts.
 * ------------------------------------------------------------------------
 */

struct sodp_cmd_get_context {
	struct ibv_get_context ibv_cmd;
	struct sodp_alloc_ucontext_req drv_payload;
};

/*
 * Response buffers. libibverbs takes a pointer to the kernel's response
 * struct, but that struct ends in a flexible array (the place where driver
 * data goes), and C does not allow embedding it in front of our data. So a
 * buffer spells out the kernel struct's fixed members, each checked against
 * the kernel header, and is handed over with SODP_IBV_RESP().
 */
#define SODP_IBV_RESP(kresp_t, buf) ((kresp_t *)(void *)(buf))

#define SODP_CHECK_MIRROR(drv_t, kresp_t, memb)                                \
	static_assert(offsetof(drv_t, memb) == offsetof(kresp_t, memb) &&      \
			      sizeof(((drv_t *)0)->memb) ==                    \
				      sizeof(((kresp_t *)0)->memb),            \
		      #drv_t "." #memb " does not mirror " #kresp_t)

struct sodp_cmd_get_context_resp {
	/* struct ib_uverbs_get_context_resp */
	__u32 async_fd;
	__u32 num_comp_vectors;
	/* sodp's part */
	struct sodp_alloc_ucontext_resp drv_payload;
};

SODP_CHECK_MIRROR(struct sodp_cmd_get_context_resp,
		  struct ib_uverbs_get_context_resp, async_fd);
SODP_CHECK_MIRROR(struct sodp_cmd_get_context_resp,
		  struct ib_uverbs_get_context_resp, num_comp_vectors);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_get_context_resp,
			struct ib_uverbs_get_context_resp,
			struct sodp_alloc_ucontext_resp, SODP_IBV_CMD_ALIGN);

struct sodp_cmd_alloc_pd_resp {
	/* struct ib_uverbs_alloc_pd_resp */
	__u32 pd_handle;
	/* sodp's part */
	struct sodp_alloc_pd_resp drv_payload;
};

SODP_CHECK_MIRROR(struct sodp_cmd_alloc_pd_resp,
		  struct ib_uverbs_alloc_pd_resp, pd_handle);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_alloc_pd_resp,
			struct ib_uverbs_alloc_pd_resp,
			struct sodp_alloc_pd_resp, SODP_IBV_CMD_ALIGN);

/* IB_USER_VERBS_CMD_CREATE_CQ / RESIZE_CQ responses */
struct sodp_cmd_create_cq_resp {
	/* struct ib_uverbs_create_cq_resp */
	__u32 cq_handle;
	__u32 cqe;
	/* sodp's part */
	struct sodp_create_cq_resp drv_payload;
};

SODP_CHECK_MIRROR(struct sodp_cmd_create_cq_resp,
		  struct ib_uverbs_create_cq_resp, cq_handle);
SODP_CHECK_MIRROR(struct sodp_cmd_create_cq_resp,
		  struct ib_uverbs_create_cq_resp, cqe);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_create_cq_resp,
			struct ib_uverbs_create_cq_resp,
			struct sodp_create_cq_resp, SODP_IBV_CMD_ALIGN);

struct sodp_cmd_create_cq_ex_resp {
	/* struct ib_uverbs_ex_create_cq_resp */
	__u32 cq_handle;		/* base.cq_handle */
	__u32 cqe;			/* base.cqe */
	__u32 comp_mask;
	__u32 response_length;
	/* sodp's part */
	struct sodp_create_cq_resp drv_payload;
};

static_assert(offsetof(struct sodp_cmd_create_cq_ex_resp, cq_handle) ==
		      offsetof(struct ib_uverbs_ex_create_cq_resp, base.cq_handle) &&
		      offsetof(struct sodp_cmd_create_cq_ex_resp, cqe) ==
			      offsetof(struct ib_uverbs_ex_create_cq_resp, base.cqe),
	      "sodp_cmd_create_cq_ex_resp.base does not mirror the kernel's");
SODP_CHECK_MIRROR(struct sodp_cmd_create_cq_ex_resp,
		  struct ib_uverbs_ex_create_cq_resp, comp_mask);
SODP_CHECK_MIRROR(struct sodp_cmd_create_cq_ex_resp,
		  struct ib_uverbs_ex_create_cq_resp, response_length);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_create_cq_ex_resp,
			struct ib_uverbs_ex_create_cq_resp,
			struct sodp_create_cq_resp, SODP_IBV_CMD_EX_ALIGN);

struct sodp_cmd_resize_cq_resp {
	/* struct ib_uverbs_resize_cq_resp */
	__u32 cqe;
	__u32 reserved;
	/* sodp's part: the new ring */
	struct sodp_create_cq_resp drv_payload;
};

SODP_CHECK_MIRROR(struct sodp_cmd_resize_cq_resp,
		  struct ib_uverbs_resize_cq_resp, cqe);
SODP_CHECK_MIRROR(struct sodp_cmd_resize_cq_resp,
		  struct ib_uverbs_resize_cq_resp, reserved);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_resize_cq_resp,
			struct ib_uverbs_resize_cq_resp,
			struct sodp_create_cq_resp, SODP_IBV_CMD_ALIGN);

/* IB_USER_VERBS_EX_CMD_CREATE_QP response */
struct sodp_cmd_create_qp_ex_resp {
	/* struct ib_uverbs_ex_create_qp_resp; base: ib_uverbs_create_qp_resp */
	__u32 qp_handle;
	__u32 qpn;
	__u32 max_send_wr;
	__u32 max_recv_wr;
	__u32 max_send_sge;
	__u32 max_recv_sge;
	__u32 max_inline_data;
	__u32 reserved;
	__u32 comp_mask;
	__u32 response_length;
	/* sodp's part */
	struct sodp_create_qp_resp drv_payload;
};

static_assert(offsetof(struct sodp_cmd_create_qp_ex_resp, qp_handle) ==
		      offsetof(struct ib_uverbs_ex_create_qp_resp, base.qp_handle) &&
		      offsetof(struct sodp_cmd_create_qp_ex_resp, reserved) ==
			      offsetof(struct ib_uverbs_ex_create_qp_resp,
				       base.reserved),
	      "sodp_cmd_create_qp_ex_resp.base does not mirror the kernel's");
SODP_CHECK_MIRROR(struct sodp_cmd_create_qp_ex_resp,
		  struct ib_uverbs_ex_create_qp_resp, comp_mask);
SODP_CHECK_MIRROR(struct sodp_cmd_create_qp_ex_resp,
		  struct ib_uverbs_ex_create_qp_resp, response_length);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_create_qp_ex_resp,
			struct ib_uverbs_ex_create_qp_resp,
			struct sodp_create_qp_resp, SODP_IBV_CMD_EX_ALIGN);

/* IB_USER_VERBS_CMD_CREATE_SRQ (and _XSRQ) response */
struct sodp_cmd_create_srq_resp {
	/* struct ib_uverbs_create_srq_resp */
	__u32 srq_handle;
	__u32 max_wr;
	__u32 max_sge;
	__u32 srqn;
	/* sodp's part */
	struct sodp_create_srq_resp drv_payload;
};

SODP_CHECK_MIRROR(struct sodp_cmd_create_srq_resp,
		  struct ib_uverbs_create_srq_resp, srq_handle);
SODP_CHECK_MIRROR(struct sodp_cmd_create_srq_resp,
		  struct ib_uverbs_create_srq_resp, srqn);
SODP_IBV_CHECK_DRV_RESP(struct sodp_cmd_create_srq_resp,
			struct ib_uverbs_create_srq_resp,
			struct sodp_create_srq_resp, SODP_IBV_CMD_ALIGN);

/*
 * The doorbells: IB_USER_VERBS_CMD_POST_SEND and POST_RECV with wr_count 0
 * (sodp-abi.h), written to cmd_fd. Both kernel requests have this layout.
 */
struct sodp_cmd_doorbell {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__u32 qp_handle;
	__u32 wr_count;
	__u32 sge_count;
	__u32 wqe_size;
};

SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_send,
			response);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_send,
			qp_handle);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_send,
			wr_count);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_send,
			sge_count);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_send,
			wqe_size);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_recv,
			response);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_recv,
			qp_handle);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_recv,
			wr_count);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_recv,
			sge_count);
SODP_IBV_CHECK_CMD_MEMB(struct sodp_cmd_doorbell, struct ib_uverbs_post_recv,
			wqe_size);
static_assert(sizeof(struct sodp_cmd_doorbell) ==
		      sizeof(struct ib_uverbs_cmd_hdr) +
			      sizeof(struct ib_uverbs_post_send) &&
		      sizeof(struct sodp_cmd_doorbell) ==
			      sizeof(struct ib_uverbs_cmd_hdr) +
				      sizeof(struct ib_uverbs_post_recv),
	      "doorbell: core request size mismatch");

/* The provider's ibv_wc / ibv_wr values are the ABI's (sodp-abi.h). */
static_assert(SODP_WR_RDMA_WRITE == IBV_WR_RDMA_WRITE &&
		      SODP_WR_RDMA_WRITE_WITH_IMM == IBV_WR_RDMA_WRITE_WITH_IMM &&
		      SODP_WR_SEND == IBV_WR_SEND &&
		      SODP_WR_SEND_WITH_IMM == IBV_WR_SEND_WITH_IMM &&
		      SODP_WR_RDMA_READ == IBV_WR_RDMA_READ &&
		      SODP_WR_ATOMIC_CMP_AND_SWP == IBV_WR_ATOMIC_CMP_AND_SWP &&
		      SODP_WR_ATOMIC_FETCH_AND_ADD ==
			      IBV_WR_ATOMIC_FETCH_AND_ADD &&
		      SODP_WR_LOCAL_INV == IBV_WR_LOCAL_INV &&
		      SODP_WR_SEND_WITH_INV == IBV_WR_SEND_WITH_INV,
	      "SODP_WR_* are libibverbs' values");
static_assert(SODP_WC_SEND == IBV_WC_SEND &&
		      SODP_WC_RDMA_WRITE == IBV_WC_RDMA_WRITE &&
		      SODP_WC_RDMA_READ == IBV_WC_RDMA_READ &&
		      SODP_WC_COMP_SWAP == IBV_WC_COMP_SWAP &&
		      SODP_WC_FETCH_ADD == IBV_WC_FETCH_ADD &&
		      SODP_WC_LOCAL_INV == IBV_WC_LOCAL_INV &&
		      SODP_WC_RECV == IBV_WC_RECV &&
		      SODP_WC_RECV_RDMA_WITH_IMM == IBV_WC_RECV_RDMA_WITH_IMM,
	      "SODP_WC_* are libibverbs' values");
static_assert(SODP_WC_F_WITH_IMM == IBV_WC_WITH_IMM &&
		      SODP_WC_F_WITH_INV == IBV_WC_WITH_INV,
	      "SODP_WC_F_* are libibverbs' values");

/* sodp_ring.c: mapping rings, doorbells */
int sodp_ring_map(struct ibv_context *ibctx, struct sodp_ring *ring,
		  uint64_t offset, uint64_t size, uint32_t entries,
		  uint32_t stride, size_t min_stride);
void sodp_ring_unmap(struct sodp_ring *ring);
int sodp_doorbell(struct ibv_qp *ibqp, uint32_t command);

/* sodp_cq.c */
struct ibv_cq *sodp_create_cq(struct ibv_context *ibctx, int cqe,
			      struct ibv_comp_channel *channel,
			      int comp_vector);
struct ibv_cq_ex *sodp_create_cq_ex(struct ibv_context *ibctx,
				    struct ibv_cq_init_attr_ex *attr);
int sodp_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc);
int sodp_req_notify_cq(struct ibv_cq *ibcq, int solicited_only);
int sodp_resize_cq(struct ibv_cq *ibcq, int cqe);
int sodp_destroy_cq(struct ibv_cq *ibcq);
void sodp_cq_discard_qp_cqes(struct ibv_qp *ibqp);

/* sodp_srq.c */
struct ibv_srq *sodp_create_srq(struct ibv_pd *ibpd,
				struct ibv_srq_init_attr *attr);
struct ibv_srq *sodp_create_srq_ex(struct ibv_context *ibctx,
				   struct ibv_srq_init_attr_ex *attr);
int sodp_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		    int attr_mask);
int sodp_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr);
int sodp_destroy_srq(struct ibv_srq *ibsrq);
int sodp_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		       struct ibv_recv_wr **bad_wr);
/* Also used for a QP's RQ: write the WRs into @wq's ring. */
int sodp_wq_post_recv(struct sodp_wq *wq, struct ibv_recv_wr *wr,
		      struct ibv_recv_wr **bad_wr);

/* sodp_qp.c */
struct ibv_qp *sodp_create_qp(struct ibv_pd *ibpd,
			      struct ibv_qp_init_attr *attr);
struct ibv_qp *sodp_create_qp_ex(struct ibv_context *ibctx,
				 struct ibv_qp_init_attr_ex *attr);
int sodp_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		   int attr_mask);
int sodp_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		  int attr_mask, struct ibv_qp_init_attr *init_attr);
int sodp_destroy_qp(struct ibv_qp *ibqp);
int sodp_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		   struct ibv_send_wr **bad_wr);
int sodp_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		   struct ibv_recv_wr **bad_wr);

/* sodp_verbs.c: protection domains */
struct ibv_pd *sodp_alloc_pd(struct ibv_context *ibctx);
int sodp_dealloc_pd(struct ibv_pd *ibpd);

/* sodp_mr.c: memory regions */
struct ibv_mr *sodp_reg_mr(struct ibv_pd *ibpd, void *addr, size_t length,
			   uint64_t hca_va, int access);
int sodp_rereg_mr(struct verbs_mr *vmr, int flags, struct ibv_pd *ibpd,
		  void *addr, size_t length, int access);
int sodp_dereg_mr(struct verbs_mr *vmr);
int sodp_advise_mr(struct ibv_pd *ibpd, enum ibv_advise_mr_advice advice,
		   uint32_t flags, struct ibv_sge *sg_list, uint32_t num_sge);

#endif /* SODP_PROVIDER_H */
