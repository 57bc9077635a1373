"""Schema fuzzing: schemathesis drives the real server from /api/schema/ with a valid key.

Checks: no 5xx, every status code, content type, header and body as documented, schema-violating
requests refused, undocumented methods refused, and no operation that ignores authentication.
Bounded (a few examples per operation); set JOBQUEUE_FUZZ_SEED to explore other cases.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from queue_app.quotas import quota_row

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance,negative_data_rejection,unsupported_method,ignored_auth,"
          "allow_header_conformance")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing(gunicorn_factory, make_user_with_key, tmp_path):
    user, raw = make_user_with_key("fuzzer", staff=True)  # staff: the operations endpoints too
    quota = quota_row(user, lock=False)
    quota.burst = quota.rate_per_minute = 1_000_000  # fuzzing is not about the rate limit
    quota.save()
    # The failed-key throttle would answer the ignored_auth probes' followers with 429s and starve the run.
    url = gunicorn_factory(workers=2, env={"JOBQUEUE_AUTH_FAILURES_PER_MINUTE": "0"})
    cli = Path(sys.executable).with_name("schemathesis")
    args = [str(cli), "run", f"{url}/api/schema/", "-H", f"Authorization: Bearer {raw}", "--checks", CHECKS,
            "--max-examples", "5", "--seed", os.environ.get("JOBQUEUE_FUZZ_SEED", "1"), "--request-timeout", "20",
            "--workers", "1", "--no-color"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", done.stdout)
    tested = re.search(r"Tested: (\d+)", done.stdout)
    assert selected and tested, done.stdout[-3000:]
    assert int(tested.group(1)) == int(selected.group(2)) >= 9, done.stdout[-3000:]
