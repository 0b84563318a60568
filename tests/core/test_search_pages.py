"""A search list says truthfully whether more follow, and its cursor reaches every match.

``?q=…&limit=500`` used to return the 300 candidates the index gave and ``has_more: false``
although 500 matched."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _page_through(api: TestClient, path: str, q: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    params: dict[str, str | int] = {"q": q, "limit": limit}
    while True:
        body = api.get(path, params=params).json()
        pages.append([item["id"] for item in body["items"]])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return pages
        params["cursor"] = body["next_cursor"]


def test_people_search_pages_through_every_match(api: TestClient) -> None:
    items = [{"first_name": f"P{i:03d}", "last_name": "Quintavalle"} for i in range(520)]
    assert api.post("/api/v1/people/bulk", json={"items": items}).json()["created"] == 520
    pages = _page_through(api, "/api/v1/people", "quintavalle", 500)
    assert [len(page) for page in pages] == [500, 20]
    assert len({i for page in pages for i in page}) == 520


def test_a_search_that_fits_one_page_says_there_is_no_more(api: TestClient) -> None:
    items = [{"first_name": f"P{i:03d}", "last_name": "Ostrowska"} for i in range(40)]
    api.post("/api/v1/people/bulk", json={"items": items})
    assert [len(p) for p in _page_through(api, "/api/v1/people", "ostrowska", 40)] == [40]
    assert [len(p) for p in _page_through(api, "/api/v1/people", "ostrowska", 15)] == [15, 15, 10]


def test_company_and_deal_searches_page_too(api: TestClient) -> None:
    for i in range(12):
        api.post("/api/v1/companies", json={"name": f"Zanzibar Trading {i}"})
    pages = _page_through(api, "/api/v1/companies", "zanzibar", 5)
    assert [len(p) for p in pages] == [5, 5, 2]
    pipeline = api.post("/api/v1/pipelines", json={"name": "Search pages"}).json()
    for i in range(7):
        deal = {"title": f"Kilimanjaro order {i}", "currency": "EUR", "pipeline_id": pipeline["id"]}
        assert api.post("/api/v1/deals", json=deal).status_code == 201
    assert [len(p) for p in _page_through(api, "/api/v1/deals", "kilimanjaro", 4)] == [4, 3]


def test_a_search_cursor_cannot_continue_another_query(api: TestClient) -> None:
    items = [{"first_name": f"P{i}", "last_name": "Vandermeer"} for i in range(6)]
    api.post("/api/v1/people/bulk", json={"items": items})
    first = api.get("/api/v1/people", params={"q": "vandermeer", "limit": 3}).json()
    other = {"q": "someone else", "limit": 3, "cursor": first["next_cursor"]}
    assert api.get("/api/v1/people", params=other).status_code == 400
