import pytest

from common.testing.plugin import ServiceUnderTest
from appointments.config import SERVICE_DIR, Settings
from appointments.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("appointments", SERVICE_DIR, create_app, Settings)
