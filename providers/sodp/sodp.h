/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sodp libibverbs provider: internal types shared by the provider's files.
 */
#ifndef SODP_PROVIDER_H
#define SODP_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
