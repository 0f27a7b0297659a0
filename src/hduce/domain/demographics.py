"""Age bands of patients, as the clinic statistics report them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final


class AgeBand(StrEnum):
    """A patient's age group on a given day; UNKNOWN without a date of birth."""

    UNDER_18 = "0-17"
    FROM_18_TO_39 = "18-39"
    FROM_40_TO_64 = "40-64"
    FROM_65 = "65+"
    UNKNOWN = "unknown"


#: The youngest age of each band, oldest band first: a patient belongs to the first
#: band whose youngest age they have reached (else to UNDER_18).
AGE_BAND_FLOORS: Final = (
    (AgeBand.FROM_65, 65),
    (AgeBand.FROM_40_TO_64, 40),
    (AgeBand.FROM_18_TO_39, 18),
)


def born_on_or_before(today: date, age: int) -> date:
    """The latest date of birth of someone at least ``age`` years old on ``today``.

    The same day ``age`` years earlier, or 28 February when that is a 29 February of a
    common year (a 29 February birthday is then on 1 March, the usual legal reading).
    """
    try:
        return today.replace(year=today.year - age)
    except ValueError:
        return today.replace(year=today.year - age, day=28)


def age_band(date_of_birth: date | None, today: date) -> AgeBand:
    if date_of_birth is None:
        return AgeBand.UNKNOWN
    for band, youngest in AGE_BAND_FLOORS:
        if date_of_birth <= born_on_or_before(today, youngest):
            return band
    return AgeBand.UNDER_18
