# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Every RC operation over a loopback QP pair (tests/progs/sodp_rc_check.c):
# data and every completion field; the extended QP and CQ APIs; completion
# channels (next and solicited); CQ resize; SRQs and their limit event; the
# QP state machine; flushing; bad input at create and post.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup
if rc_is_sodp; then
	check_eq "debugfs counts CQs, SRQs and QPs" "0 0 0 0" "$(rc_objs)"
fi

for s in ops ex notify resize srq state flush create; do
	rc "$s"
	rc_no_objects "$s"
done

rc_teardown
rc_dmesg_clean
