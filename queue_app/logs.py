"""Lifecycle event logging: one line per event with job_id, task, queue, attempt and worker."""
import json
import logging

events = logging.getLogger("jobqueue.events")
FIELDS = ("event", "job_id", "task", "queue", "attempt", "worker", "outcome", "error", "delay", "owner")


def event(name: str, **fields) -> None:
    """Log one lifecycle event (`submitted`, `started`, `completed`, `failed`, ...)."""
    if events.isEnabledFor(logging.INFO):
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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        data.update({k: v for k, v in (getattr(record, "jq", None) or {}).items() if v is not None})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)
