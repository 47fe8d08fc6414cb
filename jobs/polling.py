"""What makes a poll cheap and well-behaved: the ETag, cache headers and hints for the poller."""
import hashlib

from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers

from . import conf

HINT_HEADERS = ("X-Jobs-Running", "X-Jobs-Truncated", "X-Poll-Interval")


def list_totals(jobs):
    """Return (running, truncated) of a list of `jobs` annotated by `with_list_totals()`: its running jobs, those the
    bound cut off included, and whether the bound cut it."""
    if not jobs:
        return 0, False
    return jobs[0].running_total, jobs[0].listed_total > len(jobs)


def poll_hints(jobs):
    """Return the hint headers of an answer holding `jobs`, a list annotated by `with_list_totals()`."""
    running, truncated = list_totals(jobs)
    return {
        "X-Jobs-Running": str(running),
        "X-Jobs-Truncated": "true" if truncated else "false",
        "X-Poll-Interval": str(int(conf.poll_interval(running=running > 0).total_seconds())),
    }


def answer_etag(serializer_class, jobs, hints):
    """Return a strong ETag of the answer holding `jobs` with `hints`, made before anything is serialized.

    The answer's bytes are a function of the values each field formats (`source_values`) and of the fields
    themselves (`signature`): the same values and fields give the same body, so a tag of them is as exact as a
    hash of the body, and a poll that already holds the answer is not formatted or rendered again.
    """
    digest = hashlib.blake2b(serializer_class.signature().encode(), digest_size=16)
    for job in jobs:
        digest.update(b"\n" + repr(serializer_class.source_values(job)).encode())
    for name, value in sorted(hints.items()):
        digest.update(f"\n{name}: {value}".encode())
    return f'"{digest.hexdigest()}"'


def tagged_answer(serializer_class, jobs, representation=None):
    """Return the ETag and hint headers of the answer holding `jobs`: what the list and the stream both send.

    `representation`: what else the request asked of the answer's bytes (`representation(request)`).
    """
    hints = poll_hints(jobs)
    return answer_etag(serializer_class, jobs, {**hints, **(representation or {})}), hints


def representation(request):
    """Return what a request asks of an answer's bytes besides its content: the indentation an `Accept:
    application/json; indent=N` asks of the JSON renderer content negotiation chose. Other bytes are another
    representation, so another strong ETag; none asked (every client of ours), nothing added: the compact answer's
    tag is the stream's."""
    indent = request.accepted_renderer.get_indent(request.accepted_media_type, {})
    return {} if indent is None else {"indent": str(indent)}


def not_modified(request, etag, headers):
    """Return the 304 for a caller whose If-None-Match already names `etag` (Django's own test of it), else None."""
    conditional = get_conditional_response(request, etag=etag)
    if conditional is None or conditional.status_code != 304:
        return None
    for name, value in {**headers, "ETag": etag}.items():
        conditional[name] = value
    return conditional


def cache_headers(response):
    """Mark an answer of the jobs list private and to be revalidated, varying by who asks."""
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Authorization", "Cookie"))
    return response
