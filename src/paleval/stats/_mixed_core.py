"""The numerical core of paleval's random-intercept GLMMs (:mod:`paleval.stats.mixed`): the
conditional log-likelihood of the binomial (logit) and Poisson (log) families, the conditional
modes of the random intercepts, the adaptive Gauss-Hermite approximation of the marginal
log-likelihood (Laplace for one node) with its exact gradient, and the fit.

The model is ``eta_i = x_i'beta + offset_i + theta * u_j(i)``, ``u_j ~ N(0, 1)`` (lme4's
spherical random effects: ``theta`` is the random-intercept standard deviation). The
marginal likelihood is a product of one-dimensional integrals, one per group, so every
quantity is a sum over rows (``numpy.bincount`` by group) or a vector over groups: no Python
loop over groups. Public names inside this private module; not paleval's API.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse
from scipy.special import gammaln, logsumexp


@dataclass(frozen=True)
class MixedFamily:
    """The conditional distribution of the outcome given the random intercept.

    ``binomial`` (logit link; ``n`` trials per row, 1 for a binary outcome) or ``poisson``
    (log link).

    Examples
    --------
    >>> ll, d1, w, w1 = MixedFamily("poisson").terms(np.array([0.0]), np.array([2.0]), None)
    >>> float(ll[0]), float(d1[0]), float(w[0])
    (-1.0, 1.0, 1.0)
    """

    name: str

    def terms(
        self, eta: np.ndarray, y: np.ndarray, n: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row: log-likelihood (without the constant), its first derivative in ``eta``,
        the weight ``-d2`` and ``dW/deta``."""
        if self.name == "binomial":
            mu = 0.5 * (1.0 + np.tanh(0.5 * eta))  # the logistic function, overflow-free
            nn = 1.0 if n is None else n
            ll = y * eta - nn * np.logaddexp(0.0, eta)
            w = nn * mu * (1.0 - mu)
            return ll, y - nn * mu, w, w * (1.0 - 2.0 * mu)
        mu = np.exp(eta)
        return y * eta - mu, y - mu, mu, mu

    def constant(self, y: np.ndarray, n: np.ndarray | None) -> float:
        """The log-likelihood's constant: log binomial coefficients, or ``-log(y!)``."""
        if self.name == "binomial":
            if n is None:
                return 0.0
            return float(np.sum(gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)))
        return float(-np.sum(gammaln(y + 1)))


@dataclass
class MixedData:
    """Arrays of one model: design, outcome, trials, offset, group codes (0..G-1)."""

    X: np.ndarray
    y: np.ndarray
    n: np.ndarray | None
    offset: np.ndarray
    group: np.ndarray
    n_groups: int
    family: MixedFamily

    def __post_init__(self) -> None:
        rows = np.arange(self.y.size)
        self.Z = sparse.csr_matrix(
            (np.ones(self.y.size), (self.group, rows)), shape=(self.n_groups, self.y.size)
        )

    def gsum(self, v: np.ndarray) -> np.ndarray:
        """Per-group sums of a row vector."""
        return np.bincount(self.group, weights=v, minlength=self.n_groups)


def gh_rule(nagq: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for the standard normal density (weights sum to 1),
    as lme4's ``GHrule``.

    Examples
    --------
    >>> z, w = gh_rule(3)
    >>> np.round(z, 4).tolist(), round(float(w.sum()), 12)
    ([-1.7321, 0.0, 1.7321], 1.0)
    """
    if nagq == 1:
        return np.zeros(1), np.ones(1)
    z, w = np.polynomial.hermite_e.hermegauss(nagq)
    return z, w / w.sum()


def conditional_modes(
    d: MixedData, eta0: np.ndarray, theta: float, u: np.ndarray, tol: float = 1e-11
) -> np.ndarray:
    """The modes of ``log p(y_j | u) - u^2/2`` per group, by Newton's method with step halving
    group by group (all groups at once), started from ``u``."""
    u = u.copy()

    def h(uu: np.ndarray) -> np.ndarray:
        ll = d.family.terms(eta0 + theta * uu[d.group], d.y, d.n)[0]
        return d.gsum(ll) - 0.5 * uu**2

    hu = h(u)
    for _ in range(100):
        _, d1, w, _ = d.family.terms(eta0 + theta * u[d.group], d.y, d.n)
        step = (theta * d.gsum(d1) - u) / (1.0 + theta**2 * d.gsum(w))
        step = np.clip(step, -5.0, 5.0)
        for _ in range(40):
            hn = h(u + step)
            worse = ~(hn >= hu - 1e-12 * (1.0 + np.abs(hu)))
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        u = u + step
        hu = hn
        if np.max(np.abs(step)) < tol:
            break
    return u


@dataclass
class ModeState:
    """Conditional modes, the curvature ``D_j = 1 + theta^2 sum W`` and rows at the mode."""

    u: np.ndarray
    D: np.ndarray
    eta: np.ndarray
    W: np.ndarray
    W1: np.ndarray
    d1: np.ndarray


def mode_state(d: MixedData, beta: np.ndarray, theta: float, u0: np.ndarray) -> ModeState:
    """Modes and curvature at ``(beta, theta)``."""
    eta0 = d.X @ beta + d.offset
    u = conditional_modes(d, eta0, theta, u0)
    eta = eta0 + theta * u[d.group]
    _, d1, W, W1 = d.family.terms(eta, d.y, d.n)
    D = 1.0 + theta**2 * d.gsum(W)
    return ModeState(u, D, eta, W, W1, d1)


def loglik_and_gradient(
    d: MixedData, params: np.ndarray, nagq: int, u0: np.ndarray
) -> tuple[float, np.ndarray, ModeState]:
    """The adaptive Gauss-Hermite marginal log-likelihood (without the constant) and its
    exact gradient in ``(beta, theta)``, differentiating through the modes and curvatures.

    ``log L_j = log s_j + log sum_k w_k exp(g_j(u_j + s_j z_k) + z_k^2/2)`` with
    ``g_j(a) = log p(y_j | a) - a^2/2`` and ``s_j = D_j^(-1/2)``: the Laplace approximation
    for one node (lme4 ``nAGQ = 1``), lme4's adaptive quadrature for more.
    """
    beta, theta = params[:-1], float(params[-1])
    st = mode_state(d, beta, theta, u0)
    eta0 = d.X @ beta + d.offset
    u, D = st.u, st.D
    s = 1.0 / np.sqrt(D)
    SW = d.gsum(st.W)
    SWX = np.asarray(d.Z @ (d.X * st.W[:, None]))
    SW1 = d.gsum(st.W1)
    SW1X = np.asarray(d.Z @ (d.X * st.W1[:, None]))
    S1 = d.gsum(st.d1)
    du_db = -theta * SWX / D[:, None]
    du_dt = (S1 - theta * u * SW) / D
    dD_db = theta**2 * (SW1X + theta * SW1[:, None] * du_db)
    dD_dt = 2 * theta * SW + theta**2 * SW1 * (u + theta * du_dt)
    ds_db = -0.5 * (s / D)[:, None] * dD_db
    ds_dt = -0.5 * s / D * dD_dt

    z, wts = gh_rule(nagq)
    K = z.size
    logt = np.empty((d.n_groups, K))
    gprime = np.empty((d.n_groups, K))
    s1 = np.empty((d.n_groups, K))
    d1_rows = []
    for k in range(K):  # a loop over quadrature nodes (at most 25), not over groups
        a = u + s * z[k]
        ll, d1, _, _ = d.family.terms(eta0 + theta * a[d.group], d.y, d.n)
        s1[:, k] = d.gsum(d1)
        logt[:, k] = np.log(wts[k]) + d.gsum(ll) - 0.5 * a**2 + 0.5 * z[k] ** 2
        gprime[:, k] = theta * s1[:, k] - a
        d1_rows.append(d1)
    lse = logsumexp(logt, axis=1)
    pi = np.exp(logt - lse[:, None])
    loglik = float(np.sum(np.log(s) + lse))

    c = np.zeros(d.y.size)
    for k in range(K):
        c += pi[d.group, k] * d1_rows[k]
    A = np.sum(pi * gprime, axis=1)
    B = np.sum(pi * gprime * z[None, :], axis=1) + 1.0 / s
    a_all = u[:, None] + s[:, None] * z[None, :]
    g_beta = d.X.T @ c + du_db.T @ A + ds_db.T @ B
    g_theta = float(np.sum(pi * a_all * s1) + A @ du_dt + B @ ds_dt)
    return loglik, np.append(g_beta, g_theta), st


class _Objective:
    """Negative log-likelihood and gradient, warm-starting the modes from the last call."""

    def __init__(self, d: MixedData, nagq: int) -> None:
        self.d = d
        self.nagq = nagq
        self.u = np.zeros(d.n_groups)
        self.calls = 0

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        self.calls += 1
        ll, g, st = loglik_and_gradient(self.d, params, self.nagq, self.u)
        self.u = st.u
        return -ll, -g


def numeric_hessian(obj: _Objective, params: np.ndarray) -> np.ndarray:
    """Hessian of the negative log-likelihood by central differences of the exact gradient."""
    k = params.size
    H = np.empty((k, k))
    for i in range(k):  # one column per parameter (p + 1 of them), not per group
        h = 1e-5 * max(1.0, abs(params[i]))
        e = np.zeros(k)
        e[i] = h
        H[:, i] = (obj(params + e)[1] - obj(params - e)[1]) / (2 * h)
    return (H + H.T) / 2


@dataclass
class MixedFit:
    """The maximum of the approximate marginal likelihood and what is computed at it."""

    params: np.ndarray  # (beta..., theta)
    loglik: float  # including the family's constant
    hessian: np.ndarray  # of -loglik in (beta, theta)
    state: ModeState
    converged: bool
    iterations: int
    at_boundary: bool


def fit_mixed(d: MixedData, nagq: int, start_beta: np.ndarray, theta0: float = 1.0) -> MixedFit:
    """Maximise the marginal log-likelihood in ``(beta, theta >= 0)`` (L-BFGS-B with the exact
    gradient), polish by Newton steps with a Hessian from differences of the gradient."""
    obj = _Objective(d, nagq)
    x0 = np.append(start_beta, theta0)
    bounds = [(None, None)] * start_beta.size + [(0.0, None)]
    res = optimize.minimize(
        obj,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    x = res.x
    boundary = x[-1] < 1e-6
    H = numeric_hessian(obj, x) if not boundary else np.full((x.size, x.size), np.nan)
    converged = bool(res.success)
    for _ in range(5 if not boundary else 0):
        g = obj(x)[1]
        step = np.linalg.solve(H, g)
        x_new = x - step
        if x_new[-1] <= 0 or obj(x_new)[0] > obj(x)[0] + 1e-9:
            break
        x = x_new
        converged = True
        if np.max(np.abs(step)) < 1e-9:
            break
        H = numeric_hessian(obj, x)
    ll, _, st = loglik_and_gradient(d, x, nagq, obj.u)
    if boundary:
        H_beta = numeric_hessian(obj, np.append(x[:-1], 0.0))
        H = H_beta
    return MixedFit(
        x, ll + d.family.constant(d.y, d.n), H, st, converged, int(res.nit), bool(boundary)
    )
