"""The PromQL of the deployment: every query of the Grafana dashboard and every
expression of the Prometheus alert rules (annotations' ``query "..."`` included), and
the series each one selects, read from the parsed expression (promql-parser, the Rust
PromQL parser) rather than guessed with a regular expression; and what a /metrics
scrape exposes, to hold those selectors against.

A name counts as exposed when a scrape declares its family (``# TYPE``), in the form
Prometheus stores it (a counter ``x`` as ``x_total``, a histogram as ``x_bucket``,
``x_sum``, ``x_count``); a label matched on must be one of the series' labels
wherever a scrape has samples of it (a family with no samples yet has no labels to
compare). ``up`` is written by Prometheus itself."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "hduce.json"
RULES = DEPLOY / "prometheus" / "rules" / "hduce.yml"

#: Grafana's interval variables, given a value so the query parses as Prometheus sees it.
_GRAFANA_VARIABLES = re.compile(
    r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}"
)
#: A query run from an alert's annotation template: {{ with query "max(x)" }}.
_TEMPLATE_QUERY = re.compile(r'query\s+"((?:[^"\\]|\\.)*)"')

#: Series Prometheus writes itself for every target; no application exposes them.
PROMETHEUS_SERIES = frozenset({"up"})


@dataclass(frozen=True)
class Query:
    where: str  # e.g. 'dashboard panel "Bookings by outcome"'
    expr: str


@dataclass(frozen=True)
class Selector:
    """One series selector of a query: its metric name and the labels it matches on."""

    query: Query
    name: str
    labels: frozenset[str]


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[Query]:
    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = _GRAFANA_VARIABLES.sub("5m", target["expr"])
            yield Query(f'dashboard panel "{panel["title"]}" ({target["refId"]})', expr)


def rule_queries(rules: dict[str, Any]) -> Iterator[Query]:
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            yield Query(f"rule {name}", rule["expr"])
            for key, text in rule.get("annotations", {}).items():
                for found in _TEMPLATE_QUERY.findall(text):
                    yield Query(f"rule {name} annotation {key}", found.replace('\\"', '"'))


def all_queries() -> list[Query]:
    dashboard = json.loads(DASHBOARD.read_text())
    rules = yaml.safe_load(RULES.read_text())
    return [*dashboard_queries(dashboard), *rule_queries(rules)]


def selectors(query: Query) -> list[Selector]:
    """Every vector selector in ``query`` (raises ValueError when it does not parse)."""
    found: list[Selector] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = list(node.matchers.matchers)
            for alternative in node.matchers.or_matchers:
                matchers += list(alternative)
            name = node.name or next(m.value for m in matchers if m.name == "__name__")
            labels = frozenset(m.name for m in matchers if m.name != "__name__")
            found.append(Selector(query, name, labels))
        return True

    promql_parser.walk(promql_parser.parse(query.expr), visit)
    return found


# ------------------------------------------------------------------ what a scrape exposes

#: Series names each metric type is stored under, by suffix.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gauge": ("",),
    "unknown": ("",),
}
#: Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = frozenset({"job", "instance"})

Exposed = dict[str, set[str] | None]


def exposed(scrape: str) -> Exposed:
    """Series name -> label names seen on its samples (None: declared, no sample yet)."""
    series: Exposed = {}
    for family in text_string_to_metric_families(scrape):
        for suffix in _SUFFIXES[family.type]:
            series.setdefault(family.name + suffix, None)
        for sample in family.samples:
            series[sample.name] = (series.get(sample.name) or set()) | set(sample.labels)
    return series


def problems(found: list[Selector], scrapes: dict[str, Exposed]) -> list[str]:
    """Each selected series no scrape exposes, and each label matched on that the
    series does not have; empty when every selector finds what it asks for."""
    missing: dict[str, set[str]] = defaultdict(set)
    wrong_labels: list[str] = []
    for selector in found:
        if selector.name in PROMETHEUS_SERIES:
            continue
        declared = [scrape[selector.name] for scrape in scrapes.values() if selector.name in scrape]
        if not declared:
            missing[selector.name].add(selector.query.where)
            continue
        sampled = [labels for labels in declared if labels is not None]
        if not sampled:
            continue
        has = set().union(*sampled) | TARGET_LABELS
        if unknown := selector.labels - has:
            wrong_labels.append(
                f"{selector.name} has no label {sorted(unknown)} (only "
                f"{sorted(has - TARGET_LABELS)}), in {selector.query.where}"
            )
    return [
        f"{name} is exposed by none of {sorted(scrapes)}, used in {'; '.join(sorted(uses))}"
        for name, uses in sorted(missing.items())
    ] + wrong_labels
