"""1 (short). SIGKILL chaos: random worker parents and children killed every ~1 s, then drain and reconcile."""
import json

import pytest

from tests.reliability.scenarios import sigkill_chaos


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_chaos_loses_nothing_and_never_overlaps_live_leases(tmp_path):
    figures = sigkill_chaos(tmp_path, jobs=600, workers=4, concurrency=2, lease_seconds=1.5, chaos_seconds=15,
                            kill_every=1.0, sleep_range=(0.1, 0.3), drain_timeout=90)
    print("chaos figures:", json.dumps(figures))
    assert figures["kills"] >= 8, figures
    assert figures["lost"] == 0, figures
    assert figures["overlaps_live_leases"] == 0, figures
    assert figures["unjustified_duplicates"] == 0, figures
    assert figures["done_once"] + figures["done_more_than_once"] + figures["dead_lettered"] == 600, figures
    assert figures["database_locked_errors"] == 0, figures
    assert figures["tracebacks"] == 0, figures["first_traceback"]  # no worker parent crashed
