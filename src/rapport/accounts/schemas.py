"""API shapes for the acting user and API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(default_factory=lambda: ["read"], examples=[["read"], ["*"]])
    expires_at: datetime | None = None
    user_id: uuid.UUID | None = None


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only this once")


class MeOut(BaseModel):
    user_id: uuid.UUID | None
    workspace_id: uuid.UUID
    role: str
    permissions: list[str]


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: uuid.UUID
    name: str
    email: str
    role: str
    team_id: uuid.UUID | None
    team_name: str | None
    status: str = Field(description="active, invited (no password yet) or deactivated")
    last_login_at: datetime | None
    deactivated_at: datetime | None
    joined_at: datetime


class MemberIn(BaseModel):
    """Add a member who signs in with this password."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="member", examples=["member", "admin"])
    password: str = Field(min_length=1, max_length=1000)


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, examples=["manager"])


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="member")


class InviteOut(BaseModel):
    member: MemberOut
    invite_url: str | None = Field(
        description="The link to send (shown once; works once, for 7 days); null when the"
        " user already has a password and simply signs in"
    )


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)


class WorkspaceSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    currency: str = Field(description="ISO 4217 code, the default for new deals")
    time_zone: str = Field(description="IANA time zone, e.g. Europe/Paris")
    country: str | None = Field(
        default=None,
        description="ISO 3166-1 alpha-2 default country: phone numbers written without a "
        "+country code are read in it when an imported record has no country",
    )


class WorkspaceSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    currency: str | None = Field(default=None, max_length=3)
    time_zone: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=2, description='"" for none')
