"""Lifecycle event logging: one line per event with job_id, task, queue, attempt and worker.

During an API request, events also carry the request's id (set by queue_app.requestlog), so one grep
on a job_id finds the request line, the submitted event and the worker's lines.
"""
import logging
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonLoggerFormatter

events = logging.getLogger("jobqueue.events")
FIELDS = ("event", "job_id", "task", "queue", "attempt", "worker", "outcome", "error", "delay", "owner",
          "request_id")
request_id: ContextVar[str | None] = ContextVar("jobqueue_request_id", default=None)


def event(name: str, **fields) -> None:
    """Log one lifecycle event (`submitted`, `started`, `completed`, `failed`, ...)."""
    if events.isEnabledFor(logging.INFO):
        rid = request_id.get()
        if rid is not None:
            fields.setdefault("request_id", rid)
        events.info(name, extra={"jq": {"event": name, **fields}})


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{self.formatTime(record)} {record.levelname} {record.name} {record.getMessage()}"
        fields = getattr(record, "jq", None)
        if fields:
            base += " " + " ".join(f"{k}={fields[k]}" for k in fields if k != "event" and fields[k] is not None)
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


class JsonFormatter(_JsonLoggerFormatter):
    """One JSON object per line (python-json-logger): ts, level, logger, message, then the event's fields."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "ts", "levelname": "level", "name": "logger",
                                            "exc_info": "exc"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "jq"])
        kwargs.setdefault("json_default", str)
        super().__init__(*(args or ("%(asctime)s %(levelname)s %(name)s %(message)s",)), **kwargs)

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.update({k: v for k, v in (getattr(record, "jq", None) or {}).items() if v is not None})
