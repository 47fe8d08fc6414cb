"""Gunicorn settings of `make serve`, from the environment; see docs/performance.md for the measured choice."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# The work is CPU-bound Python with short database waits: a process per core, and a second per core to
# cover those waits (measured in docs/performance.md).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
# Pollers keep their connections open between polls.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 15))
# A worker is replaced now and then, so a slow leak can never take a worker down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 50_000))
max_requests_jitter = max_requests // 10
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
preload_app = True
