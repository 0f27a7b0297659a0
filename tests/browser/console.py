"""Helpers of the browser tests: people in their own browser contexts, axe-core
checks, screenshots, and a watch on Content-Security-Policy refusals."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

DEMO_PASSWORD = "demo-password-1"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
#: WCAG 2.0-2.2 A and AA rules (axe tags).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PATIENT = "ana.garcia@demo.hduce.local"
OTHER_PATIENT = "jorge.lopez@demo.hduce.local"
MAYA = "maya.chen@demo.hduce.local"
DOCTOR = "lucia.romero@demo.hduce.local"
DOCTOR_NAME = "Lucía Romero"
ADMIN = "admin@demo.hduce.local"
PHONE = {"width": 390, "height": 844}


@dataclass
class Person:
    """One person's browser (context) with one tab."""

    context: BrowserContext
    page: Page
    base_url: str
    shots: Path
    prefix: str
    csp_refusals: list[str] = field(default_factory=list)
    counter: int = 0

    def go(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> None:
        self.go("/login")
        self.page.locator("#email").fill(email)
        self.page.locator("#password").fill(password)
        self.page.locator("main form button[type=submit]").click()
        self.page.wait_for_url(re.compile(r".*/(appointments|doctor/today|admin)$"))

    def check(self, name: str) -> None:
        """Screenshot the page and assert axe-core finds no serious or critical issue."""
        self.page.wait_for_load_state("load")
        # What the page itself was refused; axe-core, which runs next, may try to add a
        # style of its own, which the CSP rightly refuses too: not the page's doing.
        assert not self.csp_refusals, f"CSP refused on {name}: {self.csp_refusals}"
        self.counter += 1
        self.page.screenshot(
            path=str(self.shots / f"{self.prefix}-{self.counter:02d}-{name}.png"), full_page=True
        )
        results: dict[str, Any] = self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        bad = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["html"] for n in v["nodes"]][:3],
            }
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        self.csp_refusals.clear()
        assert not bad, f"axe on {name} ({self.page.url}):\n{json.dumps(bad, indent=2)}"

    def bell_count(self) -> str:
        return self.page.locator("#bell-count").inner_text().strip()


class Console:
    def __init__(self, browser: Browser, base_url: str, shots: Path, test_name: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.shots = shots
        self.test_name = re.sub(r"[^a-z0-9_-]+", "-", test_name.lower())
        self.people: list[Person] = []

    def person(self, name: str, *, locale: str = "en-GB", phone: bool = False) -> Person:
        context = self.browser.new_context(
            locale=locale,
            timezone_id="America/Guayaquil",
            viewport=PHONE if phone else {"width": 1280, "height": 900},
            extra_http_headers={"Accept-Language": locale},
        )
        # Injected by the DevTools protocol, so the page's CSP (scripts from 'self'
        # only) does not refuse it, and the page's own scripts never see it sooner.
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        person = Person(context, page, self.base_url, self.shots, f"{self.test_name}-{name}")

        def watch(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                person.csp_refusals.append(message.text)

        page.on("console", watch)
        self.people.append(person)
        return person

    def close(self) -> None:
        for person in self.people:
            person.context.close()


__all__ = ["DEMO_PASSWORD", "Console", "Person", "expect"]
