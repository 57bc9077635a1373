"""Screenshots of the dashboard, shared by the browser tests: always taken (so the pages render in
a real browser), and copied into docs/screenshots/ when JOBQUEUE_SCREENSHOTS=1."""
import os
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"


def take(page, name: str, tmp_path: Path) -> Path:
    """Save a full-page PNG as <name>.png; returns its path."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, "a blank page?"
    if os.environ.get("JOBQUEUE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / f"{name}.png")
    return path
