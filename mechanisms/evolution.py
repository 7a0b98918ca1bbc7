"""Evolutionary dynamics of normal-form games: replicator and best-response dynamics, Moran process.

Models and references
---------------------
* Replicator dynamics (Taylor & Jonker 1978; Hofbauer & Sigmund 1998, *Evolutionary
  Games and Population Dynamics*, ch. 7). One population playing the symmetric game
  with payoff matrix ``A`` (row = own strategy):
  ``dx_i/dt = x_i ((A x)_i - x^T A x)``. Two populations playing the bimatrix game
  ``(A, B)`` (Hofbauer & Sigmund ch. 10):
  ``dx_i/dt = x_i ((A y)_i - x^T A y)``, ``dy_j/dt = y_j ((B^T x)_j - x^T B y)``.
* Best-response dynamics (Gilboa & Matsui 1991; Hofbauer & Sigmund Sec. 8.4):
  ``dx/dt = BR(x) - x`` with ``BR`` the uniform mix over the pure best replies
  (a selection from the best-reply correspondence), integrated by explicit Euler.
* Rest points of the replicator dynamics are the profiles at which every strategy in
  use earns the same payoff: for each support, the solution of the indifference system
  on it. Stability is read from the eigenvalues of the Jacobian restricted to the
  simplex (tangent space ``sum dx = 0``; the faces are invariant): all real parts
  negative = asymptotically stable, some positive = unstable, else non-hyperbolic
  (e.g. the centre of rock-paper-scissors, whose orbits are closed).
* Moran process (Moran 1958; Nowak, Sasaki, Taylor & Fudenberg 2004, "Emergence of
  cooperation and evolutionary stability in finite populations", Nature 428; Nowak 2006,
  *Evolutionary Dynamics*, ch. 6): a population of ``N`` playing the symmetric 2x2 game
  ``[[a, b], [c, d]]`` (strategy 0 = mutant A, 1 = resident B) with fitness
  ``1 - w + w * payoff`` (selection intensity ``w``). The fixation probability of ``i``
  mutants has the closed form
  ``phi_i = (1 + sum_{k=1}^{i-1} prod_{j=1}^k g_j) / (1 + sum_{k=1}^{N-1} prod_{j=1}^k g_j)``,
  ``g_j = f_B(j) / f_A(j)``; :func:`moran_fixation` also solves the absorbing Markov
  chain directly so the two can be checked against each other. ``fitness="exponential"``
  uses ``exp(w * payoff)`` instead (Traulsen, Shoresh & Nowak 2008, Bull. Math. Biol. 70),
  positive for any payoffs and any ``w >= 0``.
* Pairwise comparison with the Fermi rule (Szabo & Toke 1998; Traulsen, Nowak & Pacheco
  2006, "Stochastic dynamics of invasion and fixation", Phys. Rev. E 74): a random focal
  individual copies a random other one with probability ``1 / (1 + exp(-beta (pi_model -
  pi_focal)))``. Since ``T-/T+ = exp(-beta (pi_A - pi_B))`` its fixation probabilities are
  those of the exponential-fitness Moran process with ``w = beta``;
  :func:`pairwise_comparison_fixation` solves its own chain to check that.
* Mean dynamics of these finite-population processes as the population grows
  (:func:`imitation_dynamics`; Sandholm 2010, *Population Games and Evolutionary Dynamics*,
  ch. 4-5; Traulsen, Claussen & Hauert 2005, PRL 95): proportional imitation (Schlag 1998,
  JET 78: copy a better model with probability proportional to the payoff difference)
  gives the replicator dynamics slowed by the payoff range; the Fermi rule gives
  ``dx_s/dt = x_s sum_r x_r tanh(beta (pi_s - pi_r) / 2)``; the Moran process gives
  ``dx_s/dt = x_s (f_s / f_bar - 1)``. Time is in generations (N revisions each).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """A solution of the dynamics: ``times`` (T,) and ``states`` (T, d); bimatrix states are ``[x, y]``."""

    times: np.ndarray
    states: np.ndarray


@dataclass(frozen=True)
class RestPoint:
    """A rest point, the real parts of its Jacobian's eigenvalues on the simplex, and their verdict."""

    state: np.ndarray
    eigenvalues: np.ndarray
    stability: str  # "stable", "unstable" or "non-hyperbolic"

    def to_dict(self) -> dict:
        return {"state": self.state.tolist(), "eigenvalues": [complex(v).real for v in self.eigenvalues],
                "eigenvalues_imag": [complex(v).imag for v in self.eigenvalues], "stability": self.stability}


def _matrix(A) -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or min(A.shape) < 1:
        raise ValueError(f"payoffs must be a matrix, got shape {A.shape}")
    return A


def _simplex_point(x, size: int, who: str = "x0") -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.shape != (size,) or (x < 0).any() or abs(x.sum() - 1) > 1e-9:
        raise ValueError(f"{who} must be a probability vector of length {size}")
    return x


# --------------------------------------------------------------------------- vector fields


def replicator_field(A, x: np.ndarray) -> np.ndarray:
    """``x_i ((A x)_i - x^T A x)``: the one-population replicator vector field."""
    Ax = _matrix(A) @ x
    return x * (Ax - x @ Ax)


def replicator_field_bimatrix(A, B, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two-population replicator vector field at ``(x, y)``."""
    Ay, Bx = _matrix(A) @ y, _matrix(B).T @ x
    return x * (Ay - x @ Ay), y * (Bx - y @ Bx)


def replicator(A, x0, t_max: float = 50.0, points: int = 500, B=None, y0=None) -> Trajectory:
    """Integrate the replicator dynamics from ``x0`` (and ``y0`` for a bimatrix game ``(A, B)``).

    ``scipy.integrate.solve_ivp`` (RK45, rtol 1e-9); states are renormalised onto the simplex.
    """
    from scipy.integrate import solve_ivp  # here: scipy.integrate costs a quarter second of every import

    A = _matrix(A)
    times = np.linspace(0.0, t_max, points)
    if B is None:
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"a symmetric game needs a square matrix, got {A.shape}; pass B for a bimatrix game")
        x0 = _simplex_point(x0, A.shape[0])
        sol = solve_ivp(lambda t, x: replicator_field(A, x), (0.0, t_max), x0, t_eval=times, rtol=1e-9, atol=1e-12)
        states = sol.y.T
        states = np.clip(states, 0.0, None)
        return Trajectory(sol.t, states / states.sum(axis=1, keepdims=True))
    B = _matrix(B)
    m, n = A.shape
    z0 = np.r_[_simplex_point(x0, m), _simplex_point(y0, n, "y0")]

    def field(t, z):
        return np.r_[replicator_field_bimatrix(A, B, z[:m], z[m:])]

    sol = solve_ivp(field, (0.0, t_max), z0, t_eval=times, rtol=1e-9, atol=1e-12)
    states = np.clip(sol.y.T, 0.0, None)
    states[:, :m] /= states[:, :m].sum(axis=1, keepdims=True)
    states[:, m:] /= states[:, m:].sum(axis=1, keepdims=True)
    return Trajectory(sol.t, states)


def _best_reply(values: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    best = values >= values.max() - tol
    return best / best.sum()


def best_response_dynamics(A, x0, t_max: float = 50.0, dt: float = 0.01, B=None, y0=None) -> Trajectory:
    """Integrate ``dx/dt = BR(x) - x`` (and ``dy/dt = BR(y) - y`` in a bimatrix game) by explicit Euler, step ``dt``.

    The exact solution moves in straight lines towards a pure best reply, so Euler is exact
    between switches of the best reply; switches cost at most one step of error each.
    """
    A = _matrix(A)
    steps = int(np.ceil(t_max / dt))
    times = np.arange(steps + 1) * dt
    if B is None:
        x = _simplex_point(x0, A.shape[0]).copy()
        states = [x.copy()]
        for _ in range(steps):
            x = x + dt * (_best_reply(A @ x) - x)
            states.append(x.copy())
        return Trajectory(times, np.array(states))
    B = _matrix(B)
    x, y = _simplex_point(x0, A.shape[0]).copy(), _simplex_point(y0, A.shape[1], "y0").copy()
    states = [np.r_[x, y]]
    for _ in range(steps):
        x, y = x + dt * (_best_reply(A @ y) - x), y + dt * (_best_reply(B.T @ x) - y)
        states.append(np.r_[x, y])
    return Trajectory(times, np.array(states))


# --------------------------------------------------------------------------- rest points and stability


def _tangent_basis(k: int) -> np.ndarray:
    """Orthonormal basis (k x (k-1)) of ``{v : sum v = 0}``."""
    q, _ = np.linalg.qr(np.c_[np.ones(k), np.eye(k)[:, : k - 1]])
    return q[:, 1:]


def replicator_jacobian(A, x: np.ndarray) -> np.ndarray:
    """Jacobian of :func:`replicator_field` at ``x`` (in R^n)."""
    A = _matrix(A)
    Ax = A @ x
    return np.diag(Ax - x @ Ax) + x[:, None] * (A - (Ax + A.T @ x)[None, :])


def _verdict(eigenvalues: np.ndarray, tol: float) -> str:
    if len(eigenvalues) == 0:
        return "stable"
    top = float(np.max(eigenvalues.real))
    if top < -tol:
        return "stable"
    if top > tol:
        return "unstable"
    return "non-hyperbolic"


def _support_solution(M: np.ndarray, support: tuple[int, ...]) -> np.ndarray | None:
    """``x`` supported on ``support`` with ``(M x)_i`` equal for i in the support and ``sum x = 1``."""
    S = list(support)
    k = len(S)
    system = np.zeros((k + 1, k + 1))
    system[:k, :k], system[:k, k], system[k, :k] = M[np.ix_(S, S)], -1.0, 1.0
    if np.linalg.cond(system) > 1e12:
        return None  # not an isolated rest point (a continuum, or none) on this face
    z = np.linalg.solve(system, np.r_[np.zeros(k), 1.0])
    if (z[:k] < -1e-12).any():
        return None
    x = np.zeros(M.shape[1])
    x[S] = np.clip(z[:k], 0.0, None)
    return x


def rest_points(A, tol: float = 1e-9) -> list[RestPoint]:
    """Isolated rest points of the one-population replicator dynamics of the symmetric game ``A``.

    Every vertex is a rest point; on each face (support ``S``) the interior rest point, if
    isolated, solves the indifference system on ``S`` (Hofbauer & Sigmund 1998, Thm 7.2.1).
    """
    A = _matrix(A)
    n = A.shape[0]
    out = []
    basis = _tangent_basis(n)
    for k in range(1, n + 1):
        for S in itertools.combinations(range(n), k):
            x = _support_solution(A, S)
            if x is None or (x[list(S)] <= tol).any():
                continue
            J = basis.T @ replicator_jacobian(A, x) @ basis
            eig = np.linalg.eigvals(J) if n > 1 else np.zeros(0)
            out.append(RestPoint(x, eig, _verdict(eig, tol)))
    return out


def rest_points_bimatrix(A, B, tol: float = 1e-9) -> list[RestPoint]:
    """Isolated rest points ``[x, y]`` of the two-population replicator dynamics of ``(A, B)``.

    For supports ``I`` of x and ``J`` of y: ``y`` makes the rows in ``I`` indifferent
    (``(A y)_i`` equal) and ``x`` makes the columns in ``J`` indifferent; a pair is kept when
    both systems have unique solutions (``|I| = |J|`` or a pure side).
    """
    A, B = _matrix(A), _matrix(B)
    m, n = A.shape
    basis = np.zeros((m + n, m + n - 2))
    basis[:m, : m - 1], basis[m:, m - 1:] = _tangent_basis(m), _tangent_basis(n)
    out = []
    for I in (S for k in range(1, m + 1) for S in itertools.combinations(range(m), k)):
        for J in (S for k in range(1, n + 1) for S in itertools.combinations(range(n), k)):
            y = _indifferent(A, I, J)
            x = _indifferent(B.T, J, I)
            if x is None or y is None:
                continue
            Jac = _bimatrix_jacobian(A, B, x, y)
            eig = np.linalg.eigvals(basis.T @ Jac @ basis)
            out.append(RestPoint(np.r_[x, y], eig, _verdict(eig, tol)))
    return out


def _indifferent(M: np.ndarray, rows: tuple[int, ...], cols: tuple[int, ...]) -> np.ndarray | None:
    """``z`` on ``cols`` (positive, sum 1) making ``(M z)_i`` equal over ``rows``; unique or ``None``."""
    R, C = list(rows), list(cols)
    system = np.zeros((len(R) + 1, len(C) + 1))
    system[: len(R), : len(C)], system[: len(R), -1], system[-1, : len(C)] = M[np.ix_(R, C)], -1.0, 1.0
    if system.shape[0] != system.shape[1] or np.linalg.cond(system) > 1e12:
        return None
    sol = np.linalg.solve(system, np.r_[np.zeros(len(R)), 1.0])
    if (sol[: len(C)] <= 1e-12).any():
        return None
    z = np.zeros(M.shape[1])
    z[C] = sol[: len(C)]
    return z


def _bimatrix_jacobian(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    m, n = A.shape
    Ay, Bx = A @ y, B.T @ x
    J = np.zeros((m + n, m + n))
    J[:m, :m] = np.diag(Ay - x @ Ay) - np.outer(x, Ay)
    J[:m, m:] = x[:, None] * (A - (x @ A)[None, :])
    J[m:, m:] = np.diag(Bx - y @ Bx) - np.outer(y, Bx)
    J[m:, :m] = y[:, None] * (B.T - (y @ B.T)[None, :])
    return J


# --------------------------------------------------------------------------- Moran process

FITNESS = ("linear", "exponential")


def fitness_of(payoffs: np.ndarray, w: float, fitness: str = "linear") -> np.ndarray:
    """Fitness from payoff: ``1 - w + w * payoff`` (linear) or ``exp(w * payoff)`` (exponential)."""
    if fitness == "linear":
        return 1 - w + w * payoffs
    if fitness == "exponential":
        return np.exp(w * payoffs)
    raise ValueError(f"fitness must be one of {', '.join(FITNESS)}, got {fitness!r}")


def _two_strategy_payoffs(game, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Payoffs of A and B with ``i = 1..N-1`` A-players, each meeting every other individual once (no self-play)."""
    G = _matrix(game)
    if G.shape != (2, 2):
        raise ValueError(f"the Moran process here takes a 2x2 symmetric game, got shape {G.shape}")
    if N < 2:
        raise ValueError(f"population size N must be at least 2, got {N}")
    (a, b), (c, d) = G
    i = np.arange(1, N, dtype=float)
    return (a * (i - 1) + b * (N - i)) / (N - 1), (c * i + d * (N - i - 1)) / (N - 1)


def _moran_fitness(game, N: int, w: float, fitness: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Fitness of A and B with ``i = 1..N-1`` mutants (no self-interaction)."""
    pay_a, pay_b = _two_strategy_payoffs(game, N)
    if fitness == "linear" and not 0 <= w <= 1:
        raise ValueError(f"selection intensity w must be in [0, 1] for linear fitness, got {w}")
    if w < 0:
        raise ValueError(f"selection intensity w must be non-negative, got {w}")
    f_a, f_b = fitness_of(pay_a, w, fitness), fitness_of(pay_b, w, fitness)
    if (f_a <= 0).any() or (f_b <= 0).any():
        raise ValueError("fitness 1 - w + w * payoff must be positive: lower w, shift the payoffs or use exponential fitness")
    return f_a, f_b


def fixation_closed_form(ratios: np.ndarray) -> np.ndarray:
    """``phi_i``, ``i = 0..N``, of a birth-death chain from ``g_j = T-_j / T+_j``, ``j = 1..N-1`` (Nowak 2006, eq. 6.9)."""
    gamma = np.cumprod(ratios)  # prod_{j=1}^k g_j, k = 1..N-1
    partial = np.r_[0.0, np.cumsum(gamma)]  # sum_{k=1}^{i-1}, i = 1..N
    return np.r_[0.0, (1.0 + partial) / (1.0 + partial[-1])]


def moran_fixation_closed_form(game, N: int, w: float = 1.0, fitness: str = "linear") -> np.ndarray:
    """``phi_i`` for ``i = 0..N`` by the product formula (Nowak et al. 2004; Nowak 2006, eq. 6.9)."""
    f_a, f_b = _moran_fitness(game, N, w, fitness)
    return fixation_closed_form(f_b / f_a)


def birth_death_fixation(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """``phi_i``, ``i = 0..N``, solving ``phi = P phi`` with ``phi_0 = 0, phi_N = 1`` for the chain with
    ``T+_i = up[i-1]`` and ``T-_i = down[i-1]``, ``i = 1..N-1`` (a direct linear solve, no product formula)."""
    # (up + down) phi_i - up phi_{i+1} - down phi_{i-1} = 0 for i = 1..N-1, with phi_N = 1.
    M = np.diag(up + down) - np.diag(up[:-1], 1) - np.diag(down[1:], -1)
    rhs = np.zeros(len(up))
    rhs[-1] = up[-1]
    return np.r_[0.0, np.linalg.solve(M, rhs), 1.0]


def birth_death_absorption_time(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Expected steps until absorption (in 0 or N) from ``i = 0..N``: ``tau_i = 1 + T+_i tau_{i+1} + T-_i tau_{i-1}
    + (1 - T+_i - T-_i) tau_i`` with ``tau_0 = tau_N = 0`` (Karlin & Taylor 1975; Nowak 2006, Sec. 6.4)."""
    M = np.diag(up + down) - np.diag(up[:-1], 1) - np.diag(down[1:], -1)
    return np.r_[0.0, np.linalg.solve(M, np.ones(len(up))), 0.0]


def moran_transitions(game, N: int, w: float = 1.0, fitness: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """``(T+, T-)`` for ``i = 1..N-1`` mutants of the Moran birth-death process (see :func:`moran_fixation`)."""
    f_a, f_b = _moran_fitness(game, N, w, fitness)
    i = np.arange(1, N, dtype=float)
    total = i * f_a + (N - i) * f_b
    return i * f_a / total * (N - i) / N, (N - i) * f_b / total * i / N


def pairwise_comparison_transitions(game, N: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """``(T+, T-)`` for ``i = 1..N-1`` A-players of the pairwise comparison (Fermi) process."""
    if beta < 0:
        raise ValueError(f"selection intensity beta must be non-negative, got {beta}")
    from scipy.special import expit

    pay_a, pay_b = _two_strategy_payoffs(game, N)
    i = np.arange(1, N, dtype=float)
    meet = i * (N - i) / (N * (N - 1))
    return meet * expit(beta * (pay_a - pay_b)), meet * expit(beta * (pay_b - pay_a))


def moran_fixation(game, N: int, w: float = 1.0, fitness: str = "linear") -> np.ndarray:
    """``phi_i`` for ``i = 0..N`` by solving the absorbing birth-death chain ``phi = P phi`` (``phi_0 = 0, phi_N = 1``).

    Birth proportional to fitness, death uniform: with ``i`` mutants,
    ``T+ = i f_A / (i f_A + (N-i) f_B) * (N-i)/N`` and ``T- = (N-i) f_B / (i f_A + (N-i) f_B) * i/N``.
    """
    return birth_death_fixation(*moran_transitions(game, N, w, fitness))


def pairwise_comparison_fixation(game, N: int, beta: float) -> np.ndarray:
    """``phi_i`` of the pairwise comparison (Fermi) process, by solving its own chain.

    With ``i`` A-players a random focal individual meets a random other one (model) and copies it
    with probability ``1 / (1 + exp(-beta (pi_model - pi_focal)))``:
    ``T+ = (N-i)/N * i/(N-1) * F(pi_A - pi_B)``, ``T- = i/N * (N-i)/(N-1) * F(pi_B - pi_A)``.
    """
    return birth_death_fixation(*pairwise_comparison_transitions(game, N, beta))


def moran_simulate(game, N: int, i0: int, w: float, rng: np.random.Generator, max_steps: int = 10_000_000,
                   fitness: str = "linear") -> bool:
    """One run of the Moran process from ``i0`` mutants; ``True`` if the mutant fixes."""
    f_a, f_b = _moran_fitness(game, N, w, fitness)
    i = i0
    for _ in range(max_steps):
        if i in (0, N):
            return i == N
        total = i * f_a[i - 1] + (N - i) * f_b[i - 1]
        born_a = rng.random() < i * f_a[i - 1] / total
        dies_a = rng.random() < i / N
        i += int(born_a) - int(dies_a)
    raise RuntimeError(f"Moran process not absorbed within {max_steps} steps")


# --------------------------------------------------------------------------- mean dynamics of finite-population processes

PROCESSES = ("moran", "fermi", "proportional")


def imitation_field(A, x: np.ndarray, process: str, selection: float, fitness: str = "linear") -> np.ndarray:
    """``dx/dt`` (per generation) of the large-population limit of ``process`` on the symmetric game ``A``.

    * ``proportional``: ``x_s (pi_s - pi_bar) * selection / (max A - min A)`` (Schlag 1998): the replicator field, slowed;
    * ``fermi``: ``x_s sum_r x_r tanh(beta (pi_s - pi_r) / 2)``, ``beta = selection``;
    * ``moran``: ``x_s (f_s / f_bar - 1)`` with ``f = fitness_of(pi, selection, fitness)``.
    """
    A = _matrix(A)
    pi = A @ x
    if process == "proportional":
        spread = float(A.max() - A.min())
        return np.zeros_like(x) if spread == 0 else x * (pi - x @ pi) * selection / spread
    if process == "fermi":
        return x * (np.tanh(selection * (pi[:, None] - pi[None, :]) / 2) @ x)
    if process == "moran":
        f = fitness_of(pi, selection, fitness)
        return x * (f / (x @ f) - 1)
    raise ValueError(f"process must be one of {', '.join(PROCESSES)}, got {process!r}")


def imitation_dynamics(A, x0, process: str, selection: float, times, fitness: str = "linear") -> Trajectory:
    """Integrate :func:`imitation_field` from ``x0`` and report it at ``times`` (generations, increasing from 0)."""
    from scipy.integrate import solve_ivp

    A = _matrix(A)
    times = np.asarray(times, dtype=float)
    x0 = _simplex_point(x0, A.shape[0])
    if times.size == 0 or times[-1] <= 0:
        return Trajectory(times, np.tile(x0, (times.size, 1)))
    if (np.diff(times) < 0).any() or times[0] < 0:
        raise ValueError("times must be non-negative and non-decreasing")
    grid, back = np.unique(times, return_inverse=True)
    sol = solve_ivp(lambda t, x: imitation_field(A, x, process, selection, fitness), (0.0, float(times[-1])), x0,
                    t_eval=grid, rtol=1e-8, atol=1e-11)
    states = np.clip(sol.y.T, 0.0, None)[back]
    return Trajectory(times, states / states.sum(axis=1, keepdims=True))
