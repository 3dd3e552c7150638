# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Faults on one QP do not stall the others (tests/progs/sodp_rc_check.c
# stall): a 64 MiB RDMA WRITE from and into untouched ODP memory, every
# target page faulted in by the engine, runs on one QP pair while another
# pair does 200 SEND round trips; those all complete before the WRITE does,
# and the WRITE then completes with the data. ODP is required on sodp.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup
rc stall 64
rc_no_objects "stall"
rc_teardown
rc_dmesg_clean
