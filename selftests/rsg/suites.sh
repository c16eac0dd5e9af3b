# Shared by the in-VM entry points (sourced after tap.sh): running TAP
# suites, adding up their results, and waiting for a fresh LU.
# The caller sets tmp, suite_timeout and hctl, and passed=failed=0.

# selected NAME: whether the suite runs in this boot. RSG_SUITES_FROM=NAME
# runs NAME and the suites after it, RSG_SUITES_BEFORE=NAME those before it;
# setup always runs. make check splits the debug kernel's suites in two.
selected() {
	[ "$1" = setup ] && return 0
	[ "$1" = "${RSG_SUITES_FROM:-}" ] && sel_from=1
	[ "$1" = "${RSG_SUITES_BEFORE:-}" ] && sel_before=1
	[ -z "${RSG_SUITES_FROM:-}" ] || [ "${sel_from:-0}" = 1 ] || return 1
	[ "${sel_before:-0}" = 0 ]
}

# run_suite NAME COMMAND...: run one TAP producer and add up its results. A
# missing plan, fewer results than planned or a failing exit status with no
# "not ok" counts as a failure.
run_suite() {
	local name=$1 log=$tmp/$1.log rc p f plan start=$SECONDS
	shift
	if ! selected "$name"; then
		echo "# ===== $name: not selected in this boot"
		return 0
	fi
	echo "# ===== $name"
	if declare -F "$1" > /dev/null; then
		"$@"
	else
		timeout -k 5 "$suite_timeout" "$@"
	fi 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)
	if [ -z "$plan" ]; then
		echo "# $name: no TAP plan (exit status $rc)"
		f=$((f + 1))
	elif [ $((p + f)) -lt "$plan" ]; then
		echo "# $name: $((p + f)) results of $plan planned"
		f=$((f + plan - p - f))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "# $name: exit status $rc"
		f=$((f + 1))
	fi
	echo "# $name: $p passed, $f failed ($((SECONDS - start)) s)"
	passed=$((passed + p))
	failed=$((failed + f))
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

node_found() {
	[ -n "$(node_of "$hctl" "$1")" ] && [ -c "$(node_of "$hctl" "$1")" ]
}

# ua_cleared DRIVER: take the unit attention a new (or reset) LU reports
# first, through DRIVER's node, so that no suite is charged with it.
ua_cleared() {
	local i
	for i in 1 2 3 4 5; do
		sg_turs "$(node_of "$hctl" "$1")" > /dev/null 2>&1 && return 0
	done
	return 1
}
