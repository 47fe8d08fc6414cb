"""Reading settings from environment variables: each by name, once; a bad value stops start-up naming the variable.

Every helper returns `default` when the variable is unset or empty, and raises ImproperlyConfigured saying what
the variable accepts when its value cannot be used.
"""
import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _raw(name):
    """Return the variable's value stripped of surrounding blanks, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


def _refuse(name, value, accepts):
    return ImproperlyConfigured(f"{name}={value!r} is not valid: {name} takes {accepts}.")


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


def env_int(name, default, *, minimum=None):
    """Read a whole number, at least `minimum` when one is given."""
    return _number(name, default, int, "a whole number", minimum)


def env_float(name, default, *, minimum=None):
    """Read a number, at least `minimum` when one is given."""
    return _number(name, default, float, "a number", minimum)


def _number(name, default, parse, kind, minimum):
    value = _raw(name)
    if value is None:
        return default
    try:
        number = parse(value)
    except ValueError:
        number = None
    # NaN is not a number anyone means: it compares false with everything, the minimum included.
    if number is None or number != number or (minimum is not None and number < minimum):
        raise _refuse(name, value, kind + (f" of at least {minimum}" if minimum is not None else ""))
    return number


def env_duration(name, default):
    """Read a duration: seconds ("3600"), "HH:MM:SS" or ISO 8601 ("PT1H")."""
    value = _raw(name)
    if value is None:
        return default
    duration = parse_duration(value)
    if duration is None:
        raise _refuse(name, value, 'a duration: seconds ("3600"), "HH:MM:SS" or ISO 8601 ("PT1H")')
    return duration


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


def env_text_or_file(name, default=""):
    """Read a text from `name`, or from the file that `name`_FILE names (PEM keys, secrets)."""
    path = _raw(f"{name}_FILE")
    if path is None:
        return env_str(name, default)
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise _refuse(f"{name}_FILE", path, f"the path of a readable file ({exc.strerror})") from None
