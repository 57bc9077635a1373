"""Autoscaling signals (eligible backlog, oldest eligible wait, retry pressure, utilisation)."""
from datetime import datetime


def signals(now: datetime) -> dict:
    """The autoscaling signals; filled in by the operations work."""
    return {}
