# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ci: default-kernel
# perftest over RC on sodp0, server and client in one guest, pinned and
# --odp: ib_write_bw, ib_read_bw, ib_send_bw, ib_atomic_bw, ib_write_lat,
# ib_read_lat, ib_send_lat, and -a (every size) for write and read bw.
# Each run asserts that perftest's result table has a positive bandwidth
# or latency, not just the exit status. Iterations are small: TCG is slow.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup

# pt NAME COLUMN MINROWS PROG ARGS...: the client's result rows (lines that
# start with two integers) have COLUMN > 0, and there are MINROWS of them.
# perftest prints two decimals: a 2-byte row of a short -a run may show
# 0.00 MB/s, so rows under 64 bytes only need to be there.
# Column 4 of a bw row is "BW average[MB/sec]"; column 6 of a lat row is
# "t_avg[usec]" (column 3 is t_min).
# perftest converts cycles to time with a CPU frequency it measures by a
# linear fit; on a loaded host a TCG guest's timing is so noisy that the fit
# fails ("Can't produce a report") or yields no frequency (every latency
# "inf"). Such a run says nothing about the device: it is repeated, four
# times at most, and the retry is reported.
pt_clock_failed() {
	grep -qE "Can't produce a report|Correlation coefficient" /tmp/pt.c /tmp/pt.s ||
		awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 == "inf" { f = 1 } END { exit !f }' /tmp/pt.c
}
pt() {
	local name=$1 col=$2 min=$3 rows vals try ok_run
	shift 3
	for try in 1 2 3 4 5; do
		ok_run=0
		rc_pair "$name" /tmp/pt.s /tmp/pt.c "$@" -d "$RC_DEV" -x "$RC_GID" && ok_run=1
		pt_clock_failed || break
		echo "# $name: perftest could not calibrate its clock (try $try), again"
	done
	if [ "$ok_run" = 1 ]; then
		rows=$(awk -v c="$col" '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && NF >= c { n++; if ($c + 0 > 0 || $1 < 64) p++ }
			END { printf "%d %d", n, p }' /tmp/pt.c)
		vals=$(awk -v c="$col" '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && NF >= c { printf "%s:%s ", $1, $c }' /tmp/pt.c)
		if [ "${rows% *}" -ge "$min" ] && [ "${rows% *}" = "${rows#* }" ]; then
			ok "$name: ${vals% }"
		else
			not_ok "$name" "result rows (total, positive) = $rows, want >= $min: $(rc_show /tmp/pt.c)"
		fi
	else
		not_ok "$name" "server rc=$RC_SRV_RC: $(rc_show /tmp/pt.s) client rc=$RC_CLI_RC: $(rc_show /tmp/pt.c)"
	fi
}

odps=("")
if rc_is_sodp; then
	odps+=(--odp)
else
	echo "# --odp runs: sodp only (rxe on 6.12 has no ODP)"
fi
# shellcheck disable=SC2086 # $odp is empty or one word
for odp in "${odps[@]}"; do
	pt "ib_write_bw 64 KiB $odp" 4 1 ib_write_bw -s 65536 -n 200 $odp
	pt "ib_read_bw 64 KiB $odp" 4 1 ib_read_bw -s 65536 -n 200 $odp
	pt "ib_send_bw 64 KiB $odp" 4 1 ib_send_bw -s 65536 -n 200 $odp
	if [ -z "$odp" ]; then
		pt "ib_atomic_bw" 4 1 ib_atomic_bw -n 200
	else
		# perftest 4.5 itself refuses ODP with atomics; ODP atomics
		# are tested by 74-rc-odp-change (sodp_rc_check ops).
		check_fail "ib_atomic_bw --odp: perftest refuses ODP atomics itself" \
			'ODP does not support ATOMICS' \
			timeout 60 ib_atomic_bw -d "$RC_DEV" -x "$RC_GID" --odp -p 18699
	fi
	pt "ib_write_lat 64 B $odp" 6 1 ib_write_lat -s 64 -n 200 $odp
	pt "ib_read_lat 64 B $odp" 6 1 ib_read_lat -s 64 -n 200 $odp
	pt "ib_send_lat 64 B $odp" 6 1 ib_send_lat -s 64 -n 200 $odp
	pt "ib_write_bw -a (2 B to 8 MiB) $odp" 4 23 ib_write_bw -a -n 10 $odp
	pt "ib_read_bw -a (2 B to 8 MiB) $odp" 4 23 ib_read_bw -a -n 10 $odp
done

rc_no_objects "after perftest"
rc_teardown
rc_dmesg_clean
