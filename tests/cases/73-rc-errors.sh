# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# RC error paths (tests/progs/sodp_rc_check.c errors): bad rkey, out of
# bounds, missing rights on the MR or the responder QP -> requester
# IBV_WC_REM_ACCESS_ERR, responder IBV_EVENT_QP_ACCESS_ERR and ERR; bad
# lkey -> IBV_WC_LOC_PROT_ERR; receive too small -> IBV_WC_LOC_LEN_ERR and
# IBV_WC_REM_INV_REQ_ERR; RNR with rnr_retry 0 and 7; a peer QPN that does
# not exist or a peer not ready -> IBV_WC_RETRY_EXC_ERR.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup
rc errors
rc_no_objects "errors"
# The device still works after all those errors.
rc ops
rc_no_objects "ops after errors"
rc_teardown
rc_dmesg_clean
