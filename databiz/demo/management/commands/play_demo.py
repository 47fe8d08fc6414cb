"""Play the imports service on the demo database, so the dashboard has jobs that start, finish, fail and stall."""
import argparse
import random
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, router
from django.utils import timezone

from databiz.demo.data import DEMO_USERS, demo_table_is_marked, play_demo_step, start_demo_stall
from jobs.models import Dataset


class Command(BaseCommand):
    help = (
        "Start, finish and fail demo uploads every few seconds, leaving one stalled. Runs only on a datasets table "
        "that `prepare_demo` created, so it can never touch real data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=interval, default=4.0, help="Seconds between ticks (default 4).")
        parser.add_argument(
            "--iterations", type=iterations, default=0, help="Ticks to play; 0 plays until stopped."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for a repeatable demo.")

    def handle(self, *args, interval, iterations, seed, **options):
        using = router.db_for_read(Dataset) or DEFAULT_DB_ALIAS
        if not demo_table_is_marked(using):
            raise CommandError(
                "Refusing to play: this datasets table was not created by `manage.py prepare_demo`, so it may hold "
                "real data. Run the live demo only on a demo database."
            )
        users = {user.username: user for user in get_user_model().objects.filter(username__in=list(DEMO_USERS))}
        if not {"alice", "bob"} <= set(users):
            raise CommandError("The demo users are missing: run `manage.py prepare_demo` first.")
        rng = random.Random(seed)
        start_demo_stall(users, now=timezone.now(), using=using)
        tick = 0
        while not iterations or tick < iterations:
            done = play_demo_step(users, rng=rng, using=using)
            self.stdout.write(f"tick {tick + 1}: started {done['started']}, finished {done['finished']}")
            tick += 1
            if not iterations or tick < iterations:
                time.sleep(interval)


def interval(text):
    """Parse --interval: seconds, from 0 (no pause) to an hour."""
    seconds = float(text)
    if not 0 <= seconds <= 3600:  # also refuses nan
        raise argparse.ArgumentTypeError("give seconds, from 0 to 3600")
    return seconds


def iterations(text):
    """Parse --iterations: a whole number, 0 or more."""
    count = int(text)
    if count < 0:
        raise argparse.ArgumentTypeError("give 0 (play until stopped) or more")
    return count
