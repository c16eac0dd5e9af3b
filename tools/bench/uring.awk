# Averages tools/bench/uring.sh's rounds: one line per block size, depth and
# engine, with IOPS, MB/s and latency percentiles.
BEGIN { FS = "," }
NR == 1 || $5 == "error" { if ($5 == "error") err[$1 "," $3 "," $4]++; next }
{
	k = $3 "," $4 "," $1
	if (!(k in n)) order[++keys] = k
	n[k]++; mb[k] += $7; io[k] += $8; p50[k] += $9; p99[k] += $10
}
END {
	printf "%-5s %5s %-6s %9s %8s %9s %9s\n", "bs", "depth", "engine", "IOPS", "MB/s", "p50 us", "p99 us"
	for (i = 1; i <= keys; i++) {
		k = order[i]; split(k, f, ",")
		printf "%-5s %5s %-6s %9.0f %8.1f %9.0f %9.0f\n", f[1], f[2], f[3],
			io[k] / n[k], mb[k] / n[k], p50[k] / n[k], p99[k] / n[k]
	}
	for (k in err) printf "errors: %s (%d)\n", k, err[k]
}
