import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jobs.checks import check_external_issuer

from . import SHARED_SECRET

HINT = "See the README, \"Plugging into DataBiz's login\"."


@pytest.fixture(scope="module")
def public_pem():
    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize(
    ("simple_jwt", "error"),
    [
        ({"ALGORITHM": "HS256", "SIGNING_KEY": ""},
         ("jobs.E011", "AUTH_MODE=external with HS256 needs the shared secret: set JWT_SIGNING_KEY.")),
        ({"ALGORITHM": "HS256", "SIGNING_KEY": "s" * 31},
         ("jobs.E012", "JWT_SIGNING_KEY is 31 bytes; an HS256 secret needs at least 32.")),
        ({"ALGORITHM": "HS256", "SIGNING_KEY": SHARED_SECRET, "JWK_URL": "https://login.example/certs"},
         ("jobs.E013", "HS256 is a shared-secret algorithm, so a public key or JWKS URL would not be used: set "
                       "JWT_ALGORITHM to the issuer's asymmetric algorithm, or unset them.")),
        ({"ALGORITHM": "RS256", "SIGNING_KEY": ""},
         ("jobs.E011", "AUTH_MODE=external with RS256 needs a public key: set JWT_VERIFYING_KEY (or "
                       "JWT_VERIFYING_KEY_FILE) to its PEM, or JWT_JWK_URL.")),
        ({"ALGORITHM": "RS256", "SIGNING_KEY": SHARED_SECRET},
         ("jobs.E011", "AUTH_MODE=external with RS256 needs a public key, not a shared secret (JWT_SIGNING_KEY): "
                       "set JWT_VERIFYING_KEY (or JWT_VERIFYING_KEY_FILE) to its PEM, or JWT_JWK_URL.")),
        ({"ALGORITHM": "ES256", "SIGNING_KEY": "", "VERIFYING_KEY": SHARED_SECRET},
         ("jobs.E016", "JWT_VERIFYING_KEY is not a PEM public key, which ES256 needs (a shared secret goes with "
                       "HS256).")),
        ({"ALGORITHM": "RS256", "SIGNING_KEY": "", "JWK_URL": "file:///etc/passwd"},
         ("jobs.E015", "JWT_JWK_URL='file:///etc/passwd' is not an http(s) URL.")),
        ({"ALGORITHM": "RS256", "SIGNING_KEY": "", "JWK_URL": "login.example/certs"},
         ("jobs.E015", "JWT_JWK_URL='login.example/certs' is not an http(s) URL.")),
        ({"ALGORITHM": "RS256", "SIGNING_KEY": "", "JWK_URL": "https://login.example/certs", "VERIFYING_KEY": "pem"},
         ("jobs.E014", "Set JWT_VERIFYING_KEY or JWT_JWK_URL, not both.")),
        ({"ALGORITHM": "none", "SIGNING_KEY": ""},
         ("jobs.E010", "JWT_ALGORITHM='none' is not an algorithm simplejwt knows.")),
    ],
    ids=["hs-no-secret", "hs-short-secret", "hs-with-jwks", "rs-no-key", "rs-with-secret", "es-secret-as-pem",
         "jwks-file-url", "jwks-no-scheme", "pem-and-jwks", "alg-none"],
)
def test_external_issuer_misconfiguration_stops_start_up_with_a_clear_error(simple_jwt, error, external_issuer):
    external_issuer(**simple_jwt)

    assert [(e.id, e.msg, e.hint) for e in check_external_issuer()] == [(*error, HINT)]


@pytest.mark.parametrize(
    "simple_jwt",
    [
        lambda pem: {"ALGORITHM": "HS256", "SIGNING_KEY": SHARED_SECRET},
        lambda pem: {"ALGORITHM": "ES256", "SIGNING_KEY": "", "VERIFYING_KEY": pem},
        lambda pem: {"ALGORITHM": "RS256", "SIGNING_KEY": "", "JWK_URL": "https://login.example/certs"},
    ],
    ids=["shared-secret", "pem", "jwks"],
)
def test_the_three_recipes_pass_the_check(simple_jwt, public_pem, external_issuer):
    external_issuer(**simple_jwt(public_pem))

    assert check_external_issuer() == []


def test_a_public_key_of_another_type_than_the_algorithm_stops_start_up(public_pem, external_issuer):
    external_issuer(ALGORITHM="RS256", SIGNING_KEY="", VERIFYING_KEY=public_pem)  # an EC key

    assert [(e.id, e.msg) for e in check_external_issuer()] == [("jobs.E017", (
        "JWT_VERIFYING_KEY is not a key RS256 verifies with (RS* and PS*: RSA; ES*: EC; EdDSA: Ed25519 or Ed448): set "
        "JWT_ALGORITHM to the issuer's algorithm."
    ))]


def test_the_service_secret_key_as_the_issuers_secret_stops_start_up(external_issuer, settings):
    external_issuer(ALGORITHM="HS256", SIGNING_KEY=settings.SECRET_KEY)

    assert [e.id for e in check_external_issuer()] == ["jobs.E018"]


def test_local_mode_has_nothing_to_check(settings):
    settings.SIMPLE_JWT = {"ALGORITHM": "HS256", "SIGNING_KEY": "short"}

    assert check_external_issuer() == []
