# TAP helpers for the rsg test scripts (sourced). The plan is printed at the
# end, so a script that dies early has none and is counted as failed.

tap_n=0
tap_failed=0

tap_begin() {
	echo "TAP version 13"
}

# ok DESCRIPTION / not_ok DESCRIPTION [DETAIL...]
ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n $1"
}

not_ok() {
	local d=$1
	shift
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n $d"
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/# /'
}

# check DESCRIPTION COMMAND...: one test point from COMMAND's exit status.
check() {
	local d=$1
	shift
	if "$@"; then
		ok "$d"
	else
		not_ok "$d" "failed: $*"
	fi
}

# check_eq DESCRIPTION EXPECTED SEEN
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $2" "seen: $3"
	fi
}

tap_end() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local t=$(($1 * 10))
	shift
	while [ $t -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

# name_as_dev FILE NODE: NODE's name in FILE replaced by DEV, so that the
# outputs of two drivers compare. Builtins, not sed: a fork costs tens of
# ms under TCG. The file ends in one newline (an "exit status" line).
name_as_dev() {
	local c
	c=$(< "$1")
	printf '%s\n' "${c//"$2"/DEV}" > "$1"
}

gone() {
	[ ! -e "$1" ]
}
