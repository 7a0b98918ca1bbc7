"""Marketplace data: Magentic's layout read and written, clear errors, the synthetic generator, the CLI."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simulator.worlds.marketplace import data as market_data
from simulator.cli import app

MEXICAN_10_30 = Path(__file__).resolve().parent / "data" / "magentic" / "mexican_10_30"
MEXICAN_33_99 = Path(__file__).resolve().parent / "data" / "magentic" / "mexican_33_99"
runner = CliRunner()


def test_reads_magentics_published_data_set():
    data = market_data.load(MEXICAN_10_30)
    assert len(data.customers) == 10 and len(data.businesses) == 30
    c = data.customers[0]
    assert c.id == "customer_0001"
    assert c.menu_features == {"Pineapple Salsa Pork Burrito": 11.99, "Spicy Black Bean Quesadilla": 9.99}
    assert c.amenity_features == ["Happy Hour"]
    b = data.businesses[16]
    assert b.id == "business_0017" and b.description.endswith("\u2018mint\u2019 to be memorable!")
    assert data.businesses[22].name == "Sol y Saz\u00f3n Cantina"


def _saved_33_99() -> tuple[float, float]:
    # Magentic's own data/mexican_33_99/baseline_utilities.json (written by
    # data/data_generation_scripts/baseline_utilities.py), copied with the data set.
    saved = json.loads((MEXICAN_33_99 / "baseline_utilities.json").read_text())
    return saved["pick_optimal_baseline"]["constant"], saved["pick_cheapest_baseline"]["constant"]


@pytest.mark.parametrize(
    "root, customers, businesses, expected",
    [
        # Magentic's data/mexican_10_30/baseline_utilities.json: optimal 185.61, cheapest 111.31.
        (MEXICAN_10_30, 10, 30, (185.61, 111.31)),
        # Magentic's data/mexican_33_99/baseline_utilities.json: optimal 762.53, cheapest 414.50000000000017.
        (MEXICAN_33_99, 33, 99, _saved_33_99()),
    ],
    ids=["mexican_10_30", "mexican_33_99"],
)
def test_cli_baselines_match_magentic(tmp_path, root, customers, businesses, expected):
    optimal, cheapest = (round(x, 2) for x in expected)
    result = runner.invoke(app, ["market", "baselines", str(root), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["customers"] == customers and out["businesses"] == businesses
    assert out["optimal"] == optimal and out["cheapest"] == cheapest
    assert set(out) >= {"random", "random_with_amenities"}
    table = runner.invoke(app, ["market", "baselines", str(root)])
    assert table.exit_code == 0 and f"{optimal:.2f}" in table.output


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "market"
    shutil.copytree(MEXICAN_10_30, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    "folder, file, change, field, words",
    [
        ("businesses", "business_0003.yaml", lambda d: d.pop("menu_features"), "menu_features", "required field is missing"),
        ("customers", "customer_0004.yaml", lambda d: d.pop("id"), "id", "required field is missing"),
        ("businesses", "business_0005.yaml", lambda d: d["menu_features"].update({"Flaky Beef Empanadas": -2.5}), "menu_features", "prices must be"),
        ("customers", "customer_0002.yaml", lambda d: d["menu_features"].update({"Smoky Chipotle Burger": -1}), "menu_features", "willingness to pay"),
        ("businesses", "business_0009.yaml", lambda d: d.update(id="business_0001"), "id", "duplicate id 'business_0001'"),
        ("businesses", "business_0010.yaml", lambda d: d.update(rating="great"), "rating", "valid number"),
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path, folder, file, change, field, words):
    root = _copy(tmp_path)
    _edit(root / folder / file, change)
    with pytest.raises(market_data.MarketDataError) as info:
        market_data.load(root)
    err = info.value
    assert err.file.endswith(file) and err.field == field and words in err.message
    result = runner.invoke(app, ["market", "baselines", str(root)])
    assert result.exit_code == 2
    assert file in result.output and field in result.output and "Traceback" not in result.output


def test_missing_folder_and_bad_yaml(tmp_path):
    root = _copy(tmp_path)
    shutil.rmtree(root / "customers")
    with pytest.raises(market_data.MarketDataError, match="customers"):
        market_data.load(root)
    root2 = _copy(tmp_path / "x")
    (root2 / "businesses" / "business_0001.yaml").write_text("id: [unclosed")
    with pytest.raises(market_data.MarketDataError, match=r"business_0001.yaml:\d+:\d+: invalid YAML"):
        market_data.load(root2)


def test_write_then_read_round_trips(tmp_path):
    data = market_data.load(MEXICAN_10_30)
    market_data.write(tmp_path / "copy", data)
    again = market_data.load(tmp_path / "copy")
    assert [c.model_dump() for c in again.customers] == [c.model_dump() for c in data.customers]
    assert [b.model_dump() for b in again.businesses] == [b.model_dump() for b in data.businesses]


@pytest.mark.parametrize("domain", ["restaurants", "contractors"])
def test_generator_keeps_magentics_structure(domain):
    data = market_data.generate(domain, 33, 99, seed=5)
    assert len(data.customers) == 33 and len(data.businesses) == 99
    assert len({c.id for c in data.customers}) == 33
    sizes = sorted(len(c.menu_features) for c in data.customers)
    assert set(sizes) == {1, 2, 3}
    arrays = market_data.compile_arrays(data)
    per_customer = np.diff(arrays.cand_indptr)
    qualifying = np.add.reduceat(arrays.cand_qualifies.astype(int), arrays.cand_indptr[:-1])
    assert (per_customer >= 3).all()                       # several businesses carry every order
    assert (qualifying >= 1).all() and (qualifying < per_customer).any()   # only some have the amenities
    for b in data.businesses:
        assert all(p > 0 for p in b.menu_features.values())
    # Seeded: same seed same market, different seed different market.
    again = market_data.generate(domain, 33, 99, seed=5)
    assert [b.model_dump() for b in again.businesses] == [b.model_dump() for b in data.businesses]
    other = market_data.generate(domain, 33, 99, seed=6)
    assert [b.model_dump() for b in other.businesses] != [b.model_dump() for b in data.businesses]


def test_cli_generate_writes_the_layout(tmp_path):
    out = tmp_path / "gen"
    result = runner.invoke(app, ["market", "generate", "--domain", "contractors", "--customers", "3", "--businesses", "9", "--seed", "1", str(out)])
    assert result.exit_code == 0, result.output
    assert len(list((out / "customers").glob("*.yaml"))) == 3
    assert len(list((out / "businesses").glob("*.yaml"))) == 9
    loaded = market_data.load(out)
    assert market_data.baselines(loaded)["optimal"] > 0
    again = runner.invoke(app, ["market", "generate", "--customers", "3", "--businesses", "9", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output
    bad = runner.invoke(app, ["market", "generate", "--domain", "plumbers", str(tmp_path / "other")])
    assert bad.exit_code == 2 and "unknown domain" in bad.output


@pytest.mark.parametrize("domain", ["restaurants", "contractors"])
@pytest.mark.parametrize("customers, businesses", [(33, 99), (900, 300), (5, 2), (1, 1)])
def test_vectorised_generator_keeps_the_structure(domain, customers, businesses):
    data = market_data.generate_vectorised(domain, customers, businesses, seed=5)
    assert [c.id for c in data.customers] == [market_data.customer_id(i) for i in range(customers)]
    assert [b.id for b in data.businesses] == [market_data.business_id(j) for j in range(businesses)]
    orders = [tuple(c.menu_features) for c in data.customers]
    assert len(set(orders)) == customers                                   # distinct orders
    assert np.bincount([len(o) for o in orders], minlength=4)[1:].tolist() == [
        min(customers, -(-customers // 3)), max(0, min(-(-customers // 3), customers - -(-customers // 3))),
        max(0, customers - 2 * -(-customers // 3))]
    arrays = market_data.compile_arrays(data)
    per = min(3, businesses)
    assert (np.diff(arrays.cand_indptr) >= per).all()                      # every order carried by its businesses
    qualifying = np.add.reduceat(arrays.cand_qualifies.astype(int), arrays.cand_indptr[:-1])
    assert (qualifying >= 1).all()
    for c in data.customers:
        assert 1 <= len(c.amenity_features) <= 2 and len(set(c.amenity_features)) == len(c.amenity_features)
    for b in data.businesses:
        assert all(p > 0 for p in b.menu_features.values())
        assert 3.0 <= b.rating <= 5.0 and 0.6 <= b.min_price_factor <= 0.95
    again = market_data.generate_vectorised(domain, customers, businesses, seed=5)
    assert [b.model_dump() for b in again.businesses] == [b.model_dump() for b in data.businesses]
    assert [c.model_dump() for c in again.customers] == [c.model_dump() for c in data.customers]


def test_vectorised_generator_draws_the_loop_generators_distribution():
    loop = market_data.generate("restaurants", 3000, 1000, seed=1)
    fast = market_data.generate_vectorised("restaurants", 3000, 1000, seed=1)

    def summary(data):
        arrays = market_data.compile_arrays(data)
        items = np.array([len(b.menu_features) for b in data.businesses])
        amenities = np.array([sum(b.amenity_features.values()) for b in data.businesses])
        qualifying = np.add.reduceat(arrays.cand_qualifies.astype(int), arrays.cand_indptr[:-1])
        return np.array([items.mean(), amenities.mean(), arrays.rating.mean(), qualifying.mean(),
                         np.mean([len(c.amenity_features) for c in data.customers]), arrays.cand_price.mean() / arrays.value.mean()])

    a, b = summary(loop), summary(fast)
    assert np.allclose(a, b, rtol=0.05), (a, b)
    assert [c.model_dump() for c in loop.customers] != [c.model_dump() for c in fast.customers]   # a different stream


def test_generate_switches_to_the_vectorised_generator_above_ten_thousand_customers():
    assert "vectorised" not in market_data.generate("restaurants", market_data.VECTORISED_ABOVE, 10, seed=1).source
    big = market_data.generate("restaurants", market_data.VECTORISED_ABOVE + 1, 10, seed=1)
    assert "vectorised" in big.source and len(big.customers) == market_data.VECTORISED_ABOVE + 1
