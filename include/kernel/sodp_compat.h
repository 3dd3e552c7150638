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

#include <linux/version.h>
#include <rdma/ib_verbs.h>

/*
 * Port state events (sodp_net.c). Since 6.14 ("RDMA/core: Support link
 * status events dispatching") ib_core's own netdev notifier raises
 * IB_EVENT_PORT_ACTIVE / IB_EVENT_PORT_ERR for every device tied to a
 * netdev, deduplicated per port (ib_dispatch_port_state_event()). A driver
 * that raises them too sends each event twice: seen on 7.3.4 (two of each),
 * while 6.12.117 raised none of its own.
 */
static inline bool sodp_core_raises_port_events(void)
{
	return LINUX_VERSION_CODE >= KERNEL_VERSION(6, 14, 0);
}

#endif /* SODP_COMPAT_H */
