"""Prepare a development or demo database: the `datasets` table, demo users and demo datasets."""
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from databiz.demo.data import DEMO_USERS, prepare_demo
from databiz.demo.ddl import DDL


class Command(BaseCommand):
    # It is the command that creates the table the system checks would warn is missing.
    requires_system_checks = []
    help = (
        "Create the datasets table from the reference schema when there is none, then load demo users "
        "and datasets. An existing datasets table that this command did not create is never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, choices=list(connections),
            help="Database alias (default: %(default)s).",
        )

    def handle(self, *args, database, **options):
        vendor = connections[database].vendor
        if vendor not in DDL:
            raise CommandError(f"No reference schema of the datasets table for {vendor}; use SQLite or PostgreSQL.")
        done = prepare_demo(using=database)
        if done is None:
            self.stdout.write(
                "A datasets table exists and was not created by prepare_demo: it is left as it is "
                "(never altered, dropped or filled). No demo users or datasets were loaded."
            )
            return
        if done["created_table"]:
            self.stdout.write("Created the datasets table from the reference schema (marked as a demo table).")
        else:
            self.stdout.write("The demo datasets table exists: refreshing its demo rows.")
        self.stdout.write(f"Loaded {done['datasets']} demo datasets for {', '.join(done['users'])}.")
        for username, (password, _) in DEMO_USERS.items():
            self.stdout.write(f"  demo login: {username} / {password}")
