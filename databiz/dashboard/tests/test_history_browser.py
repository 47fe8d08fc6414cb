"""The dashboard's History section in a real browser: Debian's Chromium driven by Playwright against a live server."""
import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import sign_in

HISTORY = "/api/v2/jobs/history"

pytestmark = pytest.mark.django_db(transaction=True)


def ago(**delta):
    return timezone.now() - datetime.timedelta(**delta)


def history_queries(requested):
    """The query of each history request, in order (the dashboard asks for pages of 20)."""
    return [dict(parse_qsl(urlsplit(url).query)) for url in requested if urlsplit(url).path == HISTORY]


def shown(page):
    return page.locator("#history-list .history-filename")


def history_item(page, filename):
    return page.locator(".history-job", has=page.locator(".history-filename", has_text=filename))


def test_a_search_shows_only_the_jobs_whose_filename_contains_it(page, live_server, people, rows):
    alice, bob = people
    rows(alice, original_filename="sales-2025.csv", status="inactive", updated_at=ago(minutes=5))
    rows(alice, original_filename="customers.csv", status="inactive", updated_at=ago(minutes=6))
    rows(alice, original_filename="Sales-2024.csv", status="error", error_message="Bad header.",
         updated_at=ago(minutes=7))
    rows(bob, original_filename="sales-bob.csv", status="inactive", updated_at=ago(minutes=4))
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, live_server)
    expect(shown(page)).to_have_text(["sales-2025.csv", "customers.csv", "Sales-2024.csv"])

    page.get_by_label("File name").press_sequentially("SALES")

    expect(shown(page)).to_have_text(["sales-2025.csv", "Sales-2024.csv"])
    # Typed in one go, the search is sent once, after the pause (not once a keystroke).
    assert history_queries(requested) == [{"page_size": "20"}, {"page_size": "20", "q": "SALES"}]

    page.get_by_label("File name").fill("nothing-like-it")
    page.get_by_label("File name").press("Enter")

    expect(page.locator("#history-empty")).to_have_text("No finished jobs.")
    expect(shown(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()


def test_load_more_appends_the_next_page_each_job_once_until_there_is_no_next(page, live_server, people, rows):
    for index in range(45):
        rows(people[0], original_filename=f"report-{index:02}.csv", status="inactive",
             updated_at=ago(minutes=index + 1))
    names = [f"report-{index:02}.csv" for index in range(45)]  # newest first
    more = page.get_by_role("button", name="Load more")
    sign_in(page, live_server)
    expect(shown(page)).to_have_text(names[:20])

    more.click()
    expect(shown(page)).to_have_text(names[:40])
    expect(more).to_be_visible()

    more.click()
    expect(shown(page)).to_have_text(names)
    expect(more).to_be_hidden()


def test_a_failed_job_shows_its_error_text_as_text(page, live_server, people, rows):
    rows(people[0], original_filename="sales.csv", status="inactive", created_at=ago(minutes=4),
         updated_at=ago(minutes=3))
    # Started before it finished: a job finishes at its last update, never before it started.
    rows(people[0], original_filename="<img src=x onerror=alert(1)>.csv", status="error",
         error_message="Sheet 'Orders' is empty: <b>add rows</b>.", created_at=ago(hours=2, minutes=5),
         updated_at=ago(hours=2))

    sign_in(page, live_server)

    expect(shown(page)).to_have_text(["sales.csv", "<img src=x onerror=alert(1)>.csv"])
    expect(page.locator("#history-list .history-chip")).to_have_text(["completed", "failed"])
    expect(page.locator("#history-list time")).to_have_text(["3 minutes ago", "2 hours ago"])
    failed = history_item(page, "<img src=x")
    expect(failed.locator(".history-error")).to_have_text("Sheet 'Orders' is empty: <b>add rows</b>.")
    expect(history_item(page, "sales.csv").locator(".history-error")).to_be_hidden()
    # User data is text, never markup.
    expect(page.locator("#history-list img, #history-list b")).to_have_count(0)


def test_the_status_filter_shows_only_failed_jobs_and_all_again(page, live_server, people, rows):
    rows(people[0], original_filename="sales.csv", status="inactive", updated_at=ago(minutes=1))
    rows(people[0], original_filename="orders.csv", status="error", error_message="Sheet 'Orders' is empty.",
         updated_at=ago(minutes=2))
    rows(people[0], original_filename="customers.csv", status="inactive", updated_at=ago(minutes=3))
    rows(people[0], original_filename="stock.csv", status="error", error_message="Column 'sku' is missing.",
         updated_at=ago(minutes=4))
    sign_in(page, live_server)
    expect(shown(page)).to_have_text(["sales.csv", "orders.csv", "customers.csv", "stock.csv"])

    page.get_by_label("Status").select_option("failed")

    expect(shown(page)).to_have_text(["orders.csv", "stock.csv"])
    expect(page.locator("#history-list .history-error")).to_have_text(
        ["Sheet 'Orders' is empty.", "Column 'sku' is missing."]
    )

    page.get_by_label("Status").select_option("")
    expect(shown(page)).to_have_text(["sales.csv", "orders.csv", "customers.csv", "stock.csv"])


def test_a_refused_search_shows_the_servers_message(page, live_server, people, rows):
    rows(people[0], original_filename="sales.csv", status="inactive", updated_at=ago(minutes=1))
    sign_in(page, live_server)
    expect(shown(page)).to_have_text(["sales.csv"])

    page.get_by_label("File name").fill("x" * 513)
    page.get_by_label("File name").press("Enter")

    expect(page.locator("#history-status")).to_have_text("Ensure this value has at most 512 characters (it has 513).")
    # The old list answered another search: it goes.
    expect(shown(page)).to_have_count(0)
    expect(page.locator("#history-empty")).to_be_hidden()
