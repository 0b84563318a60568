"""The accounts domain's event topics (see :mod:`rapport.core.topics`)."""

from __future__ import annotations

from rapport.core.topics import NoPayload, Topic, collect

TOKEN_CREATED = Topic("token.created", NoPayload, "An API token was issued.")
TOKEN_REVOKED = Topic("token.revoked", NoPayload, "An API token was revoked.")
MEMBER_ADDED = Topic("member.added", NoPayload, "A member was added with a password.")
MEMBER_INVITED = Topic("member.invited", NoPayload, "A member was invited by link.")
MEMBER_JOINED = Topic("member.joined", NoPayload, "An invited member set their password.")
MEMBER_UPDATED = Topic("member.updated", NoPayload, "A member's role changed.")
MEMBER_DEACTIVATED = Topic(
    "member.deactivated", NoPayload, "A member was deactivated: no session or token works."
)
MEMBER_REACTIVATED = Topic("member.reactivated", NoPayload, "A member was reactivated.")
USER_UPDATED = Topic("user.updated", NoPayload, "A user changed their display name.")
PASSWORD_CHANGED = Topic(
    "user.password_changed", NoPayload, "A user's password changed; older sessions ended."
)
WORKSPACE_UPDATED = Topic(
    "workspace.updated", NoPayload, "The workspace's name, currency or time zone changed."
)
TEAM_CREATED = Topic("team.created", NoPayload, "A sales team was created.")
TEAM_RENAMED = Topic("team.renamed", NoPayload, "A team was renamed.")
MEMBERSHIP_UPDATED = Topic("membership.updated", NoPayload, "A member joined or left a team.")

EVENTS = collect(globals())
