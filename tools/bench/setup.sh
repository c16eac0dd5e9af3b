#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What `make bench` needs besides the build: sg3_utils and fio in the VM
# (the host's root filesystem), gnuplot for the plot. Idempotent.
set -euo pipefail
missing=()
for p in sg3-utils fio gnuplot-nox; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bench: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" > /dev/null
