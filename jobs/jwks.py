"""The external issuer's signing keys, fetched from its JWKS URL: cached, rate-limited, and an outage is a 503."""
import http.client
import json
import logging
import math
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError, URLError

from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSet, PyJWKSetError
from rest_framework import status
from rest_framework.exceptions import APIException

logger = logging.getLogger(__name__)

# After a failed fetch, requests fail fast for this long instead of each waiting for the endpoint's timeout.
RETRY_AFTER_FAILURE = 5.0
# A key set is a few kilobytes; a larger body is not read on (it would only cost the process memory).
MAX_JWKS_BYTES = 1024 * 1024
# Fetches run here, so that a request waits for one no longer than JWKS_TIMEOUT in all, however slowly the endpoint
# sends; a fetch given up on stops reading at its next chunk.
FETCHES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jobs-jwks")
# The key type each family of asymmetric algorithms verifies with (RFC 7518): a token's `kid` naming a key of
# another type is a token without a key, not a key handed to the wrong algorithm.
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class IssuerUnavailable(APIException):
    """The issuer's keys cannot be fetched and none are cached: the caller's token may well be fine, so a 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The token issuer's signing keys cannot be fetched right now. Try again shortly."
    default_code = "issuer_unavailable"

    def __init__(self, wait):
        super().__init__()
        # DRF's exception handler turns `wait` into the Retry-After header.
        self.wait = max(1, math.ceil(wait))


class IssuerKeys(PyJWKClient):
    """PyJWT's JWKS client that keeps serving its last good key set through an outage of the endpoint.

    PyJWT caches the key set for `max_age` and re-fetches it on an unknown `kid` at most once per `min_refresh`
    (its cooldown), so tokens with made-up `kid`s cannot turn into a stream of fetches. This adds what a service
    needs on top: a failed fetch is not retried for `RETRY_AFTER_FAILURE` seconds, the last good keys stay in use
    meanwhile, and with no keys at all the request gets `IssuerUnavailable` (503) instead of a 401.
    """

    def __init__(self, uri, *, algorithm, timeout, min_refresh, max_age):
        super().__init__(uri, lifespan=max_age, timeout=timeout, cooldown_duration=min_refresh)
        self.key_type = KEY_TYPES.get(algorithm[:2])
        self.last_good = None
        self.retry_at = 0.0
        # Counts the key sets fetched: a token verified with an earlier set is verified again.
        self.generation = 0

    def fetch_data(self):
        """Return the endpoint's key set, or on failure the last good one (503 when there is none)."""
        now = time.monotonic()
        if now < self.retry_at:
            return self.fallback(now)
        deadline = now + self.timeout
        try:
            data = FETCHES.submit(self.download, deadline).result(timeout=self.timeout)
            PyJWKSet.from_dict(data)
        except TimeoutError:
            logger.warning("The issuer's JWKS at %s took longer than %s s to fetch.", self.uri, self.timeout)
            self.retry_at = now + RETRY_AFTER_FAILURE
            return self.fallback(now)
        except (PyJWKClientError, PyJWKSetError, ValueError) as exc:
            # ValueError: a body that is not JSON. The details stay in the log, never in an answer.
            logger.warning("The issuer's JWKS at %s cannot be fetched: %s", self.uri, exc)
            self.retry_at = now + RETRY_AFTER_FAILURE
            return self.fallback(now)
        if data != self.last_good:
            self.generation += 1
        self.last_good = data
        # What PyJWT's own fetch records: an unknown `kid` right after a fetch waits for the cooldown. A private
        # attribute of PyJWT 2.15.1 (pinned), as is _client_lock below: jobs/tests/test_jwks.py fails if they change.
        self._last_successful_fetch = time.monotonic()
        return data

    def download(self, deadline):
        """Return the endpoint's JSON object: no redirects, at most MAX_JWKS_BYTES, read until `deadline`."""
        opener = urllib.request.build_opener(NoRedirects())
        request = urllib.request.Request(self.uri, headers=self.headers)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                body = bytearray()
                while chunk := response.read1(64 * 1024):
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise PyJWKClientConnectionError(f"The key set is larger than {MAX_JWKS_BYTES} bytes")
                    if time.monotonic() > deadline:
                        raise PyJWKClientConnectionError("The key set took too long to send")
        except (URLError, TimeoutError, http.client.HTTPException) as exc:
            if isinstance(exc, HTTPError):
                exc.close()
            raise PyJWKClientConnectionError(f"Fail to fetch data from the url, err: {exc}") from exc
        data = json.loads(body)
        if not isinstance(data, dict):
            raise PyJWKClientError("The JWKS endpoint did not return a JSON object")
        return data

    def get_signing_keys(self, refresh=False):
        """Return the signing keys of the key set that the configured algorithm can verify with."""
        keys = [key for key in super().get_signing_keys(refresh) if key.key_type == self.key_type]
        if not keys:
            raise PyJWKClientError(f"The JWKS endpoint has no {self.key_type} signing keys")
        return keys

    def fallback(self, now):
        """Return the last good key set, or raise `IssuerUnavailable` when there has never been one."""
        if self.last_good is None:
            raise IssuerUnavailable(wait=self.retry_at - now)
        return self.last_good

    def key_ids(self):
        """Return the `kid`s of the current signing keys (fetching them if needed), for the readiness probe."""
        # Under PyJWT's own lock, as a request's lookup is: a probe's fetch that ended last would otherwise put an
        # older key set back in the cache.
        with self._client_lock:
            return sorted(key.key_id for key in self.get_signing_keys())


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects, as PyJWT's own client does: the key set comes from the configured URL only."""

    def redirect_request(self, *args, **kwargs):
        """Follow no redirect (the answer is then an HTTP error)."""
        return None
