"""Reading Prometheus samples in tests: a counter summed over the labels not given
(``hduce_events_consumed_total`` has a ``type`` label most tests do not care about)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector


def sample_sum(registry: Collector | CollectorRegistry, name: str, **labels: str) -> float:
    """Every sample of ``name`` whose labels include ``labels``, added up."""
    return sum(
        sample.value
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def multiprocess_sum(directory: Path, name: str, **labels: str) -> float:
    """``sample_sum`` over every process that wrote to a ``PROMETHEUS_MULTIPROC_DIR``."""
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return sample_sum(registry, name, **labels)


def scraped_sum(text: str, name: str, **labels: str) -> float:
    """``sample_sum`` over a scrape (the Prometheus text format)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )
