"""Print the index SQL that bounds a history search by its matches, for the imports team to install on `datasets`."""
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from jobs.models import filename_index_sql


class Command(BaseCommand):
    help = (
        "Print the PostgreSQL trigram index on the filename a history search (?q=) compares, so that a search reads "
        "the matching rows, not the caller's whole history. The imports team installs it; this service never does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The database whose SQL to print.")

    def handle(self, *args, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError(f"The index is PostgreSQL's (pg_trgm); {database!r} is a {connection.vendor} database.")
        self.stdout.write(filename_index_sql(connection))
