"""The hub's pages: people, companies, bulk actions and the pickers they use.

The include order is the route order: a fixed path (``/people/new``, ``/people/bulk``,
``/companies/options``) must come before the ``/{id}`` route that would swallow it.
"""

from __future__ import annotations

from fastapi import APIRouter

from rapport.hub.views import bulk, companies, lookups, people, person, settings_fields

router = APIRouter()
router.include_router(lookups.router)  # /companies/options before /companies/{id}
router.include_router(bulk.router)  # /people/bulk before /people/{id}
router.include_router(people.router)  # /people/new before /people/{id}
router.include_router(person.router)
router.include_router(companies.router)  # /companies/new is declared before /{id}
router.include_router(settings_fields.router)
