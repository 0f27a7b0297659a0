"""Helpers of the institution pages' tests."""

from __future__ import annotations

import re
import uuid

from tests.browser.account_http import NEW_PASSWORD, Browserless


def new_doctor_id(admin: Browserless, email: str) -> str:
    """A doctor with no hours yet (the demo doctors' hours are at no institution)."""
    form = admin.get("/admin/doctors/new")
    specialty = re.search(r'<option value="([0-9a-f-]{36})"', form.text)
    assert specialty is not None
    created = admin.post(
        "/admin/doctors/new",
        {
            "email": email,
            "full_name": f"Dr. Place {uuid.uuid4().hex[:4]}",
            "licence_number": f"P-{uuid.uuid4().hex[:8]}",
            "specialty_id": specialty.group(1),
            "consultation_fee": "30.00",
            "visit_minutes": "30",
            "timezone": "UTC",
            "password": NEW_PASSWORD,
        },
    )
    assert created.status_code == 303, created.text
    found = re.search(r"/doctor/([0-9a-f-]{36})/hours", created.headers["location"])
    assert found is not None
    return found.group(1)


__all__ = ["new_doctor_id"]
