/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The part of libibverbs' *private* provider ABI that the sodp provider uses.
 *
 * Why this file exists
 * --------------------
 * A libibverbs provider talks to libibverbs through an interface that is not
 * public: the functions exported under the ELF symbol version
 * IBVERBS_PRIVATE_<N> and the structures that rdma-core declares in its
 * internal headers libibverbs/driver.h and libibverbs/kern-abi.h.
 * Distributions do not install those headers (libibverbs-dev ships only the
 * public verbs.h and the kernel uapi headers), so an out-of-tree provider
 * has to state the layout itself. This file does that, for exactly the
 * members and functions sodp needs, and nothing else. The struct tags are
 * the ones libibverbs uses, because the public verbs.h already refers to
 * some of them (e.g. it declares "extern const struct verbs_device_ops
 * verbs_provider_...").
 *
 * Everything declared here is a fact about a binary interface. If a fact
 * is wrong the provider corrupts libibverbs' memory, so every layout that
 * can be checked at compile time is checked below with static_assert.
 *
 * Which libibverbs this describes: IBVERBS_PRIVATE_34, rdma-core 37 to 52
 * ---------------------------------------------------------------------
 * rdma-core names the private ABI after IBVERBS_PABI_VERSION (set in its
 * top-level CMakeLists.txt). That number is 34 from rdma-core v34.0 up to
 * v56.x, yet the layouts behind it did NOT stay fixed over that span:
 *
 *   v34 -> v35  verbs_sysfs_dev gained num_ports (before abi_ver), and
 *               verbs_context_ops gained import_dm and unimport_dm;
 *   v35 -> v36  verbs_context_ops gained query_qp_data_in_order (between
 *               query_qp and query_rt_values), shifting every later member;
 *   v36 -> v37  only additions: the verbs_log()/verbs_err() logging macros
 *               and the function __verbs_log (exported as PRIVATE_34);
 *   v37 .. v52  driver.h is byte-for-byte the same file, and kern-abi.h
 *               is unchanged;
 *   v52 -> v53  a new function, ibv_cmd_create_cq_ex2, was declared (an
 *               addition, no layout change);
 *   v53 -> v54  ibv_cmd_reg_dmabuf_mr gained a trailing argument, still
 *               under the name IBVERBS_PRIVATE_34;
 *   v57         the name finally moves to IBVERBS_PRIVATE_57
 *               (ibv_cmd_get_context gained an fd-array argument).
 *
 * So "IBVERBS_PRIVATE_34" alone does not identify a layout. sodp supports
 * the range in which the private header is identical, rdma-core 37 to 52,
 * and cmake/IbverbsAbi.cmake refuses to configure against anything else.
 * (For the members used here v36 and v53 would also fit; the range is
 * deliberately the conservative one.)
 *
 * Binding to the version
 * ----------------------
 * Every private function below is pinned with a .symver directive to its
 * @IBVERBS_PRIVATE_34 version. Linking therefore fails against a
 * libibverbs that does not define that version, and the built provider
 * records IBVERBS_PRIVATE_34 as a required version, so the dynamic loader
 * refuses to load it into any other libibverbs with an error that names
 * IBVERBS_PRIVATE_34.
 *
 * The numeric layout assertions are written for LP64 (x86_64, aarch64,
 * ppc64le, riscv64, s390x); elsewhere only the structural ones apply.
 */
#ifndef SODP_IBVERBS_PRIVATE_H
#define SODP_IBVERBS_PRIVATE_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_verbs.h>

/* The private ABI version this header describes. */
#define SODP_IBVERBS_PABI		34
#define SODP_IBVERBS_PRIVATE_VERSION	"IBVERBS_PRIVATE_34"

#define SODP_IS_LP64 (__SIZEOF_POINTER__ == 8 && __SIZEOF_LONG__ == 8)

/* Bind the undefined reference @sym to sym@IBVERBS_PRIVATE_34. */
#define SODP_IBV_PRIVATE_SYM(sym)                                              \
	__asm__(".symver " #sym "," #sym "@" SODP_IBVERBS_PRIVATE_VERSION)

/*
 * Intrusive doubly linked list link, as libibverbs embeds it (it uses the
 * CCAN list module): two pointers, next first. We never walk these lists;
 * we only need the size and alignment to be right.
 */
struct sodp_ibv_list_link {
	struct sodp_ibv_list_link *next;
	struct sodp_ibv_list_link *prev;
};

/*
 * Entry of a provider's match table (PCI id, modalias or kernel driver id).
 * A table ends with an entry whose kind is SODP_VERBS_MATCH_END (0).
 *
 * sodp matches in match_device() alone, but it still has to hand libibverbs
 * a table, an empty one: for every device whose driver_id is known (rxe,
 * siw, mlx5, ...) libibverbs 37..52 walks the table of every registered
 * provider without checking match_table for NULL, so a NULL table crashes
 * any process that lists devices on a machine with such a device.
 */
struct verbs_match_ent {
	void *driver_data;
	union {
		const char *modalias;
		uint64_t driver_id;
	} u;
	uint16_t vendor;
	uint16_t device;
	uint8_t kind;
};

#define SODP_VERBS_MATCH_END 0

/*
 * What libibverbs learned about one RDMA device from sysfs/netlink, handed
 * to match_device() and alloc_device(). Owned by libibverbs; the provider
 * only reads it. sodp reads driver_id and ibdev_path.
 */
struct verbs_sysfs_dev {
	struct sodp_ibv_list_link entry;
	void *provider_data;
	const struct verbs_match_ent *match;
	unsigned int flags;
	char sysfs_name[IBV_SYSFS_NAME_MAX];	/* "uverbsN" */
	dev_t sysfs_cdev;
	char ibdev_name[IBV_SYSFS_NAME_MAX];	/* "sodp0" */
	char ibdev_path[IBV_SYSFS_PATH_MAX];	/* "/sys/class/infiniband/sodp0" */
	char modalias[512];
	uint64_t node_guid;
	uint32_t driver_id;			/* enum rdma_driver_id */
	enum ibv_node_type node_type;
	int ibdev_idx;
	uint32_t num_ports;
	uint32_t abi_ver;			/* uverbs ABI of the kernel driver */
	struct timespec time_created;
};

struct verbs_device;

/*
 * A memory region as libibverbs tracks it (driver.h). The provider
 * allocates it (embedded in its own MR struct) in reg_mr and frees it in
 * dereg_mr; ibv_cmd_reg_mr() fills every member except ibv_mr.pd, addr
 * and length, which ibv_reg_mr() sets after reg_mr returns. ibv_dereg_mr()
 * reads mr_type and access to decide whether to undo the fork protection
 * of the range (never for IBV_ACCESS_ON_DEMAND).
 */
enum ibv_mr_type {
	IBV_MR_TYPE_MR,
	IBV_MR_TYPE_NULL_MR,
	IBV_MR_TYPE_IMPORTED_MR,
	IBV_MR_TYPE_DMABUF_MR,
};

struct verbs_mr {
	struct ibv_mr ibv_mr;		/* public verbs.h */
	enum ibv_mr_type mr_type;
	int access;			/* IBV_ACCESS_* as registered */
};

/*
 * The provider's description of itself, registered once with
 * verbs_register_driver_34() from a constructor.
 */
struct verbs_device_ops {
	const char *name;

	/* Range of the kernel driver's uverbs ABI (sysfs abi_version). */
	uint32_t match_min_abi_version;
	uint32_t match_max_abi_version;
	/* Table match (PCI ids, modalias, driver id); may be NULL. */
	const struct verbs_match_ent *match_table;
	/* Only for statically linked libibverbs; NULL for a plugin. */
	const struct verbs_device_ops **static_providers;

	/* Called for every device after the table match; final say. */
	bool (*match_device)(struct verbs_sysfs_dev *sysfs_dev);

	struct verbs_context *(*alloc_context)(struct ibv_device *device,
					       int cmd_fd, void *private_data);
	struct verbs_context *(*import_context)(struct ibv_device *device,
						int cmd_fd);

	struct verbs_device *(*alloc_device)(struct verbs_sysfs_dev *sysfs_dev);
	void (*uninit_device)(struct verbs_device *device);
};

/*
 * One device as libibverbs tracks it. The provider allocates it (usually
 * embedded first in its own device struct) in alloc_device(); libibverbs
 * fills every member after alloc_device() returns and calls
 * uninit_device() when the last reference is gone.
 */
struct verbs_device {
	struct ibv_device device;	/* must stay first */
	const struct verbs_device_ops *ops;
	atomic_int refcount;
	struct sodp_ibv_list_link entry;
	struct verbs_sysfs_dev *sysfs;
	uint64_t core_support;
};

/*
 * Every operation a provider can implement, in libibverbs' order
 * (alphabetical). verbs_set_ops() reads the whole structure and copies the
 * non-NULL members into the context, so the complete member list is part
 * of the ABI even though sodp sets only a few of them. Unset members make
 * libibverbs answer EOPNOTSUPP.
 */
struct verbs_context_ops {
	int (*advise_mr)(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
			 uint32_t flags, struct ibv_sge *sg_list,
			 uint32_t num_sges);
	struct ibv_dm *(*alloc_dm)(struct ibv_context *context,
				   struct ibv_alloc_dm_attr *attr);
	struct ibv_mw *(*alloc_mw)(struct ibv_pd *pd, enum ibv_mw_type type);
	struct ibv_mr *(*alloc_null_mr)(struct ibv_pd *pd);
	struct ibv_pd *(*alloc_parent_domain)(struct ibv_context *context,
					      struct ibv_parent_domain_init_attr *attr);
	struct ibv_pd *(*alloc_pd)(struct ibv_context *context);
	struct ibv_td *(*alloc_td)(struct ibv_context *context,
				   struct ibv_td_init_attr *init_attr);
	void (*async_event)(struct ibv_context *context,
			    struct ibv_async_event *event);
	int (*attach_counters_point_flow)(struct ibv_counters *counters,
					  struct ibv_counter_attach_attr *attr,
					  struct ibv_flow *flow);
	int (*attach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	int (*bind_mw)(struct ibv_qp *qp, struct ibv_mw *mw,
		       struct ibv_mw_bind *mw_bind);
	int (*close_xrcd)(struct ibv_xrcd *xrcd);
	void (*cq_event)(struct ibv_cq *cq);
	struct ibv_ah *(*create_ah)(struct ibv_pd *pd, struct ibv_ah_attr *attr);
	struct ibv_counters *(*create_counters)(struct ibv_context *context,
						struct ibv_counters_init_attr *init_attr);
	struct ibv_cq *(*create_cq)(struct ibv_context *context, int cqe,
				    struct ibv_comp_channel *channel,
				    int comp_vector);
	struct ibv_cq_ex *(*create_cq_ex)(struct ibv_context *context,
					  struct ibv_cq_init_attr_ex *init_attr);
	struct ibv_flow *(*create_flow)(struct ibv_qp *qp,
					struct ibv_flow_attr *flow_attr);
	struct ibv_flow_action *(*create_flow_action_esp)(struct ibv_context *context,
							  struct ibv_flow_action_esp_attr *attr);
	struct ibv_qp *(*create_qp)(struct ibv_pd *pd,
				    struct ibv_qp_init_attr *attr);
	struct ibv_qp *(*create_qp_ex)(struct ibv_context *context,
				       struct ibv_qp_init_attr_ex *qp_init_attr_ex);
	struct ibv_rwq_ind_table *(*create_rwq_ind_table)(struct ibv_context *context,
							  struct ibv_rwq_ind_table_init_attr *init_attr);
	struct ibv_srq *(*create_srq)(struct ibv_pd *pd,
				      struct ibv_srq_init_attr *srq_init_attr);
	struct ibv_srq *(*create_srq_ex)(struct ibv_context *context,
					 struct ibv_srq_init_attr_ex *srq_init_attr_ex);
	struct ibv_wq *(*create_wq)(struct ibv_context *context,
				    struct ibv_wq_init_attr *wq_init_attr);
	int (*dealloc_mw)(struct ibv_mw *mw);
	int (*dealloc_pd)(struct ibv_pd *pd);
	int (*dealloc_td)(struct ibv_td *td);
	int (*dereg_mr)(struct verbs_mr *vmr);
	int (*destroy_ah)(struct ibv_ah *ah);
	int (*destroy_counters)(struct ibv_counters *counters);
	int (*destroy_cq)(struct ibv_cq *cq);
	int (*destroy_flow)(struct ibv_flow *flow);
	int (*destroy_flow_action)(struct ibv_flow_action *action);
	int (*destroy_qp)(struct ibv_qp *qp);
	int (*destroy_rwq_ind_table)(struct ibv_rwq_ind_table *rwq_ind_table);
	int (*destroy_srq)(struct ibv_srq *srq);
	int (*destroy_wq)(struct ibv_wq *wq);
	int (*detach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	void (*free_context)(struct ibv_context *context);
	int (*free_dm)(struct ibv_dm *dm);
	int (*get_srq_num)(struct ibv_srq *srq, uint32_t *srq_num);
	struct ibv_dm *(*import_dm)(struct ibv_context *context,
				    uint32_t dm_handle);
	struct ibv_mr *(*import_mr)(struct ibv_pd *pd, uint32_t mr_handle);
	struct ibv_pd *(*import_pd)(struct ibv_context *context,
				    uint32_t pd_handle);
	int (*modify_cq)(struct ibv_cq *cq, struct ibv_modify_cq_attr *attr);
	int (*modify_flow_action_esp)(struct ibv_flow_action *action,
				      struct ibv_flow_action_esp_attr *attr);
	int (*modify_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			 int attr_mask);
	int (*modify_qp_rate_limit)(struct ibv_qp *qp,
				    struct ibv_qp_rate_limit_attr *attr);
	int (*modify_srq)(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
			  int srq_attr_mask);
	int (*modify_wq)(struct ibv_wq *wq, struct ibv_wq_attr *wq_attr);
	struct ibv_qp *(*open_qp)(struct ibv_context *context,
				  struct ibv_qp_open_attr *attr);
	struct ibv_xrcd *(*open_xrcd)(struct ibv_context *context,
				      struct ibv_xrcd_init_attr *xrcd_init_attr);
	int (*poll_cq)(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc);
	int (*post_recv)(struct ibv_qp *qp, struct ibv_recv_wr *wr,
			 struct ibv_recv_wr **bad_wr);
	int (*post_send)(struct ibv_qp *qp, struct ibv_send_wr *wr,
			 struct ibv_send_wr **bad_wr);
	int (*post_srq_ops)(struct ibv_srq *srq, struct ibv_ops_wr *op,
			    struct ibv_ops_wr **bad_op);
	int (*post_srq_recv)(struct ibv_srq *srq, struct ibv_recv_wr *recv_wr,
			     struct ibv_recv_wr **bad_recv_wr);
	int (*query_device_ex)(struct ibv_context *context,
			       const struct ibv_query_device_ex_input *input,
			       struct ibv_device_attr_ex *attr,
			       size_t attr_size);
	int (*query_ece)(struct ibv_qp *qp, struct ibv_ece *ece);
	int (*query_port)(struct ibv_context *context, uint8_t port_num,
			  struct ibv_port_attr *port_attr);
	int (*query_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			int attr_mask, struct ibv_qp_init_attr *init_attr);
	int (*query_qp_data_in_order)(struct ibv_qp *qp, enum ibv_wr_opcode op,
				      uint32_t flags);
	int (*query_rt_values)(struct ibv_context *context,
			       struct ibv_values_ex *values);
	int (*query_srq)(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr);
	int (*read_counters)(struct ibv_counters *counters,
			     uint64_t *counters_value, uint32_t ncounters,
			     uint32_t flags);
	struct ibv_mr *(*reg_dm_mr)(struct ibv_pd *pd, struct ibv_dm *dm,
				    uint64_t dm_offset, size_t length,
				    unsigned int access);
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset,
					size_t length, uint64_t iova, int fd,
					int access);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
				 uint64_t hca_va, int access);
	int (*req_notify_cq)(struct ibv_cq *cq, int solicited_only);
	int (*rereg_mr)(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
			void *addr, size_t length, int access);
	int (*resize_cq)(struct ibv_cq *cq, int cqe);
	int (*set_ece)(struct ibv_qp *qp, struct ibv_ece *ece);
	void (*unimport_dm)(struct ibv_dm *dm);
	void (*unimport_mr)(struct ibv_mr *mr);
	void (*unimport_pd)(struct ibv_pd *pd);
};

/* Number of members of struct verbs_context_ops in rdma-core 37..52. */
#define SODP_VERBS_CONTEXT_OPS_COUNT 76

/* ------------------------------------------------------------------------
 * Command buffers for the legacy write() interface.
 *
 * For a write() command libibverbs expects the core request as
 * "struct ib_uverbs_cmd_hdr" immediately followed by the kernel's request
 * struct, and the provider's own request data (if any) immediately after
 * that; cmd_size covers all of it. Responses are the kernel's response
 * struct followed immediately by the provider's response data. Nothing may
 * pad between the parts: the library and the kernel locate the driver data
 * purely by the sizes of the core structs.
 *
 * The request layouts below spell out the kernel struct's members in place
 * (the kernel structs end in a flexible array, which cannot be embedded).
 * ------------------------------------------------------------------------
 */

/* IB_USER_VERBS_CMD_GET_CONTEXT */
struct ibv_get_context {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
};

/* IB_USER_VERBS_CMD_ALLOC_PD */
struct ibv_alloc_pd {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
};

/* IB_USER_VERBS_CMD_QUERY_PORT */
struct ibv_query_port {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__u8 port_num;
	__u8 reserved[7];
};

/* IB_USER_VERBS_CMD_REG_MR */
struct ibv_reg_mr {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 hca_va;
	__u32 pd_handle;
	__u32 access_flags;
};

/* IB_USER_VERBS_CMD_REREG_MR */
struct ibv_rereg_mr {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__u32 mr_handle;
	__u32 flags;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 hca_va;
	__u32 pd_handle;
	__u32 access_flags;
};

/* Legacy (non-extended) commands are padded to 4 bytes, extended ones to 8. */
#define SODP_IBV_CMD_ALIGN	4
#define SODP_IBV_CMD_EX_ALIGN	8

/*
 * Layout checks for a core command struct: header plus the kernel request,
 * nothing else; the kernel response a multiple of 4 bytes.
 */
#define SODP_IBV_CHECK_CMD(cmd_t, kreq_t, kresp_t)                             \
	static_assert(sizeof(cmd_t) ==                                         \
			      sizeof(struct ib_uverbs_cmd_hdr) +               \
				      sizeof(kreq_t),                          \
		      #cmd_t ": core request size mismatch");                  \
	static_assert(sizeof(kresp_t) % SODP_IBV_CMD_ALIGN == 0,               \
		      #kresp_t ": response not 4-byte sized")

/*
 * Layout checks for a provider request (core command + driver data), the
 * same conditions libibverbs asserts for its in-tree providers: the driver
 * data starts exactly where the core request ends, nothing trails it, and
 * the total stays a multiple of the command alignment.
 */
#define SODP_IBV_CHECK_DRV_REQ(drv_t, cmd_t, kreq_t, payload_t, align)        \
	static_assert(sizeof(kreq_t) % _Alignof(payload_t) == 0,               \
		      #kreq_t ": driver request would be misaligned");         \
	static_assert(offsetof(drv_t, drv_payload) == sizeof(cmd_t),           \
		      #drv_t ": padding before driver request");               \
	static_assert(sizeof(drv_t) == sizeof(cmd_t) + sizeof(payload_t),      \
		      #drv_t ": padding after driver request");                \
	static_assert(sizeof(drv_t) % (align) == 0,                            \
		      #drv_t ": request size not aligned")

/* Same for a provider response (kernel response + driver data). */
#define SODP_IBV_CHECK_DRV_RESP(drv_t, kresp_t, payload_t, align)             \
	static_assert(sizeof(kresp_t) % _Alignof(payload_t) == 0,              \
		      #kresp_t ": driver response would be misaligned");       \
	static_assert(offsetof(drv_t, drv_payload) == sizeof(kresp_t),         \
		      #drv_t ": padding before driver response");              \
	static_assert(sizeof(drv_t) == sizeof(kresp_t) + sizeof(payload_t),    \
		      #drv_t ": padding after driver response");               \
	static_assert(sizeof(drv_t) % (align) == 0,                            \
		      #drv_t ": response size not aligned")

SODP_IBV_CHECK_CMD(struct ibv_get_context, struct ib_uverbs_get_context,
		   struct ib_uverbs_get_context_resp);
SODP_IBV_CHECK_CMD(struct ibv_alloc_pd, struct ib_uverbs_alloc_pd,
		   struct ib_uverbs_alloc_pd_resp);
SODP_IBV_CHECK_CMD(struct ibv_query_port, struct ib_uverbs_query_port,
		   struct ib_uverbs_query_port_resp);
SODP_IBV_CHECK_CMD(struct ibv_reg_mr, struct ib_uverbs_reg_mr,
		   struct ib_uverbs_reg_mr_resp);
SODP_IBV_CHECK_CMD(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr,
		   struct ib_uverbs_rereg_mr_resp);
/* Every member of the two MR commands, against the kernel's struct. */
#define SODP_IBV_CHECK_CMD_MEMB(cmd_t, kreq_t, memb)                           \
	static_assert(offsetof(cmd_t, memb) ==                                 \
				      sizeof(struct ib_uverbs_cmd_hdr) +       \
					      offsetof(kreq_t, memb) &&        \
			      sizeof(((cmd_t *)0)->memb) ==                    \
				      sizeof(((kreq_t *)0)->memb),             \
		      #cmd_t "." #memb " misplaced")
SODP_IBV_CHECK_CMD_MEMB(struct ibv_reg_mr, struct ib_uverbs_reg_mr, response);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_reg_mr, struct ib_uverbs_reg_mr, start);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_reg_mr, struct ib_uverbs_reg_mr, length);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_reg_mr, struct ib_uverbs_reg_mr, hca_va);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_reg_mr, struct ib_uverbs_reg_mr, pd_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_reg_mr, struct ib_uverbs_reg_mr,
			access_flags);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr,
			response);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr,
			mr_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr, flags);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr, start);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr, length);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr, hca_va);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr,
			pd_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_rereg_mr, struct ib_uverbs_rereg_mr,
			access_flags);
static_assert(offsetof(struct ibv_get_context, response) ==
		      sizeof(struct ib_uverbs_cmd_hdr) +
			      offsetof(struct ib_uverbs_get_context, response),
	      "ibv_get_context.response misplaced");
static_assert(offsetof(struct ibv_alloc_pd, response) ==
		      sizeof(struct ib_uverbs_cmd_hdr) +
			      offsetof(struct ib_uverbs_alloc_pd, response),
	      "ibv_alloc_pd.response misplaced");
static_assert(offsetof(struct ibv_query_port, port_num) ==
		      sizeof(struct ib_uverbs_cmd_hdr) +
			      offsetof(struct ib_uverbs_query_port, port_num),
	      "ibv_query_port.port_num misplaced");

/* ------------------------------------------------------------------------
 * Functions (all exported by libibverbs as version IBVERBS_PRIVATE_34).
 * Unless stated otherwise they return 0 or a positive errno value.
 * ------------------------------------------------------------------------
 */

/* Adds the provider to libibverbs' driver list. */
void verbs_register_driver_34(const struct verbs_device_ops *ops);
SODP_IBV_PRIVATE_SYM(verbs_register_driver_34);

/*
 * calloc()s alloc_size bytes, initialises the struct verbs_context found at
 * byte offset (uintptr_t)context_offset inside them, and returns the start
 * of the allocation. On failure: NULL, errno set, and cmd_fd closed.
 */
void *_verbs_init_and_alloc_context(struct ibv_device *device, int cmd_fd,
				    size_t alloc_size,
				    struct verbs_context *context_offset,
				    uint32_t driver_id);
SODP_IBV_PRIVATE_SYM(_verbs_init_and_alloc_context);

/* Undoes the above (closes cmd_fd and async_fd); does not free memory. */
void verbs_uninit_context(struct verbs_context *context);
SODP_IBV_PRIVATE_SYM(verbs_uninit_context);

/* Installs every non-NULL member of *ops into the context. */
void verbs_set_ops(struct verbs_context *vctx,
		   const struct verbs_context_ops *ops);
SODP_IBV_PRIVATE_SYM(verbs_set_ops);

int ibv_cmd_get_context(struct verbs_context *context,
			struct ibv_get_context *cmd, size_t cmd_size,
			struct ib_uverbs_get_context_resp *resp,
			size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_get_context);

/*
 * resp/resp_size may be NULL; otherwise *resp_size is the size of *resp on
 * entry and what the kernel filled in on return.
 */
int ibv_cmd_query_device_any(struct ibv_context *context,
			     const struct ibv_query_device_ex_input *input,
			     struct ibv_device_attr_ex *attr, size_t attr_size,
			     struct ib_uverbs_ex_query_device_resp *resp,
			     size_t *resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_query_device_any);

int ibv_cmd_query_port(struct ibv_context *context, uint8_t port_num,
		       struct ibv_port_attr *port_attr,
		       struct ibv_query_port *cmd, size_t cmd_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_query_port);

/* On success sets pd->handle and pd->context. */
int ibv_cmd_alloc_pd(struct ibv_context *context, struct ibv_pd *pd,
		     struct ibv_alloc_pd *cmd, size_t cmd_size,
		     struct ib_uverbs_alloc_pd_resp *resp, size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_alloc_pd);

int ibv_cmd_dealloc_pd(struct ibv_pd *pd);
SODP_IBV_PRIVATE_SYM(ibv_cmd_dealloc_pd);

/*
 * IB_USER_VERBS_CMD_REG_MR. addr 0 with length SIZE_MAX and
 * IBV_ACCESS_ON_DEMAND is sent as length UINT64_MAX (implicit ODP); any
 * other addr with SIZE_MAX fails with EINVAL. On success sets
 * vmr->ibv_mr.handle, lkey, rkey and context, vmr->mr_type
 * (IBV_MR_TYPE_MR) and vmr->access. resp_size covers the driver data.
 */
int ibv_cmd_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
		   uint64_t hca_va, int access, struct verbs_mr *vmr,
		   struct ibv_reg_mr *cmd, size_t cmd_size,
		   struct ib_uverbs_reg_mr_resp *resp, size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_reg_mr);

/*
 * IB_USER_VERBS_CMD_REREG_MR. pd is only read with
 * IBV_REREG_MR_CHANGE_PD. On success sets vmr->ibv_mr.lkey and rkey (and
 * context with IBV_REREG_MR_CHANGE_PD); it does not update vmr->access.
 */
int ibv_cmd_rereg_mr(struct verbs_mr *vmr, uint32_t flags, void *addr,
		     size_t length, uint64_t hca_va, int access,
		     struct ibv_pd *pd, struct ibv_rereg_mr *cmd,
		     size_t cmd_sz, struct ib_uverbs_rereg_mr_resp *resp,
		     size_t resp_sz);
SODP_IBV_PRIVATE_SYM(ibv_cmd_rereg_mr);

/* UVERBS_METHOD_MR_DESTROY (ioctl), or the write() command as fallback. */
int ibv_cmd_dereg_mr(struct verbs_mr *vmr);
SODP_IBV_PRIVATE_SYM(ibv_cmd_dereg_mr);

/* UVERBS_METHOD_ADVISE_MR (ioctl only). */
int ibv_cmd_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		      uint32_t flags, struct ibv_sge *sg_list,
		      uint32_t num_sge);
SODP_IBV_PRIVATE_SYM(ibv_cmd_advise_mr);

/* ------------------------------------------------------------------------
 * The data path: CQs, QPs and SRQs (driver.h, kern-abi.h of rdma-core
 * 37..52; every function below is in IBVERBS_PRIVATE_34 of 37, 44 and 52).
 * ------------------------------------------------------------------------
 */

/* Only ever pointed to (XRC is not supported). */
struct verbs_xrcd;

/*
 * A CQ as libibverbs sees it: the provider embeds it and hands out
 * &cq or &cq_ex. libibverbs only touches the struct ibv_cq part
 * (verbs_init_cq(), ibv_cmd_create_cq*()).
 */
struct verbs_cq {
	union {
		struct ibv_cq cq;
		struct ibv_cq_ex cq_ex;
	};
};

/*
 * An SRQ. ibv_cmd_create_srq_ex() fills srq_type (and xrcd, cq, srq_num
 * for XRC SRQs, which sodp does not have).
 */
struct verbs_srq {
	struct ibv_srq srq;
	enum ibv_srq_type srq_type;
	struct verbs_xrcd *xrcd;
	struct ibv_cq *cq;
	uint32_t srq_num;
};

/* verbs_qp.comp_mask */
#define SODP_VERBS_QP_XRCD	(1U << 0)
#define SODP_VERBS_QP_EX	(1U << 1)	/* ibv_qp_to_qp_ex() works */

/*
 * A QP. ibv_cmd_create_qp_ex*() set comp_mask to 0 (plus VERBS_QP_XRCD);
 * the provider sets VERBS_QP_EX afterwards if it filled in the qp_ex
 * operations, and ibv_qp_to_qp_ex() returns &qp_ex only then.
 *
 * Caution: comp_mask follows the public struct ibv_qp_ex, which gained a
 * member in rdma-core 44 (wr_atomic_write) and in 45 (wr_flush). So the
 * offset at which libibverbs looks for comp_mask is that of the verbs.h
 * libibverbs itself was built with: a provider built against one
 * release's verbs.h and loaded into a libibverbs of another release
 * whose struct ibv_qp_ex has a different size would put VERBS_QP_EX
 * where that libibverbs does not look (ibv_qp_to_qp_ex() then returns
 * NULL or garbage). Build against the libibverbs you run with (as every
 * distribution package does).
 */
struct verbs_qp {
	union {
		struct ibv_qp qp;
		struct ibv_qp_ex qp_ex;
	};
	uint32_t comp_mask;
	struct verbs_xrcd *xrcd;
};

/*
 * Core commands whose buffers the provider passes (zeroed, no driver data
 * follows: sodp defines no request data for them). Kernel struct members
 * spelled out in place, checked below.
 */

/* IB_USER_VERBS_CMD_RESIZE_CQ */
struct ibv_resize_cq {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__u32 cq_handle;
	__u32 cqe;
};

/* IB_USER_VERBS_CMD_MODIFY_SRQ */
struct ibv_modify_srq {
	struct ib_uverbs_cmd_hdr hdr;
	__u32 srq_handle;
	__u32 attr_mask;
	__u32 max_wr;
	__u32 srq_limit;
};

/* IB_USER_VERBS_CMD_QUERY_SRQ */
struct ibv_query_srq {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__u32 srq_handle;
	__u32 reserved;
};

/* IB_USER_VERBS_CMD_QUERY_QP */
struct ibv_query_qp {
	struct ib_uverbs_cmd_hdr hdr;
	__aligned_u64 response;
	__u32 qp_handle;
	__u32 attr_mask;
};

/* IB_USER_VERBS_CMD_MODIFY_QP: libibverbs fills every member. */
struct ibv_modify_qp {
	struct ib_uverbs_cmd_hdr hdr;
	struct ib_uverbs_qp_dest dest;
	struct ib_uverbs_qp_dest alt_dest;
	__u32 qp_handle;
	__u32 attr_mask;
	__u32 qkey;
	__u32 rq_psn;
	__u32 sq_psn;
	__u32 dest_qp_num;
	__u32 qp_access_flags;
	__u16 pkey_index;
	__u16 alt_pkey_index;
	__u8 qp_state;
	__u8 cur_qp_state;
	__u8 path_mtu;
	__u8 path_mig_state;
	__u8 en_sqd_async_notify;
	__u8 max_rd_atomic;
	__u8 max_dest_rd_atomic;
	__u8 min_rnr_timer;
	__u8 port_num;
	__u8 timeout;
	__u8 retry_cnt;
	__u8 rnr_retry;
	__u8 alt_port_num;
	__u8 alt_timeout;
	__u8 reserved[2];
};

SODP_IBV_CHECK_CMD(struct ibv_resize_cq, struct ib_uverbs_resize_cq,
		   struct ib_uverbs_resize_cq_resp);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_resize_cq, struct ib_uverbs_resize_cq,
			response);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_resize_cq, struct ib_uverbs_resize_cq,
			cq_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_resize_cq, struct ib_uverbs_resize_cq, cqe);

SODP_IBV_CHECK_CMD(struct ibv_modify_srq, struct ib_uverbs_modify_srq,
		   struct ib_uverbs_query_srq_resp);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_srq, struct ib_uverbs_modify_srq,
			srq_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_srq, struct ib_uverbs_modify_srq,
			attr_mask);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_srq, struct ib_uverbs_modify_srq,
			max_wr);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_srq, struct ib_uverbs_modify_srq,
			srq_limit);

SODP_IBV_CHECK_CMD(struct ibv_query_srq, struct ib_uverbs_query_srq,
		   struct ib_uverbs_query_srq_resp);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_query_srq, struct ib_uverbs_query_srq,
			response);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_query_srq, struct ib_uverbs_query_srq,
			srq_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_query_srq, struct ib_uverbs_query_srq,
			reserved);

SODP_IBV_CHECK_CMD(struct ibv_query_qp, struct ib_uverbs_query_qp,
		   struct ib_uverbs_query_qp_resp);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_query_qp, struct ib_uverbs_query_qp,
			response);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_query_qp, struct ib_uverbs_query_qp,
			qp_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_query_qp, struct ib_uverbs_query_qp,
			attr_mask);

SODP_IBV_CHECK_CMD(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
		   struct ib_uverbs_query_qp_resp);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			dest);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			alt_dest);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			qp_handle);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			qp_access_flags);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			qp_state);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			alt_timeout);
SODP_IBV_CHECK_CMD_MEMB(struct ibv_modify_qp, struct ib_uverbs_modify_qp,
			reserved);

/*
 * Request buffers sodp never builds: the create commands carry no sodp
 * request data, so the provider passes NULL and size 0 for them (as
 * rdma-core's own rxe provider does) and libibverbs builds the core
 * request itself. Only the response buffer (core response + sodp's data)
 * is the provider's.
 */
struct ibv_create_cq;
struct ibv_create_cq_ex;
struct ibv_create_qp;
struct ibv_create_qp_ex;
struct ibv_create_srq;
struct ibv_create_xsrq;

/*
 * IB_USER_VERBS_CMD_CREATE_CQ (ioctl UVERBS_METHOD_CQ_CREATE). Sets
 * cq->context, handle and cqe; the caller (ibv_create_cq()) initialises
 * the rest with verbs_init_cq().
 */
int ibv_cmd_create_cq(struct ibv_context *context, int cqe,
		      struct ibv_comp_channel *channel, int comp_vector,
		      struct ibv_cq *cq, struct ibv_create_cq *cmd,
		      size_t cmd_size, struct ib_uverbs_create_cq_resp *resp,
		      size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_create_cq);

/*
 * Same from a struct ibv_cq_init_attr_ex (comp_mask FLAGS and PD only,
 * else EOPNOTSUPP). Completion timestamps in wc_flags become the kernel
 * flag IB_UVERBS_CQ_FLAGS_TIMESTAMP_COMPLETION. cmd_flags: 0.
 */
int ibv_cmd_create_cq_ex(struct ibv_context *context,
			 const struct ibv_cq_init_attr_ex *cq_attr,
			 struct verbs_cq *cq, struct ibv_create_cq_ex *cmd,
			 size_t cmd_size,
			 struct ib_uverbs_ex_create_cq_resp *resp,
			 size_t resp_size, uint32_t cmd_flags);
SODP_IBV_PRIVATE_SYM(ibv_cmd_create_cq_ex);

/* Arms the CQ (write() command). */
int ibv_cmd_req_notify_cq(struct ibv_cq *cq, int solicited_only);
SODP_IBV_PRIVATE_SYM(ibv_cmd_req_notify_cq);

/* Fills cmd->cq_handle and cqe; on success sets cq->cqe = resp->cqe. */
int ibv_cmd_resize_cq(struct ibv_cq *cq, int cqe, struct ibv_resize_cq *cmd,
		      size_t cmd_size, struct ib_uverbs_resize_cq_resp *resp,
		      size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_resize_cq);

/* Also waits until every event reported for the CQ was acknowledged. */
int ibv_cmd_destroy_cq(struct ibv_cq *cq);
SODP_IBV_PRIVATE_SYM(ibv_cmd_destroy_cq);

/*
 * IB_USER_VERBS_CMD_CREATE_SRQ. Sets srq->context, handle, mutex and
 * cond, and attr->attr.max_wr and max_sge to what the kernel granted.
 */
int ibv_cmd_create_srq(struct ibv_pd *pd, struct ibv_srq *srq,
		       struct ibv_srq_init_attr *attr,
		       struct ibv_create_srq *cmd, size_t cmd_size,
		       struct ib_uverbs_create_srq_resp *resp,
		       size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_create_srq);

/* Same from the _ex attributes (needs IBV_SRQ_INIT_ATTR_PD). */
int ibv_cmd_create_srq_ex(struct ibv_context *context, struct verbs_srq *srq,
			  struct ibv_srq_init_attr_ex *attr_ex,
			  struct ibv_create_xsrq *cmd, size_t cmd_size,
			  struct ib_uverbs_create_srq_resp *resp,
			  size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_create_srq_ex);

int ibv_cmd_modify_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		       int srq_attr_mask, struct ibv_modify_srq *cmd,
		       size_t cmd_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_modify_srq);

int ibv_cmd_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
		      struct ibv_query_srq *cmd, size_t cmd_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_query_srq);

int ibv_cmd_destroy_srq(struct ibv_srq *srq);
SODP_IBV_PRIVATE_SYM(ibv_cmd_destroy_srq);

/*
 * IB_USER_VERBS_EX_CMD_CREATE_QP (ioctl UVERBS_METHOD_QP_CREATE). Needs
 * IBV_QP_INIT_ATTR_PD for an RC QP. On success sets qp->context, handle,
 * qp_num, pd, the CQs, srq, qp_type, state (RESET), mutex and cond,
 * qp->comp_mask (0) and attr_ex->cap to what the kernel granted.
 */
int ibv_cmd_create_qp_ex2(struct ibv_context *context, struct verbs_qp *qp,
			  struct ibv_qp_init_attr_ex *attr_ex,
			  struct ibv_create_qp_ex *cmd, size_t cmd_size,
			  struct ib_uverbs_ex_create_qp_resp *resp,
			  size_t resp_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_create_qp_ex2);

/* attr_mask must not reach IBV_QP_RATE_LIMIT (EOPNOTSUPP). */
int ibv_cmd_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *qp_attr,
		     int attr_mask, struct ibv_qp_init_attr *qp_init_attr,
		     struct ibv_query_qp *cmd, size_t cmd_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_query_qp);

/* attr_mask must not reach IBV_QP_RATE_LIMIT (EOPNOTSUPP). */
int ibv_cmd_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
		      int attr_mask, struct ibv_modify_qp *cmd,
		      size_t cmd_size);
SODP_IBV_PRIVATE_SYM(ibv_cmd_modify_qp);

/* Also waits until every event reported for the QP was acknowledged. */
int ibv_cmd_destroy_qp(struct ibv_qp *qp);
SODP_IBV_PRIVATE_SYM(ibv_cmd_destroy_qp);

static_assert(offsetof(struct verbs_cq, cq) == 0 &&
		      offsetof(struct verbs_cq, cq_ex) == 0,
	      "verbs_cq: ibv_cq and ibv_cq_ex at 0");
static_assert(offsetof(struct ibv_cq_ex, cqe) == offsetof(struct ibv_cq, cqe) &&
		      offsetof(struct ibv_cq_ex, async_events_completed) ==
			      offsetof(struct ibv_cq, async_events_completed),
	      "ibv_cq_ex starts like ibv_cq");
static_assert(offsetof(struct verbs_qp, qp) == 0 &&
		      offsetof(struct verbs_qp, qp_ex) == 0 &&
		      offsetof(struct ibv_qp_ex, qp_base) == 0,
	      "verbs_qp: ibv_qp and ibv_qp_ex at 0");
static_assert(offsetof(struct verbs_qp, comp_mask) == sizeof(struct ibv_qp_ex),
	      "verbs_qp.comp_mask follows ibv_qp_ex");
static_assert(offsetof(struct verbs_srq, srq) == 0, "verbs_srq.srq at 0");
static_assert(offsetof(struct verbs_srq, srq_type) == sizeof(struct ibv_srq),
	      "verbs_srq.srq_type follows ibv_srq");
static_assert(sizeof(enum ibv_srq_type) == sizeof(int), "enum ibv_srq_type");
static_assert(offsetof(struct verbs_context_ops, create_cq) ==
		      15 * sizeof(void (*)(void)), "verbs_context_ops.create_cq");
static_assert(offsetof(struct verbs_context_ops, create_qp) ==
		      19 * sizeof(void (*)(void)), "verbs_context_ops.create_qp");
static_assert(offsetof(struct verbs_context_ops, create_srq) ==
		      22 * sizeof(void (*)(void)), "verbs_context_ops.create_srq");
static_assert(offsetof(struct verbs_context_ops, destroy_cq) ==
		      31 * sizeof(void (*)(void)), "verbs_context_ops.destroy_cq");
static_assert(offsetof(struct verbs_context_ops, poll_cq) ==
		      53 * sizeof(void (*)(void)), "verbs_context_ops.poll_cq");
static_assert(offsetof(struct verbs_context_ops, post_send) ==
		      55 * sizeof(void (*)(void)), "verbs_context_ops.post_send");
static_assert(offsetof(struct verbs_context_ops, post_srq_recv) ==
		      57 * sizeof(void (*)(void)),
	      "verbs_context_ops.post_srq_recv");
static_assert(offsetof(struct verbs_context_ops, query_srq) ==
		      64 * sizeof(void (*)(void)), "verbs_context_ops.query_srq");
static_assert(offsetof(struct verbs_context_ops, req_notify_cq) ==
		      69 * sizeof(void (*)(void)),
	      "verbs_context_ops.req_notify_cq");
static_assert(offsetof(struct verbs_context_ops, resize_cq) ==
		      71 * sizeof(void (*)(void)), "verbs_context_ops.resize_cq");

#if SODP_IS_LP64
static_assert(sizeof(struct ibv_resize_cq) == 24, "sizeof ibv_resize_cq");
static_assert(sizeof(struct ibv_modify_srq) == 24, "sizeof ibv_modify_srq");
static_assert(sizeof(struct ibv_query_srq) == 24, "sizeof ibv_query_srq");
static_assert(sizeof(struct ibv_query_qp) == 24, "sizeof ibv_query_qp");
static_assert(sizeof(struct ibv_modify_qp) == 120, "sizeof ibv_modify_qp");
static_assert(offsetof(struct verbs_srq, xrcd) == sizeof(struct ibv_srq) + 8,
	      "verbs_srq.xrcd");
static_assert(sizeof(struct verbs_srq) == sizeof(struct ibv_srq) + 32,
	      "sizeof verbs_srq");
static_assert(sizeof(struct verbs_qp) == sizeof(struct ibv_qp_ex) + 16,
	      "sizeof verbs_qp");
#endif

/*
 * Typed front end of _verbs_init_and_alloc_context(): allocate a driver
 * context of type *drv_ptr whose struct verbs_context is the member memb.
 */
#define sodp_ibv_init_and_alloc_context(ibdev, cmd_fd, drv_ptr, memb,         \
					driver_id)                             \
	((__typeof__(drv_ptr))_verbs_init_and_alloc_context(                   \
		(ibdev), (cmd_fd), sizeof(*(drv_ptr)),                         \
		(struct verbs_context *)offsetof(__typeof__(*(drv_ptr)), memb), \
		(driver_id)))

/* ------------------------------------------------------------------------
 * Layout assertions.
 * ------------------------------------------------------------------------
 */

static_assert(sizeof(struct sodp_ibv_list_link) == 2 * sizeof(void *),
	      "list link is two pointers");
static_assert(offsetof(struct verbs_device, device) == 0,
	      "struct ibv_device must be first in struct verbs_device");
static_assert(sizeof(atomic_int) == sizeof(int), "atomic_int is lock-free int");
static_assert(sizeof(struct verbs_context_ops) ==
		      SODP_VERBS_CONTEXT_OPS_COUNT * sizeof(void (*)(void)),
	      "verbs_context_ops: member count");
static_assert(offsetof(struct verbs_context_ops, unimport_pd) ==
		      (SODP_VERBS_CONTEXT_OPS_COUNT - 1) * sizeof(void (*)(void)),
	      "verbs_context_ops: unimport_pd must be the last of 76");
/* Members whose position we depend on or which moved in earlier releases. */
static_assert(offsetof(struct verbs_context_ops, alloc_pd) ==
		      5 * sizeof(void (*)(void)), "verbs_context_ops.alloc_pd");
static_assert(offsetof(struct verbs_context_ops, dealloc_pd) ==
		      26 * sizeof(void (*)(void)), "verbs_context_ops.dealloc_pd");
static_assert(offsetof(struct verbs_context_ops, free_context) ==
		      39 * sizeof(void (*)(void)), "verbs_context_ops.free_context");
static_assert(offsetof(struct verbs_context_ops, import_dm) ==
		      42 * sizeof(void (*)(void)), "verbs_context_ops.import_dm");
static_assert(offsetof(struct verbs_context_ops, query_device_ex) ==
		      58 * sizeof(void (*)(void)), "verbs_context_ops.query_device_ex");
static_assert(offsetof(struct verbs_context_ops, query_port) ==
		      60 * sizeof(void (*)(void)), "verbs_context_ops.query_port");
static_assert(offsetof(struct verbs_context_ops, advise_mr) == 0,
	      "verbs_context_ops.advise_mr");
static_assert(offsetof(struct verbs_context_ops, dereg_mr) ==
		      28 * sizeof(void (*)(void)), "verbs_context_ops.dereg_mr");
static_assert(offsetof(struct verbs_context_ops, reg_mr) ==
		      68 * sizeof(void (*)(void)), "verbs_context_ops.reg_mr");
static_assert(offsetof(struct verbs_context_ops, rereg_mr) ==
		      70 * sizeof(void (*)(void)), "verbs_context_ops.rereg_mr");
static_assert(offsetof(struct verbs_mr, ibv_mr) == 0,
	      "struct ibv_mr must be first in struct verbs_mr");
static_assert(offsetof(struct verbs_mr, mr_type) == sizeof(struct ibv_mr),
	      "verbs_mr.mr_type follows ibv_mr");
static_assert(sizeof(enum ibv_mr_type) == sizeof(int), "enum ibv_mr_type");
static_assert(offsetof(struct verbs_context_ops, query_qp_data_in_order) ==
		      62 * sizeof(void (*)(void)),
	      "verbs_context_ops.query_qp_data_in_order");

#if SODP_IS_LP64
/*
 * Public structures from verbs.h that the private ABI embeds: libibverbs
 * lays them out by its own copy of verbs.h, so the one we compile against
 * must agree. struct verbs_context "grows up" (new members are added in
 * front of the embedded struct ibv_context); it is the same from rdma-core
 * 34 to 58, and so is struct ibv_device.
 */
static_assert(sizeof(struct ibv_device) == 664, "public struct ibv_device");
static_assert(offsetof(struct verbs_context, context) == 320,
	      "public struct verbs_context: members in front of ibv_context");
static_assert(sizeof(struct verbs_context) == 648,
	      "public struct verbs_context");
static_assert(offsetof(struct verbs_sysfs_dev, flags) == 32, "sysfs_dev.flags");
static_assert(offsetof(struct verbs_sysfs_dev, sysfs_cdev) == 104,
	      "sysfs_dev.sysfs_cdev");
static_assert(offsetof(struct verbs_sysfs_dev, ibdev_path) == 176,
	      "sysfs_dev.ibdev_path");
static_assert(offsetof(struct verbs_sysfs_dev, node_guid) == 944,
	      "sysfs_dev.node_guid");
static_assert(offsetof(struct verbs_sysfs_dev, driver_id) == 952,
	      "sysfs_dev.driver_id");
static_assert(offsetof(struct verbs_sysfs_dev, abi_ver) == 968,
	      "sysfs_dev.abi_ver");
static_assert(offsetof(struct verbs_sysfs_dev, time_created) == 976,
	      "sysfs_dev.time_created");
static_assert(sizeof(struct verbs_sysfs_dev) == 992, "sizeof verbs_sysfs_dev");

static_assert(offsetof(struct verbs_match_ent, u) == 8, "match_ent.u");
static_assert(offsetof(struct verbs_match_ent, kind) == 20, "match_ent.kind");
static_assert(sizeof(struct verbs_match_ent) == 24, "sizeof verbs_match_ent");

static_assert(offsetof(struct verbs_device_ops, match_device) == 32,
	      "device_ops.match_device");
static_assert(offsetof(struct verbs_device_ops, alloc_device) == 56,
	      "device_ops.alloc_device");
static_assert(sizeof(struct verbs_device_ops) == 72, "sizeof verbs_device_ops");

static_assert(offsetof(struct verbs_device, ops) == 664, "verbs_device.ops");
static_assert(offsetof(struct verbs_device, refcount) == 672,
	      "verbs_device.refcount");
static_assert(offsetof(struct verbs_device, entry) == 680,
	      "verbs_device.entry");
static_assert(offsetof(struct verbs_device, sysfs) == 696,
	      "verbs_device.sysfs");
static_assert(offsetof(struct verbs_device, core_support) == 704,
	      "verbs_device.core_support");
static_assert(sizeof(struct verbs_device) == 712, "sizeof verbs_device");

static_assert(sizeof(struct verbs_context_ops) == 76 * 8,
	      "sizeof verbs_context_ops");
static_assert(sizeof(struct ibv_get_context) == 16, "sizeof ibv_get_context");
static_assert(sizeof(struct ibv_alloc_pd) == 16, "sizeof ibv_alloc_pd");
static_assert(sizeof(struct ibv_query_port) == 24, "sizeof ibv_query_port");
static_assert(sizeof(struct ibv_mr) == 48, "public struct ibv_mr");
static_assert(offsetof(struct verbs_mr, access) == 52, "verbs_mr.access");
static_assert(sizeof(struct verbs_mr) == 56, "sizeof verbs_mr");
static_assert(sizeof(struct ibv_reg_mr) == 48, "sizeof ibv_reg_mr");
static_assert(sizeof(struct ibv_rereg_mr) == 56, "sizeof ibv_rereg_mr");
#endif

#endif /* SODP_IBVERBS_PRIVATE_H */
