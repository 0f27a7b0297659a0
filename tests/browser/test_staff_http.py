"""Staff pages over plain HTTP: the patient search follows the care rule of the API,
and the reports page links to the CSV downloads with the page's own filters."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.console import ADMIN, DOCTOR, MAYA, PATIENT
from tests.browser.scheduling_support import own_console, signed_in


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own (``scheduling_support``: the sign-in limit)."""
    with own_console(tmp_path_factory) as url:
        yield url


def test_doctors_find_their_patients_admins_all_and_patients_none(console_url: str) -> None:
    with signed_in(console_url, ADMIN) as admin:
        everyone = admin.get("/patients")
        assert everyone.status_code == 200
        total = int(re.search(r"(\d+) patients found", everyone.text).group(1))  # type: ignore[union-attr]
        api_total = admin.api("GET", "/patients", params={"limit": 1}).json()["total"]
        assert total == api_total
        found = admin.get("/patients?search=garcia")
        assert PATIENT in found.text
        assert MAYA not in found.text

    with signed_in(console_url, DOCTOR) as doctor:
        mine = doctor.get("/patients")
        assert mine.status_code == 200
        in_care = int(re.search(r"(\d+) patients found", mine.text).group(1))  # type: ignore[union-attr]
        assert in_care == doctor.api("GET", "/patients", params={"limit": 1}).json()["total"]
        assert in_care <= total

    with signed_in(console_url, PATIENT) as patient:
        assert patient.get("/patients").status_code == 403


def test_the_reports_page_links_the_csv_files_with_its_filters(console_url: str) -> None:
    with signed_in(console_url, ADMIN) as admin:
        stats = admin.get("/admin")
        assert "/admin/reports?from=" in stats.text
        doctor_id = admin.api("GET", "/doctors", params={"name": "Romero"}).json()["items"][0]["id"]
        page = admin.get(
            f"/admin/reports?from=2020-01-01&to=2030-12-31&status=completed&status=no_show"
            f"&doctor_id={doctor_id}"
        )
        assert page.status_code == 400  # more than 366 days: the statistics' own limit
        assert "366" in page.text
        today = datetime.now(UTC).date()
        page = admin.get(
            f"/admin/reports?from={today - timedelta(days=30)}&to={today + timedelta(days=60)}"
            f"&status=pending&status=approved&doctor_id={doctor_id}"
        )
        assert page.status_code == 200
        links = {
            name: href.replace("&amp;", "&")
            for href, name in re.findall(
                r'href="(/api/v1/admin/reports/([a-z]+)\.csv\?[^"]+)"', page.text
            )
        }
        assert set(links) == {"appointments", "doctors", "specialties", "months"}
        query = parse_qs(urlsplit(links["appointments"]).query)
        assert query["status"] == ["pending,approved"]
        assert query["doctor_id"] == [doctor_id]
        for name, href in links.items():
            answer = admin.client.get(href, headers=admin.cookie)
            assert answer.status_code == 200, (name, answer.text)
            assert answer.headers["content-type"].startswith("text/csv")
        rows = list(
            csv.DictReader(
                io.StringIO(
                    admin.client.get(links["appointments"], headers=admin.cookie).text.lstrip(
                        "\ufeff"
                    )
                )
            )
        )
        assert rows, "the demo clinic has visits of Dr. Romero"
        assert all(row["status"] in ("pending", "approved") for row in rows)
        assert all(row["doctor_id"] == doctor_id for row in rows)
        # The same window as the figures on the page.
        total = int(re.search(r'<span class="figure">(\d+)</span>', page.text).group(1))  # type: ignore[union-attr]
        per_doctor = admin.client.get(links["doctors"], headers=admin.cookie).text
        counted = sum(
            int(r["appointments"]) for r in csv.DictReader(io.StringIO(per_doctor.lstrip("\ufeff")))
        )
        assert counted == total
