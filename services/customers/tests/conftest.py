import pytest

from common.testing.plugin import ServiceUnderTest
from customers.config import SERVICE_DIR, Settings
from customers.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("customers", SERVICE_DIR, create_app, Settings)
