"""The user model: a UUID primary key, so `datasets.created_by` is simply `user.pk`."""
import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A DataBiz user, identified by the same UUID the imports service stores as `created_by`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
