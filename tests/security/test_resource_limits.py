"""12. Resource limits: oversized bodies, deeply nested JSON, huge page sizes, long query strings and
thousands of filter values each get a clear 4xx JSON error, quickly."""
import json
import time
import tracemalloc

import pytest

CASES = {
    "oversized body": ("post", "/api/jobs/", json.dumps({"task": "demo.echo", "payload": {"a": "x" * 6_000_000}}),
                       413, "payload_too_large"),
    "oversized payload": ("post", "/api/jobs/", json.dumps({"task": "demo.echo", "payload": {"a": "x" * 70_000}}),
                          413, "payload_too_large"),
    "deeply nested body": ("post", "/api/jobs/", "[" * 200_000 + "]" * 200_000, 400, "malformed_json"),
    "deeply nested payload": ("post", "/api/jobs/", '{"task": "demo.echo", "payload": {"a": ' + "[" * 50_000
                              + "]" * 50_000 + "}}", 400, "malformed_json"),
    "huge page size": ("get", "/api/jobs/?page_size=100000000", None, 400, "validation_error"),
    "negative page size": ("get", "/api/jobs/?page_size=-1", None, 400, "validation_error"),
    "long query string": ("get", "/api/jobs/?queue=" + "q" * 100_000, None, 414, "query_too_long"),
    "thousands of filter values": ("get", "/api/jobs/?status=" + ",".join(["PENDING"] * 20_000), None, 414,
                                   "query_too_long"),
    "thousands of parameters": ("get", "/api/jobs/?" + "&".join(["s"] * 2000), None, 400, "too_many_parameters"),
    "many bad filter values": ("get", "/api/jobs/?status=" + ",".join(["NOPE"] * 400), None, 400, "validation_error"),
    "batch too large": ("post", "/api/jobs/batch/", json.dumps({"jobs": [{"task": "demo.echo"}] * 5000}), 400,
                        "validation_error"),
    "long id prefix": ("get", "/api/jobs/?id=" + "a" * 3000, None, 400, "validation_error"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CASES))
def test_abusive_requests_get_a_clear_4xx_json_error_quickly(world, name):
    method, url, body, status, code = CASES[name]
    client = world["a"].api

    def call():
        if method == "post":
            return client.post(url, body, content_type="application/json")
        return client.get(url)

    assert client.get("/api/quota/").status_code == 200  # warm up: the first request of a process imports a lot
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    assert response.status_code == status, (name, response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert elapsed < 2.0, (name, elapsed)
    # Bounded memory (measured on a second call: tracing slows Python down): a small multiple of the
    # request itself, never an amplification.
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 1024 * 1024 + 20 * len(body or url), (name, peak)
