# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ci: default-kernel
# cmdline: slub_debug=U
# Exact leak check. With slub_debug=U, SLUB records the allocation stack of
# every live object (/sys/kernel/debug/slab/*/alloc_traces). Any object
# allocated on a path through sodp, ib_core or ib_uverbs that outlives the
# device, context or PD it was allocated for is a leak: the count of such
# objects must not grow between before and after 100 link cycles (with contexts
# and PDs) and 10 module cycles. Measured on 6.12: a clean build stays at
# 64 -> 64 and 48 -> 48; a build of sodp.ko that leaks one kmalloc(64) per
# device went 70 -> 274 (204 devices) and 258 -> 288 (3 per module cycle).


check "slub_debug=U allocation traces are available" \
	test -r /sys/kernel/debug/slab/kmalloc-64/alloc_traces
eth0_up
ip link add sodpdummy0 type dummy && ip link set sodpdummy0 up
check "modprobe sodp" sodp_load

one_cycle() {
	rdma link add sodp0 type sodp netdev eth0 &&
	rdma link add sodp1 type sodp netdev sodpdummy0 &&
	sodp_verbs_check sodp0 pd 8 >/dev/null &&
	rdma link delete sodp0 && rdma link delete sodp1
}
# Warm-up: first-use allocations of ib_core and the netlink paths.
for _ in 1 2 3; do one_cycle; done
re='[[](sodp|ib_core|ib_uverbs)[]]'
before=$(settled_objs "$re")
fails=0
for i in $(seq 100); do
	one_cycle || fails=$((fails + 1))
	if [ $((i % 25)) -eq 0 ]; then
		rdma link add sodp0 type sodp netdev eth0 &&
		sodp_verbs_check sodp0 cycles 10 >/dev/null &&
		rdma link delete sodp0 || fails=$((fails + 1))
	fi
done
after=$(settled_objs "$re")
echo "# live objects allocated through sodp/ib_core/ib_uverbs: $before before, $after after 100 cycles"
check_eq "100 cycles of 2 devices + PDs, 4 x 10 context cycles succeed" 0 "$fails"
check "no object allocated through sodp, ib_core or ib_uverbs outlives its cycles ($before -> $after)" \
	test "$after" -le "$before"

# Module cycles: what sodp caused ib_core to allocate must all go with it.
rmmod sodp
re='[[](ib_core|ib_uverbs)[]]'
before=$(settled_objs "$re")
fails=0
for i in $(seq 10); do
	modprobe sodp && one_cycle &&
	rdma link add sodp0 type sodp netdev eth0 &&
	sodp_verbs_check sodp0 pd 4 >/dev/null &&
	rmmod sodp || fails=$((fails + 1))
done
after=$(settled_objs "$re")
echo "# live objects allocated through ib_core/ib_uverbs: $before before, $after after 10 module cycles"
check_eq "10 module cycles (rmmod with a device present) succeed" 0 "$fails"
check "no ib_core/ib_uverbs object outlives the module cycles ($before -> $after)" \
	test "$after" -le "$before"
ip link del sodpdummy0
dmesg_clean
