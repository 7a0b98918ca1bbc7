"""Normal-form games: Nash, correlated and quantal-response equilibria, dominance, regret.

Payoffs of an N-player game are an array ``u`` of shape ``(n, a_1, ..., a_n)``:
``u[i][s]`` is player i's payoff at pure profile ``s``. A two-player (bimatrix)
game is given as ``A`` (row player's payoffs, ``m x n``) and ``B`` (column
player's); ``bimatrix(u)`` / ``stack(A, B)`` convert between the two forms.

Every equilibrium solver returns the same shape, a :class:`NashResult` (like
Gambit's ``NashComputationResult``): ``method``, ``equilibria`` (a list of
:class:`Equilibrium`, each with one mixed strategy per player and the expected
payoffs), ``degenerate`` / ``complete`` flags, and ``notes``. Strategies are
float arrays; ``Equilibrium.exact()`` gives them as ``fractions.Fraction``
(rounded with a tolerance check), which for rational payoffs are the exact
rational equilibria that Gambit's ``rational=True`` solvers report.

Algorithms and references
-------------------------
* Support enumeration and vertex enumeration: B. von Stengel, "Equilibrium
  computation for two-player games in strategic and extensive form", ch. 3 of
  Nisan, Roughgarden, Tardos & Vazirani (eds.), *Algorithmic Game Theory*
  (2007), Sec. 3.3 (Algorithm 3.4, best-response polytopes, Thm 3.6) and
  Sec. 3.5 (Lemke–Howson, Algorithm 3.6).
* Lemke & Howson (1964), "Equilibrium points of bimatrix games", SIAM J. 12.
* Zero-sum games: von Neumann's minimax theorem as an LP (Dantzig 1951).
* Correlated equilibrium: Aumann (1974, 1987); the LP of Papadimitriou &
  Roughgarden (2008), "Computing correlated equilibria in multi-player games".
* Logit QRE: McKelvey & Palfrey (1995), "Quantal response equilibria for
  normal form games", GEB 10, eq. (4); the principal branch from lambda = 0
  (Turocy 2005, "A dynamic homotopy interpretation of the logit QRE"); which
  branch in symmetric games: see :func:`logit_qre`. N players: ``mechanisms.logit``.

Modules (one algorithm each, as nashpy's ``algorithms/``): ``result`` (the result
shape), ``profiles`` (payoffs, regret, pure equilibria), ``dominance``, ``polytope``
(best-response polytope vertices and the conditioning test), ``support``, ``vertex``,
``pivoting`` (Lemke–Howson), ``rational`` (exact arithmetic), ``zero_sum``,
``correlated``, ``quantal`` (logit QRE). Every public name is importable from
``mechanisms.normal_form`` itself.
"""

from mechanisms.normal_form.result import DegenerateGameError, DegenerateGameWarning, Equilibrium, NashResult, to_fraction
from mechanisms.normal_form.profiles import action_values, best_responses, bimatrix, expected_payoffs, is_nash, pure_equilibria, regret, stack
from mechanisms.normal_form.dominance import iterated_elimination
from mechanisms.normal_form.support import support_enumeration
from mechanisms.normal_form.vertex import equilibria, vertex_enumeration
from mechanisms.normal_form.rational import rational_equilibrium
from mechanisms.normal_form.pivoting import lemke_howson, lemke_howson_all
from mechanisms.normal_form.zero_sum import zero_sum_value
from mechanisms.normal_form.correlated import correlated_equilibrium
from mechanisms.normal_form.quantal import logit_qre

__all__ = [
    "DegenerateGameError",
    "DegenerateGameWarning",
    "Equilibrium",
    "NashResult",
    "action_values",
    "best_responses",
    "bimatrix",
    "correlated_equilibrium",
    "equilibria",
    "expected_payoffs",
    "is_nash",
    "iterated_elimination",
    "lemke_howson",
    "lemke_howson_all",
    "logit_qre",
    "pure_equilibria",
    "rational_equilibrium",
    "regret",
    "stack",
    "support_enumeration",
    "to_fraction",
    "vertex_enumeration",
    "zero_sum_value",
]
