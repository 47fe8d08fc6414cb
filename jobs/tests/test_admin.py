import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import router
from model_bakery import baker

from jobs.models import Dataset

from . import ago

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/jobs/dataset/"


@pytest.fixture
def admin_client(client, now):
    admin = get_user_model().objects.create_superuser(username="root", password="x", email="root@example.com")
    client.force_login(admin)
    return client


def test_changelist_shows_datasets_as_jobs_with_owner_username(admin_client, user, make_dataset):
    make_dataset(created_by=user.pk, original_filename="sales.csv", status="new", updated_at=ago(minutes=2))
    make_dataset(created_by=user.pk, original_filename="stuck.csv", status="new", updated_at=ago(hours=2))
    make_dataset(created_by=uuid.uuid4(), original_filename="orphan.csv", status="error", error_message="x" * 200)

    response = admin_client.get(CHANGELIST)

    rows = {row.filename: row for row in response.context["cl"].result_list}
    assert response.status_code == 200
    assert {name: (row.owner_username, row.job_status, row.progress) for name, row in rows.items()} == {
        "sales.csv": ("alice", "running", 50),
        "stuck.csv": ("alice", "failed", 0),
        "orphan.csv": (None, "failed", 0),
    }
    assert "Import stalled: no update since 2025-12-19T08:00:00Z." in response.content.decode()
    assert "x" * 59 + "…" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("job_status=running", {"sales.csv"}),
        ("job_status=failed", {"stuck.csv", "broken.csv"}),
        ("job_status=stalled", {"stuck.csv"}),
        ("job_status=completed", {"done.csv"}),
        ("job_status=finished", {"stuck.csv", "broken.csv", "done.csv"}),
        ("status=active", {"live.csv"}),
        ("file_type=xlsx", {"broken.csv"}),
        ("q=alice", {"sales.csv", "stuck.csv"}),
        ("q=broken", {"broken.csv"}),
    ],
)
def test_changelist_filters_by_job_rules_and_searches(admin_client, user, other_user, make_dataset, query, expected):
    make_dataset(created_by=user.pk, original_filename="sales.csv", file_type="csv", status="new")
    make_dataset(created_by=user.pk, original_filename="stuck.csv", status="new", updated_at=ago(hours=2))
    make_dataset(created_by=other_user.pk, original_filename="broken.csv", file_type="xlsx", status="error")
    make_dataset(created_by=other_user.pk, original_filename="done.csv", status="inactive")
    make_dataset(created_by=other_user.pk, original_filename="live.csv", status="active")

    response = admin_client.get(f"{CHANGELIST}?{query}")

    assert {row.filename for row in response.context["cl"].result_list} == expected


@pytest.mark.parametrize("query", ["error_message__regex=(", "owner_username__iregex=[", "name__regex=a"])
def test_changelist_refuses_regular_expressions_from_the_url(admin_client, query):
    response = admin_client.get(f"/admin/jobs/dataset/?{query}")

    assert (response.status_code, response.json()) == (400, {"detail": "Bad request.", "code": "bad_request"})


def test_admin_offers_no_add_change_or_delete_even_to_superusers(admin_client, user, make_dataset):
    dataset = make_dataset(created_by=user.pk, original_filename="sales.csv", status="inactive")
    detail = f"{CHANGELIST}{dataset.pk}/change/"

    changelist = admin_client.get(CHANGELIST)
    page = admin_client.get(detail)

    assert changelist.status_code == page.status_code == 200
    assert changelist.context["action_form"] is None
    assert (changelist.context["has_add_permission"], page.context["has_change_permission"]) == (False, False)
    assert page.context["has_delete_permission"] is False
    assert "alice" in page.content.decode() and "completed" in page.content.decode()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{detail[:-7]}delete/").status_code == 403
    assert admin_client.post(detail, {"name": "changed"}).status_code == 403
    assert Dataset.objects.get().name == dataset.name


def test_changelist_of_ten_thousand_rows_takes_a_bounded_number_of_queries(
    admin_client, user, django_assert_max_num_queries
):
    rows = baker.prepare(
        Dataset, _quantity=10_000, created_by=user.pk, status="new", created_at=ago(hours=1), updated_at=ago(hours=1)
    )
    Dataset._base_manager.using(router.db_for_read(Dataset)).bulk_create(rows)

    with django_assert_max_num_queries(9):
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 10_000
    assert len(response.context["cl"].result_list) == 50
