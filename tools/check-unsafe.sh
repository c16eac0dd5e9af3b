#!/usr/bin/env bash
# Every `unsafe` block in the driver carries a `// SAFETY:` comment within the
# three lines above it, and driver logic (core/, interface/) has no unsafe.
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files 'drivers/*.rs'); do
	awk -v f="$f" '
		{ line[NR] = $0 }
		/unsafe[[:space:]]*\{/ && $0 !~ /^[[:space:]]*\/\// {
			ok = 0
			for (i = NR; i >= NR - 3 && i > 0; i--) if (line[i] ~ /SAFETY:/) ok = 1
			if (!ok) { printf "%s:%d: unsafe block without SAFETY comment\n", f, NR; bad = 1 }
		}
		END { exit bad }' "$f" || bad=1
done
if git grep -n 'unsafe' -- 'drivers/core' 'drivers/interface' | grep -v '^\S*:\s*//' ; then
	echo "unsafe code outside drivers/abstractions"
	bad=1
fi
exit $bad
