#!/usr/bin/env bash
# Build the test kernel from Debian's linux-source-6.12 with a config fragment.
#
# usage: build.sh FRAGMENT... -- LINK
#   The build is cached under $RSG_CACHE (default ~/.cache/rsg), keyed by the
#   source version and the fragments' content. LINK is made to point at it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
frags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do frags+=("$(realpath "$1")"); shift; done
[ "${1:-}" = "--" ] && shift
link=${1:?usage: build.sh FRAGMENT... -- LINK}

cache=${RSG_CACHE:-$HOME/.cache/rsg}
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || { echo "kernel: linux-source-6.12 is not installed" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
rustc_v=$(rustc --version | cut -d' ' -f2)
key=$( (echo "$version $rustc_v"; cat "${frags[@]}") | sha256sum | cut -c1-12)
dir=$cache/linux-$version-$key

mkdir -p "$(dirname "$link")"
if [ -f "$dir/.rsg-built" ]; then
	ln -sfn "$dir" "$link"
	exit 0
fi

echo "kernel: building $dir (source $version, fragments ${frags[*]##*/})"
rm -rf "$dir"
mkdir -p "$dir"
tar -xf "$tarball" -C "$dir" --strip-components=1
export PATH="$HOME/.cargo/bin:$PATH"
mk() { make -C "$dir" LLVM=1 -j"$(nproc)" "$@"; }
mk -s tinyconfig
"$dir/scripts/kconfig/merge_config.sh" -m -O "$dir" "$dir/.config" "${frags[@]}" >/dev/null
mk -s olddefconfig
# Verify every requested option made it into the final config; a later
# fragment overrides an earlier one.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		grep -q "^$opt=" "$dir/.config" && { echo "kernel: $opt still set" >&2; bad=1; } ;;
	CONFIG_*) grep -qx "$line" "$dir/.config" ||
		{ echo "kernel: $line did not stick" >&2; bad=1; } ;;
	esac
done < <(cat "${frags[@]}" | grep '^CONFIG_' | tac | awk -F= '!seen[$1]++' | tac)
[ $bad -eq 0 ] || exit 1
mk -s bzImage modules
touch "$dir/.rsg-built"
ln -sfn "$dir" "$link"
echo "kernel: done"
