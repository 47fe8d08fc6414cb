#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "databiz.settings")
    from django.core.management import execute_from_command_line

    from databiz.env import BadEnvironmentVariable

    try:
        execute_from_command_line(sys.argv)
    except BadEnvironmentVariable as exc:
        # The message names the variable and what it takes; a traceback would only bury it.
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
