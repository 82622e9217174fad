"""The dependency every part of customers shares: its settings.

The features' own wiring is in ``auth/dependencies.py`` and ``records/dependencies.py``.
"""

from typing import Annotated

from fastapi import Depends

from common.dependencies import settings_dependency
from customers.config import Settings

CustomersSettings = Annotated[Settings, Depends(settings_dependency(Settings))]
"""The app's settings, as a route dependency."""
