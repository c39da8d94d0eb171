"""Which time zones are accepted: IANA's, as both Python and the database know them."""

from __future__ import annotations

import pytest

from domain import validation
from domain.errors import InvalidInput
from domain.validation import check_time_zone


@pytest.fixture
def database_zones():
    """Set the zones the database knows for one test, and put back what was known."""
    known = validation._database_zones

    def set_to(names: set[str]) -> None:
        validation.know_database_zones(frozenset(names))

    yield set_to
    validation._database_zones = known
    validation._zones.cache_clear()


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago", "Europe/London"])
def test_iana_zones_pass(zone: str) -> None:
    assert check_time_zone(zone) == zone


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory", "Mars/Olympus", ""])
@pytest.mark.parametrize("database", [None, {"UTC", "Factory"}])
def test_what_is_not_a_zone_is_refused(
    zone: str, database: set[str] | None, database_zones
) -> None:
    if database is not None:
        database_zones(database)
    with pytest.raises(InvalidInput, match="is not an IANA time zone"):
        check_time_zone(zone)


def test_a_zone_the_database_lacks_is_refused_saying_so(database_zones) -> None:
    database_zones({"UTC", "America/Chicago"})
    assert check_time_zone("America/Chicago") == "America/Chicago"
    with pytest.raises(InvalidInput, match="too new for this server's database"):
        check_time_zone("Europe/London")
    with pytest.raises(InvalidInput, match="is not an IANA time zone"):
        check_time_zone("Mars/Olympus")
