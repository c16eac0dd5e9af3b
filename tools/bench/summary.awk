# Summarise the CSV of tools/bench/xfer.sh: per case, the median MB/s of
# each driver over the rounds, the rsg/sg ratio, and the spread (max/min-1)
# of each driver's rounds.
BEGIN { FS = "," }
NR == 1 || !/^(sg|rsg),/ { next }
{
	key = $2 "," $3 "," $4
	if (!(key in seen)) { order[++n] = key; seen[key] = 1 }
	v[key, $1, ++cnt[key, $1]] = $6
	if ($1 == "rsg") dio[key] = $8
}
function median(key, drv,   m, i, j, t, a) {
	m = cnt[key, drv]
	for (i = 1; i <= m; i++) a[i] = v[key, drv, i]
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	if (m % 2) return a[(m + 1) / 2]
	return (a[m / 2] + a[m / 2 + 1]) / 2
}
function spread(key, drv,   m, i, lo, hi) {
	m = cnt[key, drv]; lo = hi = v[key, drv, 1]
	for (i = 2; i <= m; i++) { if (v[key, drv, i] < lo) lo = v[key, drv, i]; if (v[key, drv, i] > hi) hi = v[key, drv, i] }
	if (lo <= 0) return 0
	return (hi / lo - 1) * 100
}
END {
	printf "%-9s %-5s %8s %10s %10s %7s %8s %8s %6s\n", "mode", "dir", "bytes", "sg MB/s", "rsg MB/s", "rsg/sg", "sg ±%", "rsg ±%", "dio"
	for (i = 1; i <= n; i++) {
		split(order[i], k, ",")
		s = median(order[i], "sg"); r = median(order[i], "rsg")
		ratio = 0; if (s > 0) ratio = r / s
		printf "%-9s %-5s %8s %10.1f %10.1f %7.2f %8.1f %8.1f %6s\n", k[1], k[2], k[3], s, r, ratio, spread(order[i], "sg"), spread(order[i], "rsg"), dio[order[i]]
	}
}
