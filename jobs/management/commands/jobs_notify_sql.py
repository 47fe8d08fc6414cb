"""Print the trigger SQL that makes the stream instant, for the imports team to install on `datasets`."""
from django.core.management.base import BaseCommand, CommandError

from jobs.conf import jobs_settings
from jobs.stream import notify_sql


class Command(BaseCommand):
    help = (
        "Print the PostgreSQL trigger that notifies JOBS_STREAM_NOTIFY_CHANNEL with the owner of every changed "
        "dataset (both owners when it changes hands). The imports team installs it; this service never does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--channel", help="The channel (default: JOBS_STREAM_NOTIFY_CHANNEL).")

    def handle(self, *args, channel=None, **options):
        channel = channel or jobs_settings.JOBS_STREAM_NOTIFY_CHANNEL
        if not channel:
            raise CommandError("No channel: set JOBS_STREAM_NOTIFY_CHANNEL (or pass --channel).")
        try:
            self.stdout.write(notify_sql(channel))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
