from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Cast

PROBLEM = "application/problem+json"


class TestAuthentication:
    def test_missing_credentials_get_401_problem(self, anon: TestClient) -> None:
        response = anon.get("/api/v1/me")
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith("/unauthorized")

    def test_bad_token_gets_401(self, anon: TestClient) -> None:
        response = anon.get("/api/v1/me", headers={"Authorization": "Bearer rpt_nope"})
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]

    def test_wrong_scheme_gets_401(self, anon: TestClient) -> None:
        response = anon.get("/api/v1/me", headers={"Authorization": "Basic abc"})
        assert response.status_code == 401

    def test_token_resolves_user_workspace_and_role(
        self, api_as: Callable[[str], TestClient], cast: Cast
    ) -> None:
        me = api_as("ben").get("/api/v1/me").json()
        assert me["user_id"] == str(cast.ben.user_id)
        assert me["workspace_id"] == str(cast.acme)
        assert me["role"] == "member"
        assert "people:delete" not in me["permissions"]


class TestTokens:
    def test_created_token_works_and_is_shown_once(self, api: TestClient, anon: TestClient) -> None:
        created = api.post("/api/v1/tokens", json={"name": "ci", "scopes": ["read"]})
        assert created.status_code == 201
        secret = created.json()["token"]
        assert (
            anon.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        )
        listed = api.get("/api/v1/tokens").json()
        assert all("token" not in t for t in listed)
        used = next(t for t in listed if t["id"] == created.json()["id"])
        assert used["last_used_at"] is not None

    def test_revoked_token_is_refused(self, api: TestClient, anon: TestClient) -> None:
        created = api.post("/api/v1/tokens", json={"name": "tmp", "scopes": ["*"]}).json()
        assert api.delete(f"/api/v1/tokens/{created['id']}").status_code == 200
        response = anon.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
        assert response.status_code == 401

    def test_scopes_narrow_the_role(self, api: TestClient, anon: TestClient) -> None:
        secret = api.post("/api/v1/tokens", json={"name": "ro", "scopes": ["read"]}).json()["token"]
        me = anon.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
        assert me["role"] == "owner"
        assert all(p.endswith(":read") for p in me["permissions"])

    def test_unknown_scope_is_422_with_field_error(self, api: TestClient) -> None:
        response = api.post("/api/v1/tokens", json={"name": "x", "scopes": ["people:fly"]})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "scopes"

    def test_other_workspace_token_id_looks_missing(
        self, api_as: Callable[[str], TestClient]
    ) -> None:
        theirs = api_as("dev").post("/api/v1/tokens", json={"name": "g", "scopes": ["read"]}).json()
        assert api_as("ada").delete(f"/api/v1/tokens/{theirs['id']}").status_code == 404

    def test_malformed_json_is_400_problem(self, api: TestClient) -> None:
        response = api.post(
            "/api/v1/tokens", content=b'{"name": ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == PROBLEM

    def test_oversize_body_is_413(self, api: TestClient) -> None:
        response = api.post(
            "/api/v1/tokens",
            content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413
