# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Every refused "rdma link add" fails with its documented error and leaves
# nothing behind; nothing reaches the kernel log at err level or above.

eth0_up
check "modprobe sodp" sodp_load

check_fail "missing netdev: No such device (ENODEV)" 'No such device' \
	rdma link add sodp0 type sodp netdev nosuchdev0
check_fail "loopback is not Ethernet: Protocol not supported (EPROTONOSUPPORT)" \
	'Protocol not supported' rdma link add sodp0 type sodp netdev lo

ip link add sodpdummy0 type dummy
check_fail "down netdev: Network is down (ENETDOWN)" 'Network is down' \
	rdma link add sodp0 type sodp netdev sodpdummy0
check "a dummy netdev once up is accepted" bash -c \
	'ip link set sodpdummy0 up && rdma link add sodpd0 type sodp netdev sodpdummy0'

check "first device on eth0" rdma link add sodp0 type sodp netdev eth0
check_fail "second device on the same netdev: File exists (EEXIST)" 'File exists' \
	rdma link add sodp1 type sodp netdev eth0
check_fail "a name already taken: File exists (EEXIST)" 'File exists' \
	rdma link add sodp0 type sodp netdev sodpdummy0

ip link add link eth0 name eth0.7 type vlan id 7 && ip link set eth0.7 up
check_fail "VLAN netdev: Operation not permitted (EPERM), as rxe" \
	'Operation not permitted' rdma link add sodpv0 type sodp netdev eth0.7
ip link del eth0.7

modprobe tun
ip tuntap add dev sodptun0 mode tun && ip link set sodptun0 up
check_fail "tun (no link layer) is not Ethernet: EPROTONOSUPPORT" \
	'Protocol not supported' rdma link add sodpt0 type sodp netdev sodptun0
ip link del sodptun0

check_eq "exactly two sodp devices exist" "sodp0 sodpd0" \
	"$(ls /sys/class/infiniband | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "debugfs counts two devices" 2 "$(sodp_objects devices)"
check "rdma link delete of an unknown device fails" bash -c \
	'! rdma link delete nosuchib0 2>/dev/null'
check "delete both" bash -c 'rdma link delete sodp0 && rdma link delete sodpd0'
check_eq "no device left" 0 "$(sodp_objects devices)"
ip link del sodpdummy0
dmesg_clean
