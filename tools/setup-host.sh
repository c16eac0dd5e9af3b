#!/usr/bin/env bash
# Install what building and testing rsg needs on a Debian 12 host.
# Idempotent: every step checks first and does nothing when already done.
set -euo pipefail

PKGS=(
	make bc flex bison cpio xz-utils rsync kmod
	clang lld llvm libclang-dev
	libelf-dev libssl-dev
	linux-source-6.12
	qemu-system-x86
	sg3-utils fio
	gcc-multilib
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v rustup >/dev/null; then
	echo "setup: rustup is required (https://rustup.rs)" >&2
	exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
	rustup component add rust-src
rustup component list --installed 2>/dev/null | grep -q '^clippy' ||
	rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' ||
	rustup component add rustfmt
if ! bindgen --version 2>/dev/null | grep -q '0\.69\.5'; then
	echo "setup: installing bindgen-cli 0.69.5"
	cargo install --locked --quiet bindgen-cli@0.69.5
fi
