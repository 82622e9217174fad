"""Response parts the feature packages share."""

from pydantic import BaseModel

from matching.destinations import DESTINATIONS, Destination


class DestinationOut(BaseModel):
    """A HUD HMIS 3.12 destination."""

    code: int
    label: str
    category: str

    @classmethod
    def of(cls, code: int | None) -> "DestinationOut | None":
        if code is None:
            return None
        destination: Destination = DESTINATIONS[code]
        return cls(code=code, label=destination.label, category=destination.category.value)
