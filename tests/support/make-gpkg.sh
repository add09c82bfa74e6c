#!/bin/sh
# Builds a valid gpkg (GLEP 78) with nothing but tar, zstd, sha512sum and b2sum, the way
# /work/shared/portage-formats.md describes it.
#
#   make-gpkg.sh OUT_FILE CATEGORY PF BUILD_ID [IMAGE_KB]
#
# An empty BUILD_ID leaves metadata/BUILD_ID out (the directory is then named PF).
# IMAGE_KB (default 4) KiB of random data go into image/usr/share/swarm-test/PF/data.bin.
# Environment, for building broken packages:
#   MAKE_GPKG_OMIT_KEYS="CATEGORY SLOT"  leave these metadata keys out
#   MAKE_GPKG_METADATA_DIR=1             put a metadata/ directory entry into metadata.tar
#   MAKE_GPKG_BUILD_TIME=N               BUILD_TIME value (default: now)
#   MAKE_GPKG_ENVIRONMENT=1              add metadata/environment.bz2 (binary, as every Portage build has)
set -eu

if [ $# -lt 4 ] || [ $# -gt 5 ]; then
  echo "usage: $0 OUT_FILE CATEGORY PF BUILD_ID [IMAGE_KB]" >&2
  exit 2
fi
out=$1 category=$2 pf=$3 build_id=$4 image_kb=${5:-4}
omit=${MAKE_GPKG_OMIT_KEYS:-}
build_time=${MAKE_GPKG_BUILD_TIME:-$(date +%s)}
if [ -n "$build_id" ]; then base="$pf-$build_id"; else base="$pf"; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
TAR="tar --format=ustar --owner=0 --group=0 --numeric-owner"

# The image: a tree under image/ (directory entries are allowed inside image.tar).
mkdir -p "$tmp/image/usr/share/swarm-test/$pf"
head -c "$((image_kb * 1024))" /dev/urandom > "$tmp/image/usr/share/swarm-test/$pf/data.bin"
printf '%s/%s\n' "$category" "$pf" > "$tmp/image/usr/share/swarm-test/$pf/README"
(cd "$tmp" && $TAR -cf image.tar image)
size=$(du -sb "$tmp/image" | cut -f1)

# The metadata: one file per key, newline-terminated except BUILD_ID.
mkdir "$tmp/metadata"
put() {
  case " $omit " in *" $1 "*) return 0 ;; esac
  printf '%s\n' "$2" > "$tmp/metadata/$1"
  keys="$keys metadata/$1"
}
keys=""
put CATEGORY "$category"
put PF "$pf"
put SLOT 0
put EAPI 8
put USE "amd64 elibc_glibc kernel_linux"
put IUSE "test"
put KEYWORDS "amd64"
put LICENSE "GPL-2"
put DESCRIPTION "Test package $category/$pf for build-swarm"
put CHOST x86_64-pc-linux-gnu
put CFLAGS "-O2 -pipe"
put CXXFLAGS "-O2 -pipe"
put LDFLAGS "-Wl,-O1 -Wl,--as-needed"
put RDEPEND ""
put DEPEND ""
put BDEPEND ""
put repository gentoo
put BUILD_TIME "$build_time"
if [ -n "$build_id" ]; then
  case " $omit " in
    *" BUILD_ID "*) ;;
    *) printf '%s' "$build_id" > "$tmp/metadata/BUILD_ID"; keys="$keys metadata/BUILD_ID" ;;
  esac
fi
put DEFINED_PHASES "compile install"
put SIZE "$size"
if [ "${MAKE_GPKG_ENVIRONMENT:-}" = 1 ]; then
  printf 'declare -x A="\377\376 not UTF-8"\n' | bzip2 -c > "$tmp/metadata/environment.bz2"
  keys="$keys metadata/environment.bz2"
fi
if [ "${MAKE_GPKG_METADATA_DIR:-}" = 1 ]; then keys="metadata $keys"; fi
# shellcheck disable=SC2086 # $keys is a list of plain names
(cd "$tmp" && $TAR --no-recursion -cf metadata.tar $keys)

# The container: gpkg-1, metadata.tar.zst, image.tar.zst, Manifest; regular files only.
mkdir "$tmp/c" "$tmp/c/$base"
: > "$tmp/c/$base/gpkg-1"
zstd -q -o "$tmp/c/$base/metadata.tar.zst" "$tmp/metadata.tar"
zstd -q -o "$tmp/c/$base/image.tar.zst" "$tmp/image.tar"
for m in gpkg-1 metadata.tar.zst image.tar.zst; do
  f="$tmp/c/$base/$m"
  printf 'DATA %s %s SHA512 %s BLAKE2B %s\n' "$m" "$(stat -c %s "$f")" \
    "$(sha512sum < "$f" | cut -d' ' -f1)" "$(b2sum < "$f" | cut -d' ' -f1)"
done > "$tmp/c/$base/Manifest"
(cd "$tmp/c" && $TAR --no-recursion -cf ../out.tar \
  "$base/gpkg-1" "$base/metadata.tar.zst" "$base/image.tar.zst" "$base/Manifest")

mkdir -p "$(dirname "$out")"
mv "$tmp/out.tar" "$out"
