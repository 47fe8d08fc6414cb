import io
import json
import uuid

import pytest
from django.core.management import CommandError, call_command

from jobs import import_speed

from . import ago

MIB = 1024 * 1024

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("jobs", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def datasets(user, other_user, make_dataset, now):
    make_dataset(
        id=uuid.UUID("550e8400-e29b-41d4-a716-446655440000"),
        created_by=user.pk,
        original_filename="sales.csv",
        status="new",
        created_at=ago(minutes=10),
    )
    make_dataset(
        id=uuid.UUID("660e8400-e29b-41d4-a716-446655440001"),
        created_by=user.pk,
        original_filename="orders.xlsx",
        status="error",
        error_message="Sheet 'Orders' is empty.",
        created_at=ago(minutes=30),
        updated_at=ago(minutes=20),
    )
    make_dataset(created_by=user.pk, original_filename="live.csv", status="active")
    make_dataset(created_by=other_user.pk, original_filename="bob.csv", status="inactive", created_at=ago(minutes=5))


def test_json_output_is_exactly_the_api_items(datasets, auth_client):
    assert json.loads(run("--user", "alice", "--json")) == auth_client.get("/api/v2/jobs/active").json()
    assert json.loads(run("--user", "alice", "--json", "--status", "failed")) == (
        auth_client.get("/api/v2/jobs/active?status=failed").json()
    )


@pytest.mark.learning_in_background
def test_the_command_learns_the_import_speed_before_it_lists(user, other_user, make_dataset, auth_client, monkeypatch):
    monkeypatch.setattr(import_speed, "run_in_background", lambda learn, using: None)  # a server's, not done yet
    for size in range(1, 13):  # 5 s plus 16 s per MiB
        make_dataset(created_by=other_user.pk, status="inactive", file_size=size * MIB,
                     created_at=ago(days=1, seconds=5 + size * 16), updated_at=ago(days=1))
    make_dataset(created_by=user.pk, status="new", file_size=6 * MIB, created_at=ago(seconds=60))

    listed = json.loads(run("--user", "alice", "--json"))

    assert ([job["progress"] for job in listed], listed) == ([59], auth_client.get("/api/v2/jobs/active").json())


def test_table_lists_one_users_jobs(datasets):
    assert run("--user", "alice").splitlines() == [
        "status   type    progress  filename     started_at            finished_at           error",
        "running  import  50        sales.csv    2025-12-19T09:50:00Z  -                     -",
        "failed   import  0         orders.xlsx  2025-12-19T09:30:00Z  2025-12-19T09:40:00Z  Sheet 'Orders' is empty.",
    ]


def test_table_of_all_users_names_the_owners(datasets):
    assert run("--status", "running,completed").splitlines() == [
        "owner  status     type    progress  filename   started_at            finished_at           error",
        "alice  running    import  50        sales.csv  2025-12-19T09:50:00Z  -                     -",
        "bob    completed  import  100       bob.csv    2025-12-19T09:55:00Z  2025-12-19T09:55:00Z  -",
    ]


def test_no_jobs_says_so(user, now):
    assert run("--user", "alice") == "No jobs.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "nobody"), "No user named 'nobody'."),
        (("--status", "done"), "--status: Allowed values: running, completed, failed (one or more, comma-separated)."),
        (("--status", ""), "--status: Allowed values: running, completed, failed"),
        (("--type", "import,"), "--type: Allowed values: import, export, validation, processing"),
    ],
)
def test_unknown_user_or_bad_option_is_a_command_error(user, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)


@pytest.fixture
def finished(user, other_user, make_dataset, now):
    """alice's finished jobs over a year, newest first, and what her history leaves out."""
    make_dataset(created_by=user.pk, original_filename="q4.csv", status="inactive", created_at=ago(days=1, minutes=2),
                 updated_at=ago(days=1))
    make_dataset(created_by=user.pk, original_filename="Q3.xlsx", status="error", error_message="Bad header.",
                 created_at=ago(days=90, minutes=5), updated_at=ago(days=90))
    make_dataset(created_by=user.pk, original_filename="2024.csv", status="inactive",
                 created_at=ago(days=365, minutes=1), updated_at=ago(days=365))
    make_dataset(created_by=user.pk, original_filename="running.csv", status="new")
    make_dataset(created_by=other_user.pk, original_filename="q1.csv", status="inactive", updated_at=ago(days=2))


def test_history_lists_one_users_finished_jobs_newest_first(finished):
    assert run("--user", "alice", "--history").splitlines() == [
        "status     type    progress  filename  started_at            finished_at           error",
        "completed  import  100       q4.csv    2025-12-18T09:58:00Z  2025-12-18T10:00:00Z  -",
        "failed     import  0         Q3.xlsx   2025-09-20T09:55:00Z  2025-09-20T10:00:00Z  Bad header.",
        "completed  import  100       2024.csv  2024-12-19T09:59:00Z  2024-12-19T10:00:00Z  -",
    ]


def test_history_takes_the_apis_filters_and_prints_its_items_as_json(finished, auth_client):
    options = ("--search", "Q", "--finished-after", "2025-06-01T00:00:00Z", "--status", "completed,failed")

    assert json.loads(run("--user", "alice", "--history", "--json", *options)) == auth_client.get(
        "/api/v2/jobs/history", {"q": "Q", "finished_after": "2025-06-01T00:00:00Z", "status": "completed,failed"}
    ).json()["results"]


def test_history_of_every_user_names_the_owners_and_stops_at_the_limit(finished):
    assert run("--history", "--limit", "2").splitlines() == [
        "owner  status     type    progress  filename  started_at            finished_at           error",
        "alice  completed  import  100       q4.csv    2025-12-18T09:58:00Z  2025-12-18T10:00:00Z  -",
        "bob    completed  import  100       q1.csv    2025-12-17T10:00:00Z  2025-12-17T10:00:00Z  -",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--history", "--finished-before", "2025-12-01T10:00"),
         "--finished-before: This date-time has no UTC offset: add one, e.g. Z or +01:00."),
        (("--history", "--status", "running"), "--status: Allowed values: completed, failed"),
        (("--search", "q4"), "--search needs --history."),
        (("--limit", "5"), "--limit needs --history."),
    ],
)
def test_a_bad_history_option_is_a_command_error(user, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        run(*args)


def test_a_history_limit_below_one_is_refused(user):
    with pytest.raises(CommandError, match="--limit: give a whole number of at least 1"):
        run("--history", "--limit", "0")
