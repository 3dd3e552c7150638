# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# sodp0 on eth0: rdma link, sysfs, ibv_devices, ibv_devinfo -v, PDs, rename.

eth0_up
check "modprobe sodp" sodp_load
check "rdma link add sodp0 type sodp netdev eth0" \
	rdma link add sodp0 type sodp netdev eth0
check "sysfs has /sys/class/infiniband/sodp0" test -d /sys/class/infiniband/sodp0
check_eq "sysfs parent is eth0" eth0 "$(cat /sys/class/infiniband/sodp0/parent)"
check_eq "sysfs sodp_abi_version" 1 "$(cat /sys/class/infiniband/sodp0/sodp_abi_version)"
check "a uverbs char device exists" bash -c 'ls /sys/class/infiniband/sodp0/device 2>/dev/null; ls /sys/class/infiniband_verbs/ | grep -q uverbs'
check_out "rdma link show: sodp0/1 ACTIVE on eth0" \
	'sodp0/1 state ACTIVE physical_state LINK_UP netdev eth0' rdma link show sodp0/1
check_out "rdma dev show lists sodp0" '^[0-9]+: sodp0: node_type ca' rdma dev show sodp0

check_out "ibv_devices lists sodp0" '^\s+sodp0\s+[0-9a-f]{16}' ibv_devices

mac=$(cat /sys/class/net/eth0/address)
IFS=: read -r m0 m1 m2 m3 m4 m5 <<<"$mac"
guid=$(printf '%02x%s:%sff:fe%s:%s%s' $((0x$m0 ^ 2)) "$m1" "$m2" "$m3" "$m4" "$m5")
info=$(ibv_devinfo -v -d sodp0 2>&1)
echo "$info" | sed 's/^/# /'
want() { # want NAME REGEX
	if grep -Eq -- "$2" <<<"$info"; then ok "ibv_devinfo: $1"; else not_ok "ibv_devinfo: $1" "/$2/ not found"; fi
}
want "hca_id sodp0" '^hca_id:\s+sodp0$'
want "transport InfiniBand (RoCE)" 'transport:\s+InfiniBand \(0\)'
want "fw_ver 0.1.0" 'fw_ver:\s+0\.1\.0$'
want "node_guid from the MAC ($guid)" "node_guid:\s+$guid\$"
want "sys_image_guid = node_guid" "sys_image_guid:\s+$guid\$"
want "vendor_id 0xffffff" 'vendor_id:\s+0xffffff$'
want "vendor_part_id" 'vendor_part_id:\s+20697$'
want "phys_port_cnt 1" 'phys_port_cnt:\s+1$'
want "max_pd 65536" 'max_pd:\s+65536$'
want "max_qp 65536" 'max_qp:\s+65536$'
want "max_qp_wr 16384" 'max_qp_wr:\s+16384$'
want "max_sge 32" 'max_sge:\s+32$'
want "max_cq 65536" 'max_cq:\s+65536$'
want "max_cqe 65535" 'max_cqe:\s+65535$'
want "max_srq 65536" 'max_srq:\s+65536$'
want "max_srq_wr 16384" 'max_srq_wr:\s+16384$'
want "max_srq_sge 32" 'max_srq_sge:\s+32$'
want "max_qp_rd_atom 16" 'max_qp_rd_atom:\s+16$'
want "atomic_cap ATOMIC_HCA" 'atomic_cap:\s+ATOMIC_HCA \(1\)$'
want "port max_msg_sz 0x80000000" 'max_msg_sz:\s+0x80000000$'
want "max_mr 1048576" 'max_mr:\s+1048576$'
want "implicit ODP among the ODP caps (tests/cases/61-mr-odp.sh checks them)" '^\s+ODP_SUPPORT_IMPLICIT$'
want "port 1 state PORT_ACTIVE" 'state:\s+PORT_ACTIVE \(4\)'
want "max_mtu 4096" 'max_mtu:\s+4096 \(5\)'
want "active_mtu 1024 for MTU 1500" 'active_mtu:\s+1024 \(3\)'
want "link_layer Ethernet" 'link_layer:\s+Ethernet'
want "phys_state LINK_UP" 'phys_state:\s+LINK_UP \(5\)'
want "gid_tbl_len 256" 'gid_tbl_len:\s+256$'
want "pkey_tbl_len 1" 'pkey_tbl_len:\s+1$'
want "GID[0] is the IPv6 link-local, RoCE v2" 'GID\[\s*0\]:\s+fe80::.*RoCE v2'
want "an IPv4-mapped GID for 192.0.2.x, RoCE v2" 'GID\[\s*[0-9]+\]:\s+::ffff:192\.0\.2\.[0-9]+, RoCE v2'

check_eq "pkey 0 is 0xffff" 0xffff "$(cat /sys/class/infiniband/sodp0/ports/1/pkeys/0)"
check_eq "gid 0 type is RoCE v2" "RoCE v2" "$(cat /sys/class/infiniband/sodp0/ports/1/gid_attrs/types/0)"
check_eq "gid 0 netdev is eth0" eth0 "$(cat /sys/class/infiniband/sodp0/ports/1/gid_attrs/ndevs/0)"

check_out "1000 PDs from userspace" '^ok 1000 pds' sodp_verbs_check sodp0 pd 1000
check_eq "no PD or ucontext left" "0 0" "$(sodp_objects pds) $(sodp_objects ucontexts)"
check_out "ibv_create_cq works, ibv_alloc_mw fails with EOPNOTSUPP" '^ok' sodp_verbs_check sodp0 unsupported

# What "cmake --install" puts in place (tests/run installs into a staging
# root) is where libibverbs looks: overlay the guest's provider directories
# with copies that add the installed files, then use no RDMAV_DRIVERS.
provdir=$(dirname "$(readlink -f /usr/lib/x86_64-linux-gnu/libibverbs.so.1)")/libibverbs
inst=$SODP_BUILD/install-root
check "cmake --install put libsodp-rdmav34.so in $provdir" test -f "$inst$provdir/libsodp-rdmav34.so"
check_eq "cmake --install put /etc/libibverbs.d/sodp.driver" "driver sodp" "$(cat "$inst/etc/libibverbs.d/sodp.driver")"
mkdir -p /tmp/inst/etc /tmp/inst/lib
cp -a /etc/libibverbs.d/. "$inst/etc/libibverbs.d/." /tmp/inst/etc/
cp -a "$provdir/." "$inst$provdir/." /tmp/inst/lib/
mount --bind /tmp/inst/etc /etc/libibverbs.d && mount --bind /tmp/inst/lib "$provdir"
check_out "installed provider: ibv_devices lists sodp0 without RDMAV_DRIVERS" '^\s+sodp0\s' \
	env -u RDMAV_DRIVERS ibv_devices
check_out "installed provider: ibv_devinfo works" 'PORT_ACTIVE' env -u RDMAV_DRIVERS ibv_devinfo -d sodp0
umount "$provdir" /etc/libibverbs.d

# A renamed device is still matched by the provider (it matches on
# sodp_abi_version, never on the name).
check "rdma dev set sodp0 name roce7" rdma dev set sodp0 name roce7
check_out "ibv_devices lists the renamed device" '^\s+roce7\s' ibv_devices
check_out "PDs work on the renamed device" '^ok 10 pds' sodp_verbs_check roce7 pd 10
check "rdma link delete roce7" rdma link delete roce7
check "sysfs entry gone" test ! -e /sys/class/infiniband/roce7
check_eq "no device objects left" 0 "$(sodp_objects devices)"
check_out "ibv_devices lists nothing" '^\s+-+\s+-+\s*$' bash -c 'ibv_devices; ibv_devices | grep -c roce7 | grep -qx 0'
dmesg_clean
