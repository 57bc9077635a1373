"""4. Poison job: a task that SIGKILLs its own worker process ends in the DLQ; the fleet keeps serving."""
import pytest

from tests.reliability.scenarios import poison


@pytest.mark.django_db(transaction=True)
def test_poison_job_is_dead_lettered_after_max_retries_plus_one_and_the_fleet_keeps_serving(tmp_path):
    figures = poison(tmp_path, others=60, max_retries=2, workers=2)
    print("poison figures:", figures)
    assert figures["poison_status"] == "DLQ", figures
    assert figures["poison_attempts"] == 3, figures
    assert figures["poison_attempt_rows"] == 3, figures
    assert "killed by signal 9" in figures["last_error"], figures
    assert figures["others_done"] == figures["others"], figures
    assert figures["parents_alive"] and figures["parents_unchanged"], figures
