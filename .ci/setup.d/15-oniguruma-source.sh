#!/usr/bin/env bash
# Oniguruma's C source for the tokenizer's regex engine (src/tokenizer/regex.cpp),
# compiled into both the native and the wasm builds (cmake/oniguruma.cmake).
# Why Oniguruma 6.9.8: it is the engine Python `tokenizers` runs (the onig_sys
# crate bundles 6.9.8), so Split/ByteLevel patterns mean exactly what they mean
# there, Unicode property tables included. Why from Debian's source package:
# it is the pristine upstream tarball (checked against the .dsc's SHA-256 below),
# one source for both targets; npm's `oniguruma` bundles 5.9 (old Unicode data)
# and PyPI's bindings ship no C source. Fetched with apt-get source through a
# private deb-src list (the system's apt configuration is left untouched) into
# build/third_party/oniguruma-6.9.8 (git-ignored). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=6.9.8
debian_version=6.9.8-1
sha256=26372720bab6733c869a9eb69377f73971138dc5e3eff4a81f5ba8aea5435fb2
dest="$root/build/third_party/oniguruma-$version"
if [ -s "$dest/src/regexec.c" ] && [ "$(cat "$dest/SHA256" 2>/dev/null)" = "$sha256" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/src"
echo "deb-src http://deb.debian.org/debian bookworm main" > "$work/sources.list"
apt_opts=(-o Dir::Etc::sourcelist="$work/sources.list" -o Dir::Etc::sourceparts=/dev/null
          -o Dir::State::Lists="$work/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -q >/dev/null
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only -q "libonig=$debian_version" >/dev/null)
tarball="$work/src/libonig_$version.orig.tar.gz"
echo "$sha256  $tarball" | sha256sum -c --quiet -
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
tar -xzf "$tarball" -C "$work"
mv "$work/oniguruma-$version" "$dest"
echo "$sha256" > "$dest/SHA256"
echo "oniguruma: Debian libonig $debian_version source -> $dest"
