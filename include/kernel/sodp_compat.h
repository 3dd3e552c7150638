/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one place where sodp's kernel code depends on the kernel version.
 *
 * Supported: Debian 12's 6.1 and 6.12 kernels and the newest Debian kernel
 * (7.x). Every #if on LINUX_VERSION_CODE lives here and nowhere else; the
 * rest of the driver calls the sodp_* wrappers below.
 */
#ifndef SODP_COMPAT_H
#define SODP_COMPAT_H

#include <linux/string.h>
#include <linux/version.h>
#include <rdma/ib_verbs.h>
#include <rdma/uverbs_ioctl.h>

/*
 * hmm_range_fault() (the ODP layer, sodp_odp.c).
 *
 * The call, struct hmm_range and the output flags the layer reads
 * (HMM_PFN_VALID, HMM_PFN_WRITE, HMM_PFN_ERROR, the map order through
 * hmm_pfn_to_map_order(), the page through hmm_pfn_to_page()) are the same
 * on 6.1, 6.12 and 7.3, but the encoding moved: 7.3 adds HMM_PFN_DMA_MAPPED,
 * HMM_PFN_P2PDMA and HMM_PFN_P2PDMA_BUS, which are sticky (carried from an
 * entry's input to its output), and moves HMM_PFN_ORDER_SHIFT from
 * BITS_PER_LONG - 8 to BITS_PER_LONG - 11. So the layer never decodes bits
 * itself, and it zeroes the array before every call: requests come from
 * default_flags only (pfn_flags_mask 0), and no stale sticky bit can come
 * back. Doing it on every kernel needs no version test.
 */
static inline void sodp_hmm_pfns_reset(unsigned long *hmm_pfns,
				       unsigned long npages)
{
	memset(hmm_pfns, 0, npages * sizeof(*hmm_pfns));
}

/*
 * Port state events (sodp_net.c). Since 6.14 ("RDMA/core: Support link
 * status events dispatching") ib_core's own netdev notifier raises
 * IB_EVENT_PORT_ACTIVE / IB_EVENT_PORT_ERR for every device tied to a
 * netdev, deduplicated per port (ib_dispatch_port_state_event()). A driver
 * that raises them too sends each event twice: seen on 7.3.4 (two of each),
 * while 6.12.117 raised none of its own.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0)
#define SODP_CORE_RAISES_PORT_EVENTS	true
#else
#define SODP_CORE_RAISES_PORT_EVENTS	false
#endif

static inline bool sodp_core_raises_port_events(void)
{
	return SODP_CORE_RAISES_PORT_EVENTS;
}

/*
 * ib_device_ops.reg_user_mr gained a DMA handle argument (struct ib_dmah,
 * the DMAH object of rdma-core's ibv_alloc_dmah(): TPH steering hints) in
 * 6.17; 6.1 and 6.12 have the six-argument form. sodp offers no DMA
 * handles (no alloc_dmah), so ib_core never passes one; the wrapper still
 * refuses one rather than ignore it. The ops table uses
 * sodp_compat_reg_user_mr; sodp_mr.c implements sodp_reg_user_mr().
 */
struct ib_mr *sodp_reg_user_mr(struct ib_pd *ibpd, u64 start, u64 length,
			       u64 virt_addr, int access,
			       struct ib_udata *udata);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
static inline struct ib_mr *
sodp_compat_reg_user_mr(struct ib_pd *ibpd, u64 start, u64 length,
			u64 virt_addr, int access, struct ib_dmah *dmah,
			struct ib_udata *udata)
{
	if (dmah)
		return ERR_PTR(-EOPNOTSUPP);
	return sodp_reg_user_mr(ibpd, start, length, virt_addr, access, udata);
}
#else
static inline struct ib_mr *
sodp_compat_reg_user_mr(struct ib_pd *ibpd, u64 start, u64 length,
			u64 virt_addr, int access, struct ib_udata *udata)
{
	return sodp_reg_user_mr(ibpd, start, length, virt_addr, access, udata);
}
#endif

/*
 * CQ creation and resizing (sodp_cq.c).
 *
 * create_cq takes a struct uverbs_attr_bundle since 6.10; 6.1 passes the
 * driver udata, which ib_uverbs always embeds in a bundle (driver_udata),
 * so the wrapper gives sodp_create_cq() that bundle (NULL for a kernel CQ).
 *
 * By 7.3 user CQs have their own ops: ib_uverbs calls create_user_cq (and
 * may no longer fall back on create_cq), and resize_cq became
 * resize_user_cq, whose cqe is an unsigned int. The version below is the
 * first release with both changes as far as could be checked; 6.12 has
 * neither, 7.3 both.
 *
 * sodp_compat_set_cq_ops() sets all of them: sodp_verbs.c calls it after
 * ib_set_device_ops(ibdev, &sodp_dev_ops), whose table names no CQ
 * creation or resize op.
 */
int sodp_create_cq(struct ib_cq *ibcq, const struct ib_cq_init_attr *attr,
		   struct uverbs_attr_bundle *attrs);
int sodp_resize_cq(struct ib_cq *ibcq, int cqe, struct ib_udata *udata);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
static inline int sodp_compat_create_cq(struct ib_cq *ibcq,
					const struct ib_cq_init_attr *attr,
					struct uverbs_attr_bundle *attrs)
{
	return sodp_create_cq(ibcq, attr, attrs);
}
#else
static inline int sodp_compat_create_cq(struct ib_cq *ibcq,
					const struct ib_cq_init_attr *attr,
					struct ib_udata *udata)
{
	return sodp_create_cq(ibcq, attr,
			      udata ? container_of(udata,
						   struct uverbs_attr_bundle,
						   driver_udata) : NULL);
}
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 1, 0)
static inline int sodp_compat_resize_cq(struct ib_cq *ibcq, unsigned int cqe,
					struct ib_udata *udata)
{
	if (cqe > INT_MAX)
		return -EINVAL;
	return sodp_resize_cq(ibcq, cqe, udata);
}

static inline void sodp_compat_set_cq_ops(struct ib_device *ibdev)
{
	static const struct ib_device_ops ops = {
		.create_cq = sodp_compat_create_cq,
		.create_user_cq = sodp_compat_create_cq,
		.resize_user_cq = sodp_compat_resize_cq,
	};

	ib_set_device_ops(ibdev, &ops);
}
#else
static inline void sodp_compat_set_cq_ops(struct ib_device *ibdev)
{
	static const struct ib_device_ops ops = {
		.create_cq = sodp_compat_create_cq,
		.resize_cq = sodp_resize_cq,
	};

	ib_set_device_ops(ibdev, &ops);
}
#endif

#endif /* SODP_COMPAT_H */
