# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# MAP_SHARED files written by the device reach the file: on tmpfs, and on a
# disk-backed ext4 (a loop device) where writeback write-protects the pages
# (invalidating the device's entries) and read(2) after munmap, fsync and
# dropping the page cache reads the disk.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
odp file /tmp/odp-shared
img=/tmp/odp-ext4.img
mnt=/mnt/odp-ext4
if check "make an ext4 filesystem on a loop device" bash -c "
	truncate -s 64M $img && mkfs.ext4 -q -F $img && modprobe loop &&
	mkdir -p $mnt && mount -o loop $img $mnt"; then
	odp file $mnt/shared disk
	check "umount the ext4" umount $mnt
fi
odp_no_objects "no ODP object left"
odp_unload
