
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from jobs.models import Dataset, DatasetQuerySet

from . import run_command

pytestmark = pytest.mark.django_db


def test_issue_token_prints_an_access_token_for_the_user(user, now):
    token = AccessToken(run_command("issue_token", "alice").strip())

    assert (token["user_id"], token["token_type"]) == (str(user.pk), "access")


@pytest.mark.parametrize(
    ("username", "message"),
    [("nobody", "No user named 'nobody'."), ("bob", "User 'bob' is inactive: tokens would be refused.")],
)
def test_issue_token_refuses_unknown_and_inactive_users(db, username, message):
    get_user_model().objects.create(username="bob", is_active=False)

    with pytest.raises(CommandError, match=message):
        run_command("issue_token", username)


SEARCH_INDEX_SQL = """-- Run by the imports team on the database of `datasets` (the jobs service never installs it).
-- A history search (?q=) then reads the rows whose filename matches, not the caller's whole history.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX CONCURRENTLY IF NOT EXISTS datasets_filename_trgm ON datasets USING gin ((UPPER(COALESCE(NULLIF("datasets"."original_filename", ''), "datasets"."name")::text)) gin_trgm_ops);
"""  # noqa: E501  (the statement as printed)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)  # CREATE INDEX CONCURRENTLY runs outside a transaction
def test_the_search_index_is_on_the_searchs_own_expression_and_serves_the_search():
    printed = run_command("jobs_search_index_sql")
    search = DatasetQuerySet(model=Dataset).filename_contains("invoice").values("id")
    try:
        with connection.cursor() as cursor:
            for statement in (line for line in printed.splitlines() if not line.startswith("--")):
                cursor.execute(statement)  # one by one: CREATE INDEX CONCURRENTLY runs in no transaction block
            cursor.execute("SET enable_seqscan = off")  # a few rows: only the index can serve the search then
            cursor.execute("EXPLAIN " + connection.ops.compose_sql(*search.query.sql_with_params()))
            plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("DROP INDEX IF EXISTS datasets_filename_trgm")

    assert printed == SEARCH_INDEX_SQL
    assert "Bitmap Index Scan on datasets_filename_trgm" in plan, plan


def test_the_search_index_is_postgresqls(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")

    with pytest.raises(CommandError, match="The index is PostgreSQL's \\(pg_trgm\\); 'default' is a sqlite database."):
        run_command("jobs_search_index_sql")
