"""``Sql`` compiles a statement once into asyncpg's form; ``RowUpdate`` builds updates per shape."""

import pytest

from common.sql import RowUpdate, Sql


def test_a_statement_numbers_each_parameter_once_in_order_of_first_use() -> None:
    statement = Sql.of("SELECT :b, :a, :b, CAST(:c AS bigint[])")
    assert statement.text == "SELECT $1, $2, $1, CAST($3 AS bigint[])"
    assert statement.arguments({"a": 1, "b": 2, "c": [3]}) == [2, 1, [3]]


def test_a_missing_parameter_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="a"):
        Sql.of("SELECT :a").arguments({})


def test_an_update_sets_only_the_columns_it_changes_and_is_compiled_once() -> None:
    update = RowUpdate("rooms", key="room_id", columns={"title", "public"}, returning="room_id")
    statement = update.of({"public": True, "title": "A"})
    assert statement.text == (
        "UPDATE rooms SET public = $1, title = $2, updated_at = now() "
        "WHERE room_id = $3 RETURNING room_id"
    )
    assert update.of(["title", "public"]) is statement


def test_an_update_of_a_column_it_does_not_list_is_refused() -> None:
    update = RowUpdate("rooms", key="room_id", columns={"title"}, returning="room_id")
    with pytest.raises(ValueError, match="slug"):
        update.of({"slug": "x; DROP TABLE rooms"})
