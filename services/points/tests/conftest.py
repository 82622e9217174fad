import pytest

from common.testing.plugin import ServiceUnderTest
from points.config import SERVICE_DIR, Settings
from points.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("points", SERVICE_DIR, create_app, Settings)
