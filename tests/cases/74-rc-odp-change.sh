# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# RC into and out of ODP memory that changes under the traffic
# (tests/progs/sodp_rc_check.c odp, implicit): MADV_DONTNEED racing WRITEs
# and READs (data stays correct), fork() COW-splitting the target (the
# parent's writes land in the parent's pages, the child's view does not
# change), munmap (IBV_WC_REM_ACCESS_ERR, no hang), implicit ODP as source
# and target. ODP is required on sodp; other devices skip what they lack.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup
if rc_is_sodp; then
	check_out "sodp0 reports RC ODP for SEND, RECV, WRITE, READ, ATOMIC, SRQ_RECV" \
		'rc_odp_caps: .*SUPPORT_SEND.*SUPPORT_RECV.*SUPPORT_WRITE.*SUPPORT_READ.*SUPPORT_ATOMIC.*SUPPORT_SRQ' \
		bash -c "ibv_devinfo -v -d $RC_DEV | sed -n '/rc_odp_caps/,/uc_odp_caps/p' | tr -s ' \n\t' ' '"
fi
# The operations, the extended API and SRQs again, every buffer an ODP MR
# (ODP for RC SEND, RECV, WRITE, READ, ATOMIC and SRQ_RECV). perftest
# refuses --odp with atomics, so this is where ODP atomics are proven.
if rc_is_sodp; then
	for s in ops ex srq; do
		asserts "sodp_rc_check $s (ODP MRs)" \
			env SODP_RC_ODP=1 timeout 300 sodp_rc_check "$RC_DEV" "$s"
		rc_no_objects "$s with ODP MRs"
	done
fi
rc odp 100
rc_no_objects "odp"
rc implicit
rc_no_objects "implicit"
rc_teardown
rc_dmesg_clean
