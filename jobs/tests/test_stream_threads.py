"""Which thread a stream's work runs on, under a real ASGI server: a new stream never waits behind a tick."""
import time
import urllib.request

import jwt
import pytest
from django.db import connections

from databiz.dashboard.tests.conftest import AsgiServer
from jobs import stream

from . import DATABIZ_USER, SHARED_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(transactional_db, monkeypatch, external_issuer):
    external_issuer()
    running = AsgiServer(monkeypatch)
    running.start()
    yield running
    running.stop()
    for executor in stream.STREAM_THREADS:
        executor.submit(connections.close_all).result()


def test_a_new_stream_is_answered_while_the_tick_is_busy(server):
    token = jwt.encode({"sub": str(DATABIZ_USER), "exp": int(time.time()) + 600}, SHARED_SECRET, "HS256")
    # The tick's database thread held for 3 s, as a long read of every open stream would hold it.
    held = stream.DATABASE_THREAD.submit(time.sleep, 3)
    started = time.monotonic()

    request = urllib.request.Request(f"{server.url}/api/v2/jobs/stream", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        lines = [response.readline() for _ in range(4)]
    answered = time.monotonic() - started
    held.result()

    assert (response.status, lines[0], lines[2]) == (200, b"retry: 5000\n", b"event: jobs\n")
    assert answered < 1.5, f"the stream's first event took {answered:.1f} s"
