# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
#
# Helpers shared by the memory region cases (tests/cases/6*-mr-*.sh), which
# source this file; not a case itself (no leading number).

# mr SCENARIO ARGS...: sodp_mr_check on sodp0.
mr() { asserts "sodp_mr_check $*" sodp_mr_check sodp0 "$@"; }

# mr_no_objects WHAT: no MR, no pinned page, no ODP object is left
# (debugfs); waits up to 30 s for queued prefetches to finish.
mr_no_objects() {
	local _ odp
	for _ in $(seq 300); do
		odp=$(awk '{ printf "%s%s", sep, $2; sep = " " }' /sys/kernel/debug/sodp/odp)
		[ "$odp" = "0 0 0 0" ] && break
		sleep 0.1
	done
	check_eq "$1: no MR, no pinned page, no ODP object left (debugfs mrs, mr_pinned_pages, odp)" \
		"0 0 0 0 0 0" "$(sodp_objects mrs) $(sodp_objects mr_pinned_pages) $odp"
}

# mr_setup_with PARAM=VALUE...: sodp loaded with these module parameters,
# sodp0 on eth0. mr_setup: the same with none.
# shellcheck disable=SC2120
mr_setup_with() {
	eth0_up
	check "modprobe sodp${*:+ $*}" modprobe sodp "$@"
	check "rdma link add sodp0 type sodp netdev eth0" \
		rdma link add sodp0 type sodp netdev eth0
}
# shellcheck disable=SC2119
mr_setup() { mr_setup_with; }
mr_teardown() {
	check "rdma link delete sodp0" rdma link delete sodp0
	check "rmmod sodp (no leak reported)" rmmod sodp
}
