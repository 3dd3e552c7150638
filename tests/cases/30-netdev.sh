# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# The device follows its netdev: link state (with port events), MTU, speed,
# GID table (with GID change events), and the netdev going away.

eth0_up
check "modprobe sodp" sodp_load
check "rdma link add sodp0 on eth0" rdma link add sodp0 type sodp netdev eth0

port=/sys/class/infiniband/sodp0/ports/1
gids() { cat "$port"/gids/* 2>/dev/null | grep -v '^0000:0000:0000:0000:0000:0000:0000:0000$' | sort; }
log=/tmp/events.log

# Port events: link down, then up.
sodp_verbs_check sodp0 events 2 60000 >"$log" 2>&1 &
evpid=$!
wait_until 60 grep -q ready "$log"
ip link set eth0 down
check_out "port state DOWN after ip link set eth0 down" 'state:\s+PORT_DOWN \(1\)' ibv_devinfo -d sodp0
check_eq "phys_state Disabled when the netdev is down" "3: Disabled" "$(cat $port/phys_state)"
check_out "ibv_devinfo -v: phys_state DISABLED" 'phys_state:\s+DISABLED \(3\)' ibv_devinfo -v -d sodp0
check_out "rdma link shows DOWN" 'state DOWN' rdma link show sodp0/1
ip link set eth0 up
wait_until 60 grep -qx "4: ACTIVE" $port/state
check_eq "port state ACTIVE again" "4: ACTIVE" "$(cat $port/state)"
wait $evpid
check_out "events: IBV_EVENT_PORT_ERR then IBV_EVENT_PORT_ACTIVE" \
	'port error.*port 1' cat "$log"
check_out "event sequence ends with port active" 'port active.*port 1' bash -c "tail -n1 $log"

# Carrier loss without admin down (veth peer down) also takes the port down.
ip link add sodpv0 type veth peer name sodpv1
ip link set sodpv0 up; ip link set sodpv1 up
check "device on a veth" rdma link add sodpv type sodp netdev sodpv0
wait_until 60 grep -qx "4: ACTIVE" /sys/class/infiniband/sodpv/ports/1/state
check_eq "veth port ACTIVE" "4: ACTIVE" "$(cat /sys/class/infiniband/sodpv/ports/1/state)"
check_out "veth speed 10000Mb/s shows as 10 Gb/sec" '10(\.0)? Gb/sec' cat /sys/class/infiniband/sodpv/ports/1/rate
ip link set sodpv1 down
wait_until 60 grep -qx "1: DOWN" /sys/class/infiniband/sodpv/ports/1/state
check_eq "peer down (carrier lost): port DOWN" "1: DOWN" "$(cat /sys/class/infiniband/sodpv/ports/1/state)"
check_eq "carrier lost but admin up: phys_state Polling" "2: Polling" "$(cat /sys/class/infiniband/sodpv/ports/1/phys_state)"

# MTU follows the netdev.
ip link set eth0 mtu 9000
check_out "MTU 9000: active_mtu 4096" 'active_mtu:\s+4096 \(5\)' ibv_devinfo -d sodp0
ip link set eth0 mtu 1280
check_out "MTU 1280: active_mtu 1024" 'active_mtu:\s+1024 \(3\)' ibv_devinfo -d sodp0
ip link set eth0 mtu 1500

# GID table: IPv4-mapped entries come and go with addresses.
sodp_verbs_check sodp0 events 1 60000 >"$log" 2>&1 &
evpid=$!
wait_until 60 grep -q ready "$log"
ip addr add 198.51.100.7/24 dev eth0
wait_until 60 eval "gids | grep -q '0000:0000:0000:0000:0000:ffff:c633:6407'"
check_out "GID for 198.51.100.7 appears" '^0000:0000:0000:0000:0000:ffff:c633:6407$' gids
wait $evpid
check_out "IBV_EVENT_GID_CHANGE raised" 'GID table change' cat "$log"
ip addr add 2001:db8::7/64 dev eth0 nodad
wait_until 60 eval "gids | grep -q '^2001:0db8:'"
check_out "GID for 2001:db8::7 appears" '^2001:0db8:0000:0000:0000:0000:0000:0007$' gids
ip addr del 198.51.100.7/24 dev eth0
ip addr del 2001:db8::7/64 dev eth0
wait_until 60 eval "! gids | grep -q 'c633:6407'"
check "both GIDs gone after the addresses are removed" bash -c "! { cat $port/gids/* | grep -Eq 'c633:6407|^2001:0db8'; }"
check_eq "the link-local GID stays" "RoCE v2" "$(cat $port/gid_attrs/types/0)"

# The netdev going away takes the device with it.
ip link del sodpv0
wait_until 60 test ! -e /sys/class/infiniband/sodpv
check "deleting the veth removed its sodp device" test ! -e /sys/class/infiniband/sodpv
check_eq "one device left" 1 "$(sodp_objects devices)"
check "rdma link delete sodp0" rdma link delete sodp0
dmesg_clean
