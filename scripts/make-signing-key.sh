#!/bin/sh
# Creates a package signing key for swarm-orchestrator: an OpenPGP key without passphrase (the
# orchestrator signs unattended) in the orchestrator's own GnuPG home, mode 0700. Prints the key's
# fingerprint on stdout, for --signing-key. Run it as the user the orchestrator runs as:
#   sudo -u build-swarm scripts/make-signing-key.sh
# A second run makes a second key in the same home: that is how a rotation starts (docs/SIGNING.md).
set -eu

home=/var/lib/build-swarm/orchestrator/gnupg
name="build-swarm binhost on $(hostname -f 2>/dev/null || hostname) <build-swarm@$(hostname 2>/dev/null || echo localhost).invalid>"
algo=ed25519
expire=never

usage() {
  cat >&2 <<EOF
usage: $0 [--home DIR] [--name 'NAME <EMAIL>'] [--algo ed25519|rsa4096] [--expire never|1y|2y|...]
  --home    the orchestrator's GnuPG home (default $home, i.e. DATA_DIR/gnupg)
  --name    the key's user id (default '$name')
  --algo    ed25519 (default) or rsa4096
  --expire  expiry as gpg --quick-gen-key takes it (default never)
EOF
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --home) [ $# -ge 2 ] || usage; home=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --algo) [ $# -ge 2 ] || usage; algo=$2; shift 2 ;;
    --expire) [ $# -ge 2 ] || usage; expire=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "make-signing-key: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$algo" in
  ed25519|rsa4096) ;;
  *) echo "make-signing-key: --algo must be ed25519 or rsa4096" >&2; exit 2 ;;
esac
command -v gpg >/dev/null || { echo "make-signing-key: gpg is not installed (Debian: gnupg, Gentoo: app-crypt/gnupg)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  echo "make-signing-key: running as root: the orchestrator must own $home (chown -R it to the orchestrator's user)" >&2
fi
umask 077
mkdir -p "$home"
chmod 0700 "$home"

# The orchestrator starts its own agent; leave none behind for this one-off run.
trap 'gpgconf --homedir "$home" --kill gpg-agent >/dev/null 2>&1 || true' EXIT
# --yes: a rotation's second key may share the first one's user id.
gpg --homedir "$home" --batch --no-tty --pinentry-mode loopback --passphrase '' --yes \
  --quick-gen-key "$name" "$algo" sign "$expire" >&2
# The newest secret key with this user id is the one just made.
fpr=$(gpg --homedir "$home" --batch --no-tty --with-colons --list-secret-keys -- "=$name" 2>/dev/null |
  awk -F: '$1 == "sec" { want = 1; next } $1 == "fpr" && want { last = $10; want = 0 } END { print last }')
if [ -z "$fpr" ]; then
  echo "make-signing-key: the key was not created" >&2
  exit 1
fi
cat >&2 <<EOF
make-signing-key: created key $fpr in $home
  start the orchestrator with:  --signing-key $fpr  (--gnupg-home $home if that is not DATA_DIR/gnupg)
  clients import it from:       http://ORCHESTRATOR:8080/api/v1/signing-key  (build-swarm binhost client-config URL)
EOF
echo "$fpr"
