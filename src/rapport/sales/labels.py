"""Human labels of sales' stored values (``Domain.labels``; the ``label`` filter shows them)."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "deal_status": {"open": "Open", "won": "Won", "lost": "Lost"},
    "task_status": {"open": "To do", "done": "Done", "any": "All"},
    "task_priority": {"low": "Low", "normal": "Normal", "high": "High"},
    "task_source": {
        "manual": "Added by hand",
        "sla": "First-touch deadline",
        "follow_up": "Follow-up",
    },
    "rule_kind": {
        "job_title_contains": "Job title contains",
        "company_size_between": "Company size between",
        "industry_equals": "Industry is",
        "custom_field_equals": "Custom field is",
        "engagement": "Engagement",
    },
    "routing_kind": {
        "territory": "By territory",
        "round_robin": "In turn (round robin)",
        "company_owner": "To the company's owner",
        "score_threshold": "By score",
    },
    "model_status": {"untrained": "Not trained", "trained": "Trained", "fallback": "Rules only"},
}
