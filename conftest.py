"""Test set-up shared by every app: the unmanaged `datasets` table, which migrations never create."""
import pytest
from django.db import router

from jobs.models import Dataset
from jobs.reference_schema import create_datasets_table, datasets_table_exists


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Create `datasets` from the reference DDL in the test database the service reads it from."""
    with django_db_blocker.unblock():
        using = router.db_for_read(Dataset)
        if not datasets_table_exists(using):
            create_datasets_table(using)
