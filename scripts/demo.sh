#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs a local swarm doing real work on this machine:
# a gateway, an orchestrator, three drones (with the stand-in emerge), a real sshd on a loopback port
# for the rsync uploads, a sample queue with dependencies, progress, and a binhost at the end.
# Everything listens on 127.0.0.1 only. Run as root (sshd needs it). Ctrl-C stops the swarm.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$here/build}
demo=${DEMO_DIR:-$here/demo-data}
base=${DEMO_BASE_PORT:-18000}
drones=${DEMO_DRONES:-3}
gw_port=$((base + 90)) orch_port=$((base + 80)) ssh_port=$((base + 22))
gateway=http://127.0.0.1:$gw_port

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

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

rm -rf "$demo"
mkdir -p "$demo"/{ssh,gateway,orchestrator/staging,logs,portage}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

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

say "orchestrator on http://127.0.0.1:$orch_port (binhost at /binhost)"
"$bin_orch" --listen 127.0.0.1:$orch_port --data-dir "$demo/orchestrator" --gateway "$gateway" --name orchestrator \
  --upload-host 127.0.0.1 --upload-port $ssh_port --upload-user "$(id -un)" --config /dev/null \
  >"$demo/logs/orchestrator.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$orch_port/api/v1/health"

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
for _ in $(seq 1 100); do  # the gateway polls the orchestrator once a second
  curl -fsS "$gateway/api/v1/status" | grep -q '"up":true' && break
  sleep 0.2
done
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
