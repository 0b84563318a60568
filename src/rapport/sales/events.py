"""The sales domain's event topics: deals, pipelines, tasks, leads, scoring and routing.

Routing also publishes the team, membership and workspace-settings changes it makes. See
:mod:`rapport.core.topics`.
"""

from __future__ import annotations

import uuid
from typing import NotRequired, TypedDict

from rapport.core.topics import NoPayload, Topic, collect


class DealStageEntered(TypedDict):
    reason: str | None  # the close reason, when there is one


class TaskCreated(TypedDict):
    source: NotRequired[str]  # what created it, when not a person (a reminder rule)


class LeadCaptured(TypedDict):
    person_id: uuid.UUID
    form_id: uuid.UUID | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None


class PersonAssigned(TypedDict):
    rule_id: uuid.UUID | None
    assignment_id: uuid.UUID


DEAL_CREATED = Topic("deal.created", NoPayload, "A deal was opened.")
DEAL_UPDATED = Topic("deal.updated", NoPayload, "A deal's fields changed.")
DEAL_DELETED = Topic("deal.deleted", NoPayload, "A deal went to the bin.")
DEAL_RESTORED = Topic("deal.restored", NoPayload, "A deal came back from the bin.")
DEAL_MOVED = Topic("deal.moved", DealStageEntered, "A deal moved to another open stage.")
DEAL_WON = Topic("deal.won", DealStageEntered, "A deal was won.")
DEAL_LOST = Topic("deal.lost", DealStageEntered, "A deal was lost.")
DEAL_REOPENED = Topic("deal.reopened", DealStageEntered, "A closed deal was reopened.")
PIPELINE_CREATED = Topic("pipeline.created", NoPayload, "A pipeline was created.")
PIPELINE_UPDATED = Topic("pipeline.updated", NoPayload, "A pipeline changed.")
PIPELINE_DELETED = Topic("pipeline.deleted", NoPayload, "A pipeline went to the bin.")
STAGE_CREATED = Topic("stage.created", NoPayload, "A pipeline stage was added.")
STAGE_UPDATED = Topic("stage.updated", NoPayload, "A pipeline stage changed.")
STAGE_DELETED = Topic("stage.deleted", NoPayload, "A pipeline stage was removed.")
TASK_CREATED = Topic("task.created", TaskCreated, "A task was created.")
TASK_UPDATED = Topic("task.updated", NoPayload, "A task changed (done, due date, owner...).")
TASK_DELETED = Topic("task.deleted", NoPayload, "A task went to the bin.")
TASK_RESTORED = Topic("task.restored", NoPayload, "A task came back from the bin.")
LEAD_FORM_CREATED = Topic("lead_form.created", NoPayload, "A web lead form was created.")
LEAD_FORM_DELETED = Topic("lead_form.deleted", NoPayload, "A web lead form was switched off.")
LEAD_FORM_UPDATED = Topic("lead_form.updated", NoPayload, "A web lead form was changed.")
LEAD_CAPTURED = Topic("lead.captured", LeadCaptured, "A lead form was submitted.")
LEAD_SCORE_UPDATED = Topic("lead_score.updated", NoPayload, "A person's lead score changed.")
SCORING_RULE_CREATED = Topic("scoring_rule.created", NoPayload, "A lead scoring rule was added.")
SCORING_RULE_UPDATED = Topic("scoring_rule.updated", NoPayload, "A lead scoring rule changed.")
SCORING_RULE_DELETED = Topic("scoring_rule.deleted", NoPayload, "A lead scoring rule was removed.")
SCORING_MODEL_TRAINED = Topic(
    "scoring_model.trained", NoPayload, "The predictive scoring model was trained."
)
ROUTING_RULE_CREATED = Topic("routing_rule.created", NoPayload, "A lead routing rule was added.")
ROUTING_RULE_UPDATED = Topic("routing_rule.updated", NoPayload, "A lead routing rule changed.")
ROUTING_RULE_DELETED = Topic("routing_rule.deleted", NoPayload, "A lead routing rule was removed.")
PERSON_ASSIGNED = Topic("person.assigned", PersonAssigned, "Lead routing gave a person an owner.")
WORKSPACE_SETTINGS_UPDATED = Topic(
    "workspace.settings_updated", NoPayload, "The SLA hours or follow-up days changed."
)

EVENTS = collect(globals())
