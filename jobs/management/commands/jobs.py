"""`manage.py jobs`: the jobs as the API shows them (the active list, or with --history the job history), as a table
or as the API's JSON."""
import argparse

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import router
from django.http import QueryDict
from rest_framework.renderers import JSONRenderer

from jobs import conf
from jobs.filters import HistoryFilter, JobFilter
from jobs.import_speed import refresh_import_speed
from jobs.models import Dataset
from jobs.serializers import JobSerializer

# The most jobs --history prints unless --limit says otherwise: the API's default page.
HISTORY_LIMIT = 50


def positive_int(text):
    """Return `text` as a whole number of at least 1, or refuse it (argparse's error)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("give a whole number of at least 1")
    return int(text)


# The API's query parameters as this command's options.
OPTIONS = {"q": "search", "finished_after": "finished-after", "finished_before": "finished-before"}

COLUMNS = ("status", "type", "progress", "filename", "started_at", "finished_at", "error")


class Command(BaseCommand):
    help = ("List background jobs as GET /api/v2/jobs/active would (with --history: as GET /api/v2/jobs/history "
            "would, newest first): one user's, or every user's.")

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="USERNAME", help="only this user's jobs, bounded as the API bounds them")
        parser.add_argument("--status", help="comma-separated job statuses, as the API's ?status=")
        parser.add_argument("--type", help="comma-separated job types, as the API's ?type=")
        parser.add_argument("--history", action="store_true",
                            help="the job history: every finished job, newest first (at most --limit)")
        parser.add_argument("--finished-after", metavar="MOMENT",
                            help="with --history: finished at or after this ISO 8601 moment with its offset")
        parser.add_argument("--finished-before", metavar="MOMENT",
                            help="with --history: finished before this ISO 8601 moment with its offset")
        parser.add_argument("--search", metavar="TEXT", help="with --history: the filename contains TEXT, any case")
        parser.add_argument("--limit", type=positive_int, help="with --history: the most jobs shown (50)")
        parser.add_argument("--json", action="store_true", help="print the API's JSON array instead of a table")

    def handle(self, *args, user=None, status=None, type=None, json=False, history=False, **options):
        if conf.estimates_progress():
            # A server learns the import speed in the background; a one-off command learns it first, so that its
            # progress is what the API shows.
            refresh_import_speed(router.db_for_read(Dataset))
        if history:
            jobs = self.filtered(self.finished(user), HistoryFilter, status=status, type=type, q=options["search"],
                                 finished_after=options["finished_after"], finished_before=options["finished_before"])
            jobs = jobs[:options["limit"] or HISTORY_LIMIT]
        else:
            history_only = [name for name in ("finished_after", "finished_before", "search", "limit") if options[name]]
            if history_only:
                raise CommandError(f"--{history_only[0].replace('_', '-')} needs --history.")
            jobs = self.filtered(self.listed(user), JobFilter, status=status, type=type)
            if user is not None:
                jobs = jobs.bounded()
        if json:
            self.stdout.write(JSONRenderer().render(JobSerializer(jobs, many=True).data).decode())
        else:
            self.stdout.write(render_table(jobs, owners=user is None))

    def listed(self, username):
        """Return one user's jobs, or every user's jobs with their owner's username."""
        if username is None:
            return Dataset.objects.jobs().with_owner_username()
        return Dataset.objects.jobs_for(self.user(username))

    def finished(self, username):
        """Return one user's job history, or every user's with their owner's username, newest first."""
        if username is None:
            return Dataset.objects.history().with_owner_username()
        return Dataset.objects.history_for(self.user(username))

    def user(self, username):
        try:
            return get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None

    def filtered(self, jobs, filterset_class, **params):
        """Apply the options with the API's own filter, so values are checked the same way."""
        data = QueryDict(mutable=True)
        data.update({name: value for name, value in params.items() if value is not None})
        filterset = filterset_class(data=data, queryset=jobs)
        if not filterset.is_valid():
            raise CommandError(" ".join(f"--{OPTIONS.get(name, name)}: {' '.join(errors)}"
                                        for name, errors in filterset.errors.items()))
        return filterset.qs


def render_table(jobs, *, owners):
    """Return the jobs as an aligned text table, with an owner column when listing every user."""
    columns = (("owner",) if owners else ()) + COLUMNS
    items = JobSerializer(jobs, many=True).data
    rows = [
        ([job.owner_username or str(job.created_by)] if owners else []) + [format_cell(item[name]) for name in COLUMNS]
        for job, item in zip(jobs, items)
    ]
    if not rows:
        return "No jobs."
    widths = [max(len(cell) for cell in column) for column in zip(columns, *rows)]
    lines = [columns, *rows]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def format_cell(value):
    """Return a table cell: '-' for nothing, numbers and strings as they are."""
    return "-" if value is None else str(value)
