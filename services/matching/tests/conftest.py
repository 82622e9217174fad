import pytest

from common.testing.plugin import ServiceUnderTest
from matching.config import SERVICE_DIR, Settings
from matching.main import create_app


@pytest.fixture(scope="session")
def service() -> ServiceUnderTest:
    return ServiceUnderTest("matching", SERVICE_DIR, create_app, Settings)
