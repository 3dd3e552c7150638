# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# 200 rdma link add/delete cycles and 20 module load/unload cycles (with
# devices and an open user context torn down by rmmod where possible) leave
# no device, no sysfs entry and no live object (debugfs counts) behind.

eth0_up
ip link add sodpdummy0 type dummy && ip link set sodpdummy0 up
check "modprobe sodp" sodp_load


fails=0
for i in $(seq 200); do
	if ! rdma link add sodp0 type sodp netdev eth0 ||
	   ! test -e /sys/class/infiniband/sodp0 ||
	   ! rdma link delete sodp0 ||
	   test -e /sys/class/infiniband/sodp0; then
		fails=$((fails + 1))
		echo "# cycle $i failed"
		[ $fails -gt 3 ] && break
	fi
	# Every 50 cycles also open a context and PDs on it.
	if [ $((i % 50)) -eq 0 ]; then
		rdma link add sodp0 type sodp netdev eth0 &&
		sodp_verbs_check sodp0 cycles 20 >/dev/null &&
		rdma link delete sodp0 || fails=$((fails + 1))
	fi
done
check_eq "200 link add/delete cycles succeed" 0 "$fails"
check_eq "debugfs: no devices, ucontexts or pds" "0 0 0" \
	"$(sodp_objects devices) $(sodp_objects ucontexts) $(sodp_objects pds)"
check_eq "/sys/class/infiniband is empty" "" "$(ls /sys/class/infiniband)"
check_eq "/dev/infiniband has no uverbs node" "" "$(ls /dev/infiniband 2>/dev/null | grep uverbs)"

# Exact slab accounting of these cycles is in 41-leaks.sh.

# Module cycles: each loads, creates two devices, opens a context that it
# closes, then removes the module with the devices present.
fails=0
for i in $(seq 20); do
	if ! modprobe sodp ||
	   ! rdma link add sodp0 type sodp netdev eth0 ||
	   ! rdma link add sodp1 type sodp netdev sodpdummy0 ||
	   ! sodp_verbs_check sodp0 pd 4 >/dev/null ||
	   ! rmmod sodp ||
	   test -e /sys/class/infiniband/sodp0 ||
	   test -e /sys/class/infiniband/sodp1 ||
	   test -e /sys/module/sodp; then
		fails=$((fails + 1))
		echo "# module cycle $i failed"
		[ $fails -gt 3 ] && break
	fi
done
check_eq "20 load / create 2 devices / rmmod cycles succeed" 0 "$fails"
check "module is gone" test ! -e /sys/module/sodp
check_eq "/sys/class/infiniband is empty after rmmod" "" "$(ls /sys/class/infiniband)"
check_out "rmmod logged its unload 20 times" '^20$' bash -c 'dmesg | grep -c "sodp: unloaded"'

# rmmod while a process holds a context open is refused (EBUSY), and works
# once the process has gone.
modprobe sodp && rdma link add sodp0 type sodp netdev eth0
holdlog=/tmp/40-holder.log
sodp_verbs_check sodp0 events 1 60000 >"$holdlog" 2>&1 &
holder=$!
# The holder prints "ready" once its context is open.
wait_until 60 grep -q ready "$holdlog"
check_fail "rmmod with an open context is refused" 'in use' rmmod sodp
kill $holder
wait $holder
check "rmmod once the context is closed" rmmod sodp
check "no sodp device after that" test ! -e /sys/class/infiniband/sodp0
ip link del sodpdummy0
dmesg_clean
