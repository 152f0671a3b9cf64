#!/usr/bin/env bash
# Builds the Rust version of every example plugin, plugins/examples/<name>/rust,
# to OUTDIR/<name>-rust.wasm: a wasm32-unknown-unknown module that imports
# nothing (ABI.md), built with Debian 12's rustc (1.63) and cargo.
#
#   bash plugins/build-rust.sh OUTDIR
#
# Installs rustc, cargo and libstd-rust-dev-wasm32 with apt-get when
# /usr/bin/rustc or its wasm32 standard library is missing (as root, or
# through sudo). Builds offline: the crates have no dependency but the SDK,
# plugins/rust/floe-plugin, by path. Each crate's release profile (lto,
# panic=abort, opt-level 3) and .cargo/config.toml (bulk memory) apply.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Debian's toolchain, not a rustup one earlier on PATH (which has no wasm32
# target here): cargo runs $RUSTC.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
cargo=/usr/bin/cargo
target=wasm32-unknown-unknown

have_toolchain() {
	[[ -x $RUSTC && -x $cargo ]] || return 1
	local sysroot
	sysroot=$("$RUSTC" --print sysroot) || return 1
	compgen -G "$sysroot/lib/rustlib/$target/lib/libstd-*.rlib" >/dev/null
}

if ! have_toolchain; then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		sudo=(sudo)
	fi
	pkgs=(rustc cargo libstd-rust-dev-wasm32)
	echo "installing ${pkgs[*]} with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"; then
		"${sudo[@]}" apt-get update
		"${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"
	fi
	if ! have_toolchain; then
		echo "$0: $RUSTC with the $target standard library is still missing" >&2
		exit 1
	fi
fi

for dir in "$here"/examples/*/rust; do
	[[ -f $dir/Cargo.toml ]] || continue
	name=$(basename "$(dirname "$dir")")
	# The crate's lib is named after the example: target/.../<name>.wasm.
	(cd "$dir" && "$cargo" build --offline --locked --release --target "$target" --quiet)
	cp "$dir/target/$target/release/$name.wasm" "$out/$name-rust.wasm"
	echo "$out/$name-rust.wasm"
done
