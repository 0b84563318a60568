"""Human labels of hygiene's stored values (``Domain.labels``; the ``label`` filter shows
them): import states, duplicate decisions, and how two records' fields compare."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "import_status": {
        "pending": "Waiting",
        "queued": "Queued",
        "running": "Importing",
        "done": "Done",
        "failed": "Failed",
        "cancelled": "Cancelled",
    },
    "duplicate_status": {
        "pending": "To review",
        "merged": "Merged",
        "not_duplicate": "Not a duplicate",
        "skipped": "Skipped",
    },
    # How a field of two records compares (a duplicate pair's reasons).
    "agreement": {
        "exact": "the same",
        "shared": "the same, but shared with other people",
        "close": "nearly the same",
        "same_area": "same city or postcode",
        "similar": "similar",
        "different": "different",
        "missing": "missing on one side",
    },
    "match_field": {
        "given_name": "First name",
        "surname": "Last name",
        "email": "Email",
        "phone": "Phone",
        "address": "Address",
        "street": "Street",
        "city": "City",
        "postcode": "Postcode",
        "state": "State",
        "date_of_birth": "Date of birth",
        "domain": "Email domain",
        "name": "Name",
        "website": "Website",
        "company_id": "Company",
        "job_title": "Job title",
    },
}
