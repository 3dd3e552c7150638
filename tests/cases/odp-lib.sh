# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
#
# Helpers shared by the ODP layer cases (tests/cases/5*-odp-*.sh), which
# source this file; not a case itself (no leading number).

# odp SCENARIO ARGS...: runs sodp_odp_check, passes its assertions on.
odp() { asserts "sodp_odp_check $*" sodp_odp_check "$@"; }
# Live ODP objects (debugfs sodp/odp), all four counts on one line.
odp_objects() {
	awk '{ printf "%s%s", sep, $2; sep = " " } END { print "" }' /sys/kernel/debug/sodp/odp
}
# odp_no_objects WHAT: waits up to 30 s for deferred work, then checks.
odp_no_objects() {
	local _
	for _ in $(seq 300); do
		[ "$(odp_objects)" = "0 0 0 0" ] && break
		sleep 0.1
	done
	check_eq "$1 (regions implicit children prefetch)" "0 0 0 0" "$(odp_objects)"
}
odp_load() {
	check "modprobe sodp_odp_test" modprobe sodp_odp_test
	check "/dev/sodp_odp_test exists" test -c /dev/sodp_odp_test
}
odp_unload() {
	check "rmmod sodp_odp_test sodp (no leak reported)" rmmod sodp_odp_test sodp
	dmesg_clean
}
