"""The machine, versions and database settings a run was measured on."""
import os
import platform
import subprocess
import sys
from importlib import metadata

from bench.common import ROOT

SQLITE_PRAGMAS = ["journal_mode", "synchronous", "busy_timeout", "foreign_keys", "cache_size", "page_size",
                  "mmap_size", "temp_store", "wal_autocheckpoint"]
PG_SETTINGS = ["server_version", "shared_buffers", "work_mem", "effective_cache_size", "synchronous_commit", "fsync",
               "wal_level", "max_wal_size", "checkpoint_timeout", "max_connections", "random_page_cost", "jit"]
PACKAGES = ["Django", "djangorestframework", "gunicorn", "psycopg", "psycopg-binary", "dj-database-url"]


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except OSError:
        return ""


def machine() -> dict:
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gib": _memory_gib(),
            "os": f"{platform.system()} {platform.release()}",
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict:
    import sqlite3

    out = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version, "jobqueue_revision": _revision()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def database_settings() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            out = {}
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
                out[pragma] = cursor.fetchone()[0]
            out["transaction_mode"] = connection.settings_dict["OPTIONS"].get("transaction_mode")
            return {"sqlite_pragmas": out}
        out = {}
        for name in PG_SETTINGS:
            cursor.execute(f"SHOW {name}")
            out[name] = cursor.fetchone()[0]
        return {"postgresql_settings": out}


def run(ctx) -> dict:
    return {"machine": machine(), "versions": versions(), "database": database_settings(),
            "sizes": ctx.sizes.__dict__}
