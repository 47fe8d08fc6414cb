"""Reading settings from environment variables: each by name, once; a bad value stops start-up naming the variable.

Every helper returns `default` when the variable is unset or empty, and raises ImproperlyConfigured saying what
the variable accepts when its value cannot be used.
"""
import ipaddress
import json
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# The units the ranges of duration settings are written in.
SECOND, MINUTE, HOUR, DAY = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
YEAR = 365 * DAY


def _raw(name):
    """Return the variable's value stripped of surrounding blanks, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


class BadEnvironmentVariable(ImproperlyConfigured):
    """A variable's value cannot be used: the message names the variable and what it takes."""


def _refuse(name, value, accepts):
    return BadEnvironmentVariable(f"{name}={value!r} is not valid: {name} takes {accepts}.")


def env_str(name, default=""):
    """Read a string."""
    value = _raw(name)
    return default if value is None else value


def env_bool(name, default):
    """Read a yes/no value: 1, true, yes, on or 0, false, no, off (any case)."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE + FALSE:
        return value.lower() in TRUE
    raise _refuse(name, value, f"one of {', '.join(TRUE + FALSE)}")


def range_words(minimum, maximum):
    """Return the words for a range: " of at least 1", " from 1 to 10", " from 1 s to 365 days", or ""."""
    show = _duration_words if timedelta in (type(minimum), type(maximum)) else str
    if minimum is not None and maximum is not None:
        return f" from {show(minimum)} to {show(maximum)}"
    if minimum is not None:
        return f" of at least {show(minimum)}"
    return f" of at most {show(maximum)}" if maximum is not None else ""


def _within(value, minimum, maximum):
    return (minimum is None or value >= minimum) and (maximum is None or value <= maximum)


def env_int(name, default, *, minimum=None, maximum=None):
    """Read a whole number, within `minimum` and `maximum` when they are given."""
    return _number(name, default, int, "a whole number", minimum, maximum)


def env_float(name, default, *, minimum=None, maximum=None):
    """Read a number, within `minimum` and `maximum` when they are given."""
    return _number(name, default, float, "a number", minimum, maximum)


def _number(name, default, parse, kind, minimum, maximum):
    value = _raw(name)
    if value is None:
        return default
    try:
        number = parse(value)
    except ValueError:
        number = None
    # NaN is not a number anyone means: it compares false with everything, the bounds included.
    if number is None or number != number or not _within(number, minimum, maximum):
        raise _refuse(name, value, kind + range_words(minimum, maximum))
    return number


def _duration_words(duration):
    """Return a bound in the largest whole unit: "365 days", "1 hour", "0.1 s"."""
    seconds = duration.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} s"


def env_duration(name, default, *, minimum=None, maximum=None):
    """Read a duration: seconds ("3600"), "HH:MM:SS" or ISO 8601 ("PT1H"), within `minimum` and `maximum` (timedeltas)
    when they are given."""
    value = _raw(name)
    if value is None:
        return default
    try:
        duration = parse_duration(value)
    except OverflowError:  # more days than a timedelta holds
        duration = None
    if duration is None or not _within(duration, minimum, maximum):
        raise _refuse(name, value, 'a duration: seconds ("3600"), "HH:MM:SS" or ISO 8601 ("PT1H")'
                      + range_words(minimum, maximum))
    return duration


# DRF's rates: a count, a slash and a period that DRF reads by its first letter (so "month" would be a minute).
RATE = re.compile(r"([1-9][0-9]*)/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name, default):
    """Read a throttle rate as DRF takes it: a count of at least 1 per second, minute, hour or day ("120/min")."""
    value = _raw(name)
    if value is None:
        return default
    if not RATE.fullmatch(value):
        raise _refuse(name, value, 'a rate: a count of at least 1 per s, min, hour or day ("120/min")')
    return value


def env_networks(name, default):
    """Read a comma-separated list of IP addresses or networks ("127.0.0.1,10.0.0.0/8")."""
    networks = env_list(name, default)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            accepts = 'IP addresses or networks, comma-separated ("10.0.0.0/8")'
            raise _refuse(name, ",".join(networks), accepts) from None
    return networks


# An origin as a browser's Origin header sends it: a scheme, a host, a port; never a path, a "*" or "null".
ORIGIN = re.compile(r"(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?", re.IGNORECASE)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(text):
    """Return `text` as browsers write an origin (lower case, no default port), or None when it is not one."""
    match = ORIGIN.fullmatch(text)
    if match is None:
        return None
    scheme, host, port = match[1].lower(), match[2].lower(), int(match[3] or DEFAULT_PORTS[match[1].lower()])
    if not 0 < port < 65536:
        return None
    return f"{scheme}://{host}" + ("" if port == DEFAULT_PORTS[scheme] else f":{port}")


def env_origins(name, default):
    """Read a comma-separated list of origins ("https://app.databiz.example,http://localhost:5173"), each written as
    browsers send it: an origin written otherwise ("HTTPS://App.example:443") would never match."""
    origins = env_list(name, default)
    written = [_origin(origin) for origin in origins]
    if None in written:
        accepts = ('origins, comma-separated, each scheme://host[:port] with no path '
                   '("https://app.databiz.example,http://localhost:5173")')
        raise _refuse(name, ",".join(origins), accepts)
    return written


def env_list(name, default):
    """Read a comma-separated list; blank items are dropped."""
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name, choices, default):
    """Read one of `choices` (any case)."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() not in choices:
        raise _refuse(name, value, f"one of {', '.join(choices)}")
    return value.lower()


def env_json_object(name, default):
    """Read a JSON object of strings to strings."""
    value = _raw(name)
    if value is None:
        return default
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for item in parsed.items() for v in item):
        raise _refuse(name, value, 'a JSON object of strings, e.g. {"new": "running"}')
    return parsed


# The databases this service runs on: PostgreSQL in production, SQLite for development and the demo.
DATABASE_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


def env_database_url(name, default, **options):
    """Read a database URL into Django's DATABASES entry (dj-database-url): PostgreSQL or SQLite, with a name."""
    value = _raw(name) or default
    accepts = 'a PostgreSQL or SQLite URL: "postgres://user@host:5432/name" or "sqlite:///path/to/file.sqlite3"'
    try:
        database = dj_database_url.parse(value, **options)
    except ValueError:  # dj-database-url's errors for an unknown scheme or a malformed URL
        raise _refuse(name, value, accepts) from None
    if database.get("ENGINE") not in DATABASE_ENGINES or database.get("NAME") in (None, "", ":memory:"):
        raise _refuse(name, value, accepts + " (not an in-memory database)")
    return database


def env_text_or_file(name, default=""):
    """Read a text from `name`, or from the file that `name`_FILE names (PEM keys, secrets)."""
    path = _raw(f"{name}_FILE")
    if path is None:
        return env_str(name, default)
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise _refuse(f"{name}_FILE", path, f"the path of a readable file ({exc.strerror})") from None
