#!/usr/bin/env bash
# Per-package swarm overhead with real emerge (docs/benchmarks.md, "Swarm overhead with real emerge").
#
#   bench/portage_overhead.sh [--dir DIR]        run the real-Portage demo (scripts/demo.sh --real-portage)
#                                                in DIR (default /tmp/swarm-portage-overhead), then measure
#   bench/portage_overhead.sh --analyse DIR      only measure a finished demo's DIR (its data is kept)
#
# From the orchestrator's database (DIR/orchestrator/queue.db) and the drone logs (DIR/logs/drone*.log),
# for every published package, using the lease whose binary was accepted:
#   overhead       = (lease issued -> request published) - emerge's own run time (builds.duration_s,
#                    the drone's wall clock around the emerge process; it includes what emerge itself does,
#                    such as fetching and installing dependencies as binaries from the binhost)
#     dispatch     = lease issued (leases.issued_ms) -> emerge started (drone log "lease L: building")
#     upload       = emerge ended (start + duration_s) -> upload done (drone log "lease L: uploaded ...")
#     intake       = upload done -> binary accepted (binaries.received_ms: completion call, gpkg checks,
#                    signing, BUILD_ID, fsync, commit)
#     publish      = accepted -> published (events kind 'published': the Packages index written)
# and for every package with dependencies, from the last of them published (events) to
#   dep->leased    the dependent's lease issued, and
#   dep->started   the dependent's emerge started (drone log);
# a sample where every drone was busy at that moment is marked: it measured waiting for a drone (and when
# a drone took other work between the dependency's acceptance and its publication, that is named).
# Target: the swarm adds under 2 s per package beyond emerge itself.
#
# Environment: BENCH_NICE (niceness of the demo, default 10: the machine is shared),
# BENCH_BASE_PORT (default 18400), BUILD_DIR.
set -euo pipefail
if [ -z "${SWARM_BENCH_CLEAN_SHELL:-}" ]; then
  exec env -u BASH_ENV -u ENV SWARM_BENCH_CLEAN_SHELL=1 bash --noprofile --norc "${BASH_SOURCE[0]}" "$@"
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=/tmp/swarm-portage-overhead
run=yes
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --analyse|--analyze) dir=$2; run=no; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "portage_overhead: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
dir=${dir%/}

if [ "$run" = yes ]; then
  log=$dir.demo.log
  echo "portage_overhead: running scripts/demo.sh --real-portage in $dir (output: $log)"
  set +e
  DEMO_DIR=$dir DEMO_BASE_PORT=${BENCH_BASE_PORT:-18400} DEMO_NO_WAIT=1 \
    nice -n "${BENCH_NICE:-10}" bash "$here/scripts/demo.sh" --real-portage </dev/null 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "portage_overhead: the demo failed (exit $rc); see $log" >&2
    exit "$rc"
  fi
fi

[ -f "$dir/orchestrator/queue.db" ] || { echo "portage_overhead: no $dir/orchestrator/queue.db" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" - "$dir" <<'PY'
import glob, os, re, sqlite3, statistics, sys
from datetime import datetime

d = sys.argv[1]
db = sqlite3.connect(os.path.join(d, "orchestrator", "queue.db"))
q = lambda sql, *a: db.execute(sql, a).fetchall()

# Drone logs: per lease, when emerge started ("building") and when the last upload ended.
line_re = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}) \S+ \[\w+\] lease (\S+): (building|uploaded|built) ")
ansi = re.compile(r"\x1b\[[0-9;]*m")
started, uploaded = {}, {}
for path in sorted(glob.glob(os.path.join(d, "logs", "drone*.log"))):
    for raw in open(path, errors="replace"):
        m = line_re.match(ansi.sub("", raw))
        if not m:
            continue
        ms = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp() * 1000  # local time, as spdlog
        lease = m.group(2).rstrip(":")
        if m.group(3) == "building":
            started[lease] = ms
        elif m.group(3) == "uploaded":
            uploaded[lease] = max(uploaded.get(lease, 0), ms)

published_at = dict(q("SELECT request_id, MIN(ts_ms) FROM events WHERE kind = 'published' GROUP BY request_id"))
atom = dict(q("SELECT id, atom FROM requests"))
rows = []
for rid, pub in sorted(published_at.items(), key=lambda kv: kv[1]):
    b = q("""SELECT b.lease_id, b.drone, b.duration_s, l.issued_ms, bin.received_ms
             FROM builds b JOIN leases l ON l.id = b.lease_id JOIN binaries bin ON bin.request_id = b.request_id
             WHERE b.request_id = ? AND b.result = 'built' ORDER BY abs(b.finished_ms - bin.received_ms) LIMIT 1""", rid)
    if not b:
        continue
    lease, drone, dur, issued, received = b[0]
    emerge_ms = dur * 1000
    r = dict(atom=atom[rid], drone=drone, lease=lease, issued=issued, received=received, published=pub,
             emerge=emerge_ms, total=pub - issued, overhead=pub - issued - emerge_ms)
    s, u = started.get(lease), uploaded.get(lease)
    r["dispatch"] = s - issued if s else None
    r["upload"] = u - (s + emerge_ms) if s and u else None
    r["intake"] = received - u if u else None
    r["publish"] = pub - received
    rows.append(r)

def fmt(ms):
    return "   -  " if ms is None else f"{ms / 1000:6.2f}"

print("\nper published package (seconds)")
print(f"  {'package':40} {'drone':7} {'lease->pub':>10} {'emerge':>7} {'overhead':>8} | {'dispatch':>8} {'upload':>7} {'intake':>7} {'publish':>7}")
for r in rows:
    print(f"  {r['atom'][:40]:40} {r['drone']:7} {fmt(r['total']):>10} {fmt(r['emerge']):>7} {fmt(r['overhead']):>8} |"
          f" {fmt(r['dispatch']):>8} {fmt(r['upload']):>7} {fmt(r['intake']):>7} {fmt(r['publish']):>7}")

# Dependencies: the last dependency published -> the dependent leased / its emerge started.
deps = {}
for rid, dep in q("SELECT request_id, depends_on FROM dependencies"):
    deps.setdefault(rid, []).append(dep)
leases = q("""SELECT l.id, l.request_id, l.drone, l.issued_ms, b.finished_ms FROM leases l
              LEFT JOIN builds b ON b.lease_id = l.id ORDER BY l.issued_ms""")
ndrones = len({l[2] for l in leases})
dep_rows = []
for rid, ds in sorted(deps.items()):
    if any(x not in published_at for x in ds):
        continue  # a dependency was not published (quarantined): the dependent never started
    last = max(ds, key=lambda x: published_at[x])
    ready = published_at[last]
    mine = [l for l in leases if l[1] == rid and l[3] >= ready]
    if not mine:
        continue
    lid, _, drone, issued, _ = mine[0]
    busy = len({l[2] for l in leases if l[1] != rid and l[3] <= ready and (l[4] is None or l[4] > ready)})
    # A drone given other work after the dependency was accepted but before it was published: the
    # dependent was not ready yet when that drone (usually the one that built the dependency) asked.
    accepted = q("SELECT MIN(received_ms) FROM binaries WHERE request_id = ?", last)[0][0]
    raced = [f"{l[2]} took {atom[l[1]]} {(l[3] - accepted) / 1000:.2f} s after the acceptance"
             for l in leases if l[1] != rid and accepted is not None and accepted <= l[3] < ready]
    s = started.get(lid)
    dep_rows.append(dict(atom=atom[rid], after=atom[last], leased=issued - ready, started=(s - ready) if s else None,
                         all_busy=busy >= ndrones, raced=raced, window=ready - accepted if accepted else None))

print("\nlast dependency published -> dependent (seconds)")
for r in dep_rows:
    note = ("  (no drone free: one took other work before the dependency was published)" if r["raced"] else
            "  (every drone was busy: waited for a drone)" if r["all_busy"] else "")
    print(f"  {r['after'][:40]:40} -> {r['atom'][:40]:40} leased {fmt(r['leased'])}  emerge started {fmt(r['started'])}{note}")
    for why in r["raced"]:
        print(f"      between the dependency's acceptance and its publication ({r['window'] / 1000:.2f} s): {why}")

def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return "no samples"
    return f"median {statistics.median(v) / 1000:.2f} s, max {max(v) / 1000:.2f} s (n={len(v)})"

print("\nsummary")
print(f"  overhead per package (lease issued -> published, minus emerge): {stats(r['overhead'] for r in rows)}")
for k in ("dispatch", "upload", "intake", "publish"):
    print(f"    {k:9} {stats(r[k] for r in rows)}")
print(f"  emerge's own run time:                                           {stats(r['emerge'] for r in rows)}")
free = [r for r in dep_rows if not r["all_busy"]]
print(f"  dependency published -> dependent leased (a drone free):         {stats(r['leased'] for r in free)}")
print(f"  dependency published -> dependent's emerge started (drone free): {stats(r['started'] for r in free)}")
if len(free) != len(dep_rows):
    print(f"  ... including samples that waited for a busy drone:              {stats(r['started'] for r in dep_rows)}")
    raced = [r for r in dep_rows if r["raced"]]
    if raced:
        print(f"  ... of which a drone took other work in the acceptance -> publication window: {len(raced)} of {len(dep_rows)}")
worst = max((r["overhead"] for r in rows), default=None)
if worst is not None:
    print(f"  target: under 2 s per package beyond emerge: {'met' if worst < 2000 else 'MISSED'} "
          f"(worst {worst / 1000:.2f} s)")
run = q("SELECT MIN(created_ms) FROM runs")[0][0]
last = q("SELECT MAX(ts_ms) FROM events WHERE kind IN ('published','quarantined','blocked')")[0][0]
if run and last:
    print(f"  run: {len(rows)} packages published, {(last - run) / 1000:.1f} s from submission to the last terminal state, "
          f"{ndrones} drones")
PY
