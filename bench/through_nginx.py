"""The production path through nginx (deploy/, `scripts/deploy-local start`): the proxy's cost, and streams held.

Runs against a running local topology (state: DEPLOY_STATE, default /tmp/databiz-deploy; its `env` gives the
primary's URL and JWT_SIGNING_KEY), in three steps:

    .venv/bin/python bench/through_nginx.py data      # bench users and datasets on the primary, tokens minted
    .venv/bin/python bench/through_nginx.py proxy     # wrk through nginx against the two WSGI processes directly
    .venv/bin/python bench/through_nginx.py streams   # streams held open through nginx's port

`data`: bench/run.py's generate() on the primary (BENCH_USERS 2000 × BENCH_DATASETS_PER_USER 100; the replica gets
it by streaming replication, awaited), and an HS256 token per user as DataBiz's backend mints it (`sub` the user's
id, `iat`, `exp` 3 h), in bench-results/nginx/tokens.txt ("<user> <token>").

`proxy`: wrk (bench/poll.lua, 2 threads, 64 connections, the first BENCH_POLL_USERS 1000 users' tokens, the 200
path) alternately through nginx (which spreads over both WSGI processes) and at the two WSGI processes directly,
one wrk thread and 32 connections on each port (bench/two_ports.lua: one histogram), BENCH_PAIRS (3) pairs of
BENCH_DURATION (15) s after a 3 s warm-up of each. Per run: requests/s, p50, p99, errors, and the CPU (cores) of
nginx, of the WSGI processes and of the whole machine (/proc).

`streams`: BENCH_TABS (2000) streams, each another user's token, opened through nginx (2 ms apart), held
BENCH_HOLD (300) s after they are open; BENCH_RUNNING_SHARE (0.1) of the users get an import running (as
bench/streams.py does), so the others' streams are idle and get heartbeats. Samples the RSS of nginx (master and
workers) and of the ASGI uvicorn process every 15 s; counts per stream the first event, events, heartbeats, the
longest silence and whether it ended before the client closed it.
"""
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jwt
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from run import generate, say, wrk_figures  # noqa: E402

STATE = Path(os.environ.get("DEPLOY_STATE", "/tmp/databiz-deploy"))
OUT = ROOT / "bench-results" / "nginx"
TOKENS = OUT / "tokens.txt"
NGINX_PORT = int(os.environ.get("DEPLOY_PORT", 58080))
# BENCH_STREAM_PORT: the streams' port (nginx's by default; the ASGI process's own, 58003, to compare without nginx).
STREAM_PORT = int(os.environ.get("BENCH_STREAM_PORT", NGINX_PORT))
WSGI_PORTS = (int(os.environ.get("DEPLOY_WSGI1_PORT", 58001)), int(os.environ.get("DEPLOY_WSGI2_PORT", 58002)))
TICKS = os.sysconf("SC_CLK_TCK")


def state_env():
    """Return the topology's environment file as a dict."""
    env = {}
    for line in (STATE / "env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = value
    return env


def group_pids(leader):
    """Return the pids of every process in `leader`'s process group (an app server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == leader:
                found.append(int(entry.name))
    return found


def nginx_pids():
    master = int((STATE / "nginx" / "nginx.pid").read_text().split()[0])
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master] + [int(pid) for pid in children]


def app_pids(name):
    return group_pids(int((STATE / "run" / f"{name}.pid").read_text().split()[0]))


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def machine_busy():
    """Return the machine's busy and total CPU time so far (/proc/stat, in ticks)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def rss_mb(pids):
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def open_files_limit(pid):
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return line.split()[3]
    return "?"


def data():
    env = state_env()
    primary, replica = env["DATABASE_URL"], env["DATABASE_REPLICA_URL"]
    users = int(os.environ.get("BENCH_USERS", 2000))
    generate(primary, users, int(os.environ.get("BENCH_DATASETS_PER_USER", 100)))
    with psycopg.connect(primary, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM datasets").fetchone()[0]
        lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM accounts_user WHERE username LIKE 'bench-%' ORDER BY username")]
    started = time.monotonic()
    with psycopg.connect(replica, autocommit=True) as conn:
        while conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0] is not True:
            time.sleep(0.2)
        on_replica = conn.execute("SELECT count(*) FROM datasets").fetchone()[0]
    say(f"replica caught up in {time.monotonic() - started:.1f} s: {on_replica} datasets (primary {count})")
    now = int(time.time())
    OUT.mkdir(parents=True, exist_ok=True)
    key = env["JWT_SIGNING_KEY"]
    TOKENS.write_text("".join(
        f"{user} {jwt.encode({'sub': str(user), 'iat': now, 'exp': now + 3 * 3600}, key, algorithm='HS256')}\n"
        for user in ids))
    say(f"{len(ids)} tokens in {TOKENS}")


def wrk(label, ports, duration):
    """Run one wrk of `duration` s; return its figures and the CPU used meanwhile."""
    tokens = OUT / "poll-tokens.txt"
    script = "two_ports.lua" if len(ports) > 1 else "poll.lua"
    command = ["wrk", "-t2", "-c64", f"-d{duration}s", "--latency", "-s", str(ROOT / "bench" / script),
               f"http://127.0.0.1:{ports[0]}"]
    env = {**os.environ, "BENCH_TOKENS": str(tokens), "BENCH_CONDITIONAL": "0",
           "BENCH_POLL_LUA": str(ROOT / "bench" / "poll.lua"), "BENCH_PORTS": ",".join(map(str, ports))}
    watched = {"nginx": nginx_pids(), "wsgi": app_pids("wsgi1") + app_pids("wsgi2")}
    before = {name: cpu_seconds(pids) for name, pids in watched.items()}
    busy0, total0 = machine_busy()
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    seconds = time.monotonic() - start
    busy1, total1 = machine_busy()
    cpu = {name: (cpu_seconds(pids) - before[name]) / seconds for name, pids in watched.items()}
    rps, p50, p99, errors, (ok200, _ok304, other) = wrk_figures(result)
    machine = os.cpu_count() * (busy1 - busy0) / max(1, total1 - total0)
    return {"label": label, "rps": rps, "p50": p50, "p99": p99, "errors": errors + other, "ok200": ok200,
            "nginx_cpu": cpu["nginx"], "wsgi_cpu": cpu["wsgi"], "machine_cpu": machine}


def proxy():
    users = int(os.environ.get("BENCH_POLL_USERS", 1000))
    lines = TOKENS.read_text().splitlines()[:users]
    (OUT / "poll-tokens.txt").write_text("".join(line.split()[1] + "\n" for line in lines))
    pairs, duration = int(os.environ.get("BENCH_PAIRS", 3)), int(os.environ.get("BENCH_DURATION", 15))
    through, direct = ("nginx", [NGINX_PORT]), ("direct", list(WSGI_PORTS))
    print(f"# wrk -t2 -c64 -d{duration}s, {len(lines)} users' tokens, the 200 path; nginx :{NGINX_PORT} (2 WSGI "
          f"behind it) against :{WSGI_PORTS[0]} + :{WSGI_PORTS[1]} directly (one wrk, 32 connections each)")
    for label, ports in (through, direct):
        wrk(label, ports, 3)  # warm-up
    runs = {"nginx": [], "direct": []}
    for pair in range(pairs):
        for label, ports in ((through, direct) if pair % 2 == 0 else (direct, through)):
            r = wrk(label, ports, duration)
            runs[label].append(r)
            print(f"pair={pair + 1} path={label:<6} rps={r['rps']:.0f} p50_ms={r['p50']:.1f} p99_ms={r['p99']:.1f} "
                  f"errors={r['errors']} nginx_cpu_cores={r['nginx_cpu']:.2f} wsgi_cpu_cores={r['wsgi_cpu']:.2f} "
                  f"machine_cpu_cores={r['machine_cpu']:.2f}", flush=True)
    costs = [100 * (1 - n["rps"] / d["rps"]) for n, d in zip(runs["nginx"], runs["direct"])]
    for label in ("nginx", "direct"):
        rs = runs[label]
        print(f"median path={label:<6} rps={statistics.median(r['rps'] for r in rs):.0f} "
              f"p50_ms={statistics.median(r['p50'] for r in rs):.1f} "
              f"p99_ms={statistics.median(r['p99'] for r in rs):.1f} "
              f"nginx_cpu_cores={statistics.median(r['nginx_cpu'] for r in rs):.2f} "
              f"wsgi_cpu_cores={statistics.median(r['wsgi_cpu'] for r in rs):.2f}")
    print(f"proxy_cost_pct={statistics.median(costs):.1f} pairs={','.join(f'{c:.1f}' for c in costs)} "
          f"(1 - nginx rps / direct rps, median of the pairs)")


class Tab:
    def __init__(self, user, token):
        self.user, self.token = user, token
        self.status = None
        self.opened = self.first_event = self.last = None
        self.events = self.heartbeats = 0
        self.max_gap = 0.0
        self.ended = None  # why it ended before the client closed it

    def heard(self, now):
        if self.last is not None:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def read(self, line, now):
        """Count one line of the stream read at `now`; False once the server ended it."""
        if line in (b"", b"0\r\n"):  # the connection closed, or the last chunk
            self.ended = "closed by the server" if line == b"" else "ended by the server"
            return False
        if line.startswith(b"event:"):
            self.events += 1
            if self.first_event is None:
                self.first_event = now
            self.heard(now)
        elif line.startswith(b": heartbeat"):
            self.heartbeats += 1
            self.heard(now)
        return True


async def hold_stream(tab):
    tab.opened = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", STREAM_PORT, limit=2**20)
    except OSError as error:
        tab.ended = f"connect: {error}"
        return
    try:
        writer.write(f"GET /api/v2/jobs/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                     f"Authorization: Bearer {tab.token}\r\n\r\n".encode())
        await writer.drain()
        tab.status = (await reader.readline()).decode().strip()
        if not tab.status.startswith("HTTP/1.1 200"):
            tab.ended = f"status: {tab.status}"
            return
        while await reader.readline() not in (b"\r\n", b""):  # the response's headers
            pass
        while tab.read(await reader.readline(), time.monotonic()):
            pass
    except OSError as error:
        tab.ended = f"error: {error}"
    finally:
        writer.close()


async def hold(tabs, seconds, server, running):
    nginx, asgi = server
    idle = (rss_mb(nginx), rss_mb(asgi))
    print(f"idle: nginx_rss_mb={idle[0]:.1f} ({len(nginx)} processes, worker open files limit "
          f"{open_files_limit(nginx[-1])}) asgi_rss_mb={idle[1]:.1f} ({len(asgi)} processes, open files limit "
          f"{open_files_limit(asgi[-1])})", flush=True)
    tasks = []
    opening = time.monotonic()
    for tab in tabs:
        tasks.append(asyncio.create_task(hold_stream(tab)))
        await asyncio.sleep(0.002)

    def settled():
        return sum(t.first_event is not None or t.ended is not None for t in tabs)

    while time.monotonic() - opening < 60 and settled() < len(tabs):
        await asyncio.sleep(0.5)
    firsts = sorted(t.first_event - t.opened for t in tabs if t.first_event)
    print(f"opened={len(tabs)} in {time.monotonic() - opening:.1f} s; first_event={len(firsts)}/{len(tabs)} "
          f"p50_ms={1000 * statistics.median(firsts):.0f} p99_ms={1000 * firsts[int(0.99 * (len(firsts) - 1))]:.0f} "
          f"max_ms={1000 * firsts[-1]:.0f}", flush=True)
    started = time.monotonic()
    cpu0 = (cpu_seconds(nginx), cpu_seconds(asgi))
    busy0, total0 = machine_busy()
    samples = []
    while True:
        elapsed = time.monotonic() - started
        alive = sum(t.ended is None for t in tabs)
        samples.append((round(elapsed), rss_mb(nginx), rss_mb(asgi), alive))
        print(f"t={elapsed:5.0f}s nginx_rss_mb={samples[-1][1]:.1f} asgi_rss_mb={samples[-1][2]:.1f} "
              f"streams_open={alive}", flush=True)
        if elapsed >= seconds - 0.5:
            break
        await asyncio.sleep(min(15, seconds - elapsed))
    held = time.monotonic() - started
    cpu1 = (cpu_seconds(nginx), cpu_seconds(asgi))
    busy1, total1 = machine_busy()
    stop = time.monotonic()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for tab in tabs:
        if tab.last is not None and tab.ended is None:
            tab.max_gap = max(tab.max_gap, stop - tab.last)
    dropped = [t for t in tabs if t.ended is not None]
    idle_tabs = tabs[running:]  # set_running_share: the first `running` users have an import running
    nginx_rss = [s[1] for s in samples]
    asgi_rss = [s[2] for s in samples]
    print(f"held_s={held:.0f} streams={len(tabs)} dropped={len(dropped)} "
          + (f"({', '.join(sorted({t.ended for t in dropped}))}) " if dropped else "")
          + f"nginx_cpu_cores={(cpu1[0] - cpu0[0]) / held:.3f} asgi_cpu_cores={(cpu1[1] - cpu0[1]) / held:.3f} "
          f"machine_cpu_cores={os.cpu_count() * (busy1 - busy0) / max(1, total1 - total0):.3f}")
    print(f"nginx_rss_every_15s_mb={'/'.join(f'{v:.0f}' for v in nginx_rss)} "
          f"per_stream_kib={1024 * (statistics.median(nginx_rss) - idle[0]) / len(tabs):.1f}")
    print(f"asgi_rss_every_15s_mb={'/'.join(f'{v:.0f}' for v in asgi_rss)} "
          f"per_stream_kib={1024 * (statistics.median(asgi_rss) - idle[1]) / len(tabs):.1f}")
    heartbeats = sorted(t.heartbeats for t in idle_tabs)
    gaps = sorted(t.max_gap for t in tabs)
    print(f"events_per_stream min/median/max={min(t.events for t in tabs)}/"
          f"{statistics.median(t.events for t in tabs):.0f}/{max(t.events for t in tabs)} "
          f"running_streams={running} idle_streams={len(idle_tabs)} their_heartbeats min/median/max={heartbeats[0]}/"
          f"{statistics.median(heartbeats):.0f}/{heartbeats[-1]} "
          f"longest_silence_s median/max={statistics.median(gaps):.1f}/{gaps[-1]:.1f}")


def streams():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from streams import set_running_share  # bench/streams.py: the share of tabs with a running import

    count, seconds = int(os.environ.get("BENCH_TABS", 2000)), int(os.environ.get("BENCH_HOLD", 300))
    pairs = [line.split() for line in TOKENS.read_text().splitlines()][:count]
    env = state_env()
    share = float(os.environ.get("BENCH_RUNNING_SHARE", 0.1))
    set_running_share(env["DATABASE_URL"], pairs, share)
    time.sleep(2)  # the replica applies it
    tabs = [Tab(user, token) for user, token in pairs]
    where = "through nginx" if STREAM_PORT == NGINX_PORT else "directly at"
    print(f"# {len(tabs)} streams {where} :{STREAM_PORT}, held {seconds} s, client open files limit {hard}",
          flush=True)
    asyncio.run(hold(tabs, seconds, (nginx_pids(), app_pids("asgi")), round(len(tabs) * share)))


if __name__ == "__main__":
    {"data": data, "proxy": proxy, "streams": streams}[sys.argv[1] if len(sys.argv) > 1 else ""]()
