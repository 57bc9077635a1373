"""Keyset cursor pagination, newest first: (created_at, id) descending, stable under inserts."""
import base64
import binascii
import json
import uuid

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _encode(job, direction: str) -> str:
    raw = json.dumps({"t": job.created_at.isoformat(), "i": job.id.hex, "d": direction}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        created_at, job_id, direction = parse_datetime(data["t"]), uuid.UUID(hex=data["i"]), data["d"]
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError):
        created_at = None
    if created_at is None or created_at.tzinfo is None or direction not in ("n", "p"):
        raise serializers.ValidationError({"cursor": ["Invalid cursor."]})
    return created_at, job_id, direction


class NewestFirstCursorPagination(BasePagination):
    """`?cursor=` from a previous page's next/previous link; `?page_size=` 1..200 (default 50)."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise serializers.ValidationError({"page_size": [f"An integer from 1 to {MAX_PAGE_SIZE}."]})
        return size

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self._page_size(request)
        token = request.query_params.get(self.cursor_query_param)
        cursor = _decode(token) if token else None
        if cursor is None or cursor[2] == "n":
            if cursor:
                queryset = queryset.filter(Q(created_at__lt=cursor[0]) | Q(created_at=cursor[0], id__lt=cursor[1]))
            rows = list(queryset.order_by("-created_at", "-id")[: size + 1])
            more, rows = len(rows) > size, rows[:size]
            self.next_row = rows[-1] if more and rows else None
            self.previous_row = rows[0] if cursor and rows else None
        else:
            queryset = queryset.filter(Q(created_at__gt=cursor[0]) | Q(created_at=cursor[0], id__gt=cursor[1]))
            rows = list(queryset.order_by("created_at", "id")[: size + 1])
            more, rows = len(rows) > size, rows[:size][::-1]
            self.next_row = rows[-1] if rows else None
            self.previous_row = rows[0] if more and rows else None
        return rows

    def _link(self, row, direction: str) -> str | None:
        if row is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        return replace_query_param(url, self.cursor_query_param, _encode(row, direction))

    def get_paginated_response(self, data):
        return Response({"next": self._link(self.next_row, "n"), "previous": self._link(self.previous_row, "p"),
                         "results": data})

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {"type": "object", "required": ["next", "previous", "results"],
                "properties": {"next": link, "previous": link, "results": schema}}

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "in": "query", "required": False,
             "description": "The opaque cursor from a previous page's `next` or `previous` link.",
             "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "in": "query", "required": False,
             "description": f"Results per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}},
        ]
