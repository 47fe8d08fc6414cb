"""CPU time of one poll inside the Django process, without a server or load generator: the hot path's own cost.

Run after `make bench` has filled its database (it reuses the bench users and their datasets):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/databiz_bench .venv/bin/python bench/cpu.py

Prints `cpu_ms_per_request=...` (process CPU, so PostgreSQL's own work is not in it) over BENCH_CPU_REQUESTS
polls (3000), each as another user, after a warm-up; the median of BENCH_CPU_RUNS (5) runs.
"""
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "databiz.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key-0123456789abcdef0123456789")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402


def main():
    requests = int(os.environ.get("BENCH_CPU_REQUESTS", 3000))
    runs = int(os.environ.get("BENCH_CPU_RUNS", 5))
    users = list(get_user_model().objects.filter(username__startswith="bench-").order_by("username")[:500])
    if not users:
        sys.exit("No bench users: run `make bench` first (it fills the database this script reads).")
    headers = [f"Bearer {AccessToken.for_user(user)}" for user in users]
    client = Client()

    def poll(count):
        for i in range(count):
            response = client.get("/api/v2/jobs/active", HTTP_AUTHORIZATION=headers[i % len(headers)], secure=True,
                                  HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, response.status_code

    poll(500)
    samples = []
    for _ in range(runs):
        started = time.process_time()
        poll(requests)
        samples.append((time.process_time() - started) * 1000 / requests)
    print(f"cpu_ms_per_request={statistics.median(samples):.3f} runs={'/'.join(f'{s:.3f}' for s in samples)}")


if __name__ == "__main__":
    main()
