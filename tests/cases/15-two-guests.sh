# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# guests: 2
# Two guests joined by the rig's virtual network, sodp0 on each: the link
# works both ways and each device's GID table holds its own address only.

me=$((10 + SODP_GUEST))
peer=$((11 - SODP_GUEST))
eth0_up
check "modprobe sodp" sodp_load
check "rdma link add sodp0 on eth0" rdma link add sodp0 type sodp netdev eth0
check_out "own IPv4-mapped GID ::ffff:192.0.2.$me" "^0000:0000:0000:0000:0000:ffff:c000:02$(printf %02x $me)\$" \
	bash -c 'cat /sys/class/infiniband/sodp0/ports/1/gids/*'
check "no GID for the peer's address" bash -c \
	"! cat /sys/class/infiniband/sodp0/ports/1/gids/* | grep -q 'ffff:c000:02$(printf %02x $peer)\$'"
check "ping the other guest (192.0.2.$peer)" ping -c 3 -w 30 "192.0.2.$peer"
check_out "sodp0 ACTIVE" 'state ACTIVE' rdma link show sodp0/1
# The other guest may still be pinging us: stay up a little.
sleep 5
check "rdma link delete sodp0" rdma link delete sodp0
dmesg_clean
