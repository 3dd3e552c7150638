# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# ODP memory regions through libibverbs: the device's ODP caps, explicit
# and implicit ODP MRs pin nothing, ibv_advise_mr (each advice, FLUSH, each
# documented error), and the per-MR counters in "rdma statistic show mr"
# and "rdma resource show mr -dd".

# shellcheck source=tests/cases/mr-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mr-lib.sh"

mr_setup

info=$(ibv_devinfo -v -d sodp0 2>&1)
# The lines of the section that starts with $1: up to the next "name:" line.
section() { awk -v s="$1:" '$1 == s { on = 1; next } on && /:/ { exit } on { print $1 }' <<<"$info" | tr '\n' ' '; }
check_eq "ibv_devinfo -v: general_odp_caps" "ODP_SUPPORT ODP_SUPPORT_IMPLICIT " "$(section general_odp_caps)"
check_eq "ibv_devinfo -v: rc_odp_caps are exactly what the RC data path does" \
	"SUPPORT_SEND SUPPORT_RECV SUPPORT_WRITE SUPPORT_READ SUPPORT_ATOMIC SUPPORT_SRQ " \
	"$(section rc_odp_caps)"
check_eq "ibv_devinfo -v: no ODP over UC or UD (no such QPs)" "NO NO " \
	"$(section uc_odp_caps)$(section ud_odp_caps)"
check_out "ibv_devinfo -v: max_mr_size covers implicit ODP" 'max_mr_size:\s+0xffffffffffffffff$' echo "$info"
check_out "ibv_devinfo -v: page_size_cap 4 KiB" 'page_size_cap:\s+0x1000$' echo "$info"
check_out "ibv_devinfo -v: max_mr 1048576" 'max_mr:\s+1048576$' echo "$info"

mr odp
mr_no_objects "odp"
mr advise
mr_no_objects "advise"

# Counters of a held ODP MR (64 pages prefetched for write, then 16 dropped
# with MADV_DONTNEED, then the process forks the checker: fork
# write-protects the parent's pages, which invalidates more).
cat >"$SODP_OUT/mr-counters.sh" <<'EOS'
stat=$(rdma statistic show mr)
res=$(rdma resource show mr -dd)
echo "$stat" | sed 's/^/# stat: /'
echo "$res" | sed 's/^/# res: /'
key=$SODP_MR_ODP_LKEY
mrn=$(awk -v k="$key" '{ for (i = 1; i < NF; i++) if ($i == "lkey" && $(i + 1) == k) for (j = 1; j < NF; j++) if ($j == "mrn") print $(j + 1) }' <<<"$res")
[ -n "$mrn" ] || { echo "not ok - the ODP MR (lkey $key) is in rdma resource show mr"; exit 1; }
echo "ok - the ODP MR (lkey $key) is mrn $mrn in rdma resource show mr"
line=$(grep -E "mrn $mrn " <<<"$stat")
val() { awk -v n="$1" '{ for (i = 1; i < NF; i++) if ($i == n) print $(i + 1) }' <<<"$line"; }
for c in page_faults page_faults_handled page_invalidations page_invalidations_handled page_prefetch; do
	[ -n "$(val $c)" ] && echo "ok - rdma statistic show mr: $c" || echo "not ok - rdma statistic show mr: no $c in '$line'"
done
[ "$(val page_prefetch)" = 64 ] && echo "ok - page_prefetch 64" || echo "not ok - page_prefetch: want 64, got $(val page_prefetch)"
[ "$(val page_invalidations)" -ge 1 ] && echo "ok - page_invalidations >= 1" || echo "not ok - page_invalidations: $(val page_invalidations)"
[ "$(val page_invalidations_handled)" -ge 16 ] && echo "ok - page_invalidations_handled >= 16 (MADV_DONTNEED of 16 pages)" ||
	echo "not ok - page_invalidations_handled: $(val page_invalidations_handled)"
[ "$(val page_faults)" = 0 ] && echo "ok - page_faults 0 (only prefetches)" || echo "not ok - page_faults: $(val page_faults)"
rline=$(grep -E "mrn $mrn " <<<"$res")
for c in odp page_faults page_faults_handled page_invalidations page_invalidations_handled page_prefetch pages_present; do
	grep -q "drv_$c " <<<"$rline" && echo "ok - rdma resource show mr -dd: drv_$c" || echo "not ok - rdma resource show mr -dd: no drv_$c in '$rline'"
done
grep -q "drv_odp explicit " <<<"$rline" && echo "ok - the explicit MR says odp explicit" || echo "not ok - odp explicit not in '$rline'"
grep -qE "lkey $SODP_MR_IMPLICIT_LKEY .*drv_odp implicit " <<<"$res" && echo "ok - the implicit MR says odp implicit" || echo "not ok - implicit MR line"
grep -qE "lkey $SODP_MR_PIN_LKEY .*drv_odp no drv_pinned_pages 16 " <<<"$res" && echo "ok - the pinned MR says odp no, pinned_pages 16" || echo "not ok - pinned MR line"
pin_mrn=$(grep -E "lkey $SODP_MR_PIN_LKEY " <<<"$res" | awk '{ for (j = 1; j < NF; j++) if ($j == "mrn") print $(j + 1) }')
grep -qE "mrn $pin_mrn $" <<<"$stat" && echo "ok - the pinned MR has no counters in rdma statistic (as mlx5)" || echo "not ok - pinned MR stat line"
exit 0
EOS
mr hold bash "$SODP_OUT/mr-counters.sh"
mr_no_objects "hold"

mr_teardown
dmesg_clean
