"""Print a fresh access token for a user, for curl and debugging."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import AccessToken


class Command(BaseCommand):
    help = "Print a fresh JWT access token for an existing, active user."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive: tokens would be refused.")
        self.stdout.write(str(AccessToken.for_user(user)))
