"""Settings → Pipelines through the real stack: pipelines, stages, order, archive by moving."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.sales.factories import make_deal, make_pipeline, stage_id
from tests.web.conftest import csrf_from
from tests.web.test_settings_fields import audited

PAGE = "/settings/pipelines"


def _stages(api: TestClient, pipeline_id: str) -> list[dict]:
    return list(api.get(f"/api/v1/pipelines/{pipeline_id}").json()["stages"])


def test_list_add_and_rename_a_pipeline(signed_in: TestClient, api: TestClient) -> None:
    pipeline = make_pipeline(api, name="Renewals")
    html = signed_in.get(PAGE).text
    assert "Renewals" in html and "Lead → Proposal → Won → Lost" in html
    token = csrf_from(html)
    refused = signed_in.post(PAGE, data={"csrf_token": token, "name": " "})
    assert refused.status_code == 422
    assert 'id="new-pipeline-name-error">Give it a name.' in refused.text
    made = signed_in.post(PAGE, data={"csrf_token": token, "name": "Partners"})
    assert made.status_code == 303
    names = [p["name"] for p in api.get("/api/v1/pipelines").json()]
    assert "Partners" in names
    renamed = signed_in.post(
        f"{PAGE}/{pipeline['id']}", data={"csrf_token": token, "name": "Upsell"}
    )
    assert renamed.status_code == 303
    assert api.get(f"/api/v1/pipelines/{pipeline['id']}").json()["name"] == "Upsell"
    assert audited(api, pipeline["id"])


def test_stages_add_rename_probability_validated(signed_in: TestClient, api: TestClient) -> None:
    pipeline = make_pipeline(api)
    edit = f"{PAGE}/{pipeline['id']}"
    token = csrf_from(signed_in.get(edit).text)
    lead = stage_id(pipeline, "Lead")
    refused = signed_in.post(
        f"{edit}/stages/{lead}", data={"csrf_token": token, "name": "Lead", "probability": "140"}
    )
    assert refused.status_code == 422
    assert (
        f'id="stage-{lead}-probability-error">A win probability is a whole number from 0 to 100.'
    ) in refused.text
    saved = signed_in.post(
        f"{edit}/stages/{lead}", data={"csrf_token": token, "name": "Inbound", "probability": "15"}
    )
    assert saved.status_code == 303
    added = signed_in.post(
        f"{edit}/stages", data={"csrf_token": token, "name": "Demo", "probability": "30"}
    )
    assert added.status_code == 303
    stages = _stages(api, pipeline["id"])
    assert [(s["name"], s["probability"]) for s in stages] == [
        ("Inbound", 15),
        ("Proposal", 50),
        ("Demo", 30),
        ("Won", 100),
        ("Lost", 0),
    ]
    bad_new = signed_in.post(
        f"{edit}/stages", data={"csrf_token": token, "name": "", "probability": "x"}
    )
    assert bad_new.status_code == 422
    assert 'id="new-stage-probability-error"' in bad_new.text


def test_reorder_by_buttons_and_by_drag(signed_in: TestClient, api: TestClient) -> None:
    pipeline = make_pipeline(api)
    edit = f"{PAGE}/{pipeline['id']}"
    token = csrf_from(signed_in.get(edit).text)
    proposal = stage_id(pipeline, "Proposal")
    up = signed_in.post(
        f"{edit}/stages/{proposal}/move", data={"csrf_token": token, "direction": "up"}
    )
    assert up.status_code == 303
    assert [s["name"] for s in _stages(api, pipeline["id"])][:2] == ["Proposal", "Lead"]
    order = [stage_id(pipeline, n) for n in ("Lead", "Won", "Proposal", "Lost")]
    dragged = signed_in.post(f"{edit}/order", data={"csrf_token": token, "order": order})
    assert dragged.status_code == 303
    assert [s["name"] for s in _stages(api, pipeline["id"])] == ["Lead", "Won", "Proposal", "Lost"]
    assert "position" in str(api.get("/api/v1/audit", params={"record": proposal}).json())


def test_archive_a_stage_with_deals_only_by_moving_them(
    signed_in: TestClient, api: TestClient
) -> None:
    pipeline = make_pipeline(api)
    lead, proposal = stage_id(pipeline, "Lead"), stage_id(pipeline, "Proposal")
    deals = [make_deal(api, pipeline, title=f"Deal {i}", stage_id=lead) for i in range(2)]
    edit = f"{PAGE}/{pipeline['id']}"
    html = signed_in.get(edit).text
    assert "Move its 2 deals to" in html
    token = csrf_from(html)
    refused = signed_in.post(f"{edit}/stages/{lead}/archive", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "2 deals are in “Lead”: choose the stage they move to" in refused.text
    assert next(s["name"] for s in _stages(api, pipeline["id"])) == "Lead"
    archived = signed_in.post(
        f"{edit}/stages/{lead}/archive", data={"csrf_token": token, "move_to": proposal}
    )
    assert archived.status_code == 303
    assert "2 deals moved" in signed_in.get(archived.headers["location"]).text
    assert [s["name"] for s in _stages(api, pipeline["id"])] == ["Proposal", "Won", "Lost"]
    for deal in deals:
        assert api.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] == proposal
        assert "deal.moved" in audited(api, deal["id"])
    moved = api.post(f"/api/v1/deals/{deals[0]['id']}/move", json={"stage_id": lead})
    assert moved.status_code == 422  # an archived stage takes no deal
    restored = signed_in.post(f"{edit}/stages/{lead}/restore", data={"csrf_token": token})
    assert restored.status_code == 303
    assert [s["name"] for s in _stages(api, pipeline["id"])][-1] == "Lead"


def test_members_are_refused_and_csrf_is_checked(
    signed_in_as: Callable[[str], TestClient], signed_in: TestClient, api: TestClient
) -> None:
    pipeline = make_pipeline(api)
    ben = signed_in_as("ben")
    assert ben.get(PAGE).status_code == 403
    assert ben.get(f"{PAGE}/{pipeline['id']}").status_code == 403
    token = csrf_from(ben.get("/deals").text)
    assert ben.post(PAGE, data={"csrf_token": token, "name": "Mine"}).status_code == 403
    lead = stage_id(pipeline, "Lead")
    response = ben.post(
        f"{PAGE}/{pipeline['id']}/stages/{lead}/archive", data={"csrf_token": token}
    )
    assert response.status_code == 403
    assert signed_in.post(PAGE, data={"name": "No token"}).status_code == 403
    assert "No token" not in [p["name"] for p in api.get("/api/v1/pipelines").json()]
