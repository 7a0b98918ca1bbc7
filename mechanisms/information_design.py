"""Hiring agents to acquire information: the optimal incentive-compatible mechanism as an LP.

Model (Cacciamani, Castiglioni & Gatti, "Online Information Acquisition:
Hiring Multiple Agents", ICLR 2024, arXiv:2307.06210)
--------------------------------------------------------------------------
Section references below follow the paper's layout as described in its
abstract and public reviews (model, optimal IC mechanism, the suboptimality
of uncorrelated mechanisms in Sec. 4, the online problem); equation numbers
were not available to check, so none are cited.

* A state of nature ``theta`` in ``Theta = {0..K-1}`` drawn from a prior ``mu``.
* Agents ``i = 0..n-1``; agent ``i`` picks an effort (action) ``a_i`` in
  ``A_i`` at cost ``c_i(a_i) >= 0``. An effort profile ``a`` generates a
  signal profile ``s = (s_0..s_{n-1})`` with probability ``P(s | theta, a)``
  (a joint table, so agents' signals may be correlated given the state; the
  conditionally independent case is ``prod_i P_i(s_i | theta, a_i)``).
* The principal takes a decision ``d`` in ``D`` and gets ``u(d, theta)``.
* A mechanism is a recommendation distribution ``x`` over effort profiles
  (possibly correlated across agents) and payments ``p_i(a, s_hat, theta) >= 0``
  (limited liability) that depend on the recommended profile, all reports and
  the realised state, i.e. a scoring rule. Each agent sees only its own
  recommendation, chooses an effort, observes its signal and reports.
* The principal decides ``d*(a, s_hat) = argmax_d sum_theta mu(theta)
  P(s_hat | theta, a) u(d, theta)`` (agents' payoffs do not depend on ``d``).

Incentive compatibility (obedience of effort and truthful reporting, the
paper's IC constraints) asks, for every agent ``i``, recommendation ``a_i``,
deviation ``a_i'`` and reporting map ``phi: S_i -> S_i``::

    sum_{a_-i} x(a) [ E_{theta,s ~ a}[p_i(a, s, theta)] - c_i(a_i) ]
        >= sum_{a_-i} x(a) [ E_{theta,s ~ (a_i', a_-i)}[p_i(a, (phi(s_i), s_-i), theta)] - c_i(a_i') ].

The maximum over the ``|S_i|^|S_i|`` maps ``phi`` decomposes over the
observed ``s_i``, so with auxiliary variables ``y[i, a_i, a_i', s_i] >=``
(expected payment when observing ``s_i`` under ``a_i'`` and reporting
``s_i'``) for every ``s_i'`` the constraints stay polynomial. With the
change of variables ``z_i(a, s, theta) = x(a) p_i(a, s, theta)`` the problem
is the linear program solved by ``optimal_mechanism`` (the paper's
polynomial-time program for an optimal IC mechanism)::

    max   sum_a x(a) W(a) - sum_i sum_{a,s,theta} mu(theta) P(s|theta,a) z_i(a,s,theta)
    s.t.  IC as above (linear in x, z, y),   sum_a x(a) = 1,   x >= 0,
          0 <= z_i(a, s, theta) <= P_max x(a)        (limited liability, bounded payments)

where ``W(a) = sum_s max_d sum_theta mu(theta) P(s|theta,a) u(d,theta)``.
The bound ``P_max`` (``Instance.max_payment``) keeps payments finite and
defined only on recommended profiles (without it the LP could push a
profile's probability to 0 while paying unboundedly on it).

The paper shows that optimal mechanisms must correlate recommendations
(Sec. 4). ``best_independent_mechanism`` restricts ``x`` to product
distributions; ``correlation_example()`` is an instance where the
correlated optimum is strictly better (see its docstring).

Online setting: the signal structure ``P`` is unknown and the
principal learns it over ``T`` rounds. ``explore_then_commit`` (a simpler
scheme than the paper's) explores ``~T^(2/3)`` rounds, estimates ``P`` and
commits to the LP solved on the estimate with the IC constraints tightened
by a margin ``~ n0^(-1/2)`` plus a small strictly proper reporting bonus.
The paper proves ``O~(T^(2/3))`` regret for its algorithm; for this one the
rate is measured, not proven (``bench/information_regret.py``: fitted
log-log slope about 0.67 on ``online_example``).

Instance (``Instance`` or a dict for ``instance_from_dict``)::

    prior:     [mu(theta) for theta]                      length K
    utility:   [[u(d, theta) for theta] for d]            D x K
    costs:     [[c_i(a) for a in A_i] for i]
    signals:   [[[P_i(s | theta, a) for s] for theta] for a]  per agent i (independent signals)
      or joint_signals: nested array indexed [a_0]..[a_{n-1}][theta][s_0]..[s_{n-1}]
    max_payment: P_max (default 10)
    optional names: states, decisions, actions (per agent), signal_names (per agent)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

TOL = 1e-7


# ====================================================================== instance
@dataclass
class Instance:
    """A finite information-acquisition problem (see the module docstring)."""

    prior: np.ndarray                     # (K,)
    utility: np.ndarray                   # (D, K)
    costs: list[np.ndarray]               # per agent, (A_i,)
    joint: np.ndarray                     # (A_0..A_{n-1}, K, S_0..S_{n-1}) = P(s | theta, a)
    max_payment: float = 10.0
    states: list[str] | None = None
    decisions: list[str] | None = None
    actions: list[list[str]] | None = None
    signal_names: list[list[str]] | None = None

    def __post_init__(self) -> None:
        self.prior = np.asarray(self.prior, dtype=float)
        self.utility = np.asarray(self.utility, dtype=float)
        self.costs = [np.asarray(c, dtype=float) for c in self.costs]
        self.joint = np.asarray(self.joint, dtype=float)
        K = self.prior.size
        if self.prior.ndim != 1 or (self.prior < 0).any() or abs(self.prior.sum() - 1) > 1e-8:
            raise ValueError("prior must be a probability vector")
        if self.utility.ndim != 2 or self.utility.shape[1] != K:
            raise ValueError(f"utility must be a D x K table with K = {K} states, got shape {self.utility.shape}")
        n = len(self.costs)
        if n < 1:
            raise ValueError("at least one agent is needed")
        if any(c.ndim != 1 or c.size < 1 or (c < 0).any() for c in self.costs):
            raise ValueError("costs must be one non-negative list per agent")
        if self.joint.ndim != 2 * n + 1 or self.joint.shape[:n] != self.action_shape or self.joint.shape[n] != K:
            raise ValueError(
                f"signal table must have shape (A_0..A_{n-1}, K, S_0..S_{n-1}) with actions {self.action_shape} and K={K}; "
                f"got {self.joint.shape}")
        sums = self.joint.reshape(self.n_profiles, K, -1).sum(axis=2)
        if (self.joint < -1e-12).any() or not np.allclose(sums, 1.0, atol=1e-8):
            raise ValueError("signal probabilities must be non-negative and sum to 1 for every effort profile and state")
        if self.max_payment <= 0:
            raise ValueError("max_payment must be positive")

    # ------------------------------------------------------------ shapes
    @property
    def n_agents(self) -> int:
        return len(self.costs)

    @property
    def n_states(self) -> int:
        return self.prior.size

    @property
    def action_shape(self) -> tuple[int, ...]:
        return tuple(c.size for c in self.costs)

    @property
    def signal_shape(self) -> tuple[int, ...]:
        return tuple(self.joint.shape[self.n_agents + 1:])

    @property
    def n_profiles(self) -> int:
        return int(np.prod(self.action_shape))

    @property
    def n_signal_profiles(self) -> int:
        return int(np.prod(self.signal_shape))

    def flat(self) -> np.ndarray:
        """``P[a, theta, s]`` with flattened profile indices."""
        return self.joint.reshape(self.n_profiles, self.n_states, self.n_signal_profiles)

    def with_joint(self, joint: np.ndarray) -> "Instance":
        return Instance(self.prior, self.utility, self.costs, joint, self.max_payment, self.states,
                        self.decisions, self.actions, self.signal_names)

    def action_labels(self, i: int) -> list[str]:
        return list(self.actions[i]) if self.actions else [f"a{k}" for k in range(self.action_shape[i])]

    def signal_labels(self, i: int) -> list[str]:
        return list(self.signal_names[i]) if self.signal_names else [f"s{k}" for k in range(self.signal_shape[i])]

    def state_labels(self) -> list[str]:
        return list(self.states) if self.states else [f"state{k}" for k in range(self.n_states)]

    def decision_labels(self) -> list[str]:
        return list(self.decisions) if self.decisions else [f"d{k}" for k in range(self.utility.shape[0])]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior.tolist(), "utility": self.utility.tolist(), "costs": [c.tolist() for c in self.costs],
            "joint_signals": self.joint.tolist(), "max_payment": self.max_payment,
            "states": self.state_labels(), "decisions": self.decision_labels(),
            "actions": [self.action_labels(i) for i in range(self.n_agents)],
            "signal_names": [self.signal_labels(i) for i in range(self.n_agents)],
        }


def joint_from_independent(signals: Sequence[np.ndarray]) -> np.ndarray:
    """``P(s | theta, a) = prod_i P_i(s_i | theta, a_i)`` from per-agent tables ``P_i[a_i, theta, s_i]``."""
    tables = [np.asarray(t, dtype=float) for t in signals]
    n = len(tables)
    K = tables[0].shape[1]
    if any(t.ndim != 3 or t.shape[1] != K for t in tables):
        raise ValueError("each agent's signal table must be indexed [action][state][signal] with the same states")
    shape = tuple(t.shape[0] for t in tables) + (K,) + tuple(t.shape[2] for t in tables)
    joint = np.ones(shape)
    for i, t in enumerate(tables):
        # view t with its axes at (action i, theta, signal i), broadcastable to ``shape``
        view_shape = [1] * (2 * n + 1)
        view_shape[i], view_shape[n], view_shape[n + 1 + i] = t.shape
        joint = joint * t.reshape(view_shape)
    return joint


def instance_from_dict(data: Mapping[str, Any] | Instance) -> Instance:
    """Build an ``Instance`` from the dict described in the module docstring."""
    if isinstance(data, Instance):
        return data
    allowed = {"prior", "utility", "costs", "signals", "joint_signals", "max_payment", "states", "decisions", "actions", "signal_names"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown instance keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    for key in ("prior", "utility", "costs"):
        if key not in data:
            raise ValueError(f"instance needs {key!r}")
    if ("signals" in data) == ("joint_signals" in data):
        raise ValueError("give exactly one of 'signals' (per agent, independent) or 'joint_signals'")
    joint = joint_from_independent(data["signals"]) if "signals" in data else np.asarray(data["joint_signals"], dtype=float)
    return Instance(
        prior=data["prior"], utility=data["utility"], costs=data["costs"], joint=joint,
        max_payment=float(data.get("max_payment", 10.0)), states=data.get("states"), decisions=data.get("decisions"),
        actions=data.get("actions"), signal_names=data.get("signal_names"),
    )


# ====================================================================== result
@dataclass
class Mechanism:
    """An IC mechanism and what it is worth to the principal.

    ``recommendation[a]`` is ``x(a)`` over effort profiles (shape ``A_0 x ... x A_{n-1}``);
    ``payments[i][a..., s..., theta]`` is ``p_i(a, s, theta)`` (0 where ``x(a) = 0``);
    ``decisions[a..., s...]`` the principal's decision index; ``utility`` the
    principal's expected utility under obedience and truthful reports;
    ``binding`` the IC / limited-liability constraints that hold with equality.
    """

    recommendation: np.ndarray
    payments: list[np.ndarray]
    decisions: np.ndarray
    utility: float
    binding: list[str] = field(default_factory=list)
    status: str = "optimal"
    kind: str = "correlated"

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "status": self.status, "utility": float(self.utility),
            "recommendation": self.recommendation.tolist(), "binding": list(self.binding),
        }


def decision_table(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """Best decision ``d*(a, s)`` (flattened ``[a, s]``) and ``W(a) = E[max_d ...]``."""
    P = inst.flat()                                              # (nA, K, nS)
    weighted = inst.prior[None, :, None] * P                      # mu(theta) P(s|theta,a)
    values = np.einsum("dk,aks->ads", inst.utility, weighted)     # (nA, D, nS)
    decisions = values.argmax(axis=1)                             # (nA, nS)
    W = values.max(axis=1).sum(axis=1)                            # (nA,)
    return decisions, W


# ====================================================================== the LP
class _Layout:
    """Variable indices of the LP: x (nA), z (n, nA, nS, K), y (per agent: A_i, A_i, S_i)."""

    def __init__(self, inst: Instance, extra: int = 0) -> None:
        self.nA, self.nS, self.K, self.n = inst.n_profiles, inst.n_signal_profiles, inst.n_states, inst.n_agents
        self.x0 = 0
        self.z0 = self.nA
        self.zsize = self.nA * self.nS * self.K
        self.y0 = self.z0 + self.n * self.zsize
        self.yoff = []
        offset = self.y0
        for A_i, S_i in zip(inst.action_shape, inst.signal_shape):
            self.yoff.append(offset)
            offset += A_i * A_i * S_i
        self.extra0 = offset
        self.size = offset + extra

    def z(self, i: int, a: int, s: int, k: int) -> int:
        return self.z0 + i * self.zsize + (a * self.nS + s) * self.K + k

    def y(self, i: int, ai: int, aj: int, si: int, A_i: int, S_i: int) -> int:
        return self.yoff[i] + (ai * A_i + aj) * S_i + si


def _solve(inst: Instance, *, fixed_x: np.ndarray | None = None, allowed: np.ndarray | None = None,
           product_with: tuple[int, np.ndarray] | None = None, margin: float = 0.0, kind: str = "correlated") -> Mechanism:
    """Build and solve the LP. ``fixed_x`` pins the recommendation, ``allowed`` masks profiles,
    ``product_with=(i, w)`` sets ``x(a) = w(a_-i) * beta(a_i)`` with ``beta`` a free distribution,
    ``margin`` in [0, 1) tightens every effort-deviation IC constraint: obedience must stay optimal even if
    the agent's obedient expected payment were cut by the fraction ``margin``."""
    A_shape, S_shape = inst.action_shape, inst.signal_shape
    n, K = inst.n_agents, inst.n_states
    profiles = list(np.ndindex(*A_shape))
    sig_profiles = list(np.ndindex(*S_shape))
    a_index = {a: j for j, a in enumerate(profiles)}
    s_index = {s: j for j, s in enumerate(sig_profiles)}
    P = inst.flat()
    mu = inst.prior
    decisions, W = decision_table(inst)
    beta_agent = product_with[0] if product_with is not None else None
    L = _Layout(inst, extra=A_shape[beta_agent] if product_with is not None else 0)
    nA, nS = L.nA, L.nS

    c = np.zeros(L.size)
    c[:nA] = -W
    weight = mu[None, :, None] * P                                # (nA, K, nS): mu P(s|theta,a)
    for i in range(n):
        block = np.transpose(weight, (0, 2, 1)).reshape(-1)      # order (a, s, k)
        c[L.z0 + i * L.zsize: L.z0 + (i + 1) * L.zsize] = block

    rows, cols, vals, rhs = [], [], [], []
    r = 0

    def add(entries: list[tuple[int, float]], bound: float) -> None:
        nonlocal r
        for col, val in entries:
            rows.append(r)
            cols.append(col)
            vals.append(val)
        rhs.append(bound)
        r += 1

    for i in range(n):
        A_i, S_i = A_shape[i], S_shape[i]
        for ai in range(A_i):
            own = [a for a in profiles if a[i] == ai]
            for aj in range(A_i):
                # IC: sum_si y - keep * sum_{a} sum_{s,k} w z_i + sum_a x_a (c(ai) - c(aj)) <= 0, keep = 1 - margin for aj != ai
                entries: list[tuple[int, float]] = []
                for si in range(S_i):
                    entries.append((L.y(i, ai, aj, si, A_i, S_i), 1.0))
                keep = 1.0 - margin if aj != ai else 1.0
                for a in own:
                    ja = a_index[a]
                    entries.append((L.x0 + ja, inst.costs[i][ai] - inst.costs[i][aj]))
                    for js in range(nS):
                        for k in range(K):
                            wv = weight[ja, k, js]
                            if wv != 0.0:
                                entries.append((L.z(i, ja, js, k), -keep * wv))
                add(entries, 0.0)
                # y >= expected payment when observing si under aj and reporting si'
                for si in range(S_i):
                    for sr in range(S_i):
                        entries = [(L.y(i, ai, aj, si, A_i, S_i), -1.0)]
                        for a in own:
                            ja = a_index[a]
                            dev = a[:i] + (aj,) + a[i + 1:]
                            jd = a_index[dev]
                            for s in sig_profiles:
                                if s[i] != si:
                                    continue
                                reported = s_index[s[:i] + (sr,) + s[i + 1:]]
                                js = s_index[s]
                                for k in range(K):
                                    wv = mu[k] * P[jd, k, js]
                                    if wv != 0.0:
                                        entries.append((L.z(i, ja, reported, k), wv))
                        add(entries, 0.0)
    # bounded payments: z <= P_max x
    for i in range(n):
        for ja in range(nA):
            for js in range(nS):
                for k in range(K):
                    add([(L.z(i, ja, js, k), 1.0), (L.x0 + ja, -inst.max_payment)], 0.0)
    A_ub = sparse.csr_matrix((vals, (rows, cols)), shape=(r, L.size))
    b_ub = np.array(rhs)

    eq_rows, eq_cols, eq_vals, b_eq = [], [], [], []
    if product_with is None:
        for ja in range(nA):
            eq_rows.append(0), eq_cols.append(ja), eq_vals.append(1.0)
        b_eq.append(1.0)
    else:
        i, w = product_with
        w = np.asarray(w, dtype=float)
        for ja, a in enumerate(profiles):  # x_a - w(a_-i) beta(a_i) = 0
            rest = a[:i] + a[i + 1:]
            eq_rows += [ja, ja]
            eq_cols += [ja, L.extra0 + a[i]]
            eq_vals += [1.0, -float(w[rest]) if w.ndim else -float(w)]
            b_eq.append(0.0)
        for b in range(A_shape[i]):
            eq_rows.append(nA), eq_cols.append(L.extra0 + b), eq_vals.append(1.0)
        b_eq.append(1.0)
    A_eq = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(len(b_eq), L.size))

    bounds = [(0.0, None)] * L.size
    if fixed_x is not None:
        fx = np.asarray(fixed_x, dtype=float).reshape(-1)
        for ja in range(nA):
            bounds[ja] = (fx[ja], fx[ja])
    if allowed is not None:
        mask = np.asarray(allowed, dtype=bool).reshape(-1)
        for ja in range(nA):
            if not mask[ja]:
                bounds[ja] = (0.0, 0.0)
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.array(b_eq), bounds=bounds, method="highs")
    if res.status != 0:
        return Mechanism(np.zeros(A_shape), [], np.zeros(A_shape + S_shape, dtype=int), float("-inf"), [], status=res.message, kind=kind)

    x = np.clip(res.x[:nA], 0.0, None)
    payments = []
    for i in range(n):
        zi = res.x[L.z0 + i * L.zsize: L.z0 + (i + 1) * L.zsize].reshape(nA, nS, K)
        with np.errstate(invalid="ignore", divide="ignore"):
            pi = np.where(x[:, None, None] > 1e-12, zi / np.maximum(x[:, None, None], 1e-300), 0.0)
        payments.append(np.clip(pi, 0.0, inst.max_payment).reshape(A_shape + S_shape + (K,)))
    mech = Mechanism(recommendation=x.reshape(A_shape), payments=payments,
                     decisions=decisions.reshape(A_shape + S_shape), utility=float(-res.fun), kind=kind)
    binding = []
    for i in range(n):
        alabels = inst.action_labels(i)
        for ai in range(A_shape[i]):
            if np.take(mech.recommendation, ai, axis=i).sum() <= 1e-9:
                continue
            obedient = deviation_value(inst, mech, i, ai, ai, mode="truthful")
            for aj in range(A_shape[i]):
                if deviation_value(inst, mech, i, ai, aj, mode="best" if aj != ai else "misreport") >= obedient - 1e-7:
                    binding.append(f"agent {i}: obedience, recommended {alabels[ai]!r} vs {alabels[aj]!r}" if aj != ai
                                   else f"agent {i}: truthful reporting when recommended {alabels[ai]!r}")
    if any((p[x.reshape(A_shape) > 1e-9] >= inst.max_payment - 1e-7).any() for p in payments):
        binding.append("payment cap P_max")
    mech.binding = binding
    return mech


def optimal_mechanism(instance: Instance | Mapping[str, Any], *, margin: float = 0.0) -> Mechanism:
    """The principal-optimal IC mechanism with correlated recommendations (the LP of the module docstring).

    ``result.utility`` (or ``result["utility"]``) is the principal's expected
    utility; ``result.binding`` names the IC constraints that bind.
    ``0 < margin < 1`` asks obedience to stay optimal even if its expected
    payment were cut by that fraction (a relative IC margin, used by the
    online learner to absorb estimation error in ``P``).
    """
    return _solve(instance_from_dict(instance), margin=margin)


def mechanism_for_recommendation(instance: Instance | Mapping[str, Any], recommendation: np.ndarray, kind: str = "fixed") -> Mechanism:
    """The cheapest IC payments for a fixed recommendation distribution ``x``."""
    return _solve(instance_from_dict(instance), fixed_x=recommendation, kind=kind)


def best_single_agent_mechanism(instance: Instance | Mapping[str, Any]) -> Mechanism:
    """The best mechanism that hires one agent: the others are always recommended their cheapest effort."""
    inst = instance_from_dict(instance)
    cheapest = [int(np.argmin(c)) for c in inst.costs]
    best: Mechanism | None = None
    for i in range(inst.n_agents):
        mask = np.zeros(inst.action_shape, dtype=bool)
        for a in np.ndindex(*inst.action_shape):
            mask[a] = all(a[j] == cheapest[j] for j in range(inst.n_agents) if j != i)
        m = _solve(inst, allowed=mask, kind=f"single agent {i}")
        if best is None or m.utility > best.utility:
            best = m
    return best


def best_independent_mechanism(instance: Instance | Mapping[str, Any], grid: int = 101) -> Mechanism:
    """The best mechanism whose recommendations are independent across agents (``x = x_0 (x) ... (x) x_{n-1}``).

    ``x`` is bilinear in the marginals, but linear in the last agent's marginal
    once the others are fixed: the others' marginals run over a grid of the
    simplex (step ``1/(grid-1)``, pure profiles included) and for each, the
    last agent's marginal and the payments come from one LP. The result is the
    best independent mechanism up to that grid.
    """
    inst = instance_from_dict(instance)
    n = inst.n_agents
    if n == 1:
        m = optimal_mechanism(inst)
        m.kind = "independent"
        return m
    last = n - 1
    grids = [_simplex_grid(A_i, grid) for A_i in inst.action_shape[:last]]
    best: Mechanism | None = None
    for marginals in itertools.product(*grids):
        w = marginals[0]
        for m_ in marginals[1:]:
            w = np.multiply.outer(w, m_)
        m = _solve(inst, product_with=(last, w), kind="independent")
        if best is None or m.utility > best.utility:
            best = m
    return best


def _simplex_grid(dim: int, points: int) -> list[np.ndarray]:
    steps = points - 1
    out = []
    for combo in itertools.product(range(steps + 1), repeat=dim - 1):
        if sum(combo) <= steps:
            out.append(np.array(list(combo) + [steps - sum(combo)], dtype=float) / steps)
    return out


# ====================================================================== agents' side
def agent_value(inst: Instance, mech: Mechanism, i: int, recommended: int, action: int, report_map: Sequence[int]) -> float:
    """Agent ``i``'s expected utility (given its recommendation) from effort ``action`` and reports ``report_map[s_i]``.

    Computed by plain enumeration over profiles, states and signals (others obey and report truthfully).
    """
    A_shape, S_shape = inst.action_shape, inst.signal_shape
    x = mech.recommendation
    total_x = 0.0
    value = 0.0
    for a in np.ndindex(*A_shape):
        if a[i] != recommended or x[a] <= 0:
            continue
        total_x += x[a]
        dev = a[:i] + (action,) + a[i + 1:]
        for k in range(inst.n_states):
            for s in np.ndindex(*S_shape):
                prob = inst.prior[k] * inst.joint[dev + (k,) + s]
                if prob == 0:
                    continue
                reported = s[:i] + (report_map[s[i]],) + s[i + 1:]
                value += x[a] * prob * mech.payments[i][a + reported + (k,)]
    if total_x <= 0:
        return float("nan")
    return value / total_x - float(inst.costs[i][action])


def _report_gains(inst: Instance, mech: Mechanism, i: int, recommended: int, action: int) -> np.ndarray:
    """``G[observed, reported]``: agent ``i``'s expected payment (times ``x_i(recommended)``) from each (signal, report)."""
    A_shape, S_shape = inst.action_shape, inst.signal_shape
    S_i = S_shape[i]
    x = mech.recommendation
    G = np.zeros((S_i, S_i))
    for a in np.ndindex(*A_shape):
        if a[i] != recommended or x[a] <= 0:
            continue
        dev = a[:i] + (action,) + a[i + 1:]
        for k in range(inst.n_states):
            for s in np.ndindex(*S_shape):
                prob = inst.prior[k] * inst.joint[dev + (k,) + s]
                if prob == 0:
                    continue
                for r in range(S_i):
                    G[s[i], r] += x[a] * prob * mech.payments[i][a + s[:i] + (r,) + s[i + 1:] + (k,)]
    return G


def deviation_value(inst: Instance, mech: Mechanism, i: int, recommended: int, action: int, mode: str = "best") -> float:
    """Agent ``i``'s expected utility from effort ``action`` given recommendation ``recommended``.

    ``mode="best"`` maximises over reporting maps signal by signal (the
    decomposition behind the LP's ``y`` variables); ``"truthful"`` reports the
    observed signal; ``"misreport"`` is the best map that misreports at least one signal.
    """
    total_x = float(np.take(mech.recommendation, recommended, axis=i).sum())
    if total_x <= 0:
        return float("nan")
    G = _report_gains(inst, mech, i, recommended, action)
    truth = float(np.trace(G))
    if mode == "truthful":
        best = truth
    elif mode == "best":
        best = float(G.max(axis=1).sum())
    else:
        change = G - np.diag(G)[:, None]
        np.fill_diagonal(change, -np.inf)
        per_signal = change.max(axis=1)
        best = truth + (per_signal[per_signal > 0].sum() if (per_signal > 0).any() else per_signal.max())
    return float(best / total_x - inst.costs[i][action])


def best_response(inst: Instance, mech: Mechanism, i: int, recommended: int,
                  exhaustive: bool | None = None) -> tuple[int, tuple[int, ...], float]:
    """Agent ``i``'s best (effort, reporting map) given its recommendation. Returns ``(action, report_map, value)``.

    With ``exhaustive`` (the default when ``|S_i| <= 4``) all ``|A_i| |S_i|^|S_i|``
    plans are enumerated with ``agent_value``; otherwise the best report is
    chosen signal by signal, which is exact because the expected payment is a
    sum over observed signals. Ties favour obedience and truth-telling.
    """
    S_i = inst.signal_shape[i]
    truthful = tuple(range(S_i))
    if exhaustive is None:
        exhaustive = S_i <= 4
    best = (recommended, truthful, agent_value(inst, mech, i, recommended, recommended, truthful))
    for action in range(inst.action_shape[i]):
        if exhaustive:
            plans = itertools.product(range(S_i), repeat=S_i)
        else:
            G = _report_gains(inst, mech, i, recommended, action)
            plans = [tuple(int(r) if G[si, r] > G[si, si] + 1e-12 else si for si, r in enumerate(G.argmax(axis=1)))]
        for report_map in plans:
            v = agent_value(inst, mech, i, recommended, action, report_map)
            if v > best[2] + 1e-9:
                best = (action, tuple(report_map), v)
    return best


def ic_violations(inst: Instance, mech: Mechanism, tol: float = 1e-6) -> list[dict[str, Any]]:
    """Every (agent, recommendation) where some plan beats obedience + truth by more than ``tol``."""
    out = []
    x = mech.recommendation
    for i in range(inst.n_agents):
        for ai in range(inst.action_shape[i]):
            if np.take(x, ai, axis=i).sum() <= 1e-12:
                continue
            truthful = tuple(range(inst.signal_shape[i]))
            base = agent_value(inst, mech, i, ai, ai, truthful)
            action, report_map, value = best_response(inst, mech, i, ai)
            if value > base + tol:
                out.append({"agent": i, "recommended": ai, "action": action, "report_map": report_map, "gain": value - base})
    return out


def principal_value(inst: Instance, mech: Mechanism, behaviour: Mapping[tuple[int, int], tuple[int, Sequence[int]]] | None = None) -> float:
    """The principal's expected utility when agents follow ``behaviour[(i, a_i)] = (action, report_map)``
    (default: obedient and truthful). Decisions and payments use the reports; signals come from the actual efforts."""
    behaviour = behaviour or {}
    A_shape, S_shape = inst.action_shape, inst.signal_shape
    n = inst.n_agents
    x = mech.recommendation
    value = 0.0
    for a in np.ndindex(*A_shape):
        if x[a] <= 0:
            continue
        plans = [behaviour.get((i, a[i]), (a[i], tuple(range(S_shape[i])))) for i in range(n)]
        actual = tuple(plan[0] for plan in plans)
        for k in range(inst.n_states):
            for s in np.ndindex(*S_shape):
                prob = inst.prior[k] * inst.joint[actual + (k,) + s]
                if prob == 0:
                    continue
                reported = tuple(plans[i][1][s[i]] for i in range(n))
                d = mech.decisions[a + reported]
                pay = sum(mech.payments[i][a + reported + (k,)] for i in range(n))
                value += x[a] * prob * (inst.utility[d, k] - pay)
    return float(value)


def unilateral_best_responses(inst: Instance, mech: Mechanism) -> dict[tuple[int, int], tuple[int, tuple[int, ...]]]:
    """Each agent's best plan per recommendation, assuming the others obey (used to evaluate non-IC mechanisms)."""
    out = {}
    for i in range(inst.n_agents):
        for ai in range(inst.action_shape[i]):
            if np.take(mech.recommendation, ai, axis=i).sum() > 1e-12:
                action, report_map, _ = best_response(inst, mech, i, ai)
                out[(i, ai)] = (action, report_map)
    return out


# ====================================================================== worked example
def correlation_example(cost: float = 0.05, max_payment: float = 0.3) -> Instance:
    """Two symmetric agents where correlated recommendations are strictly better than independent ones.

    State ``theta`` in {0, 1} uniform; the principal guesses ``d`` and gets
    ``u(d, theta) = 1{d = theta}``. Each agent either shirks (cost 0, signal
    a fair coin, independent of everything) or works (cost ``cost``) and sees
    ``theta XOR eta``, where the noise bit ``eta`` (``P(eta = 1) = 0.3``) is
    *common* to all agents that work. One worker's report is worth
    0.7 to the principal and a second one adds nothing, but a second worker
    makes monitoring cheap: two workers always agree, a shirker agrees with a
    worker only half the time. Paying an agent only on agreement in profiles
    where both are recommended to work, with probability of (work, work) kept
    small and payments capped at ``max_payment``, costs less when the two
    agents are never both idle, i.e. with correlated recommendations
    ``{(work, shirk), (shirk, work), (work, work)}``; an independent
    recommendation cannot put zero mass on (shirk, shirk) while splitting the
    work between both agents.
    """
    q = 0.7
    K = 2
    joint = np.zeros((2, 2, K, 2, 2))
    for theta in range(K):
        for eta, pe in ((0, q), (1, 1 - q)):
            seen = theta ^ eta
            # both work: both see the same noisy bit
            joint[1, 1, theta, seen, seen] += pe
            for coin in range(2):
                joint[1, 0, theta, seen, coin] += pe * 0.5
                joint[0, 1, theta, coin, seen] += pe * 0.5
        for c0 in range(2):
            for c1 in range(2):
                joint[0, 0, theta, c0, c1] = 0.25
    return Instance(
        prior=[0.5, 0.5], utility=np.eye(2), costs=[[0.0, cost], [0.0, cost]], joint=joint, max_payment=max_payment,
        states=["low", "high"], decisions=["low", "high"], actions=[["shirk", "work"], ["shirk", "work"]],
        signal_names=[["low", "high"], ["low", "high"]],
    )


def online_example() -> Instance:
    """The instance of ``bench/information_regret.py``: two agents with conditionally independent signals.

    Binary state, uniform prior, ``u(d, theta) = 1{d = theta}``; agent 0 works
    at cost 0.05 for a signal of accuracy 0.8, agent 1 at cost 0.08 for 0.85;
    shirking is free and uninformative; ``P_max = 1``.
    """
    def accuracy(q: float) -> list:
        return [[[0.5, 0.5], [0.5, 0.5]], [[q, 1 - q], [1 - q, q]]]

    return instance_from_dict({
        "prior": [0.5, 0.5], "utility": [[1, 0], [0, 1]], "costs": [[0, 0.05], [0, 0.08]],
        "signals": [accuracy(0.8), accuracy(0.85)], "max_payment": 1.0,
        "states": ["low", "high"], "decisions": ["low", "high"], "actions": [["shirk", "work"], ["shirk", "work"]],
        "signal_names": [["low", "high"], ["low", "high"]],
    })


# ====================================================================== online learning
@dataclass
class OnlineResult:
    """Outcome of an explore-then-commit run of ``T`` rounds (pseudo-regret: expected per-round losses)."""

    T: int
    explore_rounds: int
    margin: float
    optimum: float
    committed_utility: float
    regret: float
    committed: Mechanism | None = None


def estimate_signals(counts: np.ndarray, smoothing: float = 0.5) -> np.ndarray:
    """Empirical ``P_hat(s | theta, a)`` from counts ``N[a, theta, s]`` (flattened), add-``smoothing`` (Krichevsky–Trofimov)."""
    counts = np.asarray(counts, dtype=float)
    return (counts + smoothing) / (counts.sum(axis=2, keepdims=True) + smoothing * counts.shape[2])


def estimate_independent_signals(inst: Instance, counts: np.ndarray, smoothing: float = 0.5) -> np.ndarray:
    """``prod_i P_hat_i(s_i | theta, a_i)`` from joint counts ``N[a..., theta, s...]``, when signals are known to be
    conditionally independent given the state: each agent's table pools the rounds of every profile with its effort."""
    n = inst.n_agents
    tables = []
    for i in range(n):
        sum_axes = tuple(j for j in range(n) if j != i) + tuple(n + 1 + j for j in range(n) if j != i)
        c = counts.sum(axis=sum_axes)                                   # (A_i, K, S_i)
        tables.append((c + smoothing) / (c.sum(axis=2, keepdims=True) + smoothing * c.shape[2]))
    return joint_from_independent(tables)


def commit_mechanism(inst_known: Instance, joint_hat: np.ndarray, margin: float) -> Mechanism:
    """Solve the LP on the estimated signal structure, robustified against estimation error.

    Two safeguards, both of order ``margin``: in the LP obedience must stay
    optimal even if the obedient expected payment were cut by the fraction
    ``margin``, and each agent gets a reporting bonus
    ``margin * P_max / 8 * (1 + S_quad(q, theta))``
    where ``q`` is the posterior over the state implied by its report under
    the estimated model and its recommended effort, and ``S_quad`` is the
    quadratic scoring rule (strictly proper, so a misreport that moves the
    posterior strictly loses). Agents whose estimated posterior moves by at
    most ``margin`` (an uninformative effort, up to estimation noise) get no
    bonus. The margin is halved until the LP is feasible.
    """
    estimated = inst_known.with_joint(joint_hat)
    mech = None
    margin = min(margin, 0.5)
    for _ in range(30):
        mech = optimal_mechanism(estimated, margin=margin)
        if np.isfinite(mech.utility):
            break
        margin /= 2
    if mech is None or not np.isfinite(mech.utility):
        mech = optimal_mechanism(estimated)
        margin = 0.0
    if margin > 0:
        _add_reporting_bonus(estimated, mech, margin * inst_known.max_payment / 8, threshold=margin)
    return mech


def _add_reporting_bonus(inst: Instance, mech: Mechanism, beta: float, threshold: float) -> None:
    n, K = inst.n_agents, inst.n_states
    for i in range(n):
        # marginal P_i(s_i | theta, a): sum out the other agents' signals
        other_axes = tuple(n + 1 + j for j in range(n) if j != i)
        marginal = inst.joint.sum(axis=other_axes) if other_axes else inst.joint   # (A..., K, S_i)
        post = inst.prior.reshape((1,) * n + (K, 1)) * marginal
        post = post / np.maximum(post.sum(axis=n, keepdims=True), 1e-300)          # q(theta | s_i, a)
        brier = 2 * post - (post ** 2).sum(axis=n, keepdims=True)                 # S_quad(q, theta)
        bonus = beta * (1.0 + brier)                                               # (A..., K, S_i) >= 0
        # an estimated-uninformative signal gets no bonus: estimation noise would make its reports
        # non-indifferent and the agent would game the bonus with a report that others' payments depend on
        spread = np.abs(post - inst.prior.reshape((1,) * n + (K, 1))).max(axis=(n, n + 1))  # (A...)
        for a in np.ndindex(*inst.action_shape):
            if mech.recommendation[a] <= 0 or spread[a] <= threshold:
                continue
            for s in np.ndindex(*inst.signal_shape):
                for k in range(K):
                    mech.payments[i][a + s + (k,)] += bonus[a + (k, s[i])]
    mech.kind += " + reporting bonus"


def explore_rounds_for(T: int, n_profiles: int, scale: float = 1.0) -> int:
    """``T0 = ceil(scale * T^(2/3))`` exploration rounds, at least one per effort profile."""
    return int(min(T, max(n_profiles, math.ceil(scale * T ** (2.0 / 3.0)))))


def margin_for(inst: Instance, explore_rounds: int, scale: float = 0.5) -> float:
    """Relative IC margin ``scale * sqrt(|S| K / n0)`` (capped at 1/2) with ``n0`` exploration rounds per profile:
    the order of the L1 estimation error of ``P(. | theta, a)``."""
    n0 = max(1, explore_rounds // inst.n_profiles)
    return min(0.5, scale * math.sqrt(inst.n_signal_profiles * inst.n_states / n0))


def exploration_utility(inst: Instance) -> float:
    """Expected per-round principal utility while exploring: profiles in turn, each agent reimbursed its cost,
    and the decision that is best under the prior alone (the signal model is not known yet)."""
    prior_value = float((inst.utility @ inst.prior).max())
    reimbursed = np.mean([sum(inst.costs[i][a[i]] for i in range(inst.n_agents)) for a in np.ndindex(*inst.action_shape)])
    return prior_value - float(reimbursed)


def explore_then_commit(inst: Instance | Mapping[str, Any], T: int, rng: np.random.Generator | int | None = None, *,
                        explore_scale: float = 3.0, margin_scale: float = 0.5, smoothing: float = 0.5,
                        independent_signals: bool = False, optimum: float | None = None) -> OnlineResult:
    """Simulate the explore-then-commit learner for ``T`` rounds and return its pseudo-regret against the optimal IC mechanism.

    Known to the principal: prior, its utility, costs, ``P_max``. Unknown: the
    signal structure ``P(s | theta, a)``. Exploration (``T0 ~ T^(2/3)``
    rounds) recommends every effort profile in turn, reimburses costs, and
    records (state, reports); agents are assumed to follow recommendations
    and report truthfully while exploring (an assumption of this simplified
    learner, not a property it enforces). The counts are drawn at once
    (multinomial per profile), so ``T = 10^5`` costs no more than ``T = 10^3``.
    The principal then commits to the LP on the estimate with the IC margin
    ``margin_for``; the true agents best-respond to it (so a mechanism that
    is not IC under the true ``P`` is punished), and the per-round loss is
    ``OPT - principal_value``. Regret = ``T0 (OPT - exploration utility) +
    (T - T0) (OPT - committed value)``. With ``independent_signals`` the
    principal knows the signals are conditionally independent given the state
    and estimates each agent's table from all rounds with its effort
    (``estimate_independent_signals``), which is what the regret benchmark
    uses; otherwise it estimates the joint table profile by profile.
    """
    inst = instance_from_dict(inst)
    rng = np.random.default_rng(rng)
    if optimum is None:
        optimum = optimal_mechanism(inst).utility
    T0 = explore_rounds_for(T, inst.n_profiles, explore_scale)
    per_profile = np.full(inst.n_profiles, T0 // inst.n_profiles)
    per_profile[: T0 % inst.n_profiles] += 1
    P = inst.flat()
    probs = inst.prior[None, :, None] * P                          # (nA, K, nS)
    counts = np.stack([rng.multinomial(int(m), probs[a].reshape(-1)).reshape(probs[a].shape) for a, m in enumerate(per_profile)])
    if independent_signals:
        joint_hat = estimate_independent_signals(inst, counts.reshape(inst.action_shape + (inst.n_states,) + inst.signal_shape), smoothing)
    else:
        joint_hat = estimate_signals(counts, smoothing).reshape(inst.joint.shape)
    margin = margin_for(inst, T0, margin_scale)
    mech = commit_mechanism(inst, joint_hat, margin)
    behaviour = unilateral_best_responses(inst, mech)
    committed = principal_value(inst, mech, behaviour)
    regret = T0 * (optimum - exploration_utility(inst)) + (T - T0) * (optimum - committed)
    return OnlineResult(T=T, explore_rounds=T0, margin=margin, optimum=optimum, committed_utility=committed,
                        regret=float(regret), committed=mech)


def fit_loglog_slope(T: Sequence[float], regret: Sequence[float]) -> float:
    """Least-squares slope of ``log regret`` on ``log T``."""
    return float(np.polyfit(np.log(np.asarray(T, dtype=float)), np.log(np.asarray(regret, dtype=float)), 1)[0])


class ExploreThenCommit:
    """The learner of ``explore_then_commit``, one round at a time (used by the information world).

    ``mechanism(t)`` is the mechanism announced in round ``t``: while
    exploring, profile ``t mod |A|`` is recommended for sure, each agent is
    reimbursed its cost and the principal decides on the prior alone; from
    round ``explore_rounds`` on, the committed mechanism. ``record`` feeds
    one exploration round's (profile, state, reports).
    """

    def __init__(self, known: Instance, T: int, *, explore_scale: float = 3.0, margin_scale: float = 0.5,
                 smoothing: float = 0.5, independent_signals: bool = False) -> None:
        self.known = known
        self.T = T
        self.explore_rounds = explore_rounds_for(T, known.n_profiles, explore_scale)
        self.margin = margin_for(known, self.explore_rounds, margin_scale)
        self.smoothing = smoothing
        self.independent_signals = independent_signals
        self.counts = np.zeros(known.action_shape + (known.n_states,) + known.signal_shape)
        self.committed: Mechanism | None = None
        self._profiles = list(np.ndindex(*known.action_shape))

    def exploring(self, t: int) -> bool:
        return t < self.explore_rounds

    def mechanism(self, t: int) -> Mechanism:
        if not self.exploring(t):
            if self.committed is None:
                self.committed = self.commit()
            return self.committed
        profile = self._profiles[t % len(self._profiles)]
        x = np.zeros(self.known.action_shape)
        x[profile] = 1.0
        K = self.known.n_states
        payments = []
        for i in range(self.known.n_agents):
            p = np.zeros(self.known.action_shape + self.known.signal_shape + (K,))
            p[profile] = self.known.costs[i][profile[i]]
            payments.append(p)
        prior_best = int(np.argmax(self.known.utility @ self.known.prior))
        decisions = np.full(self.known.action_shape + self.known.signal_shape, prior_best, dtype=int)
        return Mechanism(x, payments, decisions, exploration_utility(self.known), [], kind="exploration")

    def record(self, profile: tuple[int, ...], state: int, reports: tuple[int, ...]) -> None:
        self.counts[tuple(profile) + (int(state),) + tuple(reports)] += 1

    def commit(self) -> Mechanism:
        if self.independent_signals:
            joint_hat = estimate_independent_signals(self.known, self.counts, self.smoothing)
        else:
            flat = self.counts.reshape(self.known.n_profiles, self.known.n_states, self.known.n_signal_profiles)
            joint_hat = estimate_signals(flat, self.smoothing).reshape(self.known.joint.shape)
        return commit_mechanism(self.known, joint_hat, self.margin)
