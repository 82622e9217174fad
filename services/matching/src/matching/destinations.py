"""HUD HMIS Data Standards (FY2024) element 3.12 Destination: codes, labels and categories."""

from dataclasses import dataclass
from enum import StrEnum


class DestinationCategory(StrEnum):
    HOMELESS = "homeless"
    INSTITUTIONAL = "institutional"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    OTHER = "other"


@dataclass(frozen=True)
class Destination:
    code: int
    label: str
    category: DestinationCategory


_H, _I, _T, _P, _O = DestinationCategory
_DESTINATIONS = (
    Destination(116, "Place not meant for habitation", _H),
    Destination(
        101,
        "Emergency shelter, including hotel or motel paid for with emergency "
        "shelter voucher, Host Home shelter",
        _H,
    ),
    Destination(118, "Safe Haven", _H),
    Destination(215, "Foster care home or foster care group home", _I),
    Destination(206, "Hospital or other residential non-psychiatric medical facility", _I),
    Destination(207, "Jail, prison, or juvenile detention facility", _I),
    Destination(225, "Long-term care facility or nursing home", _I),
    Destination(204, "Psychiatric hospital or other psychiatric facility", _I),
    Destination(205, "Substance abuse treatment facility or detox center", _I),
    Destination(302, "Transitional housing for homeless persons (including homeless youth)", _T),
    Destination(327, "Moved from one HOPWA funded project to HOPWA TH", _T),
    Destination(332, "Host Home (non-crisis)", _T),
    Destination(312, "Staying or living with family, temporary tenure", _T),
    Destination(313, "Staying or living with friends, temporary tenure", _T),
    Destination(314, "Hotel or motel paid for without emergency shelter voucher", _T),
    Destination(329, "Residential project or halfway house with no homeless criteria", _T),
    Destination(422, "Staying or living with family, permanent tenure", _P),
    Destination(423, "Staying or living with friends, permanent tenure", _P),
    Destination(426, "Moved from one HOPWA funded project to HOPWA PH", _P),
    Destination(410, "Rental by client, no ongoing housing subsidy", _P),
    Destination(435, "Rental by client, with ongoing housing subsidy", _P),
    Destination(421, "Owned by client, with ongoing housing subsidy", _P),
    Destination(411, "Owned by client, no ongoing housing subsidy", _P),
    Destination(24, "Deceased", _O),
    Destination(30, "No exit interview completed", _O),
    Destination(17, "Other", _O),
    Destination(8, "Client doesn't know", _O),
    Destination(9, "Client prefers not to answer", _O),
    Destination(99, "Data not collected", _O),
)
DESTINATIONS: dict[int, Destination] = {
    destination.code: destination for destination in _DESTINATIONS
}
DESTINATION_CODES = tuple(sorted(DESTINATIONS))
