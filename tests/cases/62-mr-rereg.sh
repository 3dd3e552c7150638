# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ibv_rereg_mr: each flag and their errors; then ibv_advise_mr racing
# reregistration and deregistration while rdma tools read the MRs.

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"

mr_setup

mr rereg
mr_no_objects "rereg"

# The race, with restrack readers (fill_res_mr_entry, fill_stat_mr_entry)
# running against the reregistrations.
( while :; do rdma resource show mr -dd; rdma statistic show mr; done ) >/dev/null 2>&1 &
reader=$!
mr race 10
kill "$reader"
wait "$reader" 2>/dev/null
mr_no_objects "race"

mr_teardown
dmesg_clean
