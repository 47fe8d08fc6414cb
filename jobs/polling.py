"""What makes a poll cheap and well-behaved: the ETag, cache headers and hints for the poller."""
import hashlib

from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers

from . import conf

HINT_HEADERS = ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")


def poll_hints(jobs):
    """Return the hint headers of an answer holding `jobs`, a list annotated by `with_list_totals()`."""
    running = jobs[0].running_total if jobs else 0
    listed = jobs[0].listed_total if jobs else 0
    return {
        "X-Jobs-Running": str(running),
        "X-Jobs-Truncated": "true" if listed > len(jobs) else "false",
        "X-Poll-Interval": str(int(conf.poll_interval(running=running > 0).total_seconds())),
    }


def response_etag(response):
    """Return a strong ETag derived from exactly what the response says: its body and its hint headers."""
    digest = hashlib.blake2b(response.content, digest_size=16)
    for header in HINT_HEADERS:
        digest.update(f"\n{header}: {response.get(header, '')}".encode())
    return f'"{digest.hexdigest()}"'


def conditional_response(request, response):
    """Render `response`, tag it, and answer 304 without a body when the caller already has this version."""
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Authorization", "Cookie"))
    if response.status_code != 200:
        return response
    response.render()
    response["ETag"] = response_etag(response)
    conditional = get_conditional_response(request, etag=response["ETag"], response=response)
    if conditional is not response:
        for header in HINT_HEADERS:
            conditional[header] = response[header]
    return conditional
