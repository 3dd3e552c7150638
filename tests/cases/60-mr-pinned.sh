# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Pinned memory regions through libibverbs: sizes, access rights, keys,
# VmPin accounting, RLIMIT_MEMLOCK with and without CAP_IPC_LOCK, access
# and address errors, no leftovers.

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"

NOCAP=(setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock)
mr_setup
check "debugfs counts MRs" grep -q '^mrs 0$' /sys/kernel/debug/sodp/objects

mr pinned
mr_no_objects "pinned"
mr keys 1000
mr_no_objects "keys"
mr access
mr_no_objects "access"

# RLIMIT_MEMLOCK of 256 kB. The guest runs as root: CAP_IPC_LOCK is dropped
# from the bounding and inheritable sets for the refusal.
check "root has CAP_IPC_LOCK" capsh --has-p=cap_ipc_lock
check "setpriv drops CAP_IPC_LOCK" \
	bash -c '! "$@" capsh --has-p=cap_ipc_lock 2>/dev/null' - "${NOCAP[@]}"
asserts "memlock nocap" bash -c 'ulimit -l 256 && exec "$@" sodp_mr_check sodp0 memlock nocap' \
	- "${NOCAP[@]}"
asserts "memlock cap" bash -c 'ulimit -l 256 && exec sodp_mr_check sodp0 memlock cap'
mr_no_objects "memlock"

mr_teardown
dmesg_clean
