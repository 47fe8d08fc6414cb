"""Test set-up shared by every app: the unmanaged `datasets` table, which migrations never create."""
import pytest

from jobs.reference_schema import create_datasets_table, datasets_table_exists


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Create `datasets` from the reference DDL in the test database, as the imports service would have it."""
    with django_db_blocker.unblock():
        if not datasets_table_exists():
            create_datasets_table()
