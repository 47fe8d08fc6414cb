"""What jobs/jwks.py relies on in PyJWT beyond its public API: fails loudly when an upgrade changes it."""
import inspect
import threading

from jwt import PyJWKClient


def test_pyjwts_cooldown_and_lock_are_where_issuer_keys_uses_them():
    # IssuerKeys fetches the key set itself (a bounded, size-limited download), so it records the fetch where
    # PyJWT's get_signing_key reads it for the cooldown, and the readiness probe takes PyJWT's own lock. PyJWT has no
    # public API for either (2.15.1, pinned in requirements.txt): a release that renames them fails here, not in
    # production as an unknown `kid` refetching on every request.
    client = PyJWKClient("https://issuer.invalid/certs")
    get_signing_key = inspect.getsource(PyJWKClient.get_signing_key)

    assert (client._last_successful_fetch, type(client._client_lock)) == (None, type(threading.RLock()))
    assert ("self._last_successful_fetch" in get_signing_key, "with self._client_lock:" in get_signing_key) == (
        True, True
    )
