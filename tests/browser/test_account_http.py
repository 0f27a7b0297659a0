"""The account pages over plain HTTP: refused forms answered in words at the API's
status (``forms.submit_form``), password reset and email verification links, sessions,
password change, notification preferences and two-factor sign-in."""

from __future__ import annotations

from tests.browser.account_http import visitor
from tests.browser.console import ADMIN, PATIENT


def test_a_refused_form_is_drawn_again_with_the_detail_and_the_status(console_url: str) -> None:
    patient = visitor(console_url)
    assert patient.sign_in(PATIENT).status_code == 303
    refused = patient.post(
        "/profile", {"full_name": "Ana García", "timezone": "Mars/Olympus_Mons", "email": "on"}
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert 'id="timezone" name="timezone" autocomplete="off" value="Mars/Olympus_Mons"' in (
        refused.text
    )
    assert 'aria-invalid="true"' in refused.text

    admin = visitor(console_url)
    assert admin.sign_in(ADMIN).status_code == 303
    # Refused while building the command (no specialty chosen): the form again, its list.
    no_specialty = admin.post(
        "/admin/doctors/new",
        {"email": "x@example.org", "full_name": "Dr X", "specialty_id": "", "password": "pw"},
    )
    assert no_specialty.status_code == 400
    assert "choose a specialty" in no_specialty.text
    assert "<option" in no_specialty.text  # the specialties, queried only on refusal
    assert 'value="pw"' not in no_specialty.text

    bad_day = admin.get("/admin/audit", params={"from": "yesterday"})
    assert bad_day.status_code == 400
    assert "from must be a date" in bad_day.text
