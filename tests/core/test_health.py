from fastapi.testclient import TestClient


def test_healthz_answers_ok(anon: TestClient) -> None:
    assert anon.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_database_and_schema(anon: TestClient) -> None:
    response = anon.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_every_response_carries_a_request_id(anon: TestClient) -> None:
    response = anon.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"


def test_openapi_and_docs_are_served(anon: TestClient) -> None:
    spec = anon.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "Problem" in spec["components"]["schemas"]
    assert anon.get("/api/docs").status_code == 200
