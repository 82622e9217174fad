"""JSON bodies of the bulk routes, read as they stream in: ``{"people": [...]}`` and the like.

A list longer than its limit is refused as soon as its item past the limit starts, not after the
whole body is parsed; the body is parsed in slices of ``SLICE_BYTES``, the event loop answering
other requests between two slices. Items are returned as parsed JSON, each to be validated on its
own by the caller (one bad item is that item's error, not the request's).
"""

import asyncio
from collections.abc import AsyncIterable, Mapping
from typing import Any

import ijson

from common.errors import Unprocessable
from common.schemas import field_error

SLICE_BYTES = 64 * 1024
_VALUE_STARTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})


class _Shape:
    """Follows the top level of the body: an object whose members are the expected lists."""

    def __init__(self, limits: Mapping[str, int]) -> None:
        self.limits = limits
        self.counts = dict.fromkeys(limits, 0)
        self.item_prefixes = {f"{name}.item": name for name in limits}
        self.started = False
        self.seen: set[str] = set()

    def follow(self, events: list[tuple[str, str, Any]]) -> None:
        for prefix, event, value in events:
            if prefix == "":
                self._top(event, value)
            elif prefix in self.limits:
                if event not in ("start_array", "end_array"):
                    raise field_error(prefix, f"{prefix} must be a list")
            elif (name := self.item_prefixes.get(prefix)) is not None and event in _VALUE_STARTS:
                self.counts[name] += 1
                if self.counts[name] > self.limits[name]:
                    raise field_error(
                        name,
                        f"at most {self.limits[name]} {name} per request; refused at item "
                        f"{self.counts[name]}, before reading the rest",
                    )

    def _top(self, event: str, value: Any) -> None:
        if not self.started and event != "start_map":
            raise Unprocessable(f"The body must be a JSON object with {self._names()}")
        self.started = True
        if event == "map_key":
            if value not in self.limits:
                raise Unprocessable(f"Unknown member of the body; it has {self._names()}")
            if value in self.seen:
                raise field_error(value, f"{value} is given twice")
            self.seen.add(value)

    def _names(self) -> str:
        return ", ".join(f"{name} (a list)" for name in self.limits)

    def finish(self) -> None:
        if not self.started:
            raise Unprocessable(f"The body is empty: it must be a JSON object with {self._names()}")
        for name, count in self.counts.items():
            if count == 0:
                raise field_error(name, f"{name} must be a list of at least one item")


async def read_json_lists(
    chunks: AsyncIterable[bytes], limits: Mapping[str, int]
) -> dict[str, list[Any]]:
    """The lists named in ``limits`` (name -> most items) of a JSON object body; 422 when the
    body is not JSON, not such an object, a list is empty or longer than its limit."""
    shape = _Shape(limits)
    events: list[tuple[str, str, Any]] = ijson.sendable_list()
    parser = ijson.parse_coro(events, use_float=True)
    found: dict[str, list[Any]] = {name: ijson.sendable_list() for name in limits}
    builders = {
        name: ijson.items_coro(found[name], f"{name}.item", use_float=True) for name in limits
    }
    try:
        async for chunk in chunks:
            for start in range(0, len(chunk), SLICE_BYTES):
                piece = chunk[start : start + SLICE_BYTES]
                parser.send(piece)
                shape.follow(events)
                del events[:]
                for builder in builders.values():
                    builder.send(piece)
                await asyncio.sleep(0)
        parser.close()
        shape.follow(events)
        for builder in builders.values():
            builder.close()
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise Unprocessable("The body is not valid JSON") from exc
    shape.finish()
    return {name: list(items) for name, items in found.items()}
