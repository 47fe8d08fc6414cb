import pytest

from jobs.tests import ago, poll_queries

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/active"


def test_a_bearer_poll_has_no_session_and_sets_no_cookie(auth_client, user, make_dataset, django_assert_num_queries):
    make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))

    # The token's user and the page: no session row is read or written.
    with django_assert_num_queries(poll_queries()):
        response = auth_client.get(URL)

    assert (response.status_code, dict(response.cookies), hasattr(response.wsgi_request, "session")) == (
        200, {}, False
    )


def test_a_browser_still_gets_its_session_user_and_messages(client, user, now):
    client.force_login(user)

    response = client.get("/")

    assert (response.status_code, response.wsgi_request.user, hasattr(response.wsgi_request, "_messages")) == (
        200, user, True
    )
