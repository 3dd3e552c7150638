// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sodp libibverbs provider: verbs objects (protection domains for now).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sodp.h"

struct ibv_pd *sodp_alloc_pd(struct ibv_context *ibctx)
{
	struct sodp_cmd_alloc_pd_resp resp;
	struct ibv_alloc_pd cmd;
	struct sodp_pd *pd;
	int ret;

	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return NULL;

	memset(&cmd, 0, sizeof(cmd));
	memset(&resp, 0, sizeof(resp));
	ret = ibv_cmd_alloc_pd(ibctx, &pd->ibv_pd, &cmd, sizeof(cmd),
			       SODP_IBV_RESP(struct ib_uverbs_alloc_pd_resp, &resp),
			       sizeof(resp));
	if (ret) {
		free(pd);
		errno = ret;
		return NULL;
	}

	pd->pdn = resp.drv_payload.pdn;
	return &pd->ibv_pd;
}

int sodp_dealloc_pd(struct ibv_pd *ibpd)
{
	int ret;

	ret = ibv_cmd_dealloc_pd(ibpd);
	if (ret)
		return ret;

	free(to_sodp_pd(ibpd));
	return 0;
}
