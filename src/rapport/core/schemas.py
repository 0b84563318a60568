"""Shapes every domain's API schemas share: ISO 4217 currencies, PATCH bodies and list pages."""

from __future__ import annotations

import sys
import types
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

T = TypeVar("T")


def _iso_4217(value: str) -> str:
    code = value.strip().upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise PydanticCustomError(
            "invalid_currency", "'{value}' is not an ISO 4217 currency code", {"value": value}
        )
    return code


Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, examples=["EUR"], description="ISO 4217 code"),
    AfterValidator(_iso_4217),
]
"""An ISO 4217 currency code, upper-cased ('eur' → 'EUR'); an unknown code is a 422."""


def accepts_null(field: FieldInfo) -> bool:
    """Whether the field's type admits None (``X | None``, ``Optional[X]``, ``Any``)."""
    annotation = field.annotation
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return type(None) in get_args(annotation)
    return False


class Patch(BaseModel):
    """A PATCH body: any field may be left out, but an explicit ``null`` is refused (422 naming
    the field) where the record cannot hold null: where the record's own shape, the model named
    by ``record_shape`` in the same module, types the field without None. Fields declare
    ``X | None = None`` only to be optional; which of them may be cleared follows the record, so
    a new field is right without a rule of its own, and the document says the same."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    record_shape: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.record_shape:  # fail at import, not on the first request
            raise TypeError(f"{cls.__name__} must name its record's shape in record_shape")

    @classmethod
    def not_nullable(cls) -> frozenset[str]:
        """The fields that refuse an explicit null."""
        cached: frozenset[str] | None = cls.__dict__.get("_not_nullable")
        if cached is not None:
            return cached
        record = getattr(sys.modules[cls.__module__], cls.record_shape, None)
        if not (isinstance(record, type) and issubclass(record, BaseModel)):
            raise TypeError(f"{cls.__name__}.record_shape names no model: {cls.record_shape!r}")
        names = frozenset(
            name
            for name, field in record.model_fields.items()
            if name in cls.model_fields and not accepts_null(field)
        )
        cls._not_nullable = names  # type: ignore[attr-defined]  # a per-class cache
        return names

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        # runs only for fields present in the input, so leaving one out still keeps it
        if value is None and info.field_name in cls.not_nullable():
            raise PydanticCustomError(
                "null_not_allowed", "null is not allowed here; leave the field out to keep it"
            )
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: Any
    ) -> JsonSchemaValue:
        """The document shows the non-nullable fields without ``null``."""
        json_schema: JsonSchemaValue = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        for name, prop in target.get("properties", {}).items():
            if name in cls.not_nullable() and "anyOf" in prop:
                kept = [s for s in prop["anyOf"] if s != {"type": "null"}]
                if len(kept) == 1:
                    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
                    target["properties"][name] = {**kept[0], **rest}
                else:
                    prop["anyOf"] = kept
                    prop.pop("default", None)
        return json_schema


class PageOut(BaseModel, Generic[T]):
    """One page of any list (``PageOut[DealOut]``): its items, and the cursor that continues
    it (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None
    has_more: bool = False
