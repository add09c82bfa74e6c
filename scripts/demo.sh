#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs a local swarm doing real work on this machine:
# a gateway, an orchestrator, three drones (with the stand-in emerge), a real sshd on a loopback port
# for the rsync uploads, a sample queue with dependencies, progress, and a binhost at the end.
# Everything listens on 127.0.0.1 only. Run as root (sshd needs it). Ctrl-C stops the swarm.
#
#   scripts/demo.sh                  the stand-in emerge; waits for Enter at the end (on a terminal)
#   scripts/demo.sh --real-portage   real Portage (scripts/portage-prefix.sh): two drones building the
#                                    test ebuild repository with real emerge in their own prefixes, a
#                                    signing key made for the demo, the graph submitted from a
#                                    workstation's `emerge -p --tree`, and the workstation installing
#                                    everything from the signed binhost; ends after its summary
#
# Environment: DEMO_DIR (default ./demo-data, removed at the start), DEMO_BASE_PORT (18000),
# DEMO_DRONES (3, or 2 with --real-portage), DEMO_TIMEOUT (seconds: 300, or 1800 with --real-portage),
# DEMO_NO_WAIT (do not wait for Enter), BUILD_DIR.
set -euo pipefail

# Never the host's shell start-up files: BASH_ENV (and ENV) were read before this line ran, so start
# again without them.
if [ -z "${SWARM_DEMO_CLEAN_SHELL:-}" ]; then
  exec env -u BASH_ENV -u ENV SWARM_DEMO_CLEAN_SHELL=1 bash --noprofile --norc "${BASH_SOURCE[0]}" "$@"
fi
unset SWARM_DEMO_CLEAN_SHELL CDPATH

mode=stand-in
for arg in "$@"; do
  case $arg in
    --real-portage) mode=real-portage ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "demo: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$here/build}
demo=${DEMO_DIR:-$here/demo-data}
base=${DEMO_BASE_PORT:-18000}
if [ "$mode" = real-portage ]; then drones=${DEMO_DRONES:-2}; else drones=${DEMO_DRONES:-3}; fi
gw_port=$((base + 90)) orch_port=$((base + 80)) ssh_port=$((base + 22))
gateway=http://127.0.0.1:$gw_port

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$mode" = real-portage ]; then
  # Portage must not see a user's settings: the prefixes' make.conf is the whole configuration.
  unset EMERGE_DEFAULT_OPTS ROOT EPREFIX PORTAGE_CONFIGROOT PORTAGE_REPOSITORIES PORTAGE_BINHOST PKGDIR DISTDIR \
    PORTAGE_TMPDIR FEATURES USE MAKEOPTS ACCEPT_KEYWORDS GNUPGHOME PYTHONPATH PYTHONHOME PYTHONSTARTUP
  # Portage verifies signatures as nobody: the keyrings and the directories above them must be readable.
  umask 022
  if ! portage_src=$(bash "$here/scripts/portage-prefix.sh" find 2>/dev/null) || [ -z "$portage_src" ]; then
    cat >&2 <<MSG
demo: --real-portage needs Gentoo's Portage, and none was found (scripts/portage-prefix.sh find failed).
      Put the Portage source tarball in $(cd "$here/.." && pwd)/shared/portage/ (portage-*.tar.xz), set
      SWARM_PORTAGE_SRC to a Portage source tree, or run on Gentoo. The stand-in demo: scripts/demo.sh
MSG
    exit 1
  fi
fi

say "installing what is missing, building"
bash "$here/scripts/install-deps.sh"
generator=()
[ -f "$build/CMakeCache.txt" ] || generator=(-G Ninja)
cmake -S "$here" -B "$build" "${generator[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target swarm-gateway swarm-orchestrator swarm-drone build-swarm >/dev/null
bin_gw=$build/src/gateway/swarm-gateway
bin_orch=$build/src/orchestrator/swarm-orchestrator
bin_drone=$build/src/drone/swarm-drone
cli=$build/tools/build-swarm/build-swarm
emerge=$here/tests/support/fake-emerge

# Something still listening on the demo's ports (an earlier demo killed hard) would answer in its place.
for port in $gw_port $orch_port $ssh_port; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: 127.0.0.1:$port is already in use (an earlier demo still running?); stop it or set DEMO_BASE_PORT" >&2
    exit 1
  fi
done

gnupg_homes() {  # every GnuPG home of the demo (each may have a gpg-agent running)
  for h in "$demo/orchestrator/gnupg" "$demo"/*/prefix/etc/portage/gnupg "$demo/workstation/etc/portage/gnupg"; do
    [ -d "$h" ] && echo "$h"
  done
  return 0
}
stop_gpg_agents() {
  command -v gpgconf >/dev/null || return 0
  gnupg_homes | while read -r h; do gpgconf --homedir "$h" --kill gpg-agent >/dev/null 2>&1 || true; done
}

stop_gpg_agents  # left by an earlier real-Portage demo in the same directory
rm -rf "$demo"
mkdir -p "$demo"/{ssh,gateway,orchestrator/staging,logs,portage}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_gpg_agents
}
trap cleanup EXIT
trap 'echo; cleanup; exit 130' INT TERM

wait_http() {  # URL: waits up to 30 s for an answer
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $1 did not come up; logs in $demo/logs" >&2
  exit 1
}

say "SSH for uploads: sshd on 127.0.0.1:$ssh_port, one rrsync-restricted key per drone"
ssh-keygen -q -t ed25519 -N '' -f "$demo/ssh/host_key"
: > "$demo/ssh/authorized_keys"
for i in $(seq 1 "$drones"); do
  d=drone$i
  mkdir -p "$demo/orchestrator/staging/$d" "$demo/$d"
  ssh-keygen -q -t ed25519 -N '' -f "$demo/$d/upload_key"
  echo "restrict,command=\"/usr/bin/rrsync -wo -no-lock $demo/orchestrator/staging/$d\" $(cat "$demo/$d/upload_key.pub")" \
    >> "$demo/ssh/authorized_keys"
done
cat > "$demo/ssh/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $demo/ssh/host_key
AuthorizedKeysFile $demo/ssh/authorized_keys
PidFile $demo/ssh/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel ERROR
# The forced command runs through the upload user's login shell; bash started by sshd at SHLVL < 2 reads
# ~/.bashrc, which on a developer's machine may be slow (root's pyenv init here cost 1.5 s per upload).
# Starting it as a nested shell keeps the host's start-up files out of every upload.
SetEnv SHLVL=1
CFG
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$demo/ssh/sshd_config" 2>"$demo/logs/sshd.log" &
pids+=($!)
echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$demo/ssh/host_key.pub")" > "$demo/ssh/known_hosts"

say "gateway on $gateway"
: > "$demo/gateway/tokens"
for i in $(seq 1 "$drones"); do
  tok=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "drone$i $tok" >> "$demo/gateway/tokens"
  echo "$tok" > "$demo/drone$i/token"
done
"$bin_gw" --listen 127.0.0.1:$gw_port --data-dir "$demo/gateway" --orchestrator http://127.0.0.1:$orch_port \
  --tokens-file "$demo/gateway/tokens" --admin-token-file "$demo/gateway/admin.token" --poll-interval 1 \
  --config /dev/null >"$demo/logs/gateway.log" 2>&1 &
pids+=($!)
wait_http "$gateway/api/v1/health"

signing=()
if [ "$mode" = real-portage ]; then
  say "a package signing key for the demo (scripts/make-signing-key.sh)"
  fpr=$(sh "$here/scripts/make-signing-key.sh" --home "$demo/orchestrator/gnupg" \
    --name "build-swarm demo binhost <swarm-demo@example.invalid>" 2>"$demo/logs/signing-key.log") || {
    cat "$demo/logs/signing-key.log" >&2
    exit 1
  }
  gpg --homedir "$demo/orchestrator/gnupg" --batch --no-tty --armor --export "$fpr" > "$demo/swarm-key.asc"
  echo "  key $fpr (public half: $demo/swarm-key.asc)"
  signing=(--gnupg-home "$demo/orchestrator/gnupg" --signing-key "$fpr")
fi

say "orchestrator on http://127.0.0.1:$orch_port (binhost at /binhost)"
"$bin_orch" --listen 127.0.0.1:$orch_port --data-dir "$demo/orchestrator" --gateway "$gateway" --name orchestrator \
  --upload-host 127.0.0.1 --upload-port $ssh_port --upload-user "$(id -un)" --config /dev/null "${signing[@]}" \
  >"$demo/logs/orchestrator.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$orch_port/api/v1/health"

wait_gateway_sees_orchestrator() {
  for _ in $(seq 1 100); do  # the gateway polls the orchestrator once a second
    curl -fsS "$gateway/api/v1/status" | grep -q '"up":true' && break
    sleep 0.2
  done
}

stand_in_demo() {
say "$drones drones (stand-in emerge, 1-3 s per package)"
for i in $(seq 1 "$drones"); do
  d=drone$i
  mkdir -p "$demo/$d/pkgdir" "$demo/$d/work"
  PKGDIR="$demo/$d/pkgdir" FAKE_EMERGE_SLEEP=$((i % 3 + 1)) FAKE_EMERGE_DRONE=$d FAKE_EMERGE_LEDGER="$demo/ledger" \
  "$bin_drone" --gateway "$gateway" --name $d --token-file "$demo/$d/token" --report-ip 127.0.0.1 \
    --emerge-command "$emerge" --emerge-info-command "$emerge --info" --portage-dir "$demo/portage" \
    --pkgdir "$demo/$d/pkgdir" --work-dir "$demo/$d/work" --upload-key "$demo/$d/upload_key" \
    --known-hosts "$demo/ssh/known_hosts" --sync-command /bin/true --control-listen 127.0.0.1:$((base + 70 + i)) --config /dev/null \
    >"$demo/logs/$d.log" 2>&1 &
  pids+=($!)
done

say "submitting a sample queue: 16 packages with dependencies"
cat > "$demo/graph.json" <<'JSON'
{"packages": [
 {"atom": "=sys-libs/zlib-1.3", "duration_s": 20},
 {"atom": "=dev-libs/libffi-3.4.4", "duration_s": 20},
 {"atom": "=dev-libs/openssl-3.0.13", "duration_s": 60, "deps": ["=sys-libs/zlib-1.3"]},
 {"atom": "=dev-lang/python-3.12.3", "duration_s": 90, "deps": ["=dev-libs/openssl-3.0.13", "=dev-libs/libffi-3.4.4", "=sys-libs/zlib-1.3"]},
 {"atom": "=dev-python/setuptools-69.5.1", "duration_s": 10, "deps": ["=dev-lang/python-3.12.3"]},
 {"atom": "=media-libs/libpng-1.6.43", "duration_s": 15, "deps": ["=sys-libs/zlib-1.3"]},
 {"atom": "=media-libs/freetype-2.13.2", "duration_s": 30, "deps": ["=media-libs/libpng-1.6.43", "=media-libs/harfbuzz-8.4.0"]},
 {"atom": "=media-libs/harfbuzz-8.4.0", "duration_s": 40, "deps": ["=media-libs/freetype-2.13.2"]},
 {"atom": "=media-libs/fontconfig-2.15.0", "duration_s": 20, "deps": ["=media-libs/freetype-2.13.2"]},
 {"atom": "=x11-libs/pixman-0.43.4", "duration_s": 15},
 {"atom": "=x11-libs/cairo-1.18.0", "duration_s": 45, "deps": ["=x11-libs/pixman-0.43.4", "=media-libs/fontconfig-2.15.0", "=media-libs/libpng-1.6.43"]},
 {"atom": "=dev-libs/glib-2.78.6", "duration_s": 60, "deps": ["=dev-libs/libffi-3.4.4", "=dev-lang/python-3.12.3"]},
 {"atom": "=x11-libs/pango-1.52.2", "duration_s": 30, "deps": ["=x11-libs/cairo-1.18.0", "=media-libs/harfbuzz-8.4.0", "=dev-libs/glib-2.78.6"]},
 {"atom": "=x11-libs/gtk+-3.24.41-r1", "duration_s": 120, "deps": ["=x11-libs/pango-1.52.2", "=dev-libs/glib-2.78.6"]},
 {"atom": "=app-editors/mousepad-0.6.2", "duration_s": 15, "deps": ["=x11-libs/gtk+-3.24.41-r1"]},
 {"atom": "=xfce-base/thunar-4.18.10", "duration_s": 30, "deps": ["=x11-libs/gtk+-3.24.41-r1"]}
]}
JSON
export BUILD_SWARM_GATEWAY=$gateway
wait_gateway_sees_orchestrator
"$cli" --admin-token-file "$demo/gateway/admin.token" submit --graph "$demo/graph.json"

say "progress (dashboard: $gateway/)"
deadline=$((SECONDS + ${DEMO_TIMEOUT:-300}))
while :; do
  s=$(curl -fsS "http://127.0.0.1:$orch_port/api/v1/status" || echo '{}')
  line=$(python3 -c 'import json,sys; q=json.load(sys.stdin).get("queue",{}); print(" ".join(f"{k}={v}" for k,v in q.items() if v))' <<<"$s")
  printf '\r  %-100s' "$line"
  done_count=$(python3 -c 'import json,sys; q=json.load(sys.stdin).get("queue",{}); print(q.get("published",0)+q.get("quarantined",0)+q.get("blocked",0)+q.get("cancelled",0))' <<<"$s")
  [ "$done_count" -ge 16 ] && break
  if [ $SECONDS -ge $deadline ]; then echo; echo "demo: timed out; logs in $demo/logs" >&2; exit 1; fi
  sleep 1
done
echo

say "the swarm as the CLI sees it"
"$cli" status || true
"$cli" drones || true

say "the binhost: http://127.0.0.1:$orch_port/binhost/Packages"
curl -fsS "http://127.0.0.1:$orch_port/binhost/Packages" | grep -E '^(CPV|PATH):' | paste - - | awk '{printf "  %-36s %s\n", $2, $4}'
echo
echo "PKGDIR: $demo/orchestrator/packages"
find "$demo/orchestrator/packages" -name '*.gpkg.tar' | sed "s|$demo/orchestrator/packages/|  |" | sort
echo
echo "A client would use /etc/portage/binrepos.conf/swarm.conf:"
"$cli" binhost client-config http://127.0.0.1:$orch_port 2>/dev/null || printf '[swarm]\npriority = 10\nsync-uri = http://127.0.0.1:%s/binhost\n' "$orch_port"
if [ -t 0 ] && [ -z "${DEMO_NO_WAIT:-}" ]; then
  say "the swarm keeps running: dashboard at $gateway/ ; press Enter to stop"
  read -r _
fi
}

# ---------------------------------------------------------------------------------------------------
# --real-portage
# ---------------------------------------------------------------------------------------------------
py=/usr/bin/python3
[ -x "$py" ] || py=python3
binhost=http://127.0.0.1:$orch_port/binhost
# What a user updates: the test repository's BDEPEND chain, a runtime cycle, a build that fails, both
# slots of a slotted package, and the overlay's copy of a package the main repository also has.
targets=("=app-misc/swarm-app-1.0" "=app-misc/cycle-a-1.0" "=app-misc/swarm-broken-1.0" "=dev-libs/swarm-slotted-1.0"
         "=dev-libs/swarm-slotted-2.0" "=app-misc/twin-1.0::swarmlay")

now_ms() { date +%s%3N; }

make_prefix() {  # DIR NAME: a Portage prefix on the demo's repositories, its binrepos.conf on the swarm's binhost
  bash "$here/scripts/portage-prefix.sh" create "$1" --repo swarmtest="$demo/repos/swarmtest" \
    --repo swarmlay="$demo/repos/swarmlay" --binhost "$binhost" --verify-signature yes \
    >"$demo/logs/prefix-$2.log" 2>&1 || { cat "$demo/logs/prefix-$2.log" >&2; exit 1; }
}

trust_swarm_key() {  # PREFIX NAME: what getuto does for Gentoo's keys, for the swarm's key
  local home=$1/etc/portage/gnupg log=$demo/logs/trust-$2.log
  local g=(gpg --homedir "$home" --batch --no-tty --pinentry-mode loopback --passphrase '')
  mkdir -p "$home"
  chmod 0700 "$home"
  {
    # A local key, ultimately trusted, certifies (lsign) the swarm's key: Portage then sees it fully trusted.
    "${g[@]}" --quick-gen-key "Portage local trust key <portage@localhost>" ed25519 sign never &&
      "${g[@]}" --import "$demo/swarm-key.asc" &&
      "${g[@]}" --yes --quick-lsign-key "$fpr" &&
      "${g[@]}" --check-trustdb
  } >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  # Portage, as root, verifies as nobody: the keyring must be readable by everyone.
  chmod -R a+rX "$home"
}

queue_watch() {  # QUEUE_JSON STATES_FILE ELAPSED_S: prints what changed; last line "done N" or "busy N"
  "$py" - "$@" <<'PY'
import json, sys
queue_file, states_file, elapsed = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    rows = json.load(open(queue_file))
except Exception:
    print("busy 0"); sys.exit(0)
try:
    seen = json.load(open(states_file))
except Exception:
    seen = {}
terminal = {"published", "quarantined", "blocked", "cancelled", "withdrawn"}
for r in rows:
    key = r["atom"]
    now = (r["state"], r.get("attempts", 0))
    if seen.get(key) != list(now):
        who = f" on {r['drone']}" if r.get("drone") and r["state"] in ("leased", "received", "published") else ""
        why = f": {r['reason']}" if r.get("reason") and r["state"] != "published" else ""
        print(f"  [{float(elapsed):6.1f} s] {key:38} {r['state']}{who}{why}"[:200])
        seen[key] = list(now)
json.dump(seen, open(states_file, "w"))
pending = [r for r in rows if r["state"] not in terminal]
print(("done " if rows and not pending else "busy ") + str(len(rows)))
PY
}

real_portage_demo() {
  local t_start
  t_start=$(now_ms)
  say "Portage: $portage_src"
  echo "  the test ebuild repositories (swarmtest, swarmlay) in $demo/repos"
  bash "$here/scripts/portage-prefix.sh" repo "$demo/repos" >"$demo/logs/repos.log" 2>&1 || { cat "$demo/logs/repos.log" >&2; exit 1; }

  say "$drones drones building with real emerge, each in its own Portage prefix"
  for i in $(seq 1 "$drones"); do
    local d=drone$i
    make_prefix "$demo/$d/prefix" "$d"
    trust_swarm_key "$demo/$d/prefix" "$d"
    mkdir -p "$demo/$d/work"
    local em=$demo/$d/prefix/bin/emerge
    "$bin_drone" --gateway "$gateway" --name $d --token-file "$demo/$d/token" --report-ip 127.0.0.1 \
      --emerge-command "$em" --emerge-info-command "$em --info" --portage-dir "$demo/$d/prefix/etc/portage" \
      --pkgdir "$demo/$d/prefix/var/cache/binpkgs" --work-dir "$demo/$d/work" --upload-key "$demo/$d/upload_key" \
      --known-hosts "$demo/ssh/known_hosts" --sync-command /bin/true --control-listen 127.0.0.1:$((base + 70 + i)) \
      --config /dev/null >"$demo/logs/$d.log" 2>&1 &
    pids+=($!)
    echo "  $d: prefix $demo/$d/prefix (binhost $binhost, verify-signature = true), log $demo/logs/$d.log"
  done

  say "the workstation: a prefix with Portage's defaults (verify-signature = true), the swarm's key trusted"
  local ws=$demo/workstation
  make_prefix "$ws" workstation
  trust_swarm_key "$ws" workstation
  echo "  \$ emerge --pretend --verbose --tree ${targets[*]}"
  if ! "$ws/bin/emerge" --pretend --verbose --tree "${targets[@]}" >"$demo/workstation-pretend.txt" 2>&1; then
    cat "$demo/workstation-pretend.txt" >&2
    echo "demo: emerge --pretend failed on the workstation" >&2
    exit 1
  fi
  grep -E '^\[(ebuild|binary)' "$demo/workstation-pretend.txt" | sed 's/^/  /'

  say "submitting the workstation's plan: build-swarm submit --from-emerge"
  export BUILD_SWARM_GATEWAY=$gateway
  wait_gateway_sees_orchestrator
  "$cli" --admin-token-file "$demo/gateway/admin.token" submit --from-emerge "$demo/workstation-pretend.txt" \
    --fingerprint --emerge-info-command "$ws/bin/emerge --info" --portage-dir "$ws/etc/portage" | sed 's/^/  /'
  local t_submit
  t_submit=$(now_ms)

  say "progress (dashboard: $gateway/ ; one emerge takes 10-30 s here)"
  local deadline=$((SECONDS + ${DEMO_TIMEOUT:-1800})) out status
  rm -f "$demo/queue-states.json"
  while :; do
    curl -fsS -o "$demo/queue.json" "http://127.0.0.1:$orch_port/api/v1/queue" 2>/dev/null || echo '[]' > "$demo/queue.json"
    out=$(queue_watch "$demo/queue.json" "$demo/queue-states.json" "$(( $(now_ms) - t_submit ))e-3")
    status=$(tail -n 1 <<<"$out")
    [ "$out" = "$status" ] || sed '$d' <<<"$out"
    [ "${status%% *}" = "done" ] && break
    if [ $SECONDS -ge $deadline ]; then echo "demo: timed out; logs in $demo/logs" >&2; exit 1; fi
    sleep 1
  done
  local t_done
  t_done=$(now_ms)

  say "every request is terminal"
  "$py" - "$demo/queue.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
for r in sorted(rows, key=lambda r: (r["state"] != "published", r["atom"])):
    extra = f"built on {r.get('drone', '?')}" if r["state"] == "published" else r.get("reason", "")
    print(f"  {r['atom']:38} {r['state']:12} {extra}"[:240])
for r in rows:
    if "swarm-broken" in r["atom"]:
        print(f"\n  {r['atom']} ended {r['state']}: {r.get('reason', '')}")
PY
  "$cli" status 2>/dev/null | sed 's/^/  /' || true

  say "the workstation installs everything from the binhost (binaries only, every signature verified)"
  mapfile -t published < <("$py" -c 'import json,sys; [print(r["atom"]) for r in json.load(open(sys.argv[1])) if r["state"] == "published"]' "$demo/queue.json")
  if [ ${#published[@]} -eq 0 ]; then echo "demo: nothing was published; logs in $demo/logs" >&2; exit 1; fi
  echo "  \$ emerge --usepkgonly --getbinpkg --oneshot ${published[*]}"
  local t_install
  t_install=$(now_ms)
  if ! "$ws/bin/emerge" --usepkgonly --getbinpkg --oneshot "${published[@]}" >"$demo/logs/workstation-install.log" 2>&1; then
    tail -n 40 "$demo/logs/workstation-install.log" >&2
    echo "demo: the workstation's install failed; log $demo/logs/workstation-install.log" >&2
    exit 1
  fi
  if grep -q 'appears unsigned' "$demo/logs/workstation-install.log"; then
    echo "demo: Portage found an unsigned package (log $demo/logs/workstation-install.log)" >&2
    exit 1
  fi
  grep -E '^>>> Emerging binary' "$demo/logs/workstation-install.log" | sed 's/^/  /' || true
  echo "  installed in $(( ($(now_ms) - t_install) / 1000 )) s; log $demo/logs/workstation-install.log"

  say "running what was installed"
  local prog
  for prog in swarm-app-1.0 twin-1.0; do
    if [ -x "$ws/usr/bin/$prog" ]; then
      printf '  $ %s\n  ' "$ws/usr/bin/$prog"
      "$ws/usr/bin/$prog"
    else
      echo "demo: $ws/usr/bin/$prog was not installed" >&2
      exit 1
    fi
  done

  say "summary"
  "$py" - "$demo/queue.json" "$t_start" "$t_submit" "$t_done" "$(now_ms)" "$binhost" "$gateway/" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
t_start, t_submit, t_done, t_end = (int(x) for x in sys.argv[2:6])
by = {}
for r in rows:
    by.setdefault(r["state"], []).append(r["atom"])
print(f"  published:    {len(by.get('published', []))} of {len(rows)} packages")
for state in ("quarantined", "blocked", "cancelled", "withdrawn"):
    if by.get(state):
        print(f"  {state + ':':13} {len(by[state])} ({', '.join(sorted(by[state]))})")
print(f"  wall time:    {(t_done - t_submit) / 1000:.1f} s from the submission to every request terminal; "
      f"{(t_end - t_start) / 1000:.1f} s for the whole real-Portage part (prefixes, builds, install)")
print(f"  binhost:      {sys.argv[6]}  (signed; the workstation's binrepos.conf has verify-signature = true)")
print(f"  dashboard:    {sys.argv[7]}")
PY
  echo "  data:         $demo (database $demo/orchestrator/queue.db, logs $demo/logs)"
}

if [ "$mode" = real-portage ]; then
  real_portage_demo
else
  stand_in_demo
fi
