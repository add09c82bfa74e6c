#!/usr/bin/env bash
# Real Portage in a throwaway prefix, the way Portage's own test suite runs it
# (lib/portage/tests/resolver/ResolverPlayground.py): EPREFIX=PREFIX, Portage uninstalled from
# its source tree, the ebuild repositories given on the command line, nothing written outside PREFIX.
#
#   portage-prefix.sh find                         print the Portage source tree to use, or exit 1
#   portage-prefix.sh create PREFIX [options]      make PREFIX; write PREFIX/bin/{emerge,ebuild,portageq}
#   portage-prefix.sh repo DIR                     write the swarm's test ebuild repositories into DIR
#
# create options:
#   --repo NAME=DIR             an ebuild repository (repeatable; the first is the main one)
#   --binhost URL               binrepos.conf entry [swarm] with this sync-uri
#   --verify-signature yes|no   (default yes, Portage's own default since 3.0.78)
#   --pkgdir DIR                PKGDIR (default PREFIX/var/cache/binpkgs)
#   --extra-make-conf LINE      appended to make.conf (repeatable)
#
# Portage is found at $SWARM_PORTAGE_SRC, else unpacked from ../shared/portage/*.tar.xz into
# $SWARM_PORTAGE_CACHE (default /tmp/swarm-portage), else a system Portage (on Gentoo: /usr/bin/emerge
# and /usr/share/portage/config; nothing is unpacked). SWARM_PORTAGE_SRC=system forces the latter.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
shared=${SWARM_SHARED_DIR:-$here/../../shared}

die() { echo "portage-prefix: $*" >&2; exit 2; }

find_portage() {
  if [ "${SWARM_PORTAGE_SRC:-}" = system ]; then
    [ -x /usr/bin/emerge ] || die "SWARM_PORTAGE_SRC=system but there is no /usr/bin/emerge"
    echo system
    return 0
  fi
  if [ -n "${SWARM_PORTAGE_SRC:-}" ]; then
    [ -f "$SWARM_PORTAGE_SRC/bin/emerge" ] || die "SWARM_PORTAGE_SRC=$SWARM_PORTAGE_SRC has no bin/emerge"
    echo "$SWARM_PORTAGE_SRC"
    return 0
  fi
  local tarball
  tarball=$(ls "$shared"/portage/portage-*.tar.xz 2>/dev/null | head -n 1 || true)
  if [ -n "$tarball" ]; then
    local cache=${SWARM_PORTAGE_CACHE:-/tmp/swarm-portage}
    local name
    name=$(basename "$tarball" .tar.xz)
    if [ ! -f "$cache/$name/.swarm-unpacked" ]; then
      mkdir -p "$cache"
      local tmp
      tmp=$(mktemp -d "$cache/unpack.XXXXXX")
      tar -xJf "$tarball" -C "$tmp"
      rm -rf "${cache:?}/$name"
      mv "$tmp/$name" "$cache/$name" 2>/dev/null || true  # a concurrent unpack may have won
      rm -rf "$tmp"
      touch "$cache/$name/.swarm-unpacked"
    fi
    echo "$cache/$name"
    return 0
  fi
  if [ -x /usr/bin/emerge ] && python3 -c 'import portage' 2>/dev/null; then
    echo "system"
    return 0
  fi
  return 1
}

python_bin() {
  # Debian's own interpreter: a pyenv or venv python on PATH may lack what Portage needs.
  if [ -x /usr/bin/python3 ]; then echo /usr/bin/python3; else command -v python3; fi
}

write_wrapper() {  # NAME SRC PREFIX PKGDIR
  local name=$1 src=$2 prefix=$3
  local py
  py=$(python_bin)
  local exe run
  # A system Portage's /usr/bin/NAME is a python-exec wrapper that picks its interpreter itself.
  if [ "$src" = system ]; then exe="/usr/bin/$name"; run="'$exe'"; else exe="$src/bin/$name"; run="'$py' '$exe'"; fi
  cat > "$prefix/bin/$name" <<EOF
#!/bin/sh
# Real Portage's $name in the prefix $prefix (written by scripts/portage-prefix.sh).
export PORTAGE_OVERRIDE_EPREFIX='$prefix'
export PORTAGE_REPOSITORIES="\$(cat '$prefix/etc/portage/repos.conf.swarm')"
export PORTAGE_USERNAME='$(id -un)' PORTAGE_GRPNAME='$(id -gn)'
export PORTAGE_PYTHON='$py'
export PYTHONPYCACHEPREFIX='$prefix/var/cache/pycache'
unset PYTHONDONTWRITEBYTECODE EMERGE_DEFAULT_OPTS_UNSET
export PATH='$prefix/usr/bin:$prefix/fakebin':"\$PATH"
EOF
  if [ "$src" != system ]; then
    echo "export PYTHONPATH='$src/lib'\${PYTHONPATH:+:\$PYTHONPATH}" >> "$prefix/bin/$name"
  fi
  echo "exec $run \"\$@\"" >> "$prefix/bin/$name"
  chmod 0755 "$prefix/bin/$name"
}

create_prefix() {
  [ $# -ge 1 ] || die "create needs PREFIX"
  local prefix=$1
  shift
  local repos=() binhost="" verify=yes pkgdir="" extra=()
  while [ $# -gt 0 ]; do
    case $1 in
      --repo) repos+=("$2"); shift 2 ;;
      --binhost) binhost=$2; shift 2 ;;
      --verify-signature) verify=$2; shift 2 ;;
      --pkgdir) pkgdir=$2; shift 2 ;;
      --extra-make-conf) extra+=("$2"); shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ ${#repos[@]} -ge 1 ] || die "create needs at least one --repo NAME=DIR"
  local src
  src=$(find_portage) || die "no Portage found (set SWARM_PORTAGE_SRC, or put ../shared/portage beside the project)"
  mkdir -p "$prefix"
  prefix=$(cd "$prefix" && pwd)
  [ -n "$pkgdir" ] || pkgdir=$prefix/var/cache/binpkgs
  mkdir -p "$prefix"/{bin,fakebin,usr/bin,etc/portage,var/cache/edb,var/cache/pycache,var/db/pkg,var/lib/portage,var/tmp,var/log,distfiles} "$pkgdir"
  mkdir -p "$prefix/usr/share/portage/config/sets"
  local cnf=$src/cnf
  [ "$src" != system ] || cnf=/usr/share/portage/config
  ln -sfn "$cnf/make.globals" "$prefix/usr/share/portage/config/make.globals"
  ln -sfn "$cnf/sets/portage.conf" "$prefix/usr/share/portage/config/sets/portage.conf"
  # Portage calls GNU tar as gtar; Debian only has tar.
  ln -sfn "$(command -v tar)" "$prefix/fakebin/gtar"
  [ -f "$prefix/var/cache/edb/counter" ] || printf 100 > "$prefix/var/cache/edb/counter"
  : > "$prefix/var/lib/portage/world"

  # repos.conf: PORTAGE_REPOSITORIES replaces every repos.conf (Portage's own cnf/ would add gentoo).
  local main="" conf="" profile_dir=""
  for r in "${repos[@]}"; do
    local name=${r%%=*} dir=${r#*=}
    dir=$(cd "$dir" && pwd)
    [ -n "$main" ] || { main=$name; profile_dir=$dir/profiles/default/linux/amd64/swarm; }
    conf+="[$name]"$'\n'"location = $dir"$'\n'"priority = $([ "$name" = "$main" ] && echo 100 || echo 10)"$'\n\n'
  done
  printf '[DEFAULT]\nmain-repo = %s\n\n%s' "$main" "$conf" > "$prefix/etc/portage/repos.conf.swarm"
  [ -d "$profile_dir" ] || die "the main repository has no profiles/default/linux/amd64/swarm"
  ln -sfn "$profile_dir" "$prefix/etc/portage/make.profile"

  local features="buildpkg binpkg-multi-instance -sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox -mount-sandbox -userpriv -usersync -userfetch -news"
  {
    echo "# Written by scripts/portage-prefix.sh"
    echo "PORTAGE_INST_UID=\"$(id -u)\""
    echo "PORTAGE_INST_GID=\"$(id -g)\""
    echo "PORTAGE_USERNAME=\"$(id -un)\""
    echo "PORTAGE_GRPNAME=\"$(id -gn)\""
    echo "PKGDIR=\"$pkgdir\""
    echo "DISTDIR=\"$prefix/distfiles\""
    echo "PORTAGE_TMPDIR=\"$prefix/var/tmp\""
    echo "PORTAGE_LOGDIR=\"$prefix/var/log/portage\""
    echo 'BINPKG_FORMAT="gpkg"'
    echo 'BINPKG_COMPRESS="zstd"'
    echo "FEATURES=\"\${FEATURES} $features\""
    echo 'CLEAN_DELAY="0"'
    echo 'EMERGE_WARNING_DELAY="0"'
    echo 'PORTAGE_TRUST_HELPER=""'
    echo "BINPKG_GPG_VERIFY_GPG_HOME=\"$prefix/etc/portage/gnupg\""
    echo 'USE="swarm"'
    for line in "${extra[@]}"; do echo "$line"; done
  } > "$prefix/etc/portage/make.conf"

  if [ -n "$binhost" ]; then
    mkdir -p "$prefix/etc/portage/binrepos.conf"
    local v=true
    [ "$verify" = yes ] || v=false
    printf '[swarm]\npriority = 10\nsync-uri = %s\nverify-signature = %s\n' "$binhost" "$v" \
      > "$prefix/etc/portage/binrepos.conf/swarm.conf"
  fi
  for tool in emerge ebuild portageq emaint; do write_wrapper "$tool" "$src" "$prefix"; done
  echo "$prefix"
}

# The ebuild repositories of the real-Portage tests: a BDEPEND chain, a runtime cycle, a build
# failure, a slotted package, and an overlay whose package also exists in the main repository.
write_repos() {
  [ $# -eq 1 ] || die "repo needs DIR"
  local top=$1 main=$1/swarmtest overlay=$1/swarmlay
  mkdir -p "$main/profiles/default/linux/amd64/swarm" "$main/metadata" "$main/eclass" \
    "$overlay/profiles" "$overlay/metadata"
  echo swarmtest > "$main/profiles/repo_name"
  echo swarmlay > "$overlay/profiles/repo_name"
  printf 'app-misc\ndev-util\ndev-libs\n' > "$main/profiles/categories"
  printf 'app-misc\n' > "$overlay/profiles/categories"
  printf 'masters =\nthin-manifests = true\nsign-manifests = false\n' > "$main/metadata/layout.conf"
  printf 'masters = swarmtest\nthin-manifests = true\nsign-manifests = false\n' > "$overlay/metadata/layout.conf"
  printf 'TEST\n' > "$main/profiles/license_groups" 2>/dev/null || true
  mkdir -p "$main/licenses"
  echo "A test licence." > "$main/licenses/MIT"
  printf 'CFLAGS\nCXXFLAGS\nLDFLAGS\nMAKEOPTS\nCHOST\nACCEPT_KEYWORDS\nUSE\nFEATURES\n' > "$main/profiles/info_vars"
  local p=$main/profiles/default/linux/amd64/swarm
  echo 8 > "$p/eapi"
  cat > "$p/make.defaults" <<'EOF'
ARCH="amd64"
ACCEPT_KEYWORDS="amd64"
CHOST="x86_64-pc-linux-gnu"
CFLAGS="-O2 -pipe"
CXXFLAGS="${CFLAGS}"
LDFLAGS="-Wl,-O1 -Wl,--as-needed"
ELIBC="glibc"
KERNEL="linux"
USE_EXPAND="ELIBC KERNEL"
USE_EXPAND_HIDDEN="ELIBC KERNEL"
IUSE_IMPLICIT="prefix prefix-guest prefix-stack"
USE_EXPAND_IMPLICIT="ARCH ELIBC KERNEL"
USE_EXPAND_UNPREFIXED="ARCH"
USE_EXPAND_VALUES_ARCH="amd64"
USE_EXPAND_VALUES_ELIBC="glibc"
USE_EXPAND_VALUES_KERNEL="linux"
EOF
  echo amd64 > "$p/use.force"
  echo "Build-swarm's test repositories; every package installs a small program." > "$main/README"

  ebuild() {  # REPO CAT PN PV SLOT BDEPEND RDEPEND COMPILE_BODY
    local repo=$1 cat=$2 pn=$3 pv=$4 slot=$5 bdep=$6 rdep=$7 body=$8
    mkdir -p "$repo/$cat/$pn"
    cat > "$repo/$cat/$pn/$pn-$pv.ebuild" <<EOF
# A build-swarm test package.
EAPI=8
DESCRIPTION="build-swarm test package $cat/$pn"
HOMEPAGE="https://example.invalid/$pn"
LICENSE="MIT"
SLOT="$slot"
KEYWORDS="amd64"
BDEPEND="$bdep"
RDEPEND="$rdep"
S="\${WORKDIR}"

src_compile() {
$body
}

src_install() {
	exeinto /usr/bin
	doexe $pn-$pv
}
EOF
  }
  # A BDEPEND chain: a leaf, a tool that runs it while compiling, an application built with the tool.
  # Each package is needed by one other only, so `emerge -p --tree` shows every declared edge.
  ebuild "$main" app-misc swarm-lib 1.0 0 "" "" \
    '	printf "#!/bin/sh\necho swarm-lib 1.0\n" > swarm-lib-1.0'
  ebuild "$main" dev-util swarm-tool 1.0 0 "app-misc/swarm-lib" "" \
    '	# The build runs the BDEPEND: it must be installed (from the binhost) before this compiles.
	"${EPREFIX}"/usr/bin/swarm-lib-1.0 > lib-version || die "swarm-lib is not installed"
	printf "#!/bin/sh\necho swarm-tool 1.0 built with %s\n" "$(cat lib-version)" > swarm-tool-1.0'
  ebuild "$main" app-misc swarm-app 1.0 0 "dev-util/swarm-tool" "" \
    '	"${EPREFIX}"/usr/bin/swarm-tool-1.0 > tool-version || die "swarm-tool is not installed"
	printf "#!/bin/sh\necho swarm-app 1.0 using %s\n" "$(cat tool-version)" > swarm-app-1.0'
  # A runtime cycle.
  ebuild "$main" app-misc cycle-a 1.0 0 "" "app-misc/cycle-b" \
    '	printf "#!/bin/sh\necho cycle-a\n" > cycle-a-1.0'
  ebuild "$main" app-misc cycle-b 1.0 0 "" "app-misc/cycle-a" \
    '	printf "#!/bin/sh\necho cycle-b\n" > cycle-b-1.0'
  # A build that fails, and a package that needs it.
  ebuild "$main" app-misc swarm-broken 1.0 0 "" "" \
    '	echo "swarm-broken: about to fail on purpose"
	die "swarm-broken fails in src_compile on purpose"'
  # A slotted package: both slots installable side by side.
  ebuild "$main" dev-libs swarm-slotted 1.0 1 "" "" \
    '	printf "#!/bin/sh\necho swarm-slotted 1.0\n" > swarm-slotted-1.0'
  ebuild "$main" dev-libs swarm-slotted 2.0 2 "" "" \
    '	printf "#!/bin/sh\necho swarm-slotted 2.0\n" > swarm-slotted-2.0'
  # The same package in the main repository and in the overlay, telling which one was built.
  ebuild "$main" app-misc twin 1.0 0 "" "" \
    '	printf "#!/bin/sh\necho twin from swarmtest\n" > twin-1.0'
  ebuild "$overlay" app-misc twin 1.0 0 "" "" \
    '	printf "#!/bin/sh\necho twin from swarmlay\n" > twin-1.0'
  echo "$top"
}

case ${1:-} in
  find) shift; find_portage ;;
  create) shift; create_prefix "$@" ;;
  repo) shift; write_repos "$@" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
