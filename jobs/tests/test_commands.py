
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError
from rest_framework_simplejwt.tokens import AccessToken

from . import run_command

pytestmark = pytest.mark.django_db


def test_issue_token_prints_an_access_token_for_the_user(user, now):
    token = AccessToken(run_command("issue_token", "alice").strip())

    assert (token["user_id"], token["token_type"]) == (str(user.pk), "access")


@pytest.mark.parametrize(
    ("username", "message"),
    [("nobody", "No user named 'nobody'."), ("bob", "User 'bob' is inactive: tokens would be refused.")],
)
def test_issue_token_refuses_unknown_and_inactive_users(db, username, message):
    get_user_model().objects.create(username="bob", is_active=False)

    with pytest.raises(CommandError, match=message):
        run_command("issue_token", username)
