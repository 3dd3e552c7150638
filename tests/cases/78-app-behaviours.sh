# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Behaviours applications rely on (tests/progs/sodp_app_check.c):
# ibv_modify_qp to INIT with one access mask for the MR and the QP
# (ON_DEMAND, LOCAL_WRITE, ... with the remote bits) is accepted, an
# undefined bit is EINVAL; a QP that is reset or destroyed leaves no
# completion in the CQs it shares with other QPs, whose completions stay
# in order, also while another thread polls; ibv_create_cq_ex with what
# sodp does not support is EOPNOTSUPP, a bad request EINVAL, and any CPU
# number is a valid completion vector; ibv_query_port reports what UCX
# checks (state, width, speed, GID 0), and querying it logs nothing.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

# app SCENARIO: sodp_app_check on RC_DEV.
app() { asserts "sodp_app_check $*" timeout 200 sodp_app_check "$RC_DEV" "$@"; }

rc_setup
for s in access cqclean cqrace cqex port; do
	app "$s"
	rc_no_objects "$s"
done
# Every scenario queried the port: that must not fill the kernel log
# (6.1's ib_core warns on each query of a netdev without a known speed).
check_eq "ibv_query_port logged no 'speed is unknown' warning" "" \
	"$(dmesg_since | grep 'speed is unknown' | head -n 2 | tr '\n' '|')"
rc_teardown
rc_dmesg_clean
