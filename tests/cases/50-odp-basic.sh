# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ODP layer through /dev/sodp_odp_test: creation snapshot, device reads and
# writes through the translation entries, inline faults, argument checks,
# region-to-region copy, destruction, no leaks, unload.

# shellcheck source=tests/cases/odp-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/odp-lib.sh"

odp_load
check "debugfs sodp/odp lists the live ODP objects" test -r /sys/kernel/debug/sodp/odp
odp basic
odp_no_objects "no ODP object left after the program exited"
odp_unload
