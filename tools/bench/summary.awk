# Summarise `make bench`: awk -f summary.awk -v dat=RATIOS.DAT WORKLOADS RESULTS.CSV
#
# Per workload (in the table's order), the medians over the rounds of the
# table's metric for sg, rsg and sg2; rsg/sg as the ratio of the medians and
# its spread as the lowest and highest per-round ratio; the noise as sg2/sg
# the same way. Then the targets, PASS or MISS. Writes the plot's data
# (index, name, ratio, low, high, noise low, noise high, pass: 1 met, 0 missed,
# 2 no target) to `dat`.
BEGIN { FS = "[ \t]+" }
FNR == NR {
	if ($0 ~ /^#/ || NF < 5) next
	order[++n] = $1; prof[$1] = $2; metric[$1] = $3; target[$1] = $4
	next
}
FNR == 1 { FS = ","; $0 = $0 }
$1 == "workload" { next }
{
	if (!($1 in metric) || $4 != metric[$1]) next
	v[$1, $2, $3] = $5
	if ($3 > rounds) rounds = $3
	vals[$1, $2] = vals[$1, $2] " " $5
}
function median(s,   a, m, i, j, t) {
	m = split(s, a, " ")
	if (!m) return ""
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
# The lowest and highest per-round ratio of drv to sg, into lo[] and hi[].
function range(w, drv,   r, x, any) {
	lo[w, drv] = hi[w, drv] = ""
	for (r = 1; r <= rounds; r++) {
		if (!((w, drv, r) in v) || !((w, "sg", r) in v) || v[w, "sg", r] <= 0) continue
		x = v[w, drv, r] / v[w, "sg", r]
		if (!any || x < lo[w, drv]) lo[w, drv] = x
		if (!any || x > hi[w, drv]) hi[w, drv] = x
		any = 1
	}
	return any
}
function fmt(x) {
	if (x == "") return "-"
	if (x >= 1000) return sprintf("%.0f", x)
	return sprintf("%.4g", x)
}
END {
	printf "%-18s %-5s %-13s %10s %10s %7s %-13s %7s %-13s %s\n", "workload", "prof", "metric",
		"sg", "rsg", "rsg/sg", "spread", "sg2/sg", "noise", "target"
	for (i = 1; i <= n; i++) {
		w = order[i]
		s[w] = median(vals[w, "sg"]); r[w] = median(vals[w, "rsg"]); s2 = median(vals[w, "sg2"])
		ratio[w] = (s[w] > 0 && r[w] != "") ? r[w] / s[w] : ""
		noise[w] = (s[w] > 0 && s2 != "") ? s2 / s[w] : ""
		if (target[w] == "sgbest" && s[w] > best[prof[w]]) { best[prof[w]] = s[w]; bestw[prof[w]] = w }
	}
	for (i = 1; i <= n; i++) {
		w = order[i]
		if (s[w] == "" && r[w] == "") continue
		sp = range(w, "rsg") ? sprintf("%.2f-%.2f", lo[w, "rsg"], hi[w, "rsg"]) : "-"
		nz = range(w, "sg2") ? sprintf("%.2f-%.2f", lo[w, "sg2"], hi[w, "sg2"]) : "-"
		# The band of sg against itself always holds 1.
		nlo = lo[w, "sg2"]; nhi = hi[w, "sg2"]
		if (nlo == "" || nlo > 1) nlo = 1
		if (nhi == "" || nhi < 1) nhi = 1
		rlo = lo[w, "rsg"]; rhi = hi[w, "rsg"]
		if (rlo == "") { rlo = rhi = ratio[w] }
		t = target[w]; res = ""
		if (ratio[w] == "") {
			res = "MISS (no data)"; pass = 0
		} else if (t == "info") {
			res = "INFO (no target: sg cannot run this interface)"; pass = 2
		} else if (t ~ /^x[0-9.]+$/) {
			# xF: F times sg's best; without the profile's sgbest rows,
			# the row's own sg side.
			f = substr(t, 2) + 0
			b = best[prof[w]]; bw = bestw[prof[w]]
			if (b <= 0) { b = s[w]; bw = w }
			pass = b > 0 && r[w] >= f * b
			res = sprintf("%s rsg >= %s x sg's best single-fd IOPS (%s of %s)",
				pass ? "PASS" : "MISS", substr(t, 2), fmt(b), bw)
		} else if (t == "le1") {
			pass = ratio[w] <= 1
			res = (pass ? "PASS" : "MISS") " rsg <= sg"
			if (!pass && ratio[w] <= nhi) res = res " (within noise)"
		} else {
			pass = ratio[w] >= 1
			res = (pass ? "PASS" : "MISS") " rsg >= sg"
			if (!pass && ratio[w] >= nlo) res = res " (within noise)"
		}
		printf "%-18s %-5s %-13s %10s %10s %7s %-13s %7s %-13s %s\n", w, prof[w], metric[w], fmt(s[w]),
			fmt(r[w]), ratio[w] == "" ? "-" : sprintf("%.2f", ratio[w]), sp,
			noise[w] == "" ? "-" : sprintf("%.2f", noise[w]), nz, t
		targets[++nt] = sprintf("%-18s %s", w, res)
		if (pass == 2) ninfo++
		else npass += pass
		if (dat != "" && ratio[w] != "")
			printf "%d %s %.4f %.4f %.4f %.4f %.4f %d\n", ++k, w, ratio[w], rlo, rhi, nlo, nhi, pass > dat
		if (noise[w] != "") { d = noise[w] - 1; dev[++nd] = d < 0 ? -d : d }
	}
	printf "\nTargets (informational): %d of %d PASS\n", npass, nt - ninfo
	for (i = 1; i <= nt; i++) print "  " targets[i]
	if (nd) {
		for (i = 1; i <= nd; i++) devs = devs " " dev[i]
		m = 0
		for (i = 1; i <= nd; i++) if (dev[i] > m) m = dev[i]
		printf "\nNoise: sg2/sg differs from 1 by %.1f%% (median over workloads), %.1f%% at most;\n",
			median(devs) * 100, m * 100
		printf "An rsg/sg inside its workload's sg2/sg range (noise) is no difference between the drivers.\n"
	}
}
