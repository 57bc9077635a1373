"""/healthz and /readyz answer before ALLOWED_HOSTS: probes hit pods by IP or with odd Host headers."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_probes_answer_with_a_bogus_host_header():
    client = Client(HTTP_HOST="10.1.2.3:8000")
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    # The host check is still on for everything else.
    assert Client(HTTP_HOST="bogus.invalid").get("/api/tasks/").status_code == 400


def test_probe_responses_carry_no_request_id_work():
    # The probes answer before any other middleware: no session, no request logging.
    response = Client(HTTP_HOST="bogus.invalid").get("/healthz")
    assert "Set-Cookie" not in response
