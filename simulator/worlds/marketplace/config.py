"""The marketplace's scenario block (``world: {type: marketplace, ...}``) and where its data comes from.

``MarketplaceConfig`` is the world's ``Config``: exactly one market source
(``data``, a folder in Magentic's layout read by ``.data``, or ``synthetic``,
the seeded generator), the search mechanism, latencies, deadline, capacity
and the optional persuasion styles. A data folder named by an untrusted
scenario (the API) is looked up only under the server's data roots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, model_validator

from mechanisms import search as search_mech
from simulator.worlds.marketplace import data as market_data
from simulator.worlds.marketplace.styles import STYLES

REPO_ROOT = Path(__file__).resolve().parents[3]


class SyntheticConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: Literal["restaurants", "contractors"] = "restaurants"
    customers: int = Field(10, ge=1, le=1_000_000)
    businesses: int = Field(30, ge=1, le=100_000)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _feasible(self) -> "SyntheticConfig":
        most = market_data.max_customers(self.domain)
        if self.customers > most:
            raise ValueError(f"the {self.domain} generator has distinct orders for at most {most} customers")
        return self


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mechanism: Literal[tuple(sorted(search_mech.MECHANISMS))] = Field(
        "lexical", description="search mechanism (docs/search.md): Magentic's simple, filtered, lexical, optimal; Agora's shuffled, "
        "oracle, ranked (alias noisy), lexical_filtered, bm25")
    page_size: int = Field(10, ge=1, le=10_000, description="results per page (search bandwidth)")
    noise: float = Field(1.0, ge=0, description="noise of the 'ranked' mechanism")
    ties: Literal["index", "seeded"] = Field(
        "index", description="order of businesses that the ranking leaves tied (Magentic: registration order): 'index' = data-file "
        "order, 'seeded' = a random registration order drawn once per run from the run's seed")
    consideration_limit: int | None = Field(None, ge=1, description="most businesses a customer may message")


class LatencyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    search: float = Field(0.5, ge=0, description="time a search takes to return its page", json_schema_extra={"unit": "simulated time"})
    message: float = Field(0.2, ge=0, description="time a message takes to arrive", json_schema_extra={"unit": "simulated time"})
    fetch: float = Field(0.05, ge=0, description="time fetching one's mailbox (fetch_messages) takes", json_schema_extra={"unit": "simulated time"})
    action: float = Field(0.05, ge=0, description="time an agent is busy after sending a message", json_schema_extra={"unit": "simulated time"})


class ManipulationConfig(BaseModel):
    """Who manipulates, and with which text: declared per business (``conditions``) or drawn (``styles``, ``share``, ``seed``)."""

    model_config = ConfigDict(extra="forbid")
    styles: list[Literal[STYLES]] = Field(default_factory=lambda: [s for s in STYLES if s != "control"],
                                          description="styles drawn for a 'share' of the businesses (when no 'conditions')")
    share: float = Field(0.5, ge=0, le=1, description="share of businesses given a style (the rest are control)")
    seed: int = Field(0, ge=0, description="seed of the style assignment (independent of the run's seed)")
    conditions: dict[str, Literal[STYLES]] = Field(
        default_factory=dict, description="business id -> condition (Magentic's attack styles or control); the others are control, "
        "'styles'/'share' are then not used")
    texts: str | None = Field(
        None, description="Magentic-layout folder whose businesses/<id>.yaml description replaces a declared business's, "
        "with {condition} standing for the condition (e.g. malicious_description/mexican_{condition}); None: Agora's style "
        "texts are appended to the description and to proposals")


class MarketplaceConfig(BaseModel):
    # one_of: `agora schema` says which fields go in exclusive groups (the _source check below)
    model_config = ConfigDict(extra="forbid", json_schema_extra={"one_of": [["data", "synthetic"]]})
    type: Literal["marketplace"] = Field(description="the world type")
    data: str | None = Field(None, description="Magentic-layout data directory (customers/, businesses/)")
    synthetic: SyntheticConfig | None = Field(None, description="generate a market instead of reading one")
    search: SearchConfig = Field(default_factory=SearchConfig, description="how customers' searches rank businesses")
    latency: LatencyConfig = Field(default_factory=LatencyConfig, description="simulated delays of each kind of action")
    deadline: float = Field(1000.0, gt=0, description="simulated time at which the market closes", json_schema_extra={"unit": "simulated time"})
    arrival_spread: float = Field(0.0, ge=0, description="customers start at uniform times in [0, spread]", json_schema_extra={"unit": "simulated time"})
    capacity: int | None = Field(None, ge=1, description="orders each business can fill (None: unlimited)")
    manipulation: ManipulationConfig | None = Field(None, description="businesses' persuasion styles in messages (manipulation experiments)")
    visibility: Literal["magentic", "full"] = Field(
        "magentic", description="what a search hit shows: 'magentic' name, id, description and rating (ask for menus and "
        "prices); 'full' also menu, amenities, min_price_factor and pitch (a treatment variable)")
    proposals: Literal["audit", "enforce"] = Field(
        "audit", description="proposals with items not on the menu, unit prices other than the menu's or a wrong total: "
        "'audit' accepts and counts them (Magentic's analytics), 'enforce' refuses them")
    max_steps: int | None = Field(100, ge=1, description="decisions a customer may take before it is finished "
                                  "(Magentic's --customer-max-steps; None: no cap)")
    _market: Any = PrivateAttr(default=None)
    _condition_texts: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _source(self, info: ValidationInfo) -> "MarketplaceConfig":
        if (self.data is None) == (self.synthetic is None):
            raise ValueError("give exactly one of 'data' (a data directory) or 'synthetic' (domain, customers, businesses, seed)")
        context = info.context or {}
        if self.data is not None and "data_roots" in context:  # an untrusted scenario (the API)
            path, root = resolve_untrusted_data_dir(self.data, context["data_roots"], context.get("scenario_dir"))
            try:
                self._market = market_data.load(path)
            except market_data.MarketDataError as exc:  # name files relative to the root, never the server's paths
                raise ValueError(str(exc).replace(str(root) + "/", "").replace(str(root), ".")) from None
        elif self.data is not None:
            path = resolve_data_dir(self.data, context.get("scenario_dir"))
            try:
                self._market = market_data.load(path)
            except market_data.MarketDataError as exc:
                raise ValueError(str(exc)) from None
        if self.manipulation is not None and self.manipulation.conditions:
            self._read_conditions(context)
        return self

    def _read_conditions(self, context: dict) -> None:
        """Check the declared businesses exist; read each one's description from the condition's folder."""
        m = self.manipulation
        if self.synthetic is not None:
            known = {market_data.business_id(j) for j in range(self.synthetic.businesses)}
        else:
            known = {b.id for b in self._market.businesses}
        unknown = sorted(set(m.conditions) - known)
        if unknown:
            raise ValueError(f"manipulation.conditions: no business {', '.join(map(repr, unknown))} in this market")
        if m.texts is None:
            return
        if "{condition}" not in m.texts:
            raise ValueError("manipulation.texts must contain '{condition}' (e.g. malicious_description/mexican_{condition})")
        folders: dict[str, Any] = {}
        for business, condition in m.conditions.items():
            if condition not in folders:
                name = m.texts.replace("{condition}", condition)
                if "data_roots" in context:
                    path, _ = resolve_untrusted_data_dir(name, context["data_roots"], context.get("scenario_dir"))
                else:
                    path = resolve_data_dir(name, context.get("scenario_dir"))
                try:
                    folders[condition] = {b.id: b.description for b in market_data.load(path).businesses}
                except market_data.MarketDataError as exc:
                    raise ValueError(f"manipulation.texts: {exc}") from None
            if business not in folders[condition]:
                raise ValueError(f"manipulation.texts: {m.texts.replace('{condition}', condition)} has no {business}")
            self._condition_texts[business] = folders[condition][business]

    def condition_texts(self) -> dict[str, str]:
        """Business id -> its description under its declared condition (read from ``manipulation.texts``)."""
        return self._condition_texts

    def market(self) -> market_data.MarketData:
        if self._market is None:
            s = self.synthetic
            self._market = market_data.generate(s.domain, s.customers, s.businesses, s.seed)
        return self._market


def resolve_data_dir(text: str, scenario_dir: Path | None = None) -> Path:
    """A data directory as given: absolute, else relative to the scenario file's folder, the
    cwd, the repository or its ``scenarios/`` (shipped scenarios sent as text, e.g. to the API)."""
    bases = ([scenario_dir] if scenario_dir is not None else []) + [Path.cwd(), REPO_ROOT, REPO_ROOT / "scenarios"]
    tried = [Path(text)] if Path(text).is_absolute() else [base / text for base in bases]
    for path in tried:
        if path.is_dir():
            return path
    raise ValueError(f"data directory {text!r} not found (tried {', '.join(str(p) for p in tried)})")


def resolve_untrusted_data_dir(text: str, roots: list[Path], scenario_dir: Path | None = None) -> tuple[Path, Path]:
    """A data directory named by an untrusted scenario, and the root it lies under.

    Only relative paths, looked up under each allowed root (and the shipped
    scenario's own folder, when the scenario is a shipped file); the resolved
    folder (symlinks followed) must lie inside an allowed root. The error names
    neither the roots nor what exists on the server.
    """
    roots = [Path(r).resolve() for r in roots]
    if not roots:
        raise ValueError("this server reads no market data directories; allowed: a 'synthetic:' market "
                         "(the server's AGORA_DATA_ROOT would allow data folders under it)")
    bases = ([Path(scenario_dir)] if scenario_dir is not None else []) + roots
    for base in bases if not Path(text).is_absolute() else []:
        path = (base / text).resolve()
        root = next((r for r in roots if path.is_relative_to(r)), None)
        if root is not None and path.is_dir():
            return path, root
    raise ValueError(f"data directory {text!r} is not a folder under the server's data root; allowed: a relative path "
                     "to a folder under AGORA_DATA_ROOT (a server setting)")
