import datetime
import uuid

import jwt
import pytest
import time_machine
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from jobs.models import Dataset

from . import NOW, ago, poll_queries

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/active"


def test_active_jobs_answer_the_whole_contract(auth_client, user, other_user, make_dataset):
    make_dataset(
        id=uuid.UUID("550e8400-e29b-41d4-a716-446655440000"),
        created_by=user.pk,
        name="Sales",
        original_filename="sales-2025.csv",
        status="new",
        created_at=ago(minutes=10),
        updated_at=ago(minutes=5),
    )
    make_dataset(
        id=uuid.UUID("660e8400-e29b-41d4-a716-446655440001"),
        created_by=user.pk,
        name="Customers",
        original_filename=None,
        status="inactive",
        created_at=ago(minutes=30),
        updated_at=ago(minutes=20),
    )
    make_dataset(
        id=uuid.UUID("770e8400-e29b-41d4-a716-446655440002"),
        created_by=user.pk,
        original_filename="orders.xlsx",
        status="error",
        error_message="Sheet 'Orders' is empty.",
        created_at=ago(minutes=40),
        updated_at=ago(minutes=39, seconds=30),
    )
    make_dataset(
        id=uuid.UUID("880e8400-e29b-41d4-a716-446655440003"),
        created_by=user.pk,
        original_filename="stuck.parquet",
        status="new",
        created_at=ago(minutes=75),
        updated_at=ago(minutes=70),
    )
    # Not listed: activated, archived, finished long ago, another user's.
    make_dataset(created_by=user.pk, status="active", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, status="archived", updated_at=ago(minutes=1))
    make_dataset(created_by=user.pk, status="inactive", updated_at=ago(hours=3))
    make_dataset(created_by=other_user.pk, status="new", updated_at=ago(minutes=1))

    response = auth_client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == [
        {
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "type": "import",
            "status": "running",
            "progress": 50,
            "filename": "sales-2025.csv",
            "started_at": "2025-12-19T09:50:00Z",
            "finished_at": None,
            "error": None,
            "remaining_seconds": None,
        },
        {
            "id": "880e8400-e29b-41d4-a716-446655440003",
            "type": "import",
            "status": "failed",
            "progress": 0,
            "filename": "stuck.parquet",
            "started_at": "2025-12-19T08:45:00Z",
            "finished_at": "2025-12-19T09:50:00Z",
            "error": "Import stalled: no update since 2025-12-19T08:50:00Z.",
            "remaining_seconds": None,
        },
        {
            "id": "660e8400-e29b-41d4-a716-446655440001",
            "type": "import",
            "status": "completed",
            "progress": 100,
            "filename": "Customers",
            "started_at": "2025-12-19T09:30:00Z",
            "finished_at": "2025-12-19T09:40:00Z",
            "error": None,
            "remaining_seconds": None,
        },
        {
            "id": "770e8400-e29b-41d4-a716-446655440002",
            "type": "import",
            "status": "failed",
            "progress": 0,
            "filename": "orders.xlsx",
            "started_at": "2025-12-19T09:20:00Z",
            "finished_at": "2025-12-19T09:20:30Z",
            "error": "Sheet 'Orders' is empty.",
            "remaining_seconds": None,
        },
    ]


def test_user_with_nothing_gets_an_empty_list(auth_client, other_user, make_dataset):
    make_dataset(created_by=other_user.pk, status="new", updated_at=ago(minutes=1))

    response = auth_client.get(URL)

    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_both_paths_answer_without_a_redirect(auth_client, path):
    response = auth_client.get(path)

    assert (response.status_code, response.json()) == (200, [])


def test_answer_is_bounded_by_max_results(auth_client, user, make_dataset, settings):
    settings.JOBS_MAX_RESULTS = 2
    for minutes in (1, 2, 3):
        make_dataset(created_by=user.pk, status="inactive", updated_at=ago(minutes=minutes))

    response = auth_client.get(URL)

    assert [job["finished_at"] for job in response.json()] == ["2025-12-19T09:59:00Z", "2025-12-19T09:58:00Z"]


def test_endpoint_reads_the_datasets_in_one_query(auth_client, user, make_dataset, django_assert_num_queries):
    for minutes in range(20):
        status = ("new", "inactive", "error")[minutes % 3]
        make_dataset(created_by=user.pk, status=status, updated_at=ago(minutes=minutes))

    # The user behind the token and the datasets, whatever their number (the user's row joined LATERAL to the page).
    with django_assert_num_queries(poll_queries()):
        response = auth_client.get(URL)

    assert [job["id"] for job in response.json()] == [str(job.pk) for job in Dataset.objects.jobs_for(user)]
    assert [job["status"] for job in response.json()] == ["running"] * 7 + ["completed", "failed"] * 6 + ["completed"]


MIB = 1_048_576


@pytest.fixture
def history(other_user, make_dataset):
    """Twelve completed imports of another user, a day ago, taking 5 s plus 1 s per 64 KiB."""
    for size in range(1, 13):
        make_dataset(
            created_by=other_user.pk,
            status="inactive",
            file_size=size * MIB,
            created_at=ago(days=1, seconds=5 + size * 16),
            updated_at=ago(days=1),
        )


def test_progress_is_estimated_from_the_import_history(auth_client, user, history, make_dataset):
    make_dataset(
        id=uuid.UUID("550e8400-e29b-41d4-a716-446655440000"),
        created_by=user.pk,
        original_filename="sales-2025.csv",
        file_size=10 * MIB,
        status="new",
        created_at=ago(seconds=66),
    )
    make_dataset(
        id=uuid.UUID("770e8400-e29b-41d4-a716-446655440002"),
        created_by=user.pk,
        original_filename="orders.xlsx",
        file_size=10 * MIB,
        status="error",
        created_at=ago(minutes=10),
        updated_at=ago(minutes=10, seconds=-33),
    )

    response = auth_client.get(URL)

    assert response.json() == [
        {
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "type": "import",
            "status": "running",
            "progress": 40,
            "filename": "sales-2025.csv",
            "started_at": "2025-12-19T09:58:54Z",
            "finished_at": None,
            "error": None,
            "remaining_seconds": 99,
        },
        {
            "id": "770e8400-e29b-41d4-a716-446655440002",
            "type": "import",
            "status": "failed",
            "progress": 20,
            "filename": "orders.xlsx",
            "started_at": "2025-12-19T09:50:00Z",
            "finished_at": "2025-12-19T09:50:33Z",
            "error": "Import failed.",
            "remaining_seconds": None,
        },
    ]


def test_running_bar_moves_between_polls(auth_client, user, history, make_dataset):
    make_dataset(created_by=user.pk, file_size=10 * MIB, status="new", created_at=ago(seconds=66))

    polls = []
    for poll in range(4):
        with time_machine.travel(NOW + datetime.timedelta(seconds=30 * poll), tick=False):
            [job] = auth_client.get(URL).json()
        polls.append((job["progress"], job["remaining_seconds"]))

    assert polls == [(40, 99), (58, 69), (76, 39), (88, 9)]


def test_fixed_progress_setting_switches_the_estimate_off(
    auth_client, user, history, make_dataset, settings, django_assert_num_queries
):
    settings.JOBS_PROGRESS = "fixed"
    make_dataset(created_by=user.pk, file_size=10 * MIB, status="new", created_at=ago(seconds=66))

    # No import speed is learned: the user and the datasets.
    with django_assert_num_queries(poll_queries()):
        [job] = auth_client.get(URL).json()

    assert (job["progress"], job["remaining_seconds"]) == (50, None)


def test_import_speed_costs_one_query_per_cache_period(
    auth_client, user, history, make_dataset, django_assert_num_queries
):
    for minutes in range(20):
        status = ("new", "inactive", "error")[minutes % 3]
        make_dataset(created_by=user.pk, status=status, file_size=MIB, updated_at=ago(minutes=minutes))

    # The import speed (learned once for the whole list), then the user and the datasets.
    with django_assert_num_queries(1 + poll_queries()):
        first = auth_client.get(URL)
    # Cached: the same queries as without estimates.
    with django_assert_num_queries(poll_queries()):
        second = auth_client.get(URL)

    assert first.json() == second.json()
    assert [job["status"] for job in first.json()] == ["running"] * 7 + ["completed", "failed"] * 6 + ["completed"]
    assert {job["progress"] for job in first.json()} - {0, 50, 100} != set()


def test_session_login_is_accepted(client, user, make_dataset, now):
    dataset = make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))
    client.force_login(user)

    response = client.get(URL)

    assert [job["id"] for job in response.json()] == [str(dataset.pk)]


def test_token_endpoint_issues_tokens_that_open_the_list(api_client, user, now):
    user.set_password("s3cret-pass")
    user.save()

    tokens = api_client.post("/api/v2/auth/token", {"username": "alice", "password": "s3cret-pass"}, format="json")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    response = api_client.get(URL)

    assert (tokens.status_code, sorted(tokens.json()), response.status_code) == (200, ["access", "refresh"], 200)


def test_refresh_endpoint_issues_a_new_access_token(api_client, user, now):
    refresh = RefreshToken.for_user(user)

    response = api_client.post("/api/v2/auth/token/refresh", {"refresh": str(refresh)}, format="json")

    assert response.status_code == 200
    assert AccessToken(response.json()["access"])["user_id"] == str(user.pk)


# 10000-01-01T00:00:00Z, one second past the last moment a datetime holds.
YEAR_10000 = 253402300800


def deleted(user):
    user.delete()


def expiring_in_year_10000(refresh):
    refresh.payload["exp"] = YEAR_10000


@pytest.mark.parametrize(("change", "body"), [
    (lambda user, refresh: deleted(user),
     {"detail": "No active account found for the given token."}),
    (lambda user, refresh: expiring_in_year_10000(refresh),
     {"detail": "Token has an invalid time claim", "code": "token_not_valid"}),
], ids=["deleted-user", "exp-in-year-10000"])
def test_refresh_endpoint_refuses_with_a_json_401(api_client, user, now, change, body):
    refresh = RefreshToken.for_user(user)
    change(user, refresh)

    response = api_client.post("/api/v2/auth/token/refresh", {"refresh": str(refresh)}, format="json")

    assert (response.status_code, response.json()) == (401, body)


def test_token_endpoint_refuses_bad_credentials_with_401(api_client, user):
    response = api_client.post("/api/v2/auth/token", {"username": "alice", "password": "wrong"}, format="json")

    assert (response.status_code, response.json()) == (
        401,
        {"detail": "No active account found with the given credentials"},
    )


def test_bearer_scheme_name_is_case_insensitive(api_client, user, now):
    api_client.credentials(HTTP_AUTHORIZATION=f"bEARER {AccessToken.for_user(user)}")

    assert api_client.get(URL).status_code == 200


def forged_token(user, key):
    return jwt.encode(
        {"token_type": "access", "exp": NOW + datetime.timedelta(minutes=5), "jti": "x", "user_id": str(user.pk)},
        key,
        algorithm="HS256",
    )


def unsigned_token(user):
    return jwt.encode(
        {"token_type": "access", "exp": NOW + datetime.timedelta(minutes=5), "jti": "x", "user_id": str(user.pk)},
        None,
        algorithm="none",
    )


def expired_token(user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=NOW - datetime.timedelta(hours=1))
    return str(token)


def inactive_users_token(user):
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    return str(AccessToken.for_user(user))


def expiring_in_year_10000_token(user):
    token = AccessToken.for_user(user)
    token.payload["exp"] = YEAR_10000
    return str(token)


def expiring_in_10_to_the_30_seconds_token(user):
    token = AccessToken.for_user(user)
    token.payload["exp"] = 10**30
    return str(token)


def expiring_as_a_string_token(user):
    token = AccessToken.for_user(user)
    token.payload["exp"] = str(token.payload["exp"])  # PyJWT takes a numeric string; simplejwt's check did not
    return str(token)


def deleted_users_token(user):
    token = str(AccessToken.for_user(user))
    user.delete()
    return token


NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
# Signed, but no usable time (beyond what a datetime holds, or a string): refused like any invalid token, never a 500.
INVALID_TIME = {"detail": "Token has an invalid time claim", "code": "token_not_valid"}
BAD_HEADER = {
    "detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"
}


def not_valid(message):
    return {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    }


TOO_LONG = {"detail": "Token is too long", "code": "token_not_valid"}
AUTHENTICATION_FAILURES = [
    ("missing", None, NOT_PROVIDED),
    ("empty", lambda user: "", NOT_PROVIDED),
    ("scheme-alone", lambda user: "Bearer", BAD_HEADER),
    ("three-parts", lambda user: "Bearer a b", BAD_HEADER),
    ("basic", lambda user: "Basic YWxpY2U6c2VjcmV0", NOT_PROVIDED),
    ("garbage", lambda user: "Bearer not-a-jwt", not_valid("Token is invalid")),
    ("10kB", lambda user: "Bearer " + "a" * 10_000, TOO_LONG),
    # The limit is 8,192 characters: that many are read (and refused as no token), one more is refused unread.
    ("8192-characters", lambda user: "Bearer " + "a" * 8192, not_valid("Token is invalid")),
    ("8193-characters", lambda user: "Bearer " + "a" * 8193, TOO_LONG),
    ("foreign-key", lambda user: f"Bearer {forged_token(user, 'another-key-entirely-another-key')}",
     not_valid("Token is invalid")),
    ("alg-none", lambda user: f"Bearer {unsigned_token(user)}", not_valid("Token is invalid")),
    ("expired", lambda user: f"Bearer {expired_token(user)}", not_valid("Token is expired")),
    ("refresh-token", lambda user: f"Bearer {RefreshToken.for_user(user)}", not_valid("Token has wrong type")),
    ("inactive-user", lambda user: f"Bearer {inactive_users_token(user)}", {"detail": "User is inactive"}),
    ("deleted-user", lambda user: f"Bearer {deleted_users_token(user)}", {"detail": "User not found"}),
    ("exp-in-year-10000", lambda user: f"Bearer {expiring_in_year_10000_token(user)}", INVALID_TIME),
    ("exp-10-to-the-30", lambda user: f"Bearer {expiring_in_10_to_the_30_seconds_token(user)}", INVALID_TIME),
    ("exp-a-string", lambda user: f"Bearer {expiring_as_a_string_token(user)}", INVALID_TIME),
]


@pytest.mark.parametrize(
    ("authorization", "body"),
    [case[1:] for case in AUTHENTICATION_FAILURES],
    ids=[case[0] for case in AUTHENTICATION_FAILURES],
)
def test_every_authentication_failure_is_a_json_401_with_a_bearer_challenge(
    api_client, user, now, authorization, body
):
    if authorization is not None:
        api_client.credentials(HTTP_AUTHORIZATION=authorization(user))

    response = api_client.get(URL)

    assert (response.status_code, response["WWW-Authenticate"], response["Content-Type"], response.json()) == (
        401, 'Bearer realm="api"', "application/json", body
    )


def test_inactive_users_session_is_a_401(client, user, now):
    client.force_login(user)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(URL)

    assert (response.status_code, response["WWW-Authenticate"]) == (401, 'Bearer realm="api"')


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_methods_are_not_allowed(auth_client, method):
    response = getattr(auth_client, method)(URL)

    assert (response.status_code, response["Allow"], response.json()) == (
        405,
        "GET, HEAD, OPTIONS",
        {"detail": f'Method "{method.upper()}" not allowed.'},
    )


def test_options_describes_the_endpoint(auth_client):
    response = auth_client.options(URL)

    assert (response.status_code, response.json()["name"], response["Allow"]) == (
        200, "Active Job List", "GET, HEAD, OPTIONS"
    )
