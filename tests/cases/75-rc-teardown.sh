# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Teardown with RC traffic in flight: destroy an MR, a QP, a CQ while
# another thread posts; exit and kill -9 in the middle of WRITE streams and
# of a perftest bandwidth run. Afterwards nothing is left, the device is
# deleted, sodp unloads (no stuck worker) and the kernel log is clean.

# shellcheck source=tests/cases/rc-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/rc-lib.sh"

rc_setup

rc teardown
rc_no_objects "teardown"
check_out "a process exits with QPs streaming WRITEs" 'exiting with [0-9]+ WRITEs posted' \
	sodp_rc_check "$RC_DEV" teardown exit
rc_no_objects "exit with traffic"

# kill -9 of a process streaming WRITEs (two threads: poster and main)
for i in 1 2 3; do
	sodp_rc_check "$RC_DEV" stream 60 >/tmp/stream.out 2>&1 &
	pid=$!
	wait_until 60 grep -q '^streaming' /tmp/stream.out
	sleep 1
	kill -9 "$pid"
	wait "$pid"
	check_eq "kill -9 of a WRITE stream ($i)" 137 "$?"
done
rc_no_objects "after kill -9 of WRITE streams"

# kill -9 of both ends of an ib_write_bw run in the middle of it
port=18700
for bw in ib_write_bw ib_send_bw ib_read_bw; do
	port=$((port + 1))
	timeout 120 "$bw" -d "$RC_DEV" -x "$RC_GID" -s 65536 -D 60 -p "$port" >/tmp/bw.s 2>&1 &
	spid=$!
	if wait_until 60 rc_listening "$port"; then
		# no timeout(1) in between: kill -9 hits perftest itself (stdbuf
		# execs it); line-buffered, so its progress shows in the file
		stdbuf -oL "$bw" -d "$RC_DEV" -x "$RC_GID" -s 65536 -D 60 -p "$port" 127.0.0.1 >/tmp/bw.c 2>&1 &
		cpid=$!
		# running once the client has exchanged the QP addresses
		wait_until 60 grep -q 'remote address' /tmp/bw.c
		sleep 3
		kill -9 "$cpid"
		wait "$cpid"
		check_eq "$bw: client killed with -9 in the middle of the run" 137 "$?"
		sleep 1
		# spid is timeout(1): kill the server perftest itself.
		pkill -9 -x "$bw"
		wait "$spid"
		ok "$bw: server ended ($?)"
	else
		not_ok "$bw server listens" "$(rc_show /tmp/bw.s)"
		kill -9 "$spid"
	fi
done
rc_no_objects "after kill -9 of perftest"

if rc_is_sodp; then
	# shellcheck disable=SC2016
	check_out "no task sleeps in sodp (no stuck worker)" '^none$' \
		bash -c 'grep -l "sodp" /proc/[0-9]*/stack 2>/dev/null | grep . || echo none'
	check "rdma link delete sodp0" rdma link delete sodp0
	check "rmmod sodp within 60 s" timeout 60 rmmod sodp
	check "sodp is unloaded" test ! -d /sys/module/sodp
else
	rc_teardown
fi
rc_dmesg_clean
