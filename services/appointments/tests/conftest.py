import pytest

from appointments.config import SERVICE_DIR, Settings
from appointments.main import create_app
from common.testing.plugin import ServiceUnderTest


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("appointments", SERVICE_DIR, create_app, Settings)
