#!/usr/bin/env bash
# Recompute vendorHash in nix/package.nix, the way Nix computes it, without
# building anything with Nix.
#
# Usage: nix/update-vendor-hash.sh          rewrite nix/package.nix if stale
#        nix/update-vendor-hash.sh --print  only print the hash
#
# Why this equals Nix's vendorHash: buildGoModule builds a fixed-output
# derivation (outputHashMode = "recursive") that unpacks `src`, runs
# `go mod vendor` in it and copies the resulting vendor/ directory to $out.
# Its hash is the NAR hash (sha256, SRI) of that directory. This script
# does the same steps: it lays out the same source set as package.nix (every
# tracked .go file, go.mod and go.sum: `go mod vendor` also vendors what the
# main module's tests import, so the set matters), runs `go mod vendor` with
# no network beyond the module proxy, and hashes vendor/ as a NAR with Nix's
# own hashing (`nix hash path`, or `nix-hash` on older Nix). NAR
# serialisation records only names, contents, the executable bit and
# symlinks, so owners, timestamps and the umask do not change the hash.
#
# Files are taken from git's index (what a flake sees: tracked files, with
# their working-tree contents), so `git add` a new .go file before running.
#
# Caveat: vendor/modules.txt is written by the Go toolchain that runs `go mod
# vendor`; Nix uses Go 1.25 (buildGo125Module). Go 1.25.0 and 1.26.8 write
# identical vendor trees for this module; if a later Go changes the format,
# run with GOTOOLCHAIN=go1.25.0 (the go command fetches that toolchain).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$root/nix/package.nix"
print_only=false
case "${1-}" in
  --print) print_only=true ;;
  "") ;;
  *) echo "usage: $0 [--print]" >&2; exit 2 ;;
esac

tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

# The source set of package.nix, from the index.
mkdir "$tmp/src"
(
  cd "$root"
  git ls-files -z --cached -- '*.go' go.mod go.sum |
    while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done |
    tar --null -T - -cf -
) | tar -C "$tmp/src" -xf -

(
  cd "$tmp/src"
  # As buildGoModule's go-modules derivation: module mode, no workspace,
  # no vendor directory in the source.
  export GO111MODULE=on GOWORK=off GOFLAGS=
  rm -rf vendor
  go mod vendor
)

vendor="$tmp/src/vendor"
if hash="$(nix --extra-experimental-features nix-command hash path --type sha256 "$vendor" 2>/dev/null)" &&
  [[ "$hash" == sha256-* ]]; then
  :
else
  # Older or restricted Nix: base16 NAR hash, converted to SRI.
  hex="$(nix-hash --type sha256 "$vendor")"
  hash="sha256-$(printf '%s' "$hex" | perl -ne 'print pack("H*", $_)' | base64 -w0)"
fi

if $print_only; then
  echo "$hash"
  exit 0
fi

old="$(sed -n 's/^[[:space:]]*vendorHash = "\(.*\)";.*/\1/p' "$pkg")"
if [ -z "$old" ]; then
  echo "update-vendor-hash: no vendorHash line in $pkg" >&2
  exit 1
fi
if [ "$old" = "$hash" ]; then
  echo "vendorHash is up to date: $hash"
  exit 0
fi
sed -i "s|^\([[:space:]]*vendorHash = \"\).*\(\";.*\)|\1$hash\2|" "$pkg"
echo "vendorHash: $old -> $hash"
