"""`make bench`: a realistic data set on PostgreSQL, the production server, and wrk polling it as many users.

Prints one line per scenario (`scenario=... rps=... p50_ms=... p99_ms=... errors=...`), the queries per request
and the server's peak memory, and writes them to bench-results/. Settings (environment): DATABASE_URL (PostgreSQL,
required), BENCH_USERS (10000), BENCH_DATASETS_PER_USER (100), BENCH_DURATION (15 s), BENCH_RUNS (3),
BENCH_CONNECTIONS ("16,64"), BENCH_SOAK (0: seconds of an extra memory soak run at 64 connections), BENCH_PORT (8090),
BENCH_REGENERATE (1: rebuild the data set; 0 reuses it if it is there), BENCH_AUTH (local, or external: tokens as
DataBiz's backend signs them), WORKERS (server processes, 2).

The job history (GET /api/v2/jobs/history): the data set holds one user, bench-history, with BENCH_HISTORY_DATASETS
(100000) datasets in place of BENCH_HISTORY_DATASETS / BENCH_DATASETS_PER_USER ordinary users (the total stays users
x datasets per user). As that user, wrk reads first pages, a chain of BENCH_HISTORY_PAGES (50) pages followed by
their `next` cursors, and a filename search (?q=BENCH_HISTORY_Q, invoice) with its own chain of pages, at
BENCH_HISTORY_CONNECTIONS ("16,64"), on a server whose throttle is lifted (one user's 16 connections are far more
than JOBS_THROTTLE_RATE lets through); the report gets the EXPLAIN ANALYZE of a first page, the deepest page and a
search. BENCH_SCENARIOS ("poll,history") picks which of the two parts run.
"""
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MARKER_TABLE = "datasets_bench_marker"
SECRET_KEY = "benchmark-only-secret-key-0123456789abcdef0123456789"
ISSUER_SECRET = "benchmark-only-databiz-issuer-secret-0123456789abcdef"
# wsgi: as `make serve` runs by default; asgi: as `make serve INTERFACE=asgi` runs (the stream too, on one port).
INTERFACE = os.environ.get("INTERFACE", "wsgi")
TOKEN_SAMPLE = 2000
ERROR_MESSAGES = ["Column 'amount' is not a number.", "File is not valid UTF-8.", "Sheet 'Orders' is empty."]
OLD_STATUSES = ["active"] * 4 + ["archived"] * 3 + ["inactive"] * 2 + ["error"]
HISTORY_USERNAME = "bench-history"
# The history user's old datasets: mostly finished (inactive: completed, error: failed), a few that are no jobs
# (active, archived) and a few imports that stalled long ago (new: reported failed).
HISTORY_STATUSES = ["inactive"] * 70 + ["error"] * 18 + ["active"] * 6 + ["archived"] * 4 + ["new"] * 2
# What people upload; "invoice" is in about 1 filename in 12 (BENCH_HISTORY_Q searches for it).
HISTORY_STEMS = [
    "sales_report", "Customer list", "invoices", "orders_export", "inventory", "payroll", "marketing_leads",
    "survey results", "transactions", "product_catalog", "shipments", "budget_forecast",
]
# The history scenarios' server lets one user ask this often (DRF then keeps a second of timestamps: a short list).
HISTORY_THROTTLE_RATE = "100000/s"


def say(message):
    """Print a progress message to stderr, keeping stdout for the result lines."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def database_url():
    """Return DATABASE_URL, or stop with a clear message when it is not PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in ("postgres", "postgresql"):
        sys.exit(f"make bench needs PostgreSQL: set DATABASE_URL=postgres://... (it is {url or 'unset'}).")
    return url


def server_env(url):
    """Return the environment of the production server and of the Django calls of this script."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "JWT_ACCESS_TOKEN_LIFETIME": "86400",
        # BENCH_AUTH=external: tokens as DataBiz's backend issues them (HS256, a shared secret), no user query.
        "AUTH_MODE": os.environ.get("BENCH_AUTH", "local"),
        "JWT_SIGNING_KEY": ISSUER_SECRET,
    }


def ensure_database(url):
    """Create the benchmark database when it does not exist."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            say(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare_schema(url, env):
    """Migrate, and create the datasets table (marked as the benchmark's own) when there is none."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        if "datasets" in tables and MARKER_TABLE not in tables:
            sys.exit("This database has a datasets table the benchmark did not create: refusing to touch it.")
        if "datasets" not in tables:
            subprocess.run(
                [PYTHON, "-c", "import django; django.setup(); "
                 "from databiz.demo.ddl import create_datasets_table; create_datasets_table()"],
                cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "databiz.settings"}, check=True,
            )
            conn.execute(f"CREATE TABLE {MARKER_TABLE} (note text)")


def user_rows(count, history_user):
    """Yield the benchmark users as accounts_user rows, the history user last when there is one."""
    joined = datetime.now(UTC) - timedelta(days=800)
    names = [f"bench-{i:05d}" for i in range(count)] + ([HISTORY_USERNAME] if history_user else [])
    for name in names:
        yield (uuid.uuid4(), "!unusable", None, False, name, "", "", "", False, True, joined)


def dataset_rows(user_ids, per_user, now):
    """Yield the datasets of every user: mostly old history, a few recent ones in every job state."""
    rnd = random.Random(42)
    minute = timedelta(minutes=1)
    for index, owner in enumerate(user_ids):
        recent = [("new", rnd.uniform(0.2, 9))] * (2 if index % 3 == 0 else 1)
        recent += [("inactive", rnd.uniform(1, 55)), ("error", rnd.uniform(1, 55))]
        if index % 5 == 0:
            recent.append(("new", rnd.uniform(61, 115)))  # stalled, still listed
        for status, minutes_ago in recent:
            updated = now - minutes_ago * minute
            yield row(rnd, owner, status, updated - rnd.uniform(0.1, 3) * minute, updated)
        for _ in range(per_user - len(recent)):
            created = now - timedelta(days=rnd.uniform(0.1, 365))
            yield row(rnd, owner, rnd.choice(OLD_STATUSES), created, created + rnd.uniform(0.1, 30) * minute)


def row(rnd, owner, status, created, updated):
    """Return one datasets row."""
    file_type = rnd.choice(("csv", "xlsx", "json", "parquet"))
    error = rnd.choice(ERROR_MESSAGES) if status == "error" else None
    size = rnd.randint(1_000, 500_000_000)
    name = f"upload-{rnd.randint(1, 10**9)}"
    return (uuid.uuid4(), name, f"{name}.{file_type}", file_type, size, status, error, owner, created, updated)


def history_rows(owner, count, now):
    """Yield the history user's datasets: a few running imports, then two years of uploads, mostly finished."""
    rnd = random.Random(7)
    minute = timedelta(minutes=1)
    running = [rnd.uniform(0.2, 9) for _ in range(min(count, 5))]
    for minutes_ago in running:
        updated = now - minutes_ago * minute
        yield history_row(rnd, owner, "new", updated - rnd.uniform(0.1, 3) * minute, updated)
    for _ in range(count - len(running)):
        created = now - timedelta(days=rnd.uniform(0.1, 730))
        status = rnd.choice(HISTORY_STATUSES)
        yield history_row(rnd, owner, status, created, created + rnd.uniform(0.1, 30) * minute)


def history_row(rnd, owner, status, created, updated):
    """Return one datasets row of the history user, named as people name their files."""
    file_type = rnd.choice(("csv", "csv", "xlsx", "json", "parquet"))
    stem = rnd.choice(HISTORY_STEMS)
    name = f"{stem} {created:%Y-%m}"
    filename = rnd.choice((f"{stem}_{created:%Y-%m-%d}", f"{stem} ({rnd.randint(1, 9)})", f"{stem}_{created:%Y}_v2"))
    # Some uploads keep no original filename: the job shows the dataset's name then.
    original = None if rnd.random() < 0.03 else f"{filename}.{file_type}"
    error = rnd.choice(ERROR_MESSAGES) if status == "error" else None
    size = rnd.randint(1_000, 500_000_000)
    return (uuid.uuid4(), name, original, file_type, size, status, error, owner, created, updated)


def generate(url, users, per_user, history_datasets):
    """Replace the benchmark's users and datasets with a fresh data set, loaded with COPY: `users` x `per_user`
    rows, `history_datasets` of them (in place of as many ordinary users' rows) the history user's."""
    started = time.monotonic()
    now = datetime.now(UTC)
    regular = max(0, users - history_datasets // per_user)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM accounts_user WHERE username LIKE 'bench-%'")
        conn.execute("TRUNCATE datasets")
        conn.execute("DROP INDEX IF EXISTS datasets_created_by_updated_at_idx")
        user_ids = []
        with conn.cursor().copy(
            "COPY accounts_user (id, password, last_login, is_superuser, username, first_name, last_name, email,"
            " is_staff, is_active, date_joined) FROM STDIN"
        ) as copy:
            for user in user_rows(regular, history_datasets > 0):
                user_ids.append(user[0])
                copy.write_row(user)
        with conn.cursor().copy(
            "COPY datasets (id, name, original_filename, file_type, file_size, status, error_message, created_by,"
            " created_at, updated_at) FROM STDIN"
        ) as copy:
            for dataset in dataset_rows(user_ids[:regular], per_user, now):
                copy.write_row(dataset)
            if history_datasets:
                for dataset in history_rows(user_ids[-1], history_datasets, now):
                    copy.write_row(dataset)
        conn.execute("CREATE INDEX datasets_created_by_updated_at_idx ON datasets (created_by, updated_at DESC)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE datasets")
        conn.execute("VACUUM ANALYZE accounts_user")
        count = conn.execute("SELECT count(*) FROM datasets").fetchone()[0]
    say(f"generated {len(user_ids)} users ({history_datasets} datasets of {HISTORY_USERNAME}) and {count} datasets"
        f" in {time.monotonic() - started:.1f} s")


def django_probe(env, code):
    """Run `code` with Django set up against the benchmark database and return its stdout."""
    result = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()\n" + code],
        # Request log lines go to stdout too: keep them out of the probe's answer.
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "databiz.settings", "LOG_LEVEL": "WARNING"}, check=True,
        capture_output=True, text=True,
    )
    return result.stdout


# In external mode the bench users' ids stand for DataBiz users: their tokens are signed as DataBiz's backend would.
TOKENS_CODE = """
import datetime
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
from jobs.authentication import EXTERNAL, auth_mode, issuer_backend
exp = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
users = get_user_model().objects.filter(username__startswith="bench-").exclude(username={history!r})
for user in users.order_by("?")[:{n}]:
    if auth_mode() == EXTERNAL:
        print(issuer_backend().encode({{"sub": str(user.pk), "exp": exp}}))
    else:
        print(AccessToken.for_user(user))
"""

QUERIES_CODE = """
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
tokens = open({path!r}).read().split()[:{n}]
client = Client()
counts = []
for token in tokens:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v2/jobs/active", HTTP_AUTHORIZATION="Bearer " + token, secure=True,
                              HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, response.status_code
    counts.append(len(ctx.captured_queries))
print(sum(counts) / len(counts))
datasets_sql = [q["sql"] for q in ctx.captured_queries if "datasets" in q["sql"]][-1]
print(datasets_sql)
"""

# The history user's token, and the page URLs wrk cycles over: a chain of pages followed by their `next` cursors, from
# the first page on, and one of a filename search. Each page's datasets query (Django's connection.queries, with the
# parameters inlined) and its count of queries come along.
HISTORY_CODE = """
import datetime
import json
from urllib.parse import urlsplit
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken
from jobs.authentication import EXTERNAL, auth_mode, issuer_backend
user = get_user_model().objects.get(username={username!r})
if auth_mode() == EXTERNAL:
    exp = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    token = issuer_backend().encode({{"sub": str(user.pk), "exp": exp}})
else:
    token = str(AccessToken.for_user(user))
client = Client()


def chain(first, pages):
    urls, sqls, counts, rows = [first], [], [], 0
    while True:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(urls[-1], HTTP_AUTHORIZATION="Bearer " + token, secure=True, HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, (urls[-1], response.status_code, response.content[:300])
        counts.append(len(ctx.captured_queries))
        sqls.append([q["sql"] for q in ctx.captured_queries if "datasets" in q["sql"]][-1])
        body = response.json()
        rows += len(body["results"])
        if len(urls) == pages or not body["next"]:
            return {{"urls": urls, "sqls": sqls, "counts": counts, "rows": rows}}
        parts = urlsplit(body["next"])
        urls.append(parts.path + "?" + parts.query)


print(json.dumps({{"token": token, "pages": chain("/api/v2/jobs/history", {pages}),
                  "search": chain("/api/v2/jobs/history?q={q}", {search_pages})}}))
"""


def explain(url, sql):
    """Return PostgreSQL's EXPLAIN ANALYZE of the endpoint's datasets query."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()
    return "\n".join(r[0] for r in rows)


def serve_command(interface, port, workers=2, backlog=2048):
    """Return the server command `make serve INTERFACE=<interface>` runs (the Makefile's SERVER.wsgi, SERVER.asgi)."""
    bin_dir = Path(PYTHON).parent
    if interface == "asgi":
        return [str(bin_dir / "uvicorn"), "databiz.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--backlog", str(backlog), "--http", "h11",
                "--h11-max-incomplete-event-size", "65536", "--no-proxy-headers", "--no-access-log",
                "--timeout-graceful-shutdown", "4", "--log-level", "warning"]
    return [str(bin_dir / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--blocking-threads", "1", "--backlog", str(backlog), "--no-ws",
            "--workers-kill-timeout", "4", "--log-level", "warning", "databiz.wsgi:application"]


def start_server(env, port, log_name="server.log"):
    """Start the production server as `make serve` does (WORKERS processes), and wait until it answers."""
    log = open(ROOT / "bench-results" / log_name, "w")
    metrics_dir = ROOT / "bench-results" / "prometheus"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    server = subprocess.Popen(
        serve_command(INTERFACE, port, int(os.environ.get("WORKERS", "2"))),
        cwd=ROOT, env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, stdout=log, stderr=subprocess.STDOUT,
    )
    probe = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/jobs/active", headers={"X-Forwarded-Proto": "https"}
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(probe, timeout=1)
        except urllib.error.HTTPError:  # the 401 of a request without a token: the server answers
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("the server did not start: see bench-results/server.log")


def fetch_etags(tokens, port):
    """Return each token's current ETag, as a poller that has seen the list once holds it."""
    etags = []
    for token in tokens:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v2/jobs/active",
            headers={"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"},
        )
        with urllib.request.urlopen(request) as response:
            etags.append(response.headers["ETag"])
    return etags


def worker_pids(server):
    """Return the pids of the server's main process and its workers."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [server.pid] + [int(pid) for pid in children]


def rss_mb(pid):
    """Return the resident memory of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def to_ms(value):
    """Turn a wrk duration ("812.00us", "3.21ms", "1.02s") into milliseconds."""
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(port, connections, duration, conditional, tokens_path):
    """Run wrk once and return rps, p50, p99 and errors."""
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(ROOT / "bench" / "poll.lua"),
         f"http://127.0.0.1:{port}"],
        env={**os.environ, "BENCH_TOKENS": str(tokens_path), "BENCH_CONDITIONAL": "1" if conditional else "0"},
        capture_output=True, text=True, check=True,
    )
    rps, p50, p99, errors, (ok200, ok304, other) = wrk_figures(result)
    return rps, p50, p99, errors + other, 100 * ok304 / max(1, ok200 + ok304 + other)


def wrk_figures(result):
    """Return requests/s, p50 and p99 (ms), socket errors and the (200, 304, other) counts of a wrk run with
    bench/poll.lua, or stop when wrk printed no latency figures."""
    out = result.stdout
    if "Latency Distribution" not in out:
        sys.exit(f"wrk gave no latency figures:\n{out}\n{result.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # Anchored: "+/- Stdev" columns such as "70.50%" must not pass for the 50th percentile.
    p50 = to_ms(re.search(r"^\s*50%\s+([\d.]+(?:us|ms|s|m))", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s*99%\s+([\d.]+(?:us|ms|s|m))", out, re.M).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    statuses = tuple(int(n) for n in re.search(r"statuses: 200=(\d+) 304=(\d+) other=(\d+)", out).groups())
    return rps, p50, p99, errors, statuses


def scenario_lines(port, tokens_path, server, duration, runs, connection_counts):
    """Run every scenario `runs` times and return one line each, with medians, and the peak memory."""
    lines, peak = [], 0.0
    for conditional in (False, True):
        for connections in connection_counts:
            name = f"{'304' if conditional else '200'}_c{connections}"
            run_wrk(port, connections, 3, conditional, tokens_path)  # warm-up
            results = []
            for _ in range(runs):
                results.append(run_wrk(port, connections, duration, conditional, tokens_path))
                peak = max(peak, sum(rss_mb(pid) for pid in worker_pids(server)))
            rps, p50, p99, errors, not_modified = (statistics.median(col) for col in zip(*results))
            every_rps = "/".join(f"{r[0]:.0f}" for r in results)
            line = (f"scenario={name} rps={rps:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} errors={errors:.0f} "
                    f"not_modified_pct={not_modified:.0f} runs={runs} rps_all={every_rps}")
            print(line, flush=True)
            lines.append(line)
    return lines, peak


def run_history_wrk(port, connections, duration, token, urls_path):
    """Run wrk once over the history page URLs in `urls_path` and return rps, p50, p99 and errors (non-200 too)."""
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(ROOT / "bench" / "history.lua"),
         f"http://127.0.0.1:{port}"],
        env={**os.environ, "BENCH_TOKEN": token, "BENCH_URLS": str(urls_path)},
        capture_output=True, text=True, check=True,
    )
    rps, p50, p99, errors, (ok200, ok304, other) = wrk_figures(result)
    return rps, p50, p99, errors + ok304 + other


def history_scenarios(env, url, port, duration, runs):
    """Run the history scenarios as the history user on a server of their own; return the result lines and the
    EXPLAIN ANALYZE sections of a first page, the deepest page and a search."""
    pages = int(os.environ.get("BENCH_HISTORY_PAGES", 50))
    query = os.environ.get("BENCH_HISTORY_Q", "invoice")
    connection_counts = [int(c) for c in os.environ.get("BENCH_HISTORY_CONNECTIONS", "16,64").split(",")]
    env = {**env, "JOBS_THROTTLE_RATE": HISTORY_THROTTLE_RATE}
    code = HISTORY_CODE.format(username=HISTORY_USERNAME, pages=pages, q=query, search_pages=10)
    probe = json.loads(django_probe(env, code).strip().splitlines()[-1])
    chains = {"first": probe["pages"]["urls"][:1], "pages": probe["pages"]["urls"], "search": probe["search"]["urls"]}
    counts = probe["pages"]["counts"] + probe["search"]["counts"]
    lines = [f"history_chain pages={len(chains['pages'])} rows={probe['pages']['rows']} "
             f"search_q={query} search_pages={len(chains['search'])} search_rows={probe['search']['rows']} "
             f"queries_per_request={statistics.mean(counts):.2f} max={max(counts)}"]
    print(lines[0], flush=True)
    server = start_server(env, port, "server-history.log")
    try:
        for name, urls in chains.items():
            urls_path = ROOT / "bench-results" / f"history-{name}.txt"
            urls_path.write_text("\n".join(urls) + "\n")
            for connections in connection_counts:
                run_history_wrk(port, connections, 3, probe["token"], urls_path)  # warm-up
                results = [run_history_wrk(port, connections, duration, probe["token"], urls_path)
                           for _ in range(runs)]
                rps, p50, p99, errors = (statistics.median(col) for col in zip(*results))
                line = (f"scenario=history_{name}_c{connections} rps={rps:.0f} p50_ms={p50:.1f} p99_ms={p99:.1f} "
                        f"errors={errors:.0f} urls={len(urls)} runs={runs} "
                        f"rps_all={'/'.join(f'{r[0]:.0f}' for r in results)}")
                print(line, flush=True)
                lines.append(line)
    finally:
        server.terminate()
        server.wait(timeout=30)
    plans = []
    for title, chain, index in (("history, first page", "pages", 0),
                                (f"history, page {len(chains['pages'])} (a cursor)", "pages", -1),
                                (f"history, search q={query}, first page", "search", 0)):
        # The page's statement carries its values (jobs/compiled.py, fetch_checked's planned_for_values), so this
        # is the plan it gets.
        plans += ["", f"EXPLAIN ANALYZE ({title}; planned for its values, as the page runs it):",
                  explain(url, probe[chain]["sqls"][index])]
    return lines, plans


def soak(port, tokens_path, server, seconds):
    """Poll at 64 connections for `seconds`, sampling each worker's memory; return a summary line."""
    pids = worker_pids(server)[1:]
    first = {pid: rss_mb(pid) for pid in pids}
    started, samples = time.monotonic(), []
    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", str(ROOT / "bench" / "poll.lua"), f"http://127.0.0.1:{port}"],
        env={**os.environ, "BENCH_TOKENS": str(tokens_path)}, stdout=subprocess.DEVNULL,
    )
    while wrk.poll() is None:
        time.sleep(5)
        samples.append((round(time.monotonic() - started), [round(rss_mb(pid), 1) for pid in pids]))
    last = {pid: rss_mb(pid) for pid in pids}
    growth = max(last[pid] - first[pid] for pid in pids)
    say("soak samples (s, MiB per worker): " + "; ".join(f"{t}:{m}" for t, m in samples[:: max(1, len(samples) // 10)]))
    return (f"soak seconds={seconds} workers={len(pids)} rss_start_mb={'/'.join(f'{first[p]:.1f}' for p in pids)} "
            f"rss_end_mb={'/'.join(f'{last[p]:.1f}' for p in pids)} max_growth_mb={growth:.1f}")


def poll_scenarios(env, url, port, duration, runs):
    """Run the polling scenarios (GET /api/v2/jobs/active as TOKEN_SAMPLE users); return the result lines and the
    EXPLAIN ANALYZE section of the datasets query."""
    out_dir = ROOT / "bench-results"
    connection_counts = [int(c) for c in os.environ.get("BENCH_CONNECTIONS", "16,64").split(",")]
    tokens_path = out_dir / "tokens.txt"
    tokens = django_probe(env, TOKENS_CODE.format(n=TOKEN_SAMPLE, history=HISTORY_USERNAME)).split()
    tokens_path.write_text("\n".join(tokens))
    queries = django_probe(env, QUERIES_CODE.format(path=str(tokens_path), n=200)).split("\n", 1)
    queries_per_request, datasets_sql = float(queries[0]), queries[1].strip()

    server = start_server(env, port)
    try:
        etags = fetch_etags(tokens, port)
        tokens_path.write_text("\n".join(f"{t} {e}" for t, e in zip(tokens, etags)) + "\n")
        lines, peak = scenario_lines(port, tokens_path, server, duration, runs, connection_counts)
        lines.append(f"queries_per_request={queries_per_request:.2f}")
        lines.append(f"server_peak_rss_mb={peak:.1f} processes={len(worker_pids(server))}")
        if int(os.environ.get("BENCH_SOAK", 0)):
            lines.append(soak(port, tokens_path, server, int(os.environ["BENCH_SOAK"])))
        for line in lines[-3:]:
            if not line.startswith("scenario="):
                print(line, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Django's psycopg backend records the query with its parameters inlined: runnable as it is.
    return lines, ["", "EXPLAIN ANALYZE:", explain(url, datasets_sql)]


def has_history_user(url):
    """Tell whether the data set holds the history user (one generated before it had none does not)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT 1 FROM accounts_user WHERE username = %s", [HISTORY_USERNAME]).fetchone()


def main():
    url = database_url()
    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk (Debian: apt-get install wrk).")
    env = server_env(url)
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    users = int(os.environ.get("BENCH_USERS", 10_000))
    per_user = int(os.environ.get("BENCH_DATASETS_PER_USER", 100))
    history_datasets = int(os.environ.get("BENCH_HISTORY_DATASETS", 100_000))
    duration = int(os.environ.get("BENCH_DURATION", 15))
    runs = int(os.environ.get("BENCH_RUNS", 3))
    port = int(os.environ.get("BENCH_PORT", 8090))
    scenarios = os.environ.get("BENCH_SCENARIOS", "poll,history").split(",")

    ensure_database(url)
    prepare_schema(url, env)
    if os.environ.get("BENCH_REGENERATE", "1") == "1":
        generate(url, users, per_user, history_datasets)
    lines, plans = [], []
    if "poll" in scenarios:
        lines, plans = poll_scenarios(env, url, port, duration, runs)
    if "history" in scenarios:
        if not has_history_user(url):
            sys.exit(f"The data set has no {HISTORY_USERNAME} user: regenerate it (BENCH_REGENERATE=1).")
        history_lines, history_plans = history_scenarios(env, url, port, duration, runs)
        lines, plans = lines + history_lines, plans + history_plans
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = f"machine cores={os.cpu_count()} mem_gib={memory_gib:.0f} python={platform.python_version()}"
    server_conf = f"server={'uvicorn' if INTERFACE == 'asgi' else 'granian'} workers={os.environ.get('WORKERS', '2')}"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = "\n".join([f"# {stamp} {machine} {server_conf}", *lines, *plans, ""])
    (out_dir / f"{stamp}.txt").write_text(report)
    print(machine)
    print(f"results: bench-results/{stamp}.txt")


if __name__ == "__main__":
    main()
