"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a live server."""
import datetime
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone
from playwright.sync_api import expect

from jobs.models import Dataset

from .conftest import sign_in

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
# The page polls twice a second here (fast_polling): changes show within the assertions' timeouts.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_polling")]


def job_item(page, filename):
    return page.locator(".job", has=page.locator(".job-filename", has_text=filename))


def test_badge_and_list_show_the_users_jobs_field_by_field(page, live_server, people, rows):
    alice, bob = people
    rows(alice, original_filename="sales.csv", status="new")
    rows(alice, original_filename="customers.csv", status="new")
    minute = datetime.timedelta(minutes=1)
    rows(alice, original_filename="products.csv", status="inactive", updated_at=timezone.now() - minute)
    rows(alice, original_filename="orders.csv", status="error", error_message="Sheet 'Orders' is empty.",
         updated_at=timezone.now() - 2 * minute)
    rows(alice, original_filename="old.csv", status="archived")
    rows(bob, original_filename="bobs-secret.csv", status="new")

    sign_in(page, live_server)

    expect(page.locator("#running-count")).to_have_text("2")
    expect(page.locator(".job")).to_have_count(4)
    expect(page.locator(".job-filename")).to_have_text(["customers.csv", "sales.csv", "products.csv", "orders.csv"])
    expect(page.locator(".chip")).to_have_text(["running", "running", "completed", "failed"])
    expect(page.locator(".job-percent")).to_have_text(["50%", "50%", "100%", "0%"])
    expect(job_item(page, "orders.csv").locator(".job-error")).to_have_text("Sheet 'Orders' is empty.")
    expect(job_item(page, "sales.csv").locator(".job-error")).to_be_hidden()
    expect(job_item(page, "sales.csv").locator("time")).to_have_text("3 minutes ago")
    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Updated "))
    assert "bobs-secret.csv" not in page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)


def test_an_import_that_finishes_shows_completed_after_the_next_poll(page, live_server, people, rows):
    dataset = rows(people[0], original_filename="sales.csv", status="new")
    sign_in(page, live_server)
    expect(page.locator(".chip")).to_have_text(["running"])

    Dataset._base_manager.using(router.db_for_read(Dataset)).filter(pk=dataset.pk).update(
        status="inactive", updated_at=timezone.now()
    )

    expect(page.locator(".chip")).to_have_text(["completed"])
    expect(page.locator("#running-count")).to_have_text("0")


def test_empty_state_when_there_is_nothing(page, live_server, people, rows):
    rows(people[1], original_filename="bobs.csv", status="new")

    sign_in(page, live_server)

    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator(".job")).to_have_count(0)


def test_a_503_shows_retrying_and_the_page_recovers(page, live_server, people, rows):
    rows(people[0], original_filename="sales.csv", status="new")
    sign_in(page, live_server)
    expect(page.locator(".job")).to_have_count(1)
    using = router.db_for_read(Dataset)

    with connections[using].cursor() as cursor:
        cursor.execute("ALTER TABLE datasets RENAME COLUMN status TO state")  # a real fault: the server answers 503
    try:
        expect(page.locator("#status-line")).to_have_text(re.compile(r"^Retrying in \d+ s: the server answered 503"))
        expect(page.locator("#status-line")).to_have_class(re.compile("retrying"))
        expect(page.locator(".job-filename")).to_have_text(["sales.csv"])  # the last good list stays
    finally:
        with connections[using].cursor() as cursor:
            cursor.execute("ALTER TABLE datasets RENAME COLUMN state TO status")

    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Updated "), timeout=15000)


def test_an_expired_session_goes_to_the_login_page(page, live_server, people, rows):
    sign_in(page, live_server)
    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Updated "))

    Session.objects.all().delete()

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=(/|%2F)$"))


def test_phone_width_has_no_sideways_scrolling(browser, live_server, fast_polling, people, rows):
    rows(people[0], original_filename="a-very-long-file-name-from-the-finance-team-2025-q4-final-v3.csv",
         status="error", error_message="x" * 300)
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    sign_in(page, live_server)
    expect(page.locator(".job")).to_have_count(1)

    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=ARTIFACTS / "dashboard-phone.png", full_page=True)
    context.close()

    assert width <= 360


def test_the_dashboard_shows_a_change_from_the_stream_within_3_seconds_without_polling(
    browser, asgi_server, people, rows
):
    dataset = rows(people[0], original_filename="sales.csv", status="new")
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_default_timeout(8000)
    requested = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))
    sign_in(page, asgi_server)
    expect(page.locator(".chip")).to_have_text(["running"])
    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Live, updated "))

    Dataset._base_manager.using(router.db_for_read(Dataset)).filter(pk=dataset.pk).update(
        status="inactive", updated_at=timezone.now()
    )

    # The default tick (JOBS_STREAM_TICK, 2 s) reads the change; the event carries it to the page.
    expect(page.locator(".chip")).to_have_text(["completed"], timeout=3000)
    expect(page.locator("#running-count")).to_have_text("0")
    context.close()
    assert ("/api/v2/jobs/stream" in requested, "/api/v2/jobs/active" in requested) == (True, False)


def test_a_refused_stream_is_polled_meanwhile_and_tried_again(browser, asgi_server, people, rows, settings):
    settings.JOBS_STREAM_MAX_PER_USER = 0  # every stream refused: 429
    settings.JOBS_STREAM_RETRY = datetime.timedelta(seconds=1)
    rows(people[0], original_filename="sales.csv", status="new")
    context = browser.new_context()
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))
    sign_in(page, asgi_server)
    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Updated "))  # polled

    settings.JOBS_STREAM_MAX_PER_USER = 5
    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Live, updated "), timeout=8000)
    polls = requested.count("/api/v2/jobs/active")
    page.wait_for_timeout(1500)
    context.close()

    assert (polls >= 1, requested.count("/api/v2/jobs/active")) == (True, polls)  # no polling once it streams


def test_a_sign_out_elsewhere_reaches_a_streaming_page(browser, asgi_server, people, rows, settings):
    settings.JOBS_STREAM_SESSION_RECHECK = datetime.timedelta(seconds=1)
    settings.JOBS_STREAM_RETRY = datetime.timedelta(seconds=0.2)
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, asgi_server)
    expect(page.locator("#status-line")).to_have_text(re.compile(r"^Live, updated "))

    Session.objects.all().delete()  # signed out in another tab

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=(/|%2F)$"), timeout=8000)
    context.close()
