"""Health probes: /healthz (the process is alive) and /readyz (it can answer polls: database, datasets, issuer)."""
import logging

from django.db import DatabaseError, router
from django.http import JsonResponse
from jwt import PyJWKClientError

from jobs.authentication import EXTERNAL, auth_mode, issuer_backend
from jobs.jwks import IssuerUnavailable
from jobs.models import Dataset
from jobs.table import REFERENCE_COLUMNS, datasets_table_problems

logger = logging.getLogger(__name__)


def healthz(request):
    """Answer that the process is alive; touches nothing else."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Answer 200 when the database answers and `datasets` is readable with the expected columns, else 503."""
    using = router.db_for_read(Dataset)
    try:
        problems = datasets_table_problems(using)
        if not problems:
            # Proves the SELECT privilege on the columns the service reads, not only that the table exists.
            list(Dataset._base_manager.using(using).values_list(*REFERENCE_COLUMNS)[:1])
    except DatabaseError:
        # The details stay in the log: the probe's answer is public.
        logger.warning("Readiness check failed: the datasets table cannot be read.", exc_info=True)
        problems = ["The database or the datasets table cannot be read."]
    issuer, issuer_problems = issuer_readiness()
    problems += issuer_problems
    body = {"issuer": issuer} if issuer else {}
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems, **body}, status=503)
    return JsonResponse({"status": "ok", **body})


def issuer_readiness():
    """Return what the readiness probe says of the external issuer's keys, and its problems (none in local mode)."""
    if auth_mode() != EXTERNAL:
        return None, []
    backend = issuer_backend()
    if backend.jwks_client is None:
        return {"algorithm": backend.algorithm, "keys": "configured"}, []
    try:
        return {"algorithm": backend.algorithm, "keys": backend.jwks_client.key_ids()}, []
    except (IssuerUnavailable, PyJWKClientError):
        return {"algorithm": backend.algorithm, "keys": []}, ["The token issuer's signing keys cannot be fetched."]
