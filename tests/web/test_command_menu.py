"""The command menu in the shell: the domains' registered commands the member may run, every
page of the nav and the settings pages; a later domain adds its own through the registry."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace

from fastapi.testclient import TestClient

from rapport.core import registry
from rapport.core.registry import Command
from rapport.web.render import command_menu

OPTION = re.compile(r'role="option" id="command-\d+" aria-selected="false"\s+data-href="([^"]+)"')


def _menu(html: str) -> list[str]:
    return OPTION.findall(html)


def test_every_page_has_the_menu_with_actions_pages_and_settings(signed_in: TestClient) -> None:
    html = signed_in.get("/people").text
    assert 'id="command-menu"' in html and "command_menu.js" in html
    assert 'data-command-open aria-haspopup="dialog"' in html
    hrefs = _menu(html)
    for href in ("/people/new", "/companies/new", "/deals/new", "/people", "/deals", "/tasks"):
        assert href in hrefs
    log_call = 'data-href="#log-call" data-command-group="Actions" data-keywords="phone activity"'
    assert f'{log_call} data-on="deal"' in html
    assert 'id="shortcuts-sheet"' in html


def test_a_read_only_member_sees_no_write_actions(
    signed_in_as: Callable[[str], TestClient],
) -> None:
    hrefs = _menu(signed_in_as("cleo").get("/people").text)
    assert "/people" in hrefs and "/deals" in hrefs
    assert not {"/people/new", "/companies/new", "/deals/new", "#log-call"} & set(hrefs)


def test_record_pages_carry_their_kind_for_record_actions(
    signed_in: TestClient, api: TestClient
) -> None:
    person = api.post("/api/v1/people", json={"first_name": "Kay"}).json()
    html = signed_in.get(f"/people/{person['id']}").text
    assert 'data-quick-log data-record-kind="person"' in html


def test_a_domain_adds_its_commands(monkeypatch, ada_ctx) -> None:  # type: ignore[no-untyped-def]
    domains = registry.domains()
    loyalty = registry.Domain(
        name="loyalty",
        commands=(Command("New reward", "/loyalty/new", order=1, permission="people:write"),
                  Command("Hidden", "/loyalty/x", permission="no:such")),
        settings=(registry.SettingsSection("Rewards", "/settings/rewards"),),
    )  # fmt: skip
    monkeypatch.setattr(registry, "_installed", (*domains, loyalty))
    labels = [c.label for c in command_menu(SimpleNamespace(ctx=ada_ctx))]
    assert labels[0] == "New reward" and "Hidden" not in labels
    assert "Settings: Rewards" in labels and "Go to Deals" in labels
    assert command_menu(None) == [] and command_menu(SimpleNamespace()) == []
