# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# MR lifetime: a process exiting (or killed) with MRs registered leaves
# nothing behind; the module cannot be unloaded while a process holds MRs;
# max_mr is what the device enforces.

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"

mr_setup

check_out "a process exits with 9 MRs registered" 'exiting with 9 MRs' sodp_mr_check sodp0 exit
mr_no_objects "after exit"
check_out "a process is killed with 9 MRs registered" 'exiting with 9 MRs' \
	bash -c 'sodp_mr_check sodp0 exit kill; [ $? -eq 137 ]'
mr_no_objects "after SIGKILL"

# shellcheck disable=SC2016
check_out "rmmod sodp is refused while a process holds MRs" 'in use' \
	sodp_mr_check sodp0 hold bash -c '
		grep -q "^mrs 3$" /sys/kernel/debug/sodp/objects || { echo "not 3 MRs"; exit 1; }
		! rmmod sodp'
check "sodp is still loaded" test -d /sys/module/sodp
check "sodp0 still works" sodp_verbs_check sodp0 pd 1
mr_no_objects "after hold"

# max_mr is enforced: a device created with max_mr=64 takes 64 MRs.
mr_teardown
mr_setup_with max_mr=64
check_out "ibv_devinfo -v: max_mr 64" 'max_mr:\s+64$' ibv_devinfo -v -d sodp0
mr fill
mr_no_objects "fill"
mr cycles 200
mr_no_objects "cycles"

mr_teardown
dmesg_clean
