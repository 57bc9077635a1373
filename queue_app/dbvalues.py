"""Adapting Python values for the raw SQL on the hot path, for either database."""
import json
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _field(model, name):
    return model._meta.get_field(name)


def adapt(model, name: str, value: Any) -> Any:
    """The value as the database driver expects it for `model.name` (uuid, datetime, json)."""
    if value is None:
        return None
    return _field(model, name).get_db_prep_value(value, connection, prepared=False)


def load_json(value: Any) -> Any:
    """JSON columns come back as text on SQLite and as Python objects from psycopg."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def as_datetime(value: Any) -> datetime | None:
    """A datetime read by raw SQL (SQLite gives text) as an aware UTC datetime."""
    if value is None:
        return value
    # SQLite's declared-type converter hands raw SQL a naive datetime (stored UTC), not text.
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)
