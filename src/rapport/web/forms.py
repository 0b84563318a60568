"""HTML forms in, service input out; service errors back to the fields they belong to."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData

from rapport.core.errors import RapportError

# Form fields that map 1:1 to a person's optional text fields: "" means "none".
_OPTIONAL_TEXT = ("email", "phone", "job_title", "source")


class PersonForm(BaseModel):
    """What the add and edit forms post; every field is text, as browsers send it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=40)
    job_title: str = Field(default="", max_length=200)
    lifecycle_stage: str = Field(default="", max_length=30)
    owner_id: str = Field(default="", max_length=36)
    source: str = Field(default="", max_length=100)
    tags: str = Field(default="", max_length=2000, description="Comma-separated")
    company: str = Field(default="", max_length=300, description="The company's exact name")
    version: int | None = None  # the version the edit form was opened at (If-Match)
    force: str = ""  # "1": create even though a likely duplicate was shown


async def raw_form(request: Request) -> FormData:
    """The posted form as sent (custom fields have names only known at run time)."""
    return await request.form()


def person_values(form: PersonForm, *, for_update: bool = False) -> dict[str, Any]:
    """The service's input: empty optional fields become None (so an edit can clear them)."""
    values: dict[str, Any] = {"first_name": form.first_name, "last_name": form.last_name}
    for name in _OPTIONAL_TEXT:
        value = getattr(form, name)
        if value or for_update:
            values[name] = value or None
    if form.lifecycle_stage:
        values["lifecycle_stage"] = form.lifecycle_stage
    if form.owner_id or for_update:
        values["owner_id"] = form.owner_id or None
    values["tags"] = [t.strip() for t in form.tags.split(",") if t.strip()]
    return values


def form_errors(exc: RapportError | ValidationError) -> dict[str, str]:
    """Field name -> message, from a service's Invalid or a schema's ValidationError."""
    errors: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            loc = [p for p in err.get("loc", ()) if isinstance(p, str)]
            errors.setdefault(loc[0] if loc else "form", str(err.get("msg", "invalid")))
        return errors
    for field_error in exc.errors:
        name = str(field_error.loc[0]) if field_error.loc else "form"
        if name == "custom" and len(field_error.loc) > 1:  # custom.<key>, as the inputs
            name = f"custom.{field_error.loc[1]}"
        if name in ("emails", "phones"):  # the form edits the primary one
            name = name[:-1]
        errors.setdefault(name, field_error.message)
    return errors
