import base64
import datetime
import hashlib
import hmac
import json
import threading
import time
import uuid

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken
from werkzeug import Response

from jobs.authentication import TokenAuthentication, issuer_backend, page_authentication, token_authentication

from . import DATABIZ_USER, NOW, SHARED_SECRET, ago

pytestmark = pytest.mark.django_db

URL = "/api/v2/jobs/active"
ISSUER = "https://login.databiz.example/realms/databiz"
AUDIENCE = "databiz-frontend"
CHALLENGE = 'Bearer realm="api"'
KEYS_UNAVAILABLE = {"detail": "The token issuer's signing keys cannot be fetched right now. Try again shortly."}


@pytest.fixture(scope="session")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def jwks(*keys_by_kid):
    """Return a JWKS document publishing each (kid, private key)'s public half, as an OIDC provider does."""
    documents = []
    for kid, key in keys_by_kid:
        document = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        documents.append({**document, "kid": kid, "use": "sig", "alg": "RS256"})
    return {"keys": documents}


def claims(**overrides):
    """Return the claims DataBiz's backend puts in an access token: `sub` the user's UUID, `exp`, no token type."""
    values = {"sub": str(DATABIZ_USER), "iat": NOW, "exp": NOW + datetime.timedelta(minutes=15), **overrides}
    return {name: value for name, value in values.items() if value is not None}


def oidc_claims(**overrides):
    return claims(**{"iss": ISSUER, "aud": AUDIENCE, **overrides})


@pytest.fixture
def databiz_datasets(make_dataset, user):
    """One completed import of the DataBiz user, and a running one of a local user that must not show."""
    make_dataset(
        id=uuid.UUID("550e8400-e29b-41d4-a716-446655440000"),
        created_by=DATABIZ_USER,
        name="Sales",
        original_filename="sales-2025.csv",
        status="inactive",
        created_at=ago(minutes=10),
        updated_at=ago(minutes=5),
    )
    make_dataset(created_by=user.pk, status="new", updated_at=ago(minutes=1))


DATABIZ_USERS_JOBS = [
    {
        "id": "550e8400-e29b-41d4-a716-446655440000",
        "type": "import",
        "status": "completed",
        "progress": 100,
        "filename": "sales-2025.csv",
        "started_at": "2025-12-19T09:50:00Z",
        "finished_at": "2025-12-19T09:55:00Z",
        "error": None,
        "remaining_seconds": None,
    }
]


@pytest.fixture
def jwks_url(httpserver, rsa_key):
    httpserver.expect_request("/protocol/openid-connect/certs").respond_with_json(jwks(("key-1", rsa_key)))
    return httpserver.url_for("/protocol/openid-connect/certs")


RECIPES = {
    # A FastAPI backend with PyJWT or python-jose: HS256, the shared secret, `sub` and `exp`.
    "shared-secret": lambda keys: (
        {"ALGORITHM": "HS256", "SIGNING_KEY": SHARED_SECRET},
        jwt.encode(claims(), SHARED_SECRET, algorithm="HS256"),
    ),
    "pem-rs256": lambda keys: (
        {"ALGORITHM": "RS256", "SIGNING_KEY": "", "VERIFYING_KEY": public_pem(keys["rsa"])},
        jwt.encode(claims(), keys["rsa"], algorithm="RS256"),
    ),
    "pem-es256": lambda keys: (
        {"ALGORITHM": "ES256", "SIGNING_KEY": "", "VERIFYING_KEY": public_pem(keys["ec"])},
        jwt.encode(claims(), keys["ec"], algorithm="ES256"),
    ),
    # An OpenID Connect provider (Keycloak, Auth0, Entra ID): keys from its JWKS by `kid`, `iss` and `aud` checked.
    "jwks": lambda keys: (
        {"ALGORITHM": "RS256", "SIGNING_KEY": "", "JWK_URL": keys["jwks_url"], "ISSUER": ISSUER, "AUDIENCE": AUDIENCE},
        jwt.encode(oidc_claims(), keys["rsa"], algorithm="RS256", headers={"kid": "key-1"}),
    ),
}


@pytest.fixture
def keys(rsa_key, ec_key, jwks_url):
    return {"rsa": rsa_key, "ec": ec_key, "jwks_url": jwks_url}


@pytest.mark.parametrize("recipe", RECIPES)
def test_databiz_token_lists_that_users_jobs_in_one_query(
    recipe, keys, external_issuer, databiz_datasets, api_client, now, django_assert_num_queries
):
    simple_jwt, token = RECIPES[recipe](keys)
    external_issuer(**simple_jwt)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    with django_assert_num_queries(1):
        response = api_client.get(URL)

    assert (response.status_code, response.json()) == (200, DATABIZ_USERS_JOBS)
    assert not get_user_model().objects.filter(pk=DATABIZ_USER).exists()


def test_a_running_job_of_a_databiz_user_costs_one_query_once_the_import_speed_is_cached(
    external_issuer, make_dataset, api_client, now, django_assert_num_queries
):
    external_issuer()
    make_dataset(created_by=DATABIZ_USER, status="new", file_size=1000, updated_at=ago(minutes=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(claims(), SHARED_SECRET, algorithm='HS256')}")
    api_client.get(URL)

    with django_assert_num_queries(1):
        response = api_client.get(URL)

    assert [job["status"] for job in response.json()] == ["running"]


def invalid(message):
    """The 401 body simplejwt gives for an issuer's token that fails verification."""
    return {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "IssuerToken", "token_type": "external", "message": message}],
    }


NO_USER = {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}
TOO_LONG = {"detail": "Token is too long", "code": "token_not_valid"}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key_as_secret(keys):
    """The algorithm-confusion attack: HS256 with the RS256 public key as its secret (PyJWT refuses to make one)."""
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": str(DATABIZ_USER), "iss": ISSUER, "aud": AUDIENCE, "exp": int(NOW.timestamp()) + 300}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(public_pem(keys["rsa"]).encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def local_token(keys):
    """A token this service minted in local mode, for a user of its own table."""
    user = get_user_model().objects.create(username="carol")
    return str(AccessToken.for_user(user))


PEM = lambda keys: {  # noqa: E731
    "ALGORITHM": "RS256", "SIGNING_KEY": "", "VERIFYING_KEY": public_pem(keys["rsa"]), "ISSUER": ISSUER,
    "AUDIENCE": AUDIENCE,
}
JWKS = lambda keys: {**PEM(keys), "VERIFYING_KEY": "", "JWK_URL": keys["jwks_url"]}  # noqa: E731
SHARED = lambda keys: {"ALGORITHM": "HS256", "SIGNING_KEY": SHARED_SECRET}  # noqa: E731


def rs256(keys, **overrides):
    return jwt.encode(oidc_claims(**overrides), keys["rsa"], algorithm="RS256", headers={"kid": "key-1"})


REFUSALS = [
    ("alg-none", PEM, lambda k: jwt.encode(oidc_claims(), None, algorithm="none"), invalid("Token is invalid")),
    ("hs256-signed-with-the-public-key", PEM, hs256_with_public_key_as_secret, invalid("Token is invalid")),
    ("other-key", PEM, lambda k: jwt.encode(oidc_claims(), k["other_rsa"], algorithm="RS256"),
     invalid("Token is invalid")),
    ("wrong-iss", PEM, lambda k: rs256(k, iss="https://evil.example"), invalid("Token is invalid")),
    ("no-iss", JWKS, lambda k: jwt.encode(claims(aud=AUDIENCE), k["rsa"], algorithm="RS256", headers={"kid": "key-1"}),
     invalid("Token is invalid")),
    ("wrong-aud", PEM, lambda k: rs256(k, aud="another-app"), invalid("Token is invalid")),
    ("expired-beyond-leeway", PEM, lambda k: rs256(k, exp=NOW - datetime.timedelta(seconds=31)),
     invalid("Token is expired")),
    ("no-exp", PEM, lambda k: jwt.encode({"sub": str(DATABIZ_USER), "iss": ISSUER, "aud": AUDIENCE}, k["rsa"],
                                         algorithm="RS256"), invalid("Token has no 'exp' claim")),
    ("not-before-beyond-leeway", PEM, lambda k: rs256(k, nbf=NOW + datetime.timedelta(seconds=31)),
     invalid("Token is invalid")),
    ("no-sub", PEM, lambda k: rs256(k, sub=None), NO_USER),
    ("sub-not-a-uuid", PEM, lambda k: rs256(k, sub="alice"), NO_USER),
    # PyJWT itself refuses a `sub` that is not a string.
    ("sub-a-number", PEM, lambda k: rs256(k, sub=12345), invalid("Token is invalid")),
    ("unknown-kid", JWKS, lambda k: jwt.encode(oidc_claims(), k["other_rsa"], algorithm="RS256",
                                               headers={"kid": "key-9"}), invalid("Token is invalid")),
    ("no-kid", JWKS, lambda k: jwt.encode(oidc_claims(), k["rsa"], algorithm="RS256"), invalid("Token is invalid")),
    ("20kB-token", PEM, lambda k: rs256(k, padding="x" * 20_000), TOO_LONG),
    ("local-token", SHARED, local_token, invalid("Token is invalid")),
    ("hs256-token-of-another-secret", SHARED, lambda k: jwt.encode(claims(), "x" * 48, algorithm="HS256"),
     invalid("Token is invalid")),
]


@pytest.mark.parametrize(("config", "token", "body"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refused_tokens_are_a_json_401_with_a_bearer_challenge(
    config, token, body, keys, other_rsa_key, external_issuer, databiz_datasets, api_client, now
):
    keys = {**keys, "other_rsa": other_rsa_key}
    raw_token = token(keys)
    external_issuer(**config(keys))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")

    response = api_client.get(URL)

    assert (response.status_code, response["WWW-Authenticate"], response.json()) == (401, CHALLENGE, body)


@pytest.mark.parametrize(
    "overrides",
    [{"exp": NOW - datetime.timedelta(seconds=29)}, {"nbf": NOW + datetime.timedelta(seconds=29)}],
    ids=["expired-within-leeway", "not-before-within-leeway"],
)
def test_clock_skew_within_the_leeway_is_tolerated(overrides, keys, external_issuer, databiz_datasets, api_client, now):
    external_issuer(**PEM(keys))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {rs256(keys, **overrides)}")

    assert (api_client.get(URL).status_code, api_client.get(URL).json()) == (200, DATABIZ_USERS_JOBS)


def test_a_64kB_authorization_header_is_a_401(external_issuer, api_client, now):
    external_issuer()
    api_client.credentials(HTTP_AUTHORIZATION="Bearer " + "a" * 65_536)

    response = api_client.get(URL)

    assert (response.status_code, response["WWW-Authenticate"], response.json()) == (401, CHALLENGE, TOO_LONG)


def test_a_databiz_token_is_refused_in_local_mode(databiz_datasets, api_client, now):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(claims(), SHARED_SECRET, algorithm='HS256')}")

    response = api_client.get(URL)

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_staff_issuer_claims_do_not_make_a_databiz_user_staff(external_issuer, api_client, now, settings):
    settings.OPENAPI_STAFF_ONLY = True
    external_issuer()
    token = jwt.encode(claims(is_staff=True, is_superuser=True), SHARED_SECRET, algorithm="HS256")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert api_client.get("/api/v2/schema").status_code == 403


@pytest.mark.parametrize("path", ["/api/v2/auth/token", "/api/v2/auth/token/refresh"])
def test_token_endpoints_are_gone_when_databiz_issues_the_tokens(external_issuer, api_client, user, path):
    external_issuer()

    response = api_client.post(path, {"username": "alice", "password": "secret"}, format="json")

    assert (response.status_code, response.json()) == (
        404, {"detail": "This service issues no tokens: AUTH_MODE is external, sign in through DataBiz."}
    )


def test_admin_keeps_the_session_login_of_local_staff(external_issuer, client, user):
    external_issuer()
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)

    assert client.get("/admin/jobs/dataset/").status_code == 200


# JWKS: rotation, fetch budget, outage


class Clock:
    """Moves time.monotonic forward on demand, as PyJWT's cache and cooldown read it."""

    def __init__(self):
        self.offset = 0.0
        self.real = time.monotonic

    def __call__(self):
        return self.real() + self.offset

    def advance(self, seconds):
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(time, "monotonic", fake)
    return fake


def jwks_config(url, **overrides):
    return {"ALGORITHM": "RS256", "SIGNING_KEY": "", "JWK_URL": url, "ISSUER": ISSUER, "AUDIENCE": AUDIENCE,
            **overrides}


def fetches(httpserver):
    return sum(1 for request, _ in httpserver.log if request.path == "/certs")


def poll(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client.get(URL)


def test_a_rotated_key_is_fetched_and_the_retired_one_refused(
    httpserver, rsa_key, other_rsa_key, external_issuer, databiz_datasets, api_client, now, settings
):
    settings.JWKS_MIN_REFRESH = datetime.timedelta(0)
    httpserver.expect_request("/certs").respond_with_json(jwks(("key-1", rsa_key)))
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    old = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})
    new = jwt.encode(oidc_claims(), other_rsa_key, algorithm="RS256", headers={"kid": "key-2"})
    before = poll(api_client, old).status_code

    httpserver.clear_all_handlers()
    httpserver.expect_request("/certs").respond_with_json(jwks(("key-2", other_rsa_key)))

    assert (before, poll(api_client, new).status_code, poll(api_client, old).status_code) == (200, 200, 401)


def test_made_up_kids_cost_at_most_one_fetch_a_minute(
    httpserver, rsa_key, other_rsa_key, external_issuer, databiz_datasets, api_client, now, clock
):
    httpserver.expect_request("/certs").respond_with_json(jwks(("key-1", rsa_key)))
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    good = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})

    def made_up():
        kid = uuid.uuid4().hex
        return poll(api_client, jwt.encode(oidc_claims(), other_rsa_key, algorithm="RS256", headers={"kid": kid}))

    statuses = [poll(api_client, good).status_code] + [made_up().status_code for _ in range(30)]
    within_the_minute = fetches(httpserver)
    clock.advance(61)
    statuses += [made_up().status_code for _ in range(30)]

    assert statuses == [200] + [401] * 60
    assert (within_the_minute, fetches(httpserver)) == (1, 2)


def unsigned_with_header(**header):
    """Return a token with `header`, valid claims and a junk signature: what anyone can send."""
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value, default=str).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(oidc_claims())}.AAAA"


@pytest.mark.parametrize("kid", ["ec-1", "oct-1"])
def test_a_kid_naming_a_key_of_another_type_is_a_401_not_a_500(
    kid, httpserver, rsa_key, ec_key, external_issuer, databiz_datasets, api_client, now
):
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    keys = jwks(("key-1", rsa_key))["keys"] + [
        {**ec_jwk, "kid": "ec-1", "use": "sig"}, {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "kid": "oct-1"}
    ]
    httpserver.expect_request("/certs").respond_with_json({"keys": keys})
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    good = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})

    forged = poll(api_client, unsigned_with_header(alg="RS256", typ="JWT", kid=kid))

    assert (poll(api_client, good).status_code, forged.status_code, forged.json()) == (200, 401, {
        "detail": "Given token not valid for any token type", "code": "token_not_valid",
        "messages": [{"token_class": "IssuerToken", "token_type": "external", "message": "Token is invalid"}],
    })


@pytest.mark.parametrize(
    "respond",
    [
        lambda server: server.expect_request("/certs").respond_with_data("down", status=500),
        lambda server: server.expect_request("/certs").respond_with_data("<html>not json</html>"),
        lambda server: server.expect_request("/certs").respond_with_json({"keys": []}),
        lambda server: server.expect_request("/certs").respond_with_json(["not", "a", "key", "set"]),
    ],
    ids=["http-500", "not-json", "no-keys", "not-an-object"],
)
def test_an_unusable_jwks_with_no_cached_key_is_a_503_with_retry_after(
    respond, httpserver, rsa_key, external_issuer, databiz_datasets, api_client, now
):
    respond(httpserver)
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})

    responses = [poll(api_client, token) for _ in range(3)]

    assert [(r.status_code, r["Retry-After"], r.json()) for r in responses] == [(503, "5", {
        "detail": "The token issuer's signing keys cannot be fetched right now. Try again shortly."
    })] * 3
    # The endpoint failed once: the next requests fail fast instead of asking it again.
    assert fetches(httpserver) == 1


def test_an_unreachable_jwks_is_a_503(rsa_key, external_issuer, api_client, now):
    external_issuer(**jwks_config("http://127.0.0.1:9/certs"))
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})

    response = poll(api_client, token)

    assert (response.status_code, response["Retry-After"], response.json()["detail"]) == (
        503, "5", "The token issuer's signing keys cannot be fetched right now. Try again shortly."
    )


def hangs(document):
    """Answer nothing at all for longer than the timeout, then everything."""
    time.sleep(1.5)
    return [document]


def drips(document):
    """Send a byte at a time, each well within the timeout of the one before: only a limit on the whole fetch helps."""
    for byte in document[:40]:
        time.sleep(0.05)
        yield bytes([byte])


@pytest.mark.parametrize("send", [hangs, drips], ids=["hanging", "dripping"])
def test_a_jwks_too_slow_to_fetch_is_a_503_within_the_timeout(
    send, httpserver, rsa_key, external_issuer, api_client, now, settings
):
    settings.JWKS_TIMEOUT = datetime.timedelta(seconds=0.5)
    document = json.dumps(jwks(("key-1", rsa_key))).encode()
    done = threading.Event()

    def respond(request):
        chunks = send(document)

        def body():
            try:
                yield from chunks
            finally:  # sent, or given up by the client
                done.set()

        return Response(body(), content_type="application/json")

    httpserver.expect_request("/certs").respond_with_handler(respond)
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})

    started = time.perf_counter()
    response = poll(api_client, token)
    elapsed = time.perf_counter() - started
    done.wait(timeout=10)  # the test server serves one request at a time: let it finish before the next test

    assert (response.status_code, response["Retry-After"], response.json(), elapsed < 1.0) == (
        503, "5", KEYS_UNAVAILABLE, True
    )


def test_the_readiness_probe_reads_the_keys_under_the_lock_a_request_holds(httpserver, rsa_key, external_issuer):
    httpserver.expect_request("/certs").respond_with_json(jwks(("key-1", rsa_key)))
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    keys = issuer_backend().jwks_client
    held, release, found = threading.Event(), threading.Event(), []

    def request_fetching():  # a request's lookup, holding PyJWT's lock while it fetches
        with keys._client_lock:
            held.set()
            release.wait(timeout=5)

    request = threading.Thread(target=request_fetching)
    request.start()
    held.wait(timeout=5)
    probe = threading.Thread(target=lambda: found.append(keys.key_ids()))
    probe.start()
    probe.join(timeout=0.3)
    waited = probe.is_alive()
    release.set()
    probe.join(timeout=5)
    request.join(timeout=5)

    # A probe's fetch that ended after a request's would put an older key set back in the cache.
    assert (waited, found) == (True, [["key-1"]])


def test_a_jwks_larger_than_a_megabyte_is_not_read_on(httpserver, rsa_key, external_issuer, api_client, now, caplog):
    httpserver.expect_request("/certs").respond_with_data(
        json.dumps({**jwks(("key-1", rsa_key)), "padding": "x" * 2_000_000}), content_type="application/json"
    )
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})

    response = poll(api_client, token)

    assert (response.status_code, response.json()) == (503, KEYS_UNAVAILABLE)
    assert "The key set is larger than 1048576 bytes" in caplog.text


def test_cached_keys_outlive_an_outage_of_the_jwks(
    httpserver, rsa_key, external_issuer, databiz_datasets, api_client, now, clock
):
    httpserver.expect_request("/certs").respond_with_json(jwks(("key-1", rsa_key)))
    external_issuer(**jwks_config(httpserver.url_for("/certs")))
    token = jwt.encode(oidc_claims(), rsa_key, algorithm="RS256", headers={"kid": "key-1"})
    before = poll(api_client, token).status_code
    httpserver.clear_all_handlers()
    httpserver.expect_request("/certs").respond_with_data("down", status=503)
    clock.advance(301)  # past JWKS_MAX_AGE: the keys are due for a refresh, which fails

    response = poll(api_client, token)

    assert (before, response.status_code, response.json(), fetches(httpserver)) == (
        200, 200, DATABIZ_USERS_JOBS, 2
    )


def test_readyz_reports_the_issuers_keys(httpserver, rsa_key, other_rsa_key, external_issuer, client):
    httpserver.expect_request("/certs").respond_with_json(jwks(("key-1", rsa_key), ("key-2", other_rsa_key)))
    external_issuer(**jwks_config(httpserver.url_for("/certs")))

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (
        200, {"status": "ok", "issuer": {"algorithm": "RS256", "keys": ["key-1", "key-2"]}}
    )


def test_readyz_is_503_when_the_issuers_keys_cannot_be_fetched(external_issuer, client):
    external_issuer(**jwks_config("http://127.0.0.1:9/certs"))

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (503, {
        "status": "unavailable",
        "problems": ["The token issuer's signing keys cannot be fetched."],
        "issuer": {"algorithm": "RS256", "keys": []},
    })


def test_readyz_reports_a_configured_key(external_issuer, client):
    external_issuer()

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (
        200, {"status": "ok", "issuer": {"algorithm": "HS256", "keys": "configured"}}
    )


# Minting a token as DataBiz's backend would, for trying the service before the frontend is switched over


def test_issue_token_mints_a_shared_secret_token_that_lists_the_users_jobs(
    external_issuer, databiz_datasets, api_client, now, capsys
):
    external_issuer()
    call_command("issue_token", str(DATABIZ_USER))
    token = capsys.readouterr().out.strip()

    assert jwt.decode(token, SHARED_SECRET, algorithms=["HS256"]) == {
        "sub": str(DATABIZ_USER), "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 900,
    }
    assert poll(api_client, token).json() == DATABIZ_USERS_JOBS


def test_issue_token_signs_with_a_private_key_file(
    external_issuer, rsa_key, databiz_datasets, api_client, now, capsys, tmp_path
):
    key_file = tmp_path / "issuer.pem"
    key_file.write_text(private_pem(rsa_key))
    external_issuer(**PEM({"rsa": rsa_key}))
    call_command("issue_token", str(DATABIZ_USER), "--private-key", str(key_file), "--minutes", "5")
    token = capsys.readouterr().out.strip()

    assert jwt.decode(token, options={"verify_signature": False}) == {
        "sub": str(DATABIZ_USER), "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 300,
        "iss": ISSUER, "aud": AUDIENCE,
    }
    assert poll(api_client, token).json() == DATABIZ_USERS_JOBS


@pytest.mark.parametrize(
    ("config", "args", "message"),
    [
        (SHARED, ["alice"], "AUTH_MODE is external: give a DataBiz user UUID, not 'alice'."),
        (PEM, [str(DATABIZ_USER)],
         "RS256 tokens are signed with the issuer's private key: pass it with --private-key."),
        (SHARED, [str(DATABIZ_USER), "--minutes", "0"], "--minutes must be from 1 to 525600."),
        (SHARED, [str(DATABIZ_USER), "--minutes", "99999999999"], "--minutes must be from 1 to 525600."),
        (SHARED, [str(DATABIZ_USER), "--private-key", "/etc/hostname"],
         "HS256 tokens are signed with the shared secret (JWT_SIGNING_KEY); --private-key is for RS*, PS* and ES* "
         "issuers."),
        (PEM, [str(DATABIZ_USER), "--private-key", "{public_key}"],
         "{public_key} cannot sign RS256 tokens: give the issuer's RS256 private key (PEM)."),
    ],
    ids=["username", "asymmetric-without-key", "no-lifetime", "a-lifetime-past-9999", "hs-with-a-key-file",
         "a-public-key"],
)
def test_issue_token_explains_what_it_cannot_mint(config, args, message, external_issuer, rsa_key, tmp_path):
    external_issuer(**config({"rsa": rsa_key}))
    public_key = tmp_path / "issuer.pub.pem"
    public_key.write_text(public_pem(rsa_key))
    args = [arg.format(public_key=public_key) for arg in args]
    message = message.format(public_key=public_key)

    with pytest.raises(CommandError) as error:
        call_command("issue_token", *args)

    assert str(error.value) == message


def test_issue_token_takes_no_issuer_options_in_local_mode(user):
    with pytest.raises(CommandError) as error:
        call_command("issue_token", "alice", "--minutes", "5")

    assert str(error.value) == (
        "--minutes and --private-key are for AUTH_MODE=external; this service's own tokens live "
        "JWT_ACCESS_TOKEN_LIFETIME and are signed with its own key."
    )


# Verified tokens are reused: each tab's token is checked once, its expiry on every poll


def test_a_polled_token_is_verified_once_and_refused_once_it_expires(
    external_issuer, databiz_datasets, api_client, monkeypatch
):
    external_issuer()
    token = jwt.encode(claims(exp=NOW + datetime.timedelta(minutes=5)), SHARED_SECRET, algorithm="HS256")
    decoded = []
    decode = TokenBackend.decode
    monkeypatch.setattr(TokenBackend, "decode", lambda backend, *args, **kwargs: decoded.append(1) or decode(
        backend, *args, **kwargs))
    statuses = []
    for minutes in (0, 0.5, 4.9, 5.6):  # the leeway is 30 s
        with time_machine.travel(NOW + datetime.timedelta(minutes=minutes), tick=False):
            statuses.append(poll(api_client, token).status_code)

    assert (statuses, len(decoded)) == ([200, 200, 200, 401], 3)


def test_a_verification_is_not_reused_under_another_issuer_configuration(
    external_issuer, databiz_datasets, api_client, now
):
    external_issuer()
    token = jwt.encode(claims(), SHARED_SECRET, algorithm="HS256")
    accepted = poll(api_client, token).status_code

    external_issuer(SIGNING_KEY="the-issuer-rotated-its-shared-secret-to-this-one")

    assert (accepted, poll(api_client, token).status_code) == (200, 401)


@pytest.mark.parametrize(
    ("mode", "authentication", "page"),
    [
        ("local", "LocalTokenAuthentication", "LocalPageAuthentication"),
        ("external", "IssuerTokenAuthentication", "IssuerTokenAuthentication"),
    ],
)
def test_each_identity_mode_is_a_class_of_its_own(mode, authentication, page, settings):
    settings.AUTH_MODE = mode
    made = (token_authentication(), TokenAuthentication(), page_authentication())

    assert [type(instance).__name__ for instance in made] == [authentication, authentication, page]
