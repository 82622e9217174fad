import pytest

from common.testing.plugin import ServiceUnderTest
from occupancy.config import SERVICE_DIR, Settings
from occupancy.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("occupancy", SERVICE_DIR, create_app, Settings)
