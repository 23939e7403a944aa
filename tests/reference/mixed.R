# Reference numbers for paleval.stats.mixed (random-intercept GLMMs).
# Run from the repo root:  Rscript tests/reference/mixed.R
# Needs R package lme4. Writes tests/reference/mixed/*.csv:
#   cbpp.csv         lme4's cbpp (contagious bovine pleuropneumonia; 56 herd-periods, 15 herds)
#   grouseticks.csv  lme4's grouseticks (ticks on 403 red grouse chicks; 63 locations)
#   synth_binary.csv 1,200-ish individuals in 40 practices, binary outcome, a rare practice
#   synth_count.csv  counts with person-time (offset log(pyears)) in 25 municipalities
#   coefs.csv   dataset, nagq, term, estimate, std_error (R names; lme4's default vcov, i.e.
#               from the finite-difference Hessian of the deviance in (theta, beta))
#               and std_error_exact: from numDeriv's Richardson Hessian of an independent
#               R implementation of the same approximation (modes solved per group to 1e-13):
#               lme4's finite-difference Hessian carries its PIRLS tolerance (its Laplace
#               deviance is ~1e-6 above the exact one on synth_count, 0.2% in the SEs there)
#   params.csv  dataset, nagq, sigma, loglik, se_sigma (from the same Hessian),
#               se_sigma_exact, nobs, ngroups
#   ranef.csv   dataset, nagq, group, mode, cond_sd (ranef(condVar = TRUE))
#   profile.csv dataset, nagq, lower, upper (95% profile-likelihood interval for sigma: the
#               roots of devfun profiled over beta (nlminb, scaled) minus its minimum = qchisq(.95, 1),
#               by uniroot), lme4_lower, lme4_upper (confint(method = "profile"), which
#               interpolates the profile by splines)
suppressPackageStartupMessages({library(lme4); library(numDeriv)})

# -2 log-likelihood by adaptive Gauss-Hermite quadrature (Laplace for k = 1) for a random
# intercept, written from the formulas (Pinheiro and Bates 1995), one group at a time
agq_deviance <- function(par, X, y, n, off, g, fam, k) {
  theta <- par[1]; eta0 <- drop(X %*% par[-1]) + off
  gh <- if (k == 1) list(z = 0, w = 1) else lme4::GHrule(k)[, 1:2]
  z <- if (k == 1) 0 else gh[, 1]; w <- if (k == 1) 1 else gh[, 2]
  ll <- function(eta, yy, nn) if (fam == "binomial") dbinom(yy, nn, plogis(eta), log = TRUE)
                              else dpois(yy, exp(eta), log = TRUE)
  W <- function(eta, nn) if (fam == "binomial") nn * plogis(eta) * (1 - plogis(eta)) else exp(eta)
  total <- 0
  for (j in unique(g)) {
    i <- g == j
    h <- function(u) sum(ll(eta0[i] + theta * u, y[i], n[i])) - u^2 / 2
    u <- optimize(h, c(-30, 30), maximum = TRUE, tol = 1e-13)$maximum
    u <- uniroot(function(v) theta * sum(if (fam == "binomial") y[i] - n[i] * plogis(eta0[i] + theta * v)
                                         else y[i] - exp(eta0[i] + theta * v)) - v,
                 c(u - 1, u + 1), tol = 1e-14)$root
    s <- 1 / sqrt(1 + theta^2 * sum(W(eta0[i] + theta * u, n[i])))
    a <- u + s * z
    terms <- sapply(seq_along(a), function(q) log(w[q]) + h(a[q]) + z[q]^2 / 2)
    total <- total + log(s) + max(terms) + log(sum(exp(terms - max(terms))))
  }
  -2 * total
}
out <- file.path("tests", "reference", "mixed")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

set.seed(1806)
G <- 40
sizes <- pmax(3, round(rexp(G, 1 / 30)))
sizes[G] <- 3  # a small practice: its mode shrinks strongly
pr <- rep(sprintf("p%02d", seq_len(G)), sizes)
n <- length(pr)
u <- rnorm(G, 0, 0.6)[match(pr, sprintf("p%02d", seq_len(G)))]
cancer <- sample(c("no", "yes"), n, TRUE, prob = c(0.4, 0.6))
age <- round(rnorm(n, 80, 8))
lp <- -0.8 + 0.7 * (cancer == "yes") - 0.03 * (age - 80) + u
home_death <- rbinom(n, 1, plogis(lp))
synth_binary <- data.frame(practice = pr, home_death, cancer, age)

set.seed(1807)
M <- 25
msize <- sample(4:12, M, TRUE)
mun <- rep(sprintf("m%02d", seq_len(M)), msize)
m <- length(mun)
v <- rnorm(M, 0, 0.4)[match(mun, sprintf("m%02d", seq_len(M)))]
pyears <- round(runif(m, 50, 400), 1)
period <- sample(c("before", "after"), m, TRUE)
admissions <- rpois(m, pyears * exp(-3 + 0.3 * (period == "after") + v))
synth_count <- data.frame(municipality = mun, admissions, period, pyears)

cb <- cbpp
cb$period <- as.character(cb$period)
cb$herd <- sprintf("h%02d", as.integer(as.character(cb$herd)))
gt <- grouseticks[, c("TICKS", "YEAR", "cHEIGHT", "LOCATION")]
gt$YEAR <- paste0("y", gt$YEAR)
gt$LOCATION <- sprintf("L%02d", as.integer(as.character(gt$LOCATION)))

write.csv(cb, file.path(out, "cbpp.csv"), row.names = FALSE)
write.csv(gt, file.path(out, "grouseticks.csv"), row.names = FALSE)
write.csv(synth_binary, file.path(out, "synth_binary.csv"), row.names = FALSE)
write.csv(synth_count, file.path(out, "synth_count.csv"), row.names = FALSE)

ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5),
                     tolPwrss = 1e-12)
models <- list(
  cbpp = function(k) glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
                           data = cb, family = binomial, nAGQ = k, control = ctrl),
  grouseticks = function(k) glmer(TICKS ~ YEAR + cHEIGHT + (1 | LOCATION), data = gt,
                                  family = poisson, nAGQ = k, control = ctrl),
  synth_binary = function(k) glmer(home_death ~ cancer + age + (1 | practice),
                                   data = synth_binary, family = binomial, nAGQ = k,
                                   control = ctrl),
  synth_count = function(k) glmer(admissions ~ period + offset(log(pyears)) +
                                    (1 | municipality), data = synth_count,
                                  family = poisson, nAGQ = k, control = ctrl)
)
profile_ci <- function(fit) {
  dd <- update(fit, devFunOnly = TRUE)
  th <- getME(fit, "theta")[[1]]; b <- fixef(fit); se <- sqrt(diag(as.matrix(vcov(fit))))
  dmin <- dd(c(th, b))
  safe <- function(p) tryCatch(dd(p), error = function(e) 1e10)  # PIRLS failure far out
  # beta in units of its SE: unscaled, nlminb stops early on synth_binary (age in years)
  prof <- function(s) nlminb(b / se, function(z) safe(c(s, z * se)),
                             control = list(rel.tol = 1e-14, x.tol = 1e-12))$objective
  f <- function(s) prof(s) - dmin - qchisq(0.95, 1)
  lo <- if (f(0) > 0) uniroot(f, c(0, th), tol = 1e-10)$root else 0
  hi <- th * 1.5; while (f(hi) < 0) hi <- hi * 1.5
  up <- uniroot(f, c(th, hi), tol = 1e-10)$root
  ci <- tryCatch(confint(fit, parm = "theta_", method = "profile", oldNames = FALSE),
                 error = function(e) matrix(NA, 1, 2))
  c(lo, up, ci[1, 1], ci[1, 2])
}
co <- list(); pa <- list(); re <- list(); pr <- list()
for (ds in names(models)) for (k in c(1, 10)) {
  fit <- models[[ds]](k)
  H <- fit@optinfo$derivs$Hessian
  V <- 2 * solve(H)  # (theta, beta); vcov(fit) is its beta block
  stopifnot(max(abs(as.matrix(vcov(fit)) - V[-1, -1])) < 1e-12)
  b <- fixef(fit)
  X <- getME(fit, "X"); yy <- getME(fit, "y"); wt <- weights(fit)
  yc <- if (family(fit)$family == "binomial") round(yy * wt) else yy
  He <- numDeriv::hessian(agq_deviance, c(getME(fit, "theta"), b), X = X, y = yc, n = wt,
                          off = getME(fit, "offset"), g = getME(fit, "flist")[[1]],
                          fam = family(fit)$family, k = k)
  Ve <- 2 * solve(He)
  co[[length(co) + 1]] <- data.frame(dataset = ds, nagq = k, term = names(b),
                                     estimate = unname(b), std_error = sqrt(diag(V))[-1],
                                     std_error_exact = sqrt(diag(Ve))[-1])
  pa[[length(pa) + 1]] <- data.frame(dataset = ds, nagq = k, sigma = getME(fit, "theta")[[1]],
    loglik = as.numeric(logLik(fit)), se_sigma = sqrt(V[1, 1]),
    se_sigma_exact = sqrt(Ve[1, 1]), nobs = nobs(fit),
    ngroups = ngrps(fit)[[1]])
  rr <- ranef(fit, condVar = TRUE)[[1]]
  re[[length(re) + 1]] <- data.frame(dataset = ds, nagq = k, group = rownames(rr),
    mode = rr[[1]], cond_sd = sqrt(as.vector(attr(rr, "postVar"))))
  ci <- profile_ci(fit)  # last: the deviance function shares the fit's internal state
  pr[[length(pr) + 1]] <- data.frame(dataset = ds, nagq = k, lower = ci[1], upper = ci[2],
                                     lme4_lower = ci[3], lme4_upper = ci[4])
}
write.csv(do.call(rbind, co), file.path(out, "coefs.csv"), row.names = FALSE)
write.csv(do.call(rbind, pa), file.path(out, "params.csv"), row.names = FALSE)
write.csv(do.call(rbind, re), file.path(out, "ranef.csv"), row.names = FALSE)
write.csv(do.call(rbind, pr), file.path(out, "profile.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("Matrix", packageVersion("Matrix")),
             paste("numDeriv", packageVersion("numDeriv"))), file.path(out, "versions.txt"))
