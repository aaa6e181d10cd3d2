"""Many samples of a metric are printed as Powertools prints them one add_metric at a time."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from webhook_intake.observability import Metric, count, samples, vendor_metrics


def _records(printed: str) -> list[dict[str, object]]:
    records = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    for record in records:
        record["_aws"].pop("Timestamp")  # type: ignore[union-attr]
    return records


@pytest.mark.parametrize("events", [1, 10, 99, 100, 101, 250])
def test_samples_print_the_records_one_sample_at_a_time_prints(events: int, capsys: pytest.CaptureFixture[str]) -> None:
    units = [1.0 + index % 3 for index in range(events)]
    lags = [float(index * 7) for index in range(events)]
    one_by_one, together = vendor_metrics("firstup"), vendor_metrics("firstup")

    count(one_by_one, Metric.STORED, events)
    for value in units:
        one_by_one.add_metric(name=Metric.WRITE_UNITS_PER_EVENT.value, unit=MetricUnit.NoUnit, value=value)
    for value in lags:
        one_by_one.add_metric(name=Metric.INGEST_TO_STORE_LAG.value, unit=MetricUnit.Milliseconds, value=value)
    one_by_one.flush_metrics()
    expected = _records(capsys.readouterr().out)

    count(together, Metric.STORED, events)
    samples(together, Metric.WRITE_UNITS_PER_EVENT, MetricUnit.NoUnit, units)
    samples(together, Metric.INGEST_TO_STORE_LAG, MetricUnit.Milliseconds, lags)
    together.flush_metrics()
    got = _records(capsys.readouterr().out)

    assert got == expected
    # CloudWatch takes at most 100 values of a metric in one record.
    assert all(len(record.get(Metric.INGEST_TO_STORE_LAG.value, [])) <= 100 for record in got)  # type: ignore[arg-type]
