# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Userspace owns the shared rings: a process that fills every ring it has
# mapped (indexes, headers, WQE and CQE slots) with 0xff, 0x00 or 0x5a
# bytes and then posts, rings doorbells, polls, arms and flushes must not
# hurt the kernel (tests/progs/sodp_rc_check.c corrupt): its QPs go to ERR,
# the kernel log stays clean, nothing is left, rmmod works. sodp only.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup
if rc_is_sodp; then
	rc corrupt
	rc_no_objects "corrupt"
else
	echo "# corrupt: sodp only"
fi
rc_teardown
rc_dmesg_clean
