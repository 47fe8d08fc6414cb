"""Open streams against polling, for the same tabs: database work, server CPU and memory, change-to-client latency.

Run after `make bench` has filled its database (it reuses the bench users and their datasets):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/databiz_bench .venv/bin/python bench/streams.py

BENCH_TABS (2000 users, one tab each), BENCH_HOLD (60 s), BENCH_MODES (polling,stream-tick,stream-notify: the
modes to run), BENCH_RUNNING_SHARE (0.1: the share of tabs with an import running, the rest with none), BENCH_PORT
(8091). It serves the project as `make serve WORKERS=2` does for the polls (granian's WSGI server, as production
serves them) and as `make serve INTERFACE=asgi WORKERS=2` does for the streams (uvicorn), then: (1) every tab polls
every 10 s for BENCH_HOLD seconds; (2) every tab holds a stream for BENCH_HOLD seconds, with the tick; (3) the same with
LISTEN/NOTIFY (the trigger installed on the bench database for the run, removed after). During (2) and (3) it
updates one running import of 20 tabs and times the event that shows it. Streams are measured once every tab has
its first answer (`all_open_in_s`); each mode ends as a deploy does, with SIGTERM while every tab is still open
(`sigterm_exit_s`, and `retry_hint_at_stop`: the streams that got their `retry:` hint). Before the tabs open, a few
polls let both workers learn the import speed (`speed_learning_failed` counts the learnings that failed: fixed
progress, which moves no running import's answer, would make a stream mode look cheaper). Prints one line per mode;
the server's memory is sampled every 15 s of the hold (`rss_every_15s_mb`), with the longest silence of any stream
(heartbeats every 15 s) and the streams the server ended on its own (`dropped`). The open-files limits of this
client and of the server it starts are raised to the hard limit by the script itself.
"""
import asyncio
import contextlib
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from run import SECRET_KEY, database_url, django_probe, say, serve_command  # noqa: E402

CHANNEL = "databiz_bench_jobs"
TOKENS_CODE = """
import datetime
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
for user in get_user_model().objects.filter(username__startswith="bench-").order_by("username")[:{n}]:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=datetime.timedelta(hours=2))
    print(user.pk, token)
"""


def server_env(url, notify):
    return {
        **os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING",
        "JOBS_STREAM_MAX_PER_PROCESS": "100000", "JOBS_STREAM_NOTIFY_CHANNEL": CHANNEL if notify else "",
    }


def start_server(env, port, interface):
    metrics = ROOT / "bench-results" / "prometheus-streams"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    server = subprocess.Popen(
        # The polls as production serves them (`make serve`, granian's WSGI server); the streams as `make serve
        # INTERFACE=asgi` does (uvicorn). Each with a backlog for 10,000 tabs opening at once.
        serve_command(interface, port, workers=2, backlog=4096),
        cwd=ROOT, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
        stdout=open(ROOT / "bench-results" / "streams-server.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops its workers too
    )
    time.sleep(4)
    return server


def stop_server(server):
    """Stop the server and its workers, its tabs still open: SIGTERM, then SIGKILL to the whole group after 10 s.
    Return the seconds it took to exit (None: killed)."""
    if server.poll() is not None:
        return None  # stopped already (the measurement's own SIGTERM)
    sent = time.monotonic()
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
        took = time.monotonic() - sent
    except subprocess.TimeoutExpired:
        say("the server did not stop within 10 s of SIGTERM: killed")
        took = None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    return took


def pids(server):
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [server.pid] + [int(pid) for pid in children]


def cpu_seconds(pid_list):
    total = 0
    for pid in pid_list:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid_list):
    total = 0
    for pid in pid_list:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def statements(url):
    """Return the database's committed transactions so far (each poll or tick is one or two)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


async def request(port, path, token):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def warm_up(port, token, polls=16):
    """Poll a few times on connections of their own, so that both workers start learning the import speed, and give
    them time to learn it before the tabs open: a learning that coincides with 2,000 openings times out, and the
    run would measure fixed progress (no running import's answer changing) instead of the steady state."""
    for _ in range(polls):
        reader, writer = await request(port, "/api/v2/jobs/active", token)
        await reader.readline()
        writer.close()
    await asyncio.sleep(3)


def learning_failures():
    """Return how often the server's workers failed to learn the import speed (each means fixed progress meanwhile)."""
    log = ROOT / "bench-results" / "streams-server.log"
    return log.read_text().count("Learning the import speed failed")


async def poll_forever(port, token, stop):
    await asyncio.sleep(random.uniform(0, 10))  # tabs were opened at different moments
    reader, writer = await request(port, "/api/v2/jobs/active", token)
    while not stop.is_set():
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        assert status.startswith(b"HTTP/1.1 200"), status
        await asyncio.sleep(10)
        writer.write(f"GET /api/v2/jobs/active HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
                     .encode())
    writer.close()


async def stream_forever(port, user, token, watched, seen, opened, health):
    """Hold one tab's stream until the server ends it: note its first answer, the longest silence once open
    (heartbeats every 15 s), whether the server ended it before the stop, and when the watched change arrives.

    One read a line and no timeout of its own: a timeout per read (asyncio.wait_for, a task each on Python 3.11) made
    this client, not the server, the bottleneck at 10,000 tabs (`client_cpu_cores` shows what it spends)."""
    reader, writer = await request(port, "/api/v2/jobs/stream", token)
    try:
        status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        last, hinted = None, False
        while line := await reader.readline():
            hinted = hinted or (health["stopping"] and line.startswith(b"retry:"))
            if line.startswith(b"event: jobs"):
                opened.add(user)
            if user in opened and line.strip():
                now = time.monotonic()
                if last is not None and health["measuring"]:
                    health["longest_silence"] = max(health["longest_silence"], now - last)
                last = now
            marker = watched.get(user)
            if marker and line.startswith(b"data:") and marker in line:
                seen.setdefault(user, time.monotonic())
        health["hinted_at_stop" if hinted and health["stopping"] else "dropped"] += 1
    finally:
        writer.close()


async def stop_with_tabs_open(server, tasks, stop, health):
    """Stop the server as a deploy does, SIGTERM with every tab still open (each stream is to end with its `retry:`
    hint), and wait for the tabs to end; return the seconds the server took to exit (None: killed)."""
    health["stopping"] = True
    exit_seconds = await asyncio.to_thread(stop_server, server)
    await asyncio.sleep(2)
    stop.set()
    # The streams end as the server's connections close; a tab still waiting after that is cut here.
    _, waiting = await asyncio.wait(tasks, timeout=10)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return exit_seconds


async def measure(mode, url, port, tabs, hold, server, idle):
    stop, watched, seen, opened = asyncio.Event(), {}, {}, set()
    health = {"dropped": 0, "longest_silence": 0.0, "measuring": False, "stopping": False, "hinted_at_stop": 0}
    await warm_up(port, tabs[0][1])
    started = time.monotonic()
    if mode == "polling":
        tasks = [asyncio.create_task(poll_forever(port, token, stop)) for _, token in tabs]
    else:
        tasks = []
        for user, token in tabs:
            tasks.append(asyncio.create_task(stream_forever(port, user, token, watched, seen, opened, health)))
            await asyncio.sleep(0.002)
        # The steady state: measured once every stream has its first answer (opening is timed on its own).
        while len(opened) < len(tabs) and time.monotonic() - started < 600:
            await asyncio.sleep(0.1)
    open_seconds = time.monotonic() - started
    await asyncio.sleep(5)
    health["measuring"] = True
    before = (time.monotonic(), statements(url), cpu_seconds(pids(server)), time.process_time())
    rss_held = rss_mb(pids(server))
    changed = {}
    if mode != "polling":
        # 20 tabs of their own per mode: an upload of each completes now, and the event showing it is timed.
        first = 0 if mode == "stream-tick" else 20
        with psycopg.connect(url, autocommit=True) as conn:
            for user, _ in tabs[first:first + 20]:
                await asyncio.sleep(0.5)
                row = conn.execute("SELECT id FROM datasets WHERE created_by = %s AND status <> 'inactive' LIMIT 1",
                                   [user]).fetchone()
                if row is None:
                    continue
                watched[user] = f'"id":"{row[0]}","type":"import","status":"completed"'.encode()
                changed[user] = time.monotonic()
                conn.execute("UPDATE datasets SET status = 'inactive', updated_at = now() WHERE id = %s", [row[0]])
    # The server's memory every 15 s while the tabs are held: flat, or growing with time.
    samples = [rss_held]
    while (left := hold - (time.monotonic() - before[0])) > 0:
        await asyncio.sleep(min(15, left))
        samples.append(rss_mb(pids(server)))
    after = (time.monotonic(), statements(url), cpu_seconds(pids(server)), time.process_time())
    health["measuring"] = False
    exit_seconds = await stop_with_tabs_open(server, tasks, stop, health)
    seconds = after[0] - before[0]
    latencies = sorted(seen[user] - at for user, at in changed.items() if user in seen)
    line = (f"mode={mode} tabs={len(tabs)} seconds={seconds:.0f} "
            + (f"all_open_in_s={open_seconds:.1f} opened={len(opened)} " if mode != "polling" else "")
            + f"db_xact_per_s={(after[1] - before[1]) / seconds:.1f} "
            f"server_cpu_cores={(after[2] - before[2]) / seconds:.3f} "
            f"client_cpu_cores={(after[3] - before[3]) / seconds:.3f} server_rss_mb={rss_held:.0f} "
            f"rss_every_15s_mb={'/'.join(f'{sample:.0f}' for sample in samples)} "
            f"kib_per_tab_over_idle={(samples[-1] - idle) * 1024 / len(tabs):.1f}")
    if mode != "polling":
        line += (f" longest_silence_s={health['longest_silence']:.1f} dropped={health['dropped']}"
                 f" retry_hint_at_stop={health['hinted_at_stop']}/{len(tabs)}")
    line += f" sigterm_exit_s={'killed' if exit_seconds is None else f'{exit_seconds:.1f}'}"
    line += f" speed_learning_failed={learning_failures()}"
    if latencies:
        line += (f" change_to_client_p50_ms={statistics.median(latencies) * 1000:.0f}"
                 f" p99_ms={latencies[-1] * 1000:.0f} changes_seen={len(latencies)}/{len(changed)}")
    return line


def set_running_share(url, tabs, share):
    """Give `share` of the tabs' users one import running now and the rest none (their recent uploads completed):
    the issue's 10 % with running imports, whatever the age of the bench data (imports stall after an hour)."""
    users = [user for user, _ in tabs]
    cut = round(len(users) * share)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE datasets SET status = 'inactive' WHERE created_by = ANY(%s::uuid[]) AND status = 'new' "
                     "AND updated_at > now() - interval '1 hour'", [users[cut:]])
        conn.execute("UPDATE datasets SET created_at = now() - interval '2 minutes', updated_at = now() "
                     "WHERE created_by = ANY(%s::uuid[]) AND status = 'new'", [users[:cut]])


def main():
    url = database_url()
    # Two sockets a tab (client and server side) on this one machine.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    count, hold, port = int(os.environ.get("BENCH_TABS", 2000)), int(os.environ.get("BENCH_HOLD", 60)), 8091
    tabs = [line.split() for line in django_probe(server_env(url, False), TOKENS_CODE.format(n=count)).splitlines()]
    notify_sql = subprocess.run(
        [sys.executable, "manage.py", "jobs_notify_sql", "--channel", CHANNEL], cwd=ROOT, check=True,
        env={**server_env(url, False), "DJANGO_SETTINGS_MODULE": "databiz.settings"}, capture_output=True, text=True,
    ).stdout
    # Running tabs first: the 20 tabs whose upload completes during each stream mode are among them.
    set_running_share(url, tabs, float(os.environ.get("BENCH_RUNNING_SHARE", 0.1)))
    lines = []
    for mode in os.environ.get("BENCH_MODES", "polling,stream-tick,stream-notify").split(","):
        if mode == "stream-notify":
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(notify_sql)
        server = start_server(server_env(url, mode == "stream-notify"), port, "wsgi" if mode == "polling" else "asgi")
        try:
            idle = rss_mb(pids(server))
            line = asyncio.run(measure(mode, url, port, tabs, hold, server, idle))
            lines.append(f"{line} server_rss_idle_mb={idle:.0f}")
            say(lines[-1])
        finally:
            stop_server(server)
            if mode == "stream-notify":
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("DROP TRIGGER IF EXISTS databiz_jobs_notify ON datasets")
                    conn.execute("DROP FUNCTION IF EXISTS databiz_jobs_notify()")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
