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
from scipy import optimize, sparse, stats
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
            e = np.exp(-np.abs(eta))  # one exponential: overflow-free logistic and log(1+e^eta)
            mu = np.where(eta >= 0, 1.0, e) / (1.0 + e)
            nn = 1.0 if n is None else n
            ll = y * eta - nn * (np.maximum(eta, 0.0) + np.log1p(e))
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
        self.X = np.ascontiguousarray(self.X, dtype=float)  # row-major: no copies in Z @ X
        rows = np.arange(self.y.size)
        self.Z = sparse.csr_matrix(
            (np.ones(self.y.size), (self.group, rows)), shape=(self.n_groups, self.y.size)
        )

    def buffer(self) -> np.ndarray:
        """A reused rows x 2p work array (weighted design columns)."""
        if getattr(self, "_buf", None) is None:
            self._buf = np.empty((self.y.size, 2 * self.X.shape[1]))
        return self._buf

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
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The modes of ``log p(y_j | u) - u^2/2`` per group, by Newton's method with step halving
    group by group (all groups at once), started from ``u``; also the family's row terms at
    the modes."""
    u = u.copy()
    t = d.family.terms(eta0 + theta * u[d.group], d.y, d.n)
    hu = d.gsum(t[0]) - 0.5 * u**2
    for _ in range(100):
        step = (theta * d.gsum(t[1]) - u) / (1.0 + theta**2 * d.gsum(t[2]))
        step = np.clip(step, -5.0, 5.0)
        for _ in range(40):
            tn = d.family.terms(eta0 + theta * (u + step)[d.group], d.y, d.n)
            hn = d.gsum(tn[0]) - 0.5 * (u + step) ** 2
            worse = ~(hn >= hu - 1e-12 * (1.0 + np.abs(hu)))
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        u, t, hu = u + step, tn, hn
        if np.max(np.abs(step)) < tol:
            break
    return u, t


@dataclass
class ModeState:
    """Conditional modes, the curvature ``D_j = 1 + theta^2 sum W`` and rows at the mode."""

    u: np.ndarray
    ll: np.ndarray
    D: np.ndarray
    eta: np.ndarray
    W: np.ndarray
    W1: np.ndarray
    d1: np.ndarray


def mode_state(d: MixedData, beta: np.ndarray, theta: float, u0: np.ndarray) -> ModeState:
    """Modes and curvature at ``(beta, theta)``."""
    eta0 = d.X @ beta + d.offset
    u, (ll, d1, W, W1) = conditional_modes(d, eta0, theta, u0)
    D = 1.0 + theta**2 * d.gsum(W)
    return ModeState(u, ll, D, eta0 + theta * u[d.group], W, W1, d1)


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
    eta0 = st.eta - theta * st.u[d.group]
    u, D = st.u, st.D
    s = 1.0 / np.sqrt(D)
    SW = d.gsum(st.W)
    p = d.X.shape[1]
    buf = d.buffer()
    np.multiply(d.X, st.W[:, None], out=buf[:, :p])
    np.multiply(d.X, st.W1[:, None], out=buf[:, p:])
    both = np.asarray(d.Z @ buf)
    SWX, SW1X = both[:, :p], both[:, p:]
    SW1 = d.gsum(st.W1)
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
        if z[k] == 0.0:  # the mode itself (Laplace, or an odd rule's middle node)
            ll, d1 = st.ll, st.d1
        else:
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


def _scaling(d: MixedData, start_beta: np.ndarray) -> np.ndarray:
    """A change of variables ``params = start + S phi`` with ``S S' = I^-1`` for the GLM
    information of ``beta`` (and unit-ish scale for ``theta``): L-BFGS-B then meets a
    well-conditioned problem (age in years beside dummies), in a fraction of the iterations."""
    W = d.family.terms(d.X @ start_beta + d.offset, d.y, d.n)[2]
    info = d.X.T @ (d.X * W[:, None])
    try:
        L = np.linalg.cholesky(info)
        Sb = np.linalg.inv(L).T
    except np.linalg.LinAlgError:
        Sb = np.eye(start_beta.size)
    S = np.zeros((start_beta.size + 1,) * 2)
    S[:-1, :-1] = Sb
    S[-1, -1] = 1.0 / np.sqrt(2.0 * d.n_groups)
    return S


def _polish(obj: _Objective, x: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, float]:
    """Newton steps with a fixed Hessian (the chord method) from a point near the maximum;
    returns the point and how far it moved."""
    x0 = x
    for _ in range(20):
        f, g = obj(x)
        step = np.linalg.solve(H, g)
        x_new = x - step
        if obj(x_new)[0] > f + 1e-12 * (1 + abs(f)):
            break
        x = x_new
        if np.max(np.abs(step)) < 1e-10:
            break
    return x, float(np.max(np.abs(x - x0)))


def fit_mixed(d: MixedData, nagq: int, start_beta: np.ndarray, theta0: float = 1.0) -> MixedFit:
    """Maximise the marginal log-likelihood in ``(beta, theta >= 0)`` (L-BFGS-B with the exact
    gradient, in rescaled variables), then polish by Newton steps with a Hessian from
    differences of the gradient; that Hessian (recomputed if the polish moved) gives the SEs."""
    obj = _Objective(d, nagq)
    x0 = np.append(start_beta, theta0)
    S = _scaling(d, start_beta)

    def scaled(phi: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = obj(x0 + S @ phi)
        return f, S.T @ g

    # theta unbounded: the likelihood is even in theta (u -> -u), so |theta| is the estimate;
    # a bound at 0 would stop L-BFGS-B there, a stationary point of every model
    res = optimize.minimize(
        scaled,
        np.zeros(x0.size),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    x = x0 + S @ res.x
    x[-1] = abs(x[-1])
    boundary = bool(x[-1] < 1e-6)
    converged = bool(res.success)
    if boundary:
        x[-1] = 0.0
        H = numeric_hessian(obj, x)
    else:
        H = numeric_hessian(obj, x)
        x, moved = _polish(obj, x, H)
        x[-1] = abs(x[-1])
        converged = converged or moved > 0
        if moved > 1e-6:
            H = numeric_hessian(obj, x)
    ll, _, st = loglik_and_gradient(d, x, nagq, obj.u)
    return MixedFit(x, ll + d.family.constant(d.y, d.n), H, st, converged, int(res.nit), boundary)


def profile_loglik(
    d: MixedData, nagq: int, theta: float, beta: np.ndarray
) -> tuple[float, np.ndarray]:
    """The log-likelihood (without the constant) maximised over ``beta`` at a fixed
    ``theta``, and the maximising ``beta`` (L-BFGS-B with the exact gradient, rescaled)."""
    obj = _Objective(d, nagq)
    Sb = _scaling(d, beta)[:-1, :-1]

    def f(phi: np.ndarray) -> tuple[float, np.ndarray]:
        val, g = obj(np.append(beta + Sb @ phi, theta))
        return val, Sb.T @ g[:-1]

    res = optimize.minimize(
        f, np.zeros(beta.size), jac=True, method="L-BFGS-B",
        options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-9},
    )  # fmt: skip
    return -float(res.fun), beta + Sb @ res.x


def profile_interval(
    d: MixedData, nagq: int, fit: MixedFit, conf_level: float
) -> tuple[float, float]:
    """Profile-likelihood interval for ``theta``: where twice the drop of the profile
    log-likelihood from its maximum reaches the chi-squared(1) quantile (root finding)."""
    p = fit.params.size - 1
    ll_hat = fit.loglik - d.family.constant(d.y, d.n)
    crit = 0.5 * stats.chi2.ppf(conf_level, 1)
    theta_hat, beta_hat = float(fit.params[-1]), fit.params[:p]

    def drop(theta: float) -> float:
        return ll_hat - profile_loglik(d, nagq, theta, beta_hat)[0] - crit

    lower = 0.0
    if theta_hat > 0 and drop(0.0) > 0:
        lower = optimize.brentq(drop, 0.0, theta_hat, xtol=1e-10, rtol=1e-10)
    hi = max(theta_hat, 1e-3)
    for _ in range(60):  # widen until the profile has dropped far enough
        hi *= 1.5
        if drop(hi) > 0:
            break
    upper = optimize.brentq(drop, max(theta_hat, hi / 1.5), hi, xtol=1e-10, rtol=1e-10)
    return lower, upper
