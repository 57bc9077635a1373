"""The OpenAPI schema and Swagger UI: complete, bearer-authenticated, served without a CDN."""
import pytest
import yaml
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/jobs/", "get"), ("/api/jobs/", "post"), ("/api/jobs/batch/", "post"), ("/api/jobs/{id}/", "get"),
    ("/api/jobs/{id}/cancel/", "post"), ("/api/jobs/{id}/retry/", "post"), ("/api/stats/", "get"),
    ("/api/quota/", "get"), ("/api/tasks/", "get"),
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json() if response["Content-Type"].endswith("json") else yaml.safe_load(response.content)


def test_every_operation_has_its_bodies_and_errors(schema):
    ops = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert OPERATIONS <= ops
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "jq_<prefix>_<secret>",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"]}
    for path, method in OPERATIONS:
        op = schema["paths"][path][method]
        assert {"bearerAuth": []} in op["security"]
        assert "401" in op["responses"] and "503" in op["responses"]
        for code, response in op["responses"].items():
            assert "application/json" in response.get("content", {}), (path, method, code)
    create = schema["paths"]["/api/jobs/"]["post"]
    assert {"200", "201", "400", "409", "413", "415", "429"} <= set(create["responses"])
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert schema["components"]["schemas"]["JobSubmitRequest"]["additionalProperties"] is False
    listing = schema["paths"]["/api/jobs/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "queue", "task", "created_after",
                                                          "created_before", "id", "cursor", "page_size"}


def test_job_schema_lists_exactly_the_job_fields(schema):
    job = schema["components"]["schemas"]["Job"]["properties"]
    assert set(job) == {"id", "task", "queue", "payload", "status", "priority", "attempts", "max_retries",
                        "timeout_seconds", "run_at", "created_at", "started_at", "finished_at", "result",
                        "last_error", "owner"}


def test_swagger_ui_is_served_locally(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
