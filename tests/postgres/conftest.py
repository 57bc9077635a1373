import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def postgres_only():
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("PostgreSQL-only test: it runs in the PostgreSQL pass (make test-postgres)")
