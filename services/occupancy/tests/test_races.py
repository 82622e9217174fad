"""Simultaneous requests on separate connections: the database keeps the rules."""

import asyncio
from collections import Counter


async def test_100_simultaneous_registrations_fill_a_room_of_50_exactly(api) -> None:
    await api.create_room("arena", capacity=50)
    responses = await asyncio.gather(
        *(api.register("arena", f"person-{number:03}") for number in range(100))
    )
    assert Counter(response.status_code for response in responses) == {200: 50, 409: 50}
    status = await api.status("arena")
    assert status["count"] == len(status["occupants"]) == 50
    assert await api.count("occupants") == 50
    assert await api.count("actions", "action = 'register'") == 50
    assert await api.count("rooms", "slug = 'arena' AND occupant_count = 50") == 1


async def test_the_same_name_registered_twice_at_once_gets_one_200_and_one_409(api) -> None:
    for attempt in range(5):
        name = f"twin-{attempt}"
        first, second = await asyncio.gather(
            api.register("default", name), api.register("default", name)
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert await api.count("actions") == 5


async def test_simultaneous_unregisters_of_one_person_log_one_action(api) -> None:
    await api.register("default", "Ann")
    responses = await asyncio.gather(*(api.unregister("default", "Ann") for _ in range(4)))
    assert sorted(response.status_code for response in responses) == [200, 409, 409, 409]
    assert await api.count("actions", "action = 'unregister'") == 1
    assert (await api.status("default"))["count"] == 0
