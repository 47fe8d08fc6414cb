"""ASGI entry point of the DataBiz jobs service (`make serve`): the stream asynchronously, the rest as WSGI.

Django answers its sync views under ASGI through a thread hop per request and, with persistent connections, one
database connection per hop thread. So every request but the stream goes to Django's WSGI application on a small
thread pool of its own (a2wsgi), as under a WSGI server, and only `GET /api/v2/jobs/stream`, which holds its
connection open and waits on the event loop, goes to Django's ASGI application. When the server is told to stop,
the open streams end first, with a `retry:` hint (`end_streams_on_stop_signals`).
"""
import asyncio
import contextvars
import gc
import os
import signal
import threading

from a2wsgi import WSGIMiddleware
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "databiz.settings")

get_asgi_application()  # Django set up as for any ASGI server; the stream gets the handler below


class StreamHandler(ASGIHandler):
    """Django's ASGI handler without a thread of its own for every request.

    Django runs each request in a ThreadSensitiveContext, so its synchronous parts (the project's middleware, the
    receivers of `request_started` and `request_finished`) get a thread made for that request, which lives as long
    as the response: an idle thread per open stream, about 48 KiB each (docs/performance.md). Here they run on
    asgiref's one shared thread instead, one stream's opening (its middleware and authentication, until the response
    starts) and one stream's close at a time: the same order its authentication already had on the streams' one
    requests thread (jobs/stream/hub.py), where all of the stream's own database work runs.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


django_asgi = StreamHandler()

from django.urls import reverse  # noqa: E402  (after Django is set up)

# The stream's route, read from the URL map (a renamed URL moves with it); every other request goes to WSGI. Read in
# a context of its own: the URL resolvers keep state in asgiref Locals, and a Local set in this module's context, from
# which every request's context is copied, is copied again into that request's context at each thread hop (asgiref
# re-homes it to the thread): 1 KB an open stream (docs/performance.md).
STREAM_PATHS = (contextvars.copy_context().run(reverse, "jobs:stream"),)

from jobs.stream import hub  # noqa: E402  (after Django is set up)


class WSGIRequests:
    """Django's WSGI application, counting the requests under way, which skip Django once the server is stopping.

    A stopping server waits for its connections, not for the requests of clients that have gone (a poll sent just
    before the client closed): those wait on django_wsgi's thread. One left running when the event loop stops waits
    forever for the loop to take its response (a2wsgi hands it over through the loop), and the worker process, which
    joins that thread as it exits, never exits. So the lifespan's shutdown, while the loop still runs, lets the
    requests still queued through at once (their clients have gone) and waits until none is left (`finish`).
    """

    def __init__(self, app):
        self.app, self.under_way, self.stopping = app, 0, False

    def __call__(self, environ, start_response):
        if self.stopping:
            start_response("503 Service Unavailable", [("Content-Length", "0"), ("Connection", "close")])
            return []
        return self.app(environ, start_response)

    async def finish(self, poll=0.01):
        self.stopping = True
        while self.under_way:
            await asyncio.sleep(poll)


wsgi_requests = WSGIRequests(get_wsgi_application())

# One thread a worker process: a poll is CPU-bound Python, so more threads only contend for the GIL.
django_wsgi = WSGIMiddleware(wsgi_requests, workers=int(os.environ.get("WSGI_THREADS", "1")))

# What start-up made lives as long as the process: out of the garbage collector's full passes (as databiz/wsgi.py).
gc.freeze()


async def application(scope, receive, send):
    """Send the stream to Django's ASGI application and everything else to its WSGI application."""
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    if scope["type"] == "http" and scope["path"] not in STREAM_PATHS:
        wsgi_requests.under_way += 1
        try:
            return await django_wsgi(scope, receive, send)
        finally:
            wsgi_requests.under_way -= 1
    return await django_asgi(scope, receive, send)


async def lifespan(receive, send):
    """Acknowledge the server's start and stop (Django's ASGI application has no lifespan of its own)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            wsgi_requests.stopping = False  # a server started again in the same process (the browser tests)
            end_streams_on_stop_signals(asyncio.get_running_loop())
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await wsgi_requests.finish()
            await send({"type": "lifespan.shutdown.complete"})
            return


def end_streams_on_stop_signals(loop):
    """Before the server's own handler of SIGTERM and SIGINT runs, end the open streams with a `retry:` hint.

    A stopping server waits for its open responses to end, and a stream never ends by itself: without this, a
    deploy waits for the kill timeout and then cuts every stream without telling browsers when to come back.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (a server run in a thread, as in the browser tests)
    for signum in (signal.SIGTERM, signal.SIGINT):
        server_handler = signal.getsignal(signum)

        def handler(number, frame, server_handler=server_handler):
            loop.call_soon_threadsafe(hub.HUB.stop)
            if callable(server_handler):
                server_handler(number, frame)
            elif server_handler == signal.SIG_DFL:
                signal.signal(number, signal.SIG_DFL)
                signal.raise_signal(number)

        signal.signal(signum, handler)
