"""The pure rules behind availability and bookings: working windows in a doctor's zone across
daylight-saving changes, free slots, verification numbers."""

import itertools
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appointments.availability.models import WorkingHours
from appointments.availability.service import WeeklyHours, free_slots
from appointments.bookings.models import VERIFICATION_PATTERN
from appointments.bookings.service import new_verification_number

BERLIN = ZoneInfo("Europe/Berlin")
SPRING_FORWARD = datetime(2027, 3, 28, tzinfo=UTC)  # a Sunday: 02:00 CET becomes 03:00 CEST
HALF_HOUR = timedelta(minutes=30)


def week(start: time, end: time, weekdays=range(7), timezone: str = "Europe/Berlin"):
    intervals = [
        WorkingHours(doctor_id=1, weekday=day, start_time=start, end_time=end) for day in weekdays
    ]
    return WeeklyHours(timezone, intervals)


def utc(hour: int, minute: int = 0, day: datetime = SPRING_FORWARD) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


def test_a_working_day_is_shorter_in_real_time_when_clocks_spring_forward() -> None:
    hours = week(time(0, 0), time(23, 0))
    [(opens, closes)] = hours.windows(utc(12), utc(12))
    assert closes - opens == timedelta(hours=22)
    assert opens == utc(-1)  # midnight in Berlin, still winter time


def test_an_appointment_across_the_change_fits_by_its_real_instants() -> None:
    hours = week(time(0, 0), time(23, 0))
    assert hours.covers(utc(0, 45), utc(1, 15))  # 01:45 CET to 03:15 CEST: 30 real minutes
    assert utc(1, 15).astimezone(BERLIN).hour == 3


def test_working_hours_are_wall_clock_in_the_doctors_zone() -> None:
    hours = week(time(8), time(17), weekdays=[0])  # Mondays
    monday = datetime(2027, 7, 5, tzinfo=BERLIN)  # summer: UTC+2
    assert hours.covers(monday.replace(hour=8), monday.replace(hour=8, minute=30))
    assert hours.covers(monday.replace(hour=16, minute=30), monday.replace(hour=17))
    assert not hours.covers(monday.replace(hour=16, minute=45), monday.replace(hour=17, minute=15))
    assert not hours.covers(monday.replace(hour=7, minute=45), monday.replace(hour=8, minute=15))
    tuesday = monday + timedelta(days=1)
    assert not hours.covers(tuesday.replace(hour=9), tuesday.replace(hour=9, minute=30))


def test_slots_across_the_change_last_their_real_length() -> None:
    hours = week(time(0, 0), time(23, 0))
    day = (utc(-1), utc(22))  # the local day in Berlin, 23 real hours
    slots = free_slots(list(hours.windows(*day)), [], HALF_HOUR, *day)
    assert len(slots) == 44  # 22 real hours
    assert all(end - start == HALF_HOUR for start, end in slots)
    assert all(later[0] - earlier[0] == HALF_HOUR for earlier, later in itertools.pairwise(slots))


def test_free_slots_start_at_the_opening_and_skip_busy_time() -> None:
    opens = datetime(2027, 7, 5, 8, tzinfo=UTC)
    windows = [(opens, opens + timedelta(hours=2))]
    busy = [(opens + HALF_HOUR, opens + 2 * HALF_HOUR + timedelta(minutes=10))]
    slots = free_slots(windows, busy, HALF_HOUR, opens, opens + timedelta(days=1))
    assert [start - opens for start, _ in slots] == [timedelta(0), 3 * HALF_HOUR]


def test_free_slots_stay_inside_the_asked_window() -> None:
    opens = datetime(2027, 7, 5, 8, tzinfo=UTC)
    windows = [(opens, opens + timedelta(hours=4))]
    slots = free_slots(
        windows, [], HALF_HOUR, opens + timedelta(minutes=40), opens + timedelta(hours=2)
    )
    assert [start - opens for start, _ in slots] == [2 * HALF_HOUR, 3 * HALF_HOUR]


def test_back_to_back_busy_time_leaves_the_neighbouring_slots_free() -> None:
    opens = datetime(2027, 7, 5, 8, tzinfo=UTC)
    windows = [(opens, opens + timedelta(hours=1, minutes=30))]
    busy = [(opens + HALF_HOUR, opens + 2 * HALF_HOUR)]
    slots = free_slots(windows, busy, HALF_HOUR, opens, opens + timedelta(days=1))
    assert [start - opens for start, _ in slots] == [timedelta(0), 2 * HALF_HOUR]


def test_verification_numbers_are_readable_and_vary() -> None:
    numbers = {new_verification_number() for _ in range(1000)}
    assert len(numbers) == 1000
    assert all(re.fullmatch(VERIFICATION_PATTERN, number) for number in numbers)
    assert not any(character in "01IOL" for number in numbers for character in number)
