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

#endif /* SODP_COMPAT_H */
