"""The institution pages over plain HTTP (ADR 0025): an admin adds, changes,
deactivates and reactivates institutions and says which doctors work there; the
working-hours editor sets a doctor's hours at one of them; patients filter the doctor
search by institution, and the week of free times says where each one is."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from tests.browser.account_http import NEW_PASSWORD, Browserless, signed_in, unique_email, visitor
from tests.browser.conftest import serve_console
from tests.browser.console import ADMIN, PATIENT
from tests.browser.institution_support import new_doctor_id
from tests.services import SmtpServer

_ID = re.compile(r"/admin/institutions/([0-9a-f-]{36})")


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[str]:
    """This module's own console server (sign-ins are rate-limited per address)."""
    with serve_console(tmp_path_factory, smtp_server) as base_url:
        yield base_url


def place(name: str, **more: str) -> dict[str, str]:
    return {
        "name": name,
        "kind": "clinic",
        "line1": "Av. Amazonas 100",
        "city": "Quito",
        "country": "ec",
        "timezone": "America/Guayaquil",
    } | more


def new_institution(admin: Browserless, name: str) -> str:
    created = admin.post("/admin/institutions", place(name))
    assert created.status_code == 303, created.text
    found = _ID.search(created.headers["location"])
    assert found is not None
    assert created.headers["location"].endswith("?done=created")
    return found.group(1)


def _unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


def test_an_admin_adds_an_institution_and_changes_it(console_url: str) -> None:
    admin = signed_in(console_url, ADMIN)
    name = _unique("Clínica Norte")
    institution_id = new_institution(admin, name)
    page = admin.get(f"/admin/institutions/{institution_id}?done=created")
    assert page.status_code == 200
    assert f"<h1>{name}</h1>" in page.text
    assert 'value="EC"' in page.text  # the country as stored, upper case
    assert "Now add the doctors" in page.text
    listed = admin.get("/admin/institutions", params={"search": name})
    assert f'data-institution="{institution_id}"' in listed.text
    assert "1 institutions" in listed.text

    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    renamed = _unique("Clínica Sur")
    saved = admin.post(
        f"/admin/institutions/{institution_id}",
        place(renamed, kind="hospital", version=version.group(1)),
    )
    assert saved.status_code == 303
    shown = admin.get(f"/admin/institutions/{institution_id}")
    assert f"<h1>{renamed}</h1>" in shown.text
    assert '<option value="hospital" selected>' in shown.text
    # A change on the copy drawn before that save is refused, not written over it.
    stale = admin.post(
        f"/admin/institutions/{institution_id}", place("Stale", version=version.group(1))
    )
    assert stale.status_code == 409
    assert 'role="alert"' in stale.text
    assert f"<h1>{renamed}</h1>" in admin.get(f"/admin/institutions/{institution_id}").text


def test_a_refused_institution_is_drawn_again_with_the_field(console_url: str) -> None:
    admin = signed_in(console_url, ADMIN)
    bad_country = admin.post("/admin/institutions", place("Bad Country", country="Ecuador"))
    assert bad_country.status_code == 400
    assert "ISO 3166-1" in bad_country.text
    assert 'id="country" name="country"' in bad_country.text
    assert 'value="Ecuador" aria-invalid="true"' in bad_country.text
    assert 'value="Bad Country"' in bad_country.text
    bad_zone = admin.post("/admin/institutions", place("Bad Zone", timezone="Mars/Base"))
    assert bad_zone.status_code == 400
    assert 'value="Mars/Base" aria-invalid="true"' in bad_zone.text
    bad_kind = admin.post("/admin/institutions", place("Bad Kind", kind="castle"))
    assert bad_kind.status_code == 400


def test_doctors_are_added_and_removed_and_a_deactivated_place_takes_none(
    console_url: str,
) -> None:
    admin = signed_in(console_url, ADMIN)
    institution_id = new_institution(admin, _unique("Hospital Centro"))
    page = admin.get(f"/admin/institutions/{institution_id}")
    assert "No doctor works here yet." in page.text
    doctor = re.search(r'<option value="([0-9a-f-]{36})">([^<·]+) ·', page.text)
    assert doctor is not None, page.text
    doctor_id, doctor_name = doctor.group(1), doctor.group(2).strip()

    added = admin.post(f"/admin/institutions/{institution_id}/doctors", {"doctor_id": doctor_id})
    assert added.status_code == 303
    assert added.headers["location"].endswith("?done=doctor_added")
    page = admin.get(f"/admin/institutions/{institution_id}")
    assert f'data-member="{doctor_id}"' in page.text
    assert f'<option value="{doctor_id}">' not in page.text  # no longer offered
    assert f"/doctor/{doctor_id}/hours?institution={institution_id}" in page.text
    nobody = admin.post(f"/admin/institutions/{institution_id}/doctors", {"doctor_id": "x"})
    assert nobody.status_code == 400
    assert "choose a doctor" in nobody.text

    removed = admin.post(f"/admin/institutions/{institution_id}/doctors/{doctor_id}/remove")
    assert removed.status_code == 303
    page = admin.get(f"/admin/institutions/{institution_id}")
    assert f'data-member="{doctor_id}"' not in page.text
    assert doctor_name in page.text  # offered again

    off = admin.post(f"/admin/institutions/{institution_id}/active", {"active": "false"})
    assert off.status_code == 303
    page = admin.get(f"/admin/institutions/{institution_id}?done=deactivated")
    assert "The institution was deactivated." in page.text
    assert 'action="/admin/institutions/' + institution_id + '/doctors"' not in page.text
    refused = admin.post(f"/admin/institutions/{institution_id}/doctors", {"doctor_id": doctor_id})
    assert refused.status_code == 422
    assert "inactive" in refused.text
    on = admin.post(f"/admin/institutions/{institution_id}/active", {"active": "true"})
    assert on.status_code == 303
    assert "Active: doctors can be added" in admin.get(f"/admin/institutions/{institution_id}").text


def test_only_admins_see_the_institution_pages(console_url: str) -> None:
    patient = signed_in(console_url, PATIENT)
    assert patient.get("/admin/institutions").status_code == 403
    assert patient.post("/admin/institutions", place("Sneaky")).status_code == 403
    signed_out = visitor(console_url).get("/admin/institutions")
    assert signed_out.status_code == 303


def _week(hours: str) -> dict[str, str]:
    return {f"day{day}": hours for day in range(7)}


def test_hours_are_set_at_an_institution_and_patients_find_them_there(console_url: str) -> None:
    admin = signed_in(console_url, ADMIN)
    email = unique_email("placedoc")
    doctor_id = new_doctor_id(admin, email)
    name = _unique("Centro Médico Valle")
    institution_id = new_institution(admin, name)
    elsewhere = new_institution(admin, _unique("Not Theirs"))
    added = admin.post(f"/admin/institutions/{institution_id}/doctors", {"doctor_id": doctor_id})
    assert added.status_code == 303

    hours = f"/doctor/{doctor_id}/hours"
    page = admin.get(hours, params={"institution": institution_id})
    assert f'<option value="{institution_id}" selected>{name}</option>' in page.text
    assert elsewhere not in page.text  # only where the doctor works is offered
    assert f'name="institution_id" value="{institution_id}"' in page.text
    saved = admin.post(f"{hours}/weekly", _week("09:00-12:00") | {"institution_id": institution_id})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{hours}?done=weekly&institution={institution_id}"
    there = admin.get(hours, params={"institution": institution_id})
    assert 'name="day0" value="09:00-12:00"' in there.text
    # The hours at no institution are another set: empty, and may not overlap.
    unassigned = admin.get(hours)
    assert 'name="day0" value=""' in unassigned.text
    assert 'name="institution_id"' not in unassigned.text
    overlap = admin.post(f"{hours}/weekly", _week("11:00-13:00"))
    assert overlap.status_code == 422
    assert "one place at a time" in overlap.text
    # An institution the doctor does not work at: neither offered nor accepted.
    not_theirs = admin.get(hours, params={"institution": elsewhere})
    assert 'name="institution_id"' not in not_theirs.text
    refused = admin.post(f"{hours}/weekly", _week("15:00-16:00") | {"institution_id": elsewhere})
    assert refused.status_code == 422
    assert "does not work at" in refused.text
    # Extra hours at the place chosen.
    extra = admin.post(
        f"{hours}/extra",
        {
            "extra_on": "2099-01-05",
            "extra_start": "14:00",
            "extra_end": "15:00",
            "institution_id": institution_id,
        },
    )
    assert extra.status_code == 303
    assert f"14:00–15:00 · at {name}" in admin.get(hours).text

    # Still working hours there: the doctor cannot be removed yet.
    busy = admin.post(f"/admin/institutions/{institution_id}/doctors/{doctor_id}/remove")
    assert busy.status_code == 422
    assert "clear them first" in busy.text

    # The doctor chooses the place on their own editor too.
    doctor = visitor(console_url)
    assert doctor.sign_in(email, NEW_PASSWORD).status_code == 303
    own = doctor.get("/doctor/hours", params={"institution": institution_id})
    assert 'name="day0" value="09:00-12:00"' in own.text

    patient = signed_in(console_url, PATIENT)
    search = patient.get("/doctors", params={"institution_id": institution_id})
    assert "1 doctors found" in search.text
    assert f'<option value="{institution_id}" selected>' in search.text
    assert f"/doctors/{doctor_id}?institution_id={institution_id}" in search.text
    assert "0 doctors found" in patient.get("/doctors", params={"institution_id": elsewhere}).text
    week = patient.get(f"/doctors/{doctor_id}", params={"institution_id": institution_id})
    assert week.status_code == 200
    assert f'<span class="place">{name}</span>' in week.text
    assert f"Only the free times at {name}." in week.text
    assert f"institution_id={institution_id}" in week.text  # kept by the week links
    everywhere = patient.get(f"/doctors/{doctor_id}")
    assert f'<span class="place">{name}</span>' in everywhere.text
    assert patient.get("/doctors", params={"institution_id": "nope"}).status_code == 400
