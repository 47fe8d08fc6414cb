"""Demo data: a `datasets` table of our own, marked as such, with rows that show every job rule."""
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.utils import timezone

from jobs.models import Dataset
from jobs.table import datasets_table_exists

from .ddl import create_datasets_table

MARKER_TABLE = "datasets_demo_marker"

DEMO_USERS = {
    # username: (password, is_superuser)
    "alice": ("alice-demo-password", False),
    "bob": ("bob-demo-password", False),
    "admin": ("admin-demo-password", True),
}


@dataclass(frozen=True)
class DemoRow:
    """One demo dataset, its times given as minutes before now."""

    owner: str
    filename: str | None
    status: str
    started: float
    updated: float
    error_message: str | None = None
    name: str | None = None
    file_size: int | None = 1_048_576


MIB = 1_048_576


def history_row(number):
    """A completed import of bob's, 1-6 days ago: 5 s plus 1 s per 64 KiB, as the estimate will learn."""
    finished = (1 + number % 6) * 24 * 60
    return DemoRow(
        "bob", f"history-{number:02}.csv", "inactive", started=finished + (5 + number * 16) / 60, updated=finished,
        file_size=number * MIB,
    )


DEMO_ROWS = (
    DemoRow("alice", "sales-2025.csv", "new", started=3, updated=1, file_size=24_117_248),
    DemoRow("alice", "customers.xlsx", "new", started=0.5, updated=0.5, file_size=8 * MIB),
    DemoRow("alice", "products.json", "inactive", started=25, updated=24),
    DemoRow("alice", None, "inactive", started=6, updated=5, name="Marketing leads"),
    DemoRow(
        "alice",
        "orders.parquet",
        "error",
        started=15,
        updated=14,
        file_size=12 * MIB,
        error_message="Column 'order_date' holds values that are not dates (first at row 1,204).",
    ),
    DemoRow("alice", "inventory.csv", "error", started=46, updated=45, file_size=6 * MIB),
    # Stalled: still `new` after 75 minutes without an update.
    DemoRow("alice", "big-history.csv", "new", started=80, updated=75, file_size=2_147_483_648),
    # Never listed: finished long ago, activated, archived, unknown status, stalled long ago.
    DemoRow("alice", "q3-report.csv", "inactive", started=4320, updated=4319),
    DemoRow("alice", "budget.xlsx", "active", started=30, updated=2),
    DemoRow("alice", "legacy.csv", "archived", started=50, updated=10),
    DemoRow("alice", "suspicious.csv", "quarantined", started=8, updated=8),
    DemoRow("alice", "abandoned.csv", "new", started=400, updated=300),
    # Another user's jobs: never shown to alice.
    DemoRow("bob", "bob-running.csv", "new", started=2, updated=1),
    DemoRow("bob", "bob-failed.csv", "error", started=9, updated=8, error_message="File is not valid UTF-8."),
    # Bob's import history, finished days ago (never listed): enough for the progress estimate to kick in,
    # with one odd import that took an hour, which the medians shrug off.
    *(history_row(number) for number in range(1, 13)),
    DemoRow("bob", "odd-one.csv", "inactive", started=2 * 24 * 60 + 60, updated=2 * 24 * 60, file_size=2 * MIB),
)


def demo_table_is_marked(using="default"):
    """Tell whether the `datasets` table of `using` was created by the demo preparation."""
    connection = connections[using]
    with connection.cursor() as cursor:
        return MARKER_TABLE in connection.introspection.table_names(cursor)


def create_demo_table(using="default"):
    """Create `datasets` from the reference schema and mark it as the demo's own."""
    with transaction.atomic(using=using):
        create_datasets_table(using)
        with connections[using].cursor() as cursor:
            cursor.execute(f"CREATE TABLE {MARKER_TABLE} (note varchar(100) NOT NULL)")
            cursor.execute(f"INSERT INTO {MARKER_TABLE} (note) VALUES ('created by manage.py prepare_demo')")


def demo_users():
    """Create or reset the demo users with their known passwords; return them by username."""
    users = {}
    for username, (password, is_superuser) in DEMO_USERS.items():
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"id": uuid.uuid5(uuid.NAMESPACE_DNS, f"{username}.demo.databiz")}
        )
        user.set_password(password)
        user.is_active = True
        user.is_staff = user.is_superuser = is_superuser
        user.save()
        users[username] = user
    return users


def replace_demo_datasets(users, *, now=None, using="default"):
    """Replace the demo users' datasets with DEMO_ROWS, timed relative to `now`; return the count."""
    now = (now or timezone.now()).replace(microsecond=0)
    rows = [
        Dataset(
            id=uuid.uuid4(),
            name=row.name or row.filename.rsplit(".", 1)[0],
            original_filename=row.filename,
            file_type=row.filename.rsplit(".", 1)[1] if row.filename else None,
            file_size=row.file_size,
            status=row.status,
            error_message=row.error_message,
            created_by=users[row.owner].pk,
            created_at=now - timedelta(minutes=row.started),
            updated_at=now - timedelta(minutes=row.updated),
        )
        for row in DEMO_ROWS
    ]
    owners = [user.pk for user in users.values()]
    # The demo plays the imports service on a table it created: the one place that writes datasets.
    with transaction.atomic(using=using):
        Dataset._base_manager.using(using).filter(created_by__in=owners)._raw_delete(using)
        Dataset._base_manager.using(using).bulk_create(rows)
    return len(rows)


def prepare_demo(*, using="default"):
    """Create the demo table if there is none, then the demo users and datasets; return what was done."""
    if not datasets_table_exists(using):
        create_demo_table(using)
        created = True
    elif demo_table_is_marked(using):
        created = False
    else:
        return None
    users = demo_users()
    return {"created_table": created, "users": sorted(users), "datasets": replace_demo_datasets(users, using=using)}


DEMO_ERRORS = (
    "Column 'amount' holds text where numbers were expected (row 88).",
    "The file is not valid UTF-8 (byte 0xff at offset 1,024).",
    "Sheet 'Data' is empty.",
)
DEMO_FILES = ("invoices", "leads", "shipments", "payroll", "survey", "inventory", "web-events")


def demo_import_seconds(file_size):
    """Return how long the demo's imports service takes for a file: a few seconds plus 200 kB/s."""
    return 5 + file_size / 200_000


def start_demo_stall(users, *, now, using="default"):
    """Leave one of alice's uploads stalled: still `new`, last updated just over JOBS_STALL_AFTER ago."""
    moment = now - timedelta(minutes=61)
    Dataset._base_manager.using(using).bulk_create([Dataset(
        id=uuid.uuid4(), name="stalled-upload", original_filename="stalled-upload.csv", file_type="csv",
        file_size=5_000_000, status="new", created_by=users["alice"].pk, created_at=moment, updated_at=moment,
    )])


def play_demo_step(users, *, rng, now=None, using="default"):
    """Play the imports service for one tick: finish uploads that are due, start new ones; return what it did."""
    now = now or timezone.now()
    datasets = Dataset._base_manager.using(using)
    finished = started = 0
    for dataset in datasets.filter(created_by__in=[u.pk for u in users.values()], status="new",
                                   updated_at__gt=now - timedelta(minutes=30)):
        if (now - dataset.created_at).total_seconds() < demo_import_seconds(dataset.file_size or 0):
            continue
        failed = rng.random() < 0.25
        datasets.filter(pk=dataset.pk).update(
            status="error" if failed else "inactive",
            error_message=rng.choice(DEMO_ERRORS) if failed else None,
            updated_at=now,
        )
        finished += 1
    for user in (users["alice"], users["bob"]):
        if rng.random() < 0.4:
            name = f"{rng.choice(DEMO_FILES)}-{now:%H%M%S}"
            datasets.bulk_create([Dataset(
                id=uuid.uuid4(), name=name, original_filename=f"{name}.csv", file_type="csv",
                file_size=rng.randint(1_000_000, 12_000_000), status="new", created_by=user.pk,
                created_at=now, updated_at=now,
            )])
            started += 1
    return {"finished": finished, "started": started}
