"""A notice never asks the coordinating office to report to itself."""

import pytest

from tests.conftest import SEED_PLAN

NOW = "2021-01-05T10:00:00+08:00"


@pytest.fixture
def seed(duban):
    assert duban("--now", NOW, "load", str(SEED_PLAN)).code == 0
    return duban


@pytest.mark.parametrize("kind", ["overdue", "reminder", "progress_request"])
def test_the_coordinator_as_lead_records_in_its_ledger(seed, kind: str) -> None:
    # Task 14 is led by 市司法局, the plan's coordinator.
    result = seed("--now", NOW, "preview", kind, "--task", "14")
    assert result.code == 0, result.err
    assert "在督办台账中登记" in result.out
    assert "报送市司法局" not in result.out and "向市司法局报送" not in result.out


@pytest.mark.parametrize("kind", ["overdue", "reminder", "progress_request"])
def test_another_lead_unit_reports_to_the_coordinator(seed, kind: str) -> None:
    # Task 15 is led by 市人社局.
    result = seed("--now", NOW, "preview", kind, "--task", "15")
    assert result.code == 0, result.err
    assert "市司法局" in result.out and "报送" in result.out
    assert "在督办台账中登记" not in result.out
