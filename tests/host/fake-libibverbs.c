// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stand-in libibverbs.so.1 for the host ABI tests. It only has to look
 * like a libibverbs to the linker and the dynamic loader: the same soname,
 * a few public IBVERBS_1.x names, and the private names the sodp provider
 * imports, all under IBVERBS_PRIVATE_<FAKE_PABI> (see the generated version
 * script). Nothing here is ever meant to run.
 */
#include <errno.h>

#ifndef FAKE_PABI
#error "build with -DFAKE_PABI=<n>"
#endif

#define FAKE_CAT2(a, b) a##b
#define FAKE_CAT(a, b) FAKE_CAT2(a, b)
#define FAKE_FN(name)                                                          \
	int name(void);                                                        \
	int name(void)                                                         \
	{                                                                      \
		return ENOSYS;                                                 \
	}

/* public */
FAKE_FN(ibv_get_device_list)
FAKE_FN(ibv_free_device_list)
FAKE_FN(ibv_get_device_name)
FAKE_FN(ibv_open_device)
FAKE_FN(ibv_close_device)
FAKE_FN(ibv_query_device)
FAKE_FN(ibv_alloc_pd)
FAKE_FN(ibv_dealloc_pd)

/* private */
FAKE_FN(FAKE_CAT(verbs_register_driver_, FAKE_PABI))
FAKE_FN(__verbs_log)
FAKE_FN(_verbs_init_and_alloc_context)
FAKE_FN(verbs_uninit_context)
FAKE_FN(verbs_set_ops)
FAKE_FN(ibv_cmd_get_context)
FAKE_FN(ibv_cmd_query_device_any)
FAKE_FN(ibv_cmd_query_port)
FAKE_FN(ibv_cmd_alloc_pd)
FAKE_FN(ibv_cmd_dealloc_pd)
