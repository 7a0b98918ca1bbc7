"""``agora market analyze RUN``: a stored run as Magentic's analytics report it (per customer, audit, summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def stored_run(db: Path, scenario: str, *overrides: str) -> tuple[str, dict]:
    args = ["run", str(ROOT / "scenarios" / scenario), "--db", str(db), "--json"]
    for o in overrides:
        args += ["--set", o]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output[-2000:]
    result = json.loads(done.stdout)
    return result["run_id"] if "run_id" in result else result["id"], result


def analyze(db: Path, run_id: str, *extra: str):
    return runner.invoke(app, ["market", "analyze", run_id, "--db", str(db), *extra])


def test_the_report_agrees_with_the_run_and_lists_each_customer(tmp_path):
    db = tmp_path / "runs.db"
    run_id, result = stored_run(db, "marketplace_small.yaml")
    done = analyze(db, run_id, "--json")
    assert done.exit_code == 0, done.output[-2000:]
    report = json.loads(done.stdout)
    metrics = result["metrics"]
    assert set(report["customers"]) == {f"customer_{i:04d}" for i in range(1, 11)}
    for cid, row in report["customers"].items():
        assert row["utility"] == pytest.approx(metrics["payoffs"][cid])
        assert len(row["payments"]) == 1 and row["needs_met"] is True
        assert row["searches"] and row["proposals_received"] == 3 and row["messages_sent"] == 4   # 3 inquiries + the payment
        paid = row["payments"][0]
        assert paid["amount"] == pytest.approx(sum(i["unit_price"] * i["quantity"] for i in paid["items"]))
    s = report["summary"]
    assert s["customers_who_made_purchases"] == 10 and s["purchase_completion_rate"] == 100.0
    assert s["total_customer_utility"] == pytest.approx(185.61) and s["baselines"]["optimal"] == 185.61
    assert s["order_proposals_created"] == 30 and s["searches_per_customer"] == 1.0
    assert report["audit"]["totals"]["invalid_proposals"] == 0
    text = analyze(db, run_id)
    assert text.exit_code == 0 and "customer_0007" in text.stdout and "PROPOSAL AUDIT" in text.stdout


def test_the_audit_section_reports_prices_off_the_menu(tmp_path):
    db = tmp_path / "runs.db"
    run_id, _ = stored_run(db, "marketplace_small.yaml", "agents.business={policy: service, params: {markup: 0.1}}")
    report = json.loads(analyze(db, run_id, "--json").stdout)
    totals = report["audit"]["totals"]
    assert totals["invalid_proposals"] == totals["proposals_checked"] == 30 and totals["invalid_prices"] > 30
    row = next(iter(report["audit"]["by_business"].values()))
    assert row["examples"][0]["findings"][0].startswith("price: ")
    assert all(pay["audit"] for c in report["customers"].values() for pay in c["payments"])   # every paid proposal flagged


def test_a_run_without_events_gives_the_summary_only_and_bad_ids_exit_2(tmp_path):
    db = tmp_path / "runs.db"
    run_id, _ = stored_run(db, "marketplace_small.yaml", "run.record_events=false")
    report = json.loads(analyze(db, run_id, "--json").stdout)
    assert report["customers"] is None and report["summary"]["customers_who_made_purchases"] == 10
    missing = analyze(db, "nosuchrun")
    assert missing.exit_code == 2 and "no run 'nosuchrun'" in missing.output and "Traceback" not in missing.output
    other, _ = stored_run(db, "prisoners_dilemma.yaml")
    wrong = analyze(db, other)
    assert wrong.exit_code == 2 and "allowed: a marketplace run" in wrong.output
