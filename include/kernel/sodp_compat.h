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

#endif /* SODP_COMPAT_H */
