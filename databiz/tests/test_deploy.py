"""The production topology of deploy/ (nginx, granian WSGI, uvicorn ASGI, a streaming replica, Redis) over real HTTP."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import psycopg
import pytest
import requests

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy-local"
BASE = "http://127.0.0.1:58080"
ASGI_DIRECT = "http://127.0.0.1:58003"
PRIMARY, REPLICA = 55432, 55433
# The service's own stream tick (JOBS_STREAM_TICK, 2 s) and a margin for replication and a loaded 2-core machine.
TICK, MARGIN = 2.0, 2.0
# The imports team's notification channel for the instant-mode test (`manage.py jobs_notify_sql --channel`).
NOTIFY_CHANNEL = "databiz_jobs_deploy_test"
UNAVAILABLE_BODY = {
    "detail": "The jobs service cannot reach its database right now. Try again shortly.",
    "code": "database_unavailable",
}
# Configuration of the caller that must not reach the topology's servers (the env file is their whole config).
CALLER_CONFIG = ("DJANGO_", "DATABASE_", "DATABIZ_", "AUTH_", "JWT_", "REDIS_URL", "JOBS_", "PROMETHEUS_")


def deploy_local(state, *args, check=True):
    """Run scripts/deploy-local for the topology in `state`; fail the test with its output if it fails."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(CALLER_CONFIG)}
    result = subprocess.run(
        [str(SCRIPT), *args], env={**env, "DEPLOY_STATE": state}, capture_output=True, text=True, timeout=180
    )
    if check and result.returncode != 0:
        pytest.fail(f"scripts/deploy-local {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def psql(port, sql):
    """Run one statement on a cluster of the topology and return its unaligned output."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    if not binaries:
        pytest.fail("PostgreSQL's binaries are missing (/usr/lib/postgresql/*/bin): apt-get install postgresql.")
    result = subprocess.run(
        [binaries[-1], "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "databiz", "-tA",
         "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def wait_until(condition, seconds, what):
    """Call `condition` until it returns something true, for at most `seconds`; return it."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.1)


class Topology:
    def __init__(self, state):
        self.state = state
        self.env = dict(line.split("=", 1) for line in Path(state, "env").read_text().splitlines()
                        if line and not line.startswith("#"))
        self.signing_key = self.env["JWT_SIGNING_KEY"]

    def token(self, user_id):
        """Mint the token DataBiz's backend would: HS256 with the shared secret, `sub` the user's UUID, `exp`."""
        now = int(time.time())
        return jwt.encode({"sub": str(user_id), "iat": now, "exp": now + 900}, self.signing_key, algorithm="HS256")

    def pid(self, part):
        return int(Path(self.state, "run", f"{part}.pid").read_text().split()[0])


@pytest.fixture(scope="module")
def topology():
    # Under /tmp, not pytest's 0700 tmp dir: the clusters run as the postgres user, who must reach their directory.
    state = tempfile.mkdtemp(prefix="databiz-deploy-test-")
    os.chmod(state, 0o755)
    try:
        deploy_local(state, "start")
        yield Topology(state)
    finally:
        deploy_local(state, "stop", check=False)
        shutil.rmtree(state, ignore_errors=True)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def rows(topology):
    """Alice's running, failed and completed imports and Bob's running one (`bobs`), replayed on the replica."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    data = {
        "running": (uuid.uuid4(), alice, "sales-2025.csv", "new", None, now - timedelta(minutes=2), now),
        "failed": (uuid.uuid4(), alice, "orders.parquet", "error", "Bad column", now - timedelta(minutes=5),
                   now - timedelta(minutes=4)),
        "completed": (uuid.uuid4(), alice, "leads.csv", "inactive", None, now - timedelta(minutes=9),
                      now - timedelta(minutes=8)),
        "bobs": (uuid.uuid4(), bob, "bob.xlsx", "new", None, now - timedelta(minutes=1), now),
    }
    values = ", ".join(
        f"('{id_}', 'name', '{filename}', 'csv', 100, '{status}', {f'$${error}$$' if error else 'null'}, '{owner}', "
        f"'{iso(created)}', '{iso(updated)}')"
        for id_, owner, filename, status, error, created, updated in data.values()
    )
    psql(PRIMARY, f"insert into datasets values {values}")
    wait_until(lambda: psql(REPLICA, "select count(*) from datasets") == "4", 5, "the replica's replay of 4 rows")
    return {"alice": alice, "bob": bob, **data}


def job(row, status, progress, finished=True):
    id_, owner, filename, _, error, created, updated = row
    return {"id": str(id_), "type": "import", "status": status, "progress": progress, "remaining_seconds": None,
            "filename": filename, "started_at": iso(created), "finished_at": iso(updated) if finished else None,
            "error": error}


def poll(topology, user_id, **headers):
    return requests.get(f"{BASE}/api/v2/jobs/active", timeout=10,
                        headers={"Authorization": f"Bearer {topology.token(user_id)}", **headers})


class Stream:
    """An SSE client of the stream through nginx: events as dicts (`event`, `id`, `data`), with a deadline."""

    def __init__(self, topology, user_id, last_event_id=None, base=BASE, **more_headers):
        headers = {"Authorization": f"Bearer {topology.token(user_id)}", **more_headers}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.response = requests.get(f"{base}/api/v2/jobs/stream", headers=headers, stream=True, timeout=(3, 20))
        self.lines = self.response.iter_lines(chunk_size=1)

    def next_event(self, seconds):
        deadline = time.monotonic() + seconds
        event = {}
        for line in self.lines:
            line = line.decode()
            if not line and "data" in event:
                return event
            field, _, value = line.partition(": ")
            if field in ("event", "id", "data"):
                event[field] = value
            assert time.monotonic() < deadline, f"no event within {seconds} s"
        raise EOFError(f"the stream ended ({self.response.status_code}, {dict(self.response.headers)})")

    def event_where(self, predicate, seconds):
        deadline = time.monotonic() + seconds
        while True:
            event = self.next_event(max(deadline - time.monotonic(), 0.1))
            if predicate(json.loads(event["data"])):
                return event

    def close(self):
        self.response.close()


def test_poll_through_nginx_answers_the_users_jobs_with_the_services_headers(topology, rows):
    response = poll(topology, rows["alice"])

    assert response.status_code == 200
    assert response.headers["Server"].startswith("nginx")
    assert response.json() == [
        job(rows["running"], "running", 50, finished=False),
        job(rows["failed"], "failed", 0),
        job(rows["completed"], "completed", 100),
    ]
    assert response.headers["X-Jobs-Running"] == "1"
    assert response.headers["X-Jobs-Truncated"] == "false"
    assert response.headers["X-Poll-Interval"] == "10"
    assert response.headers["Cache-Control"] == "private, no-cache"
    etag = response.headers["ETag"]
    again = poll(topology, rows["alice"], **{"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)


def test_other_users_jobs_are_not_polled_or_streamed_through_nginx(topology, rows):
    assert [item["id"] for item in poll(topology, rows["bob"]).json()] == [str(rows["bobs"][0])]
    alice_ids = {str(rows[name][0]) for name in ("running", "failed", "completed")}
    assert {item["id"] for item in poll(topology, rows["alice"]).json()} == alice_ids
    for user, ids in ((rows["bob"], {str(rows["bobs"][0])}), (rows["alice"], alice_ids)):
        stream = Stream(topology, user)
        try:
            assert {item["id"] for item in json.loads(stream.next_event(5)["data"])} == ids
        finally:
            stream.close()


def test_a_change_on_the_primary_reaches_the_stream_through_nginx_within_the_tick(topology, rows):
    direct = requests.get(f"{ASGI_DIRECT}/api/v2/jobs/stream", stream=True, timeout=5,
                          headers={"Authorization": f"Bearer {topology.token(rows['bob'])}"})
    assert direct.headers["X-Accel-Buffering"] == "no"  # nginx honours and drops it; proxy_buffering is off too
    direct.close()
    stream = Stream(topology, rows["bob"])
    try:
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        first = json.loads(stream.next_event(5)["data"])
        assert [item["status"] for item in first] == ["running"]

        changed = time.monotonic()
        psql(PRIMARY, f"update datasets set status = 'inactive', updated_at = now() where id = '{rows['bobs'][0]}'")
        stream.event_where(lambda jobs: jobs[0]["status"] == "completed", TICK + MARGIN)
        latency = time.monotonic() - changed
        print(f"primary change -> event through nginx: {latency:.2f} s")
        assert latency < TICK + MARGIN
    finally:
        stream.close()


def test_a_stream_asked_with_a_head_over_16_kib_answers_as_the_poll_does(topology, rows):
    # Three headers of 6,000 bytes: each within nginx's 8 KiB a line, together over h11's default of 16 KiB a head:
    # the stream reads the whole head nginx passes on, as the polls do.
    padding = {f"X-Padding-{number}": "p" * 6000 for number in range(3)}
    polled = poll(topology, rows["bob"], **padding)
    stream = Stream(topology, rows["bob"], **padding)
    try:
        streamed = json.loads(stream.next_event(5)["data"])
    finally:
        stream.close()

    assert [(stream.response.status_code, [(item["id"], item["status"]) for item in streamed])] == [
        (polled.status_code, [(item["id"], item["status"]) for item in polled.json()])
    ]
    assert polled.status_code == 200


def test_polls_read_the_streaming_replica(topology, rows):
    assert psql(PRIMARY, "select application_name || ' ' || state from pg_stat_replication") == "walreceiver streaming"
    assert psql(REPLICA, "select pg_is_in_recovery()") == "t"
    failed_id = rows["failed"][0]
    # With the replica's replay paused, a change committed on the primary cannot show: the polls read the replica.
    psql(REPLICA, "select pg_wal_replay_pause()")
    try:
        psql(PRIMARY, f"update datasets set error_message = 'Paused replay' where id = '{failed_id}'")
        time.sleep(1)
        errors = [item["error"] for item in poll(topology, rows["alice"]).json()]
        assert "Paused replay" not in errors
    finally:
        psql(REPLICA, "select pg_wal_replay_resume()")
    started = time.monotonic()
    wait_until(lambda: "Paused replay" in [item["error"] for item in poll(topology, rows["alice"]).json()],
               5, "the change in a poll after replay resumed")
    print(f"replay resumed -> change in a poll: {time.monotonic() - started:.2f} s")


def test_polls_answer_503_with_retry_after_while_the_replica_is_down_and_recover(topology, rows):
    deploy_local(topology.state, "stop", "replica")
    try:
        responses = [poll(topology, rows["alice"]) for _ in range(4)]  # both WSGI processes, twice
        assert {response.status_code for response in responses} == {503}
        assert responses[0].headers["Retry-After"] == "5"
        assert responses[0].json() == {
            "detail": "The jobs service cannot reach its database right now. Try again shortly.",
            "code": "database_unavailable",
        }
        assert requests.get(f"{BASE}/readyz", timeout=10).status_code == 503
    finally:
        deploy_local(topology.state, "start")
    assert {poll(topology, rows["alice"]).status_code for _ in range(4)} == {200}


def test_a_stream_resumes_on_the_restarted_asgi_server_with_last_event_id(topology, rows):
    stream = Stream(topology, rows["alice"])
    last = stream.next_event(5)
    os.killpg(topology.pid("asgi"), signal.SIGKILL)
    with pytest.raises((EOFError, requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        stream.next_event(5)
    stream.close()
    assert poll(topology, rows["alice"]).status_code == 200  # the WSGI servers poll on meanwhile

    running_id = rows["running"][0]
    psql(PRIMARY, f"update datasets set status = 'error', error_message = 'Failed meanwhile', updated_at = now() "
                  f"where id = '{running_id}'")
    refused = requests.get(f"{BASE}/api/v2/jobs/stream", timeout=5,
                           headers={"Authorization": f"Bearer {topology.token(rows['alice'])}"})
    assert refused.status_code == 502  # nginx: no ASGI server; the client retries after its `retry:`

    deploy_local(topology.state, "start")
    resumed = Stream(topology, rows["alice"], last_event_id=last["id"])
    try:
        event = resumed.next_event(5)
        assert event["id"] != last["id"]
        by_id = {item["id"]: item for item in json.loads(event["data"])}
        assert (by_id[str(running_id)]["status"], by_id[str(running_id)]["error"]) == ("failed", "Failed meanwhile")
        assert event["data"] == poll(topology, rows["alice"]).content.decode()
    finally:
        resumed.close()


def raw_request(topology, path, user_id):
    """Send GET `path` to the ASGI server itself as `user_id` over a socket of its own; return the socket."""
    client = socket.create_connection(("127.0.0.1", int(ASGI_DIRECT.rsplit(":", 1)[1])), timeout=10)
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Authorization: Bearer {topology.token(user_id)}\r\n\r\n".encode())
    return client


def read_until(client, marker):
    received = b""
    while marker not in received:
        chunk = client.recv(65536)
        assert chunk, f"the connection closed before {marker!r}: {received!r}"
        received += chunk
    return received


def read_to_end(client):
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    client.close()
    return received


def gone(pid):
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_stopped_asgi_server_ends_every_stream_with_its_retry_hint_and_exits_within_5_s(topology):
    users = [uuid.uuid4() for _ in range(200)]
    streams = [raw_request(topology, "/api/v2/jobs/stream", user) for user in users]
    for client in streams:
        read_until(client, b"event: jobs")
    # Polls whose clients left at once: their work is still queued on the server's WSGI thread as it stops.
    for user in users:
        raw_request(topology, "/api/v2/jobs/active", user).close()
    pid = topology.pid("asgi")

    stop_sent = time.monotonic()
    os.killpg(pid, signal.SIGTERM)
    try:
        endings = [read_to_end(client) for client in streams]
        wait_until(lambda: gone(pid), 10, "the ASGI server's exit")
        stopped_in = time.monotonic() - stop_sent
    finally:
        deploy_local(topology.state, "start")

    assert [b"retry: 5000\n\n" in ending for ending in endings] == [True] * len(users)
    assert stopped_in < 5, f"the server took {stopped_in:.1f} s to stop"


def manage(topology, *args):
    """Run a manage.py command with the servers' environment (the env file) and return what it printed."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={"PATH": os.environ["PATH"], **topology.env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def primary_connection():
    return psycopg.connect(host="127.0.0.1", port=PRIMARY, user="postgres", dbname="databiz", autocommit=True)


@pytest.fixture
def instant_asgi(topology):
    """The imports team's trigger installed on the primary, and the ASGI process restarted (by the script, alone)
    with JOBS_STREAM_NOTIFY_CHANNEL and a 30 s tick in its own env.asgi; both undone afterwards."""
    psql(PRIMARY, manage(topology, "jobs_notify_sql", "--channel", NOTIFY_CHANNEL))
    own_env = Path(topology.state, "env.asgi")
    own_env.write_text(
        f"JOBS_STREAM_NOTIFY_CHANNEL={NOTIFY_CHANNEL}\nJOBS_STREAM_TICK=30\nJOBS_STREAM_NOTIFIED_TICK=30\n"
    )
    try:
        deploy_local(topology.state, "restart", "asgi")
        yield
    finally:
        psql(PRIMARY, "drop trigger if exists databiz_jobs_notify on datasets; "
                      "drop function if exists databiz_jobs_notify()")
        own_env.unlink()
        deploy_local(topology.state, "restart", "asgi")


def test_a_notified_change_on_the_primary_reaches_the_stream_through_nginx_within_1_s(topology, instant_asgi):
    carol, dataset = uuid.uuid4(), uuid.uuid4()
    now = iso(datetime.now(timezone.utc))
    psql(PRIMARY, f"insert into datasets values ('{dataset}', 'name', 'carol-0.csv', 'csv', 100, 'new', null, "
                  f"'{carol}', '{now}', '{now}')")
    wait_until(lambda: psql(REPLICA, f"select count(*) from datasets where id = '{dataset}'") == "1", 5,
               "the replica's replay of carol's row")
    stream = Stream(topology, carol)
    try:
        assert [item["filename"] for item in json.loads(stream.next_event(5)["data"])] == ["carol-0.csv"]
        # The stream's LISTEN (on the primary: a standby takes none) is in place once the first stream opened.
        wait_until(lambda: psql(PRIMARY, f"select count(*) from pg_stat_activity "
                                         f"where query = 'LISTEN \"{NOTIFY_CHANNEL}\"'") == "1", 5,
                   "the ASGI process's LISTEN on the primary")
        latencies = []
        with primary_connection() as primary:
            for number in (1, 2, 3):
                changed = time.monotonic()
                primary.execute(f"update datasets set original_filename = 'carol-{number}.csv', updated_at = now() "
                                f"where id = '{dataset}'")
                # A miss is waited for until the next tick (30 s), so that its real latency shows.
                stream.event_where(lambda jobs, number=number: jobs[0]["filename"] == f"carol-{number}.csv", 35)
                latencies.append(time.monotonic() - changed)
                time.sleep(0.3)
        print("notified primary change -> event through nginx (tick 30 s): "
              + ", ".join(f"{latency * 1000:.0f} ms" for latency in latencies))
        assert all(latency < 1 for latency in latencies), latencies

        # The notification beats replication: the replica replays the change half a second after it arrives. The
        # stream's read waits for the replica to catch up (at most a second) instead of finding the old answer and
        # leaving the change to the next tick (30 s here).
        psql(REPLICA, "select pg_wal_replay_pause()")
        with primary_connection() as primary:
            changed = time.monotonic()
            primary.execute(f"update datasets set original_filename = 'carol-lagged.csv', updated_at = now() "
                            f"where id = '{dataset}'")
        time.sleep(0.5)
        psql(REPLICA, "select pg_wal_replay_resume()")
        stream.event_where(lambda jobs: jobs[0]["filename"] == "carol-lagged.csv", 35)
        lagged = time.monotonic() - changed
        print(f"notified primary change, replica 0.5 s behind -> event through nginx: {lagged * 1000:.0f} ms")
        assert 0.5 <= lagged < 1.5, lagged
    finally:
        psql(REPLICA, "select pg_wal_replay_resume()")
        stream.close()


def polls_under_exclusive_locks(topology, seconds, pollers=3, hold=0.005):
    """Poll through nginx on `pollers` threads for `seconds` while the primary takes and releases an ACCESS EXCLUSIVE
    lock of datasets in short transactions; return (responses, request errors, how many locks were taken).

    LOCK TABLE ... ACCESS EXCLUSIVE is WAL-logged: the standby takes the lock too as it replays it, which conflicts
    with a reader holding AccessShareLock on datasets there. The next lock follows each commit at once: the polls
    that waited behind the standby's lock run just as the next one is replayed (with a pause between locks, or
    longer locks, far fewer polls are caught holding theirs).
    """
    stop, answers, failures, locks = threading.Event(), [], [], []

    def poller():
        with requests.Session() as session:
            while not stop.is_set():
                # A user of its own a poll: the per-user throttle (120/min) stays out of the way.
                headers = {"Authorization": f"Bearer {topology.token(uuid.uuid4())}"}
                try:
                    answers.append(session.get(f"{BASE}/api/v2/jobs/active", timeout=10, headers=headers))
                except requests.RequestException as exc:
                    failures.append(exc)

    def locker():
        with primary_connection() as primary:
            while not stop.is_set():
                with primary.transaction():
                    primary.execute("lock table datasets in access exclusive mode")
                    time.sleep(hold)
                locks.append(1)

    threads = [threading.Thread(target=poller) for _ in range(pollers)] + [threading.Thread(target=locker)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(15)
    return answers, failures, len(locks)


def test_a_recovery_conflict_on_the_replica_is_a_503_with_retry_after_never_a_500(topology, rows):
    # A test setting: conflicts cancel the standby's queries at once (production keeps 30 s, or sets its own).
    psql(REPLICA, "alter system set max_standby_streaming_delay = 0")
    psql(REPLICA, "select pg_reload_conf()")
    log = Path(topology.state, "pg", "log", "replica.log")
    conflicts = "select confl_lock from pg_stat_database_conflicts where datname = 'databiz'"
    try:
        wait_until(lambda: psql(REPLICA, "show max_standby_streaming_delay") == "0", 5, "the replica's reload")
        conflicts_before, log_before = int(psql(REPLICA, conflicts)), log.read_text().count("conflict with recovery")

        def logged():
            return log.read_text().count("conflict with recovery") - log_before

        answers, failures, locks, seconds = [], [], 0, 0
        while seconds < 9 and (not seconds or not logged()):  # 3 s, and again while no conflict showed (at most 9)
            round_answers, round_failures, round_locks = polls_under_exclusive_locks(topology, 3)
            answers, failures, locks, seconds = (answers + round_answers, failures + round_failures,
                                                 locks + round_locks, seconds + 3)

        assert not failures, failures
        statuses = [response.status_code for response in answers]
        counted = {status: statuses.count(status) for status in sorted(set(statuses))}
        assert set(statuses) <= {200, 503}, counted
        for response in answers:
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "5"
                assert response.json() == UNAVAILABLE_BODY
        assert logged(), f"no conflict with recovery in the replica's log after {seconds} s ({locks} locks)"
        # The canceled backends report their conflict to the statistics within a second or so (an idle one in 10 s).
        raised = wait_until(lambda: int(psql(REPLICA, conflicts)) - conflicts_before, 12,
                            "a lock conflict counted in the replica's pg_stat_database_conflicts")
        print(f"recovery conflicts: {locks} exclusive locks on the primary in {seconds} s; polls through nginx: "
              f"{counted}; confl_lock +{raised}; 'conflict with recovery' in the replica's log +{logged()}")
    finally:
        psql(REPLICA, "alter system reset max_standby_streaming_delay")
        psql(REPLICA, "select pg_reload_conf()")
    assert poll(topology, rows["alice"]).status_code == 200
