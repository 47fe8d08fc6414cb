import pytest

from . import ago

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/active"

STATUS_ERROR = {"status": ["Allowed values: running, completed, failed (one or more, comma-separated)."]}
TYPE_ERROR = {"type": ["Allowed values: import, export, validation, processing (one or more, comma-separated)."]}


@pytest.fixture
def one_job_per_status(user, make_dataset):
    make_dataset(created_by=user.pk, original_filename="running.csv", status="new", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, original_filename="completed.csv", status="inactive", updated_at=ago(minutes=2))
    make_dataset(created_by=user.pk, original_filename="failed.csv", status="error", updated_at=ago(minutes=3))
    make_dataset(created_by=user.pk, original_filename="stalled.csv", status="new", updated_at=ago(minutes=64))


@pytest.mark.parametrize(
    ("query", "filenames"),
    [
        ("", ["running.csv", "completed.csv", "failed.csv", "stalled.csv"]),
        ("?status=running", ["running.csv"]),
        ("?status=completed", ["completed.csv"]),
        ("?status=failed", ["failed.csv", "stalled.csv"]),
        ("?status=failed,running", ["running.csv", "failed.csv", "stalled.csv"]),
        ("?status=running,completed,failed", ["running.csv", "completed.csv", "failed.csv", "stalled.csv"]),
        ("?type=import", ["running.csv", "completed.csv", "failed.csv", "stalled.csv"]),
        ("?type=export", []),
        ("?type=export,import&status=completed", ["completed.csv"]),
        ("?unknown=1&page=2", ["running.csv", "completed.csv", "failed.csv", "stalled.csv"]),
    ],
)
def test_status_and_type_narrow_the_list(auth_client, one_job_per_status, query, filenames):
    response = auth_client.get(URL + query)

    assert (response.status_code, [job["filename"] for job in response.json()]) == (200, filenames)


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("?status=", STATUS_ERROR),
        ("?status=,", STATUS_ERROR),
        ("?status=running,,failed", STATUS_ERROR),
        ("?status=running,", STATUS_ERROR),
        ("?status=Running", STATUS_ERROR),
        ("?status=new", STATUS_ERROR),
        ("?status=%20running", STATUS_ERROR),
        ("?status=running'%20OR%201=1--", STATUS_ERROR),
        ("?status=%ff%fe", STATUS_ERROR),
        ("?status=" + "running," * 2000, STATUS_ERROR),
        (
            "?status=running&status=failed",
            {"status": ["Give this parameter once, as one comma-separated list of: running, completed, failed."]},
        ),
        ("?type=", TYPE_ERROR),
        ("?type=imports", TYPE_ERROR),
        ("?type=import;DROP TABLE datasets", TYPE_ERROR),
        ("?status=done&type=upload", {**STATUS_ERROR, **TYPE_ERROR}),
    ],
)
def test_invalid_filters_are_a_400_naming_the_parameter_and_allowed_values(
    auth_client, one_job_per_status, query, body
):
    response = auth_client.get(URL + query)

    assert (response.status_code, response.json()) == (400, body)
