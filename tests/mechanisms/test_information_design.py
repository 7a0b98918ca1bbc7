"""The optimal IC mechanism LP (Cacciamani, Castiglioni & Gatti 2023) against brute force and hand-derived values."""

import itertools

import numpy as np
import pytest

from mechanisms import information_design as idesign


# ---------------------------------------------------------------- a brute-force oracle written from the model alone
def _single_agent_instance(cost=0.06, accuracy=0.8, max_payment=0.3):
    # one agent; shirk: uninformative coin; work: signal = state w.p. `accuracy`; principal guesses the state
    coin = [[0.5, 0.5], [0.5, 0.5]]
    informed = [[accuracy, 1 - accuracy], [1 - accuracy, accuracy]]
    return idesign.instance_from_dict({
        "prior": [0.5, 0.5], "utility": [[1, 0], [0, 1]], "costs": [[0.0, cost]],
        "signals": [[coin, informed]], "max_payment": max_payment,
    })


def _brute_force_single_agent(prior, P, cost, utility, pay_grid, rec_grid):
    """Max principal utility over recommendations x(work) on a grid and payments p(s, theta) for 'work' on a grid
    (a shirker is paid nothing), keeping the IC ones: checked by enumerating every effort and reporting map."""
    S, K = P.shape[2], P.shape[1]
    maps = list(itertools.product(range(S), repeat=S))
    grids = np.array(list(itertools.product(pay_grid, repeat=S * K)))      # (G, S*K): p[s, k]
    pay = grids.reshape(-1, S, K)
    joint = prior[None, :, None] * P                                        # (A, K, S): P(theta, s | a)

    def expected_pay(action, phi):  # E[p(phi(s), theta)] when exerting `action`
        return sum(joint[action, k, s] * pay[:, phi[s], k] for k in range(K) for s in range(S))

    obedient = expected_pay(1, tuple(range(S))) - cost[1]
    best_dev = np.max([expected_pay(a, phi) - cost[a] for a in range(2) for phi in maps], axis=0)
    ic_work = obedient >= best_dev - 1e-12
    # principal's value of a worker's report: best decision per signal
    W = [sum(max(sum(joint[a, k, s] * utility[d, k] for k in range(K)) for d in range(utility.shape[0])) for s in range(S))
         for a in range(2)]
    # recommending shirk with zero pay is always IC: working would only add its cost
    principal_work = W[1] - expected_pay(1, tuple(range(S)))
    best = -np.inf
    for x in rec_grid:   # x = P(recommend work)
        if x == 0:
            best = max(best, W[0])
            continue
        candidates = np.where(ic_work, x * principal_work + (1 - x) * W[0], -np.inf)
        best = max(best, float(candidates.max()))
    return best


def test_lp_matches_brute_force_on_a_single_agent_instance():
    inst = _single_agent_instance()
    lp = idesign.optimal_mechanism(inst)
    brute = _brute_force_single_agent(inst.prior, inst.joint, inst.costs[0], inst.utility,
                                      pay_grid=np.round(np.arange(0, 0.3001, 0.05), 10), rec_grid=np.linspace(0, 1, 21))
    assert lp.utility == pytest.approx(brute, abs=1e-9)
    # and the closed form: pay P on matching (report = state): IC 0.8P - 0.06 >= 0.5P -> P = 0.2, cost 0.16
    assert lp.utility == pytest.approx(0.8 - 0.8 * 0.06 / 0.3, abs=1e-9)


def test_lp_upper_bounds_brute_force_when_the_grid_misses_the_optimum():
    inst = _single_agent_instance(cost=0.05)           # optimal P = 1/6 is not on the 0.05 grid
    lp = idesign.optimal_mechanism(inst)
    brute = _brute_force_single_agent(inst.prior, inst.joint, inst.costs[0], inst.utility,
                                      pay_grid=np.round(np.arange(0, 0.3001, 0.05), 10), rec_grid=np.linspace(0, 1, 21))
    assert brute <= lp.utility + 1e-9
    assert lp.utility - brute < 0.8 * 0.05 / 0.3 * 0.25   # within the grid's rounding of the payment
    assert lp.utility == pytest.approx(0.8 - 0.8 * 0.05 / 0.3, abs=1e-9)


def _random_instance(rng, n_signals=2):
    K = 2
    signals = []
    for _ in range(2):
        shirk = np.full((K, n_signals), 1.0 / n_signals)
        work = rng.dirichlet(np.ones(n_signals) * 0.6, size=K)
        signals.append([shirk.tolist(), work.tolist()])
    return idesign.instance_from_dict({
        "prior": rng.dirichlet(np.ones(K)).tolist(), "utility": np.eye(K).tolist(),
        "costs": [[0.0, float(rng.uniform(0.01, 0.08))], [0.0, float(rng.uniform(0.01, 0.08))]],
        "signals": signals, "max_payment": 1.0,
    })


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lp_mechanism_is_ic_by_enumeration_and_worth_what_it_claims(seed):
    inst = _random_instance(np.random.default_rng(seed))
    mech = idesign.optimal_mechanism(inst)
    assert idesign.ic_violations(inst, mech, tol=1e-7) == []
    assert idesign.principal_value(inst, mech) == pytest.approx(mech.utility, abs=1e-7)
    assert mech.recommendation.sum() == pytest.approx(1.0)
    assert all((p >= -1e-12).all() and (p <= inst.max_payment + 1e-9).all() for p in mech.payments)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lp_is_at_least_every_fixed_recommendation_on_a_grid(seed):
    # brute force over a discretised recommendation space: the best fixed x (cheapest IC payments for it) never beats the LP
    inst = _random_instance(np.random.default_rng(seed))
    lp = idesign.optimal_mechanism(inst).utility
    best = -np.inf
    for x in idesign._simplex_grid(4, 6):
        m = idesign.mechanism_for_recommendation(inst, x.reshape(2, 2))
        best = max(best, m.utility)
    assert best <= lp + 1e-9
    assert best >= idesign.best_single_agent_mechanism(inst).utility - 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_correlated_at_least_independent_and_single_agent(seed):
    inst = _random_instance(np.random.default_rng(seed))
    corr = idesign.optimal_mechanism(inst).utility
    assert corr >= idesign.best_independent_mechanism(inst, grid=21).utility - 1e-9
    assert corr >= idesign.best_single_agent_mechanism(inst).utility - 1e-9


def test_correlation_strictly_helps_on_the_constructed_instance():
    c, cap = 0.05, 0.3
    inst = idesign.correlation_example(cost=c, max_payment=cap)
    corr = idesign.optimal_mechanism(inst)
    indep = idesign.best_independent_mechanism(inst, grid=101)
    single = idesign.best_single_agent_mechanism(inst)
    # hand derivation (see correlation_example): both agents paid P_max on agreement in (work, work), which has
    # probability lam = c / (P_max - c); one worker is worth 0.7 -> 0.7 - 2 c P_max / (P_max - c)
    assert corr.utility == pytest.approx(0.7 - 2 * c * cap / (cap - c), abs=1e-9)
    assert corr.recommendation[0, 0] == pytest.approx(0.0, abs=1e-9)          # never both idle
    assert corr.recommendation[1, 1] == pytest.approx(c / (cap - c), abs=1e-9)
    # single worker, paid on matching the state (ratio 0.7 / 0.5): 0.7 - c * 0.7 / 0.2
    assert single.utility == pytest.approx(0.7 - c * 0.7 / 0.2, abs=1e-9)
    # best independent on the grid: agent 0 always works, agent 1 works w.p. 2c/P_max -> 0.7 - 2c - 4c^2/P_max
    assert indep.utility == pytest.approx(0.7 - 2 * c - 4 * c * c / cap, abs=1e-6)
    assert corr.utility > indep.utility + 0.01
    assert idesign.ic_violations(inst, corr) == []


def test_interface_accepts_a_dict_and_exposes_utility_both_ways():
    data = {"prior": [0.5, 0.5], "utility": [[1, 0], [0, 1]], "costs": [[0, 0.06]],
            "signals": [[[[0.5, 0.5], [0.5, 0.5]], [[0.8, 0.2], [0.2, 0.8]]]], "max_payment": 0.3}
    result = idesign.optimal_mechanism(data)
    assert result.utility == result["utility"] == pytest.approx(0.64)
    assert any("obedience" in b for b in result.binding)


def test_bad_instances_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match="sum to 1"):
        idesign.instance_from_dict({"prior": [0.5, 0.5], "utility": [[1, 0], [0, 1]], "costs": [[0, 1]],
                                    "signals": [[[[0.5, 0.6], [0.5, 0.5]], [[1, 0], [0, 1]]]]})
    with pytest.raises(ValueError, match="unknown instance keys"):
        idesign.instance_from_dict({"prior": [1.0], "utility": [[1]], "costs": [[0]], "signals": [], "oops": 1})
    with pytest.raises(ValueError, match="exactly one of"):
        idesign.instance_from_dict({"prior": [1.0], "utility": [[1]], "costs": [[0]]})


def test_online_learner_regret_is_sublinear_with_slope_below_three_quarters():
    inst = idesign.online_example()
    opt = idesign.optimal_mechanism(inst).utility
    horizons = [10**3, 10**4, 10**5]
    regret = [np.mean([idesign.explore_then_commit(inst, T, seed, independent_signals=True, optimum=opt).regret
                       for seed in range(20)]) for T in horizons]
    slope = idesign.fit_loglog_slope(horizons, regret)
    assert slope <= 0.75, (regret, slope)
    assert regret[2] / horizons[2] < regret[0] / horizons[0] / 3       # average regret per round falls
    assert all(r > 0 for r in regret)


@pytest.mark.parametrize("seed", [3, 4])
def test_signal_by_signal_best_response_equals_exhaustive_search(seed):
    inst = _random_instance(np.random.default_rng(seed), n_signals=3)
    mech = idesign.optimal_mechanism(inst)
    # perturb payments so that the mechanism is not IC and best responses are non-trivial
    rng = np.random.default_rng(seed)
    mech.payments = [p + rng.uniform(0, 0.2, size=p.shape) * (mech.recommendation[(...,) + (None,) * (p.ndim - 2)] > 0)
                     for p in mech.payments]
    for i in range(2):
        for ai in range(2):
            if np.take(mech.recommendation, ai, axis=i).sum() <= 0:
                continue
            exhaustive = idesign.best_response(inst, mech, i, ai, exhaustive=True)
            fast = idesign.best_response(inst, mech, i, ai, exhaustive=False)
            assert fast[2] == pytest.approx(exhaustive[2], abs=1e-12)


def test_three_agents_lp_is_ic_by_enumeration():
    rng = np.random.default_rng(9)
    signals = [[[[0.5, 0.5], [0.5, 0.5]], [[q, 1 - q], [1 - q, q]]] for q in (0.7, 0.75, 0.8)]
    inst = idesign.instance_from_dict({"prior": [0.5, 0.5], "utility": [[1, 0], [0, 1]],
                                       "costs": [[0, float(c)] for c in rng.uniform(0.01, 0.05, size=3)],
                                       "signals": signals, "max_payment": 1.0})
    mech = idesign.optimal_mechanism(inst)
    assert idesign.ic_violations(inst, mech) == []
    assert idesign.principal_value(inst, mech) == pytest.approx(mech.utility, abs=1e-7)
    assert mech.utility >= idesign.best_single_agent_mechanism(inst).utility - 1e-9
