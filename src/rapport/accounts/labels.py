"""Human labels of accounts' stored values (``Domain.labels``; the ``label`` filter shows them)."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "role": {
        "owner": "Owner",
        "admin": "Admin",
        "manager": "Manager",
        "member": "Member",
        "read_only": "Read only",
    },
}
