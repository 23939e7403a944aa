#!/usr/bin/env Rscript
# Reference numbers for paleval.stats.competing / paleval.stats.survival.
#
# Re-run from the repository root:
#     Rscript tests/reference/competing_risks.R
# Writes small CSV files into tests/reference/competing_risks/ (deterministic:
# fixed RNG kind and seed; numbers written with 17 significant digits).
#
# Requires R >= 4.2 with survival (>= 3.5) and cmprsk (>= 2.2-11).
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
outdir <- file.path("tests", "reference", "competing_risks")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

wcsv <- function(df, name) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], function(x) ifelse(is.na(x), NA, sprintf("%.17g", x)))
  write.csv(df, file.path(outdir, name), row.names = FALSE, quote = FALSE, na = "")
}

## ---------------------------------------------------------------- data sets
# 1. "ties": heavy ties (integer days 1..8), three small groups, and the last
#    time (day 8) carries a cause-1 event, a cause-2 event and a censoring.
set.seed(20261123)
n <- 60
ties <- data.frame(
  id = seq_len(n),
  cluster = rep(seq_len(n / 2), each = 2),
  group = rep(c("A", "B", "C"), each = n / 3),
  x1 = round(rnorm(n), 1),
  x2 = rbinom(n, 1, 0.5)
)
ties$time <- pmin(7, 1 + rpois(n, lambda = 2 + ties$x2 + (ties$group == "C")))
ties$status <- sample(0:2, n, replace = TRUE, prob = c(0.3, 0.4, 0.3))
ties$time[n - 2:0] <- 8
ties$status[n - 2:0] <- c(0, 1, 2)
# a few additional ties at the last time
ties$time[c(1, 21)] <- 8
ties$status[c(1, 21)] <- c(1, 2)

# 2. "ordinary": 400 rows, 3 groups, covariates incl. a 3-level factor.
set.seed(7)
n <- 400
ord <- data.frame(
  id = seq_len(n),
  group = sample(c("home", "hospice", "hospital"), n, replace = TRUE,
                 prob = c(0.4, 0.35, 0.25)),
  age = round(rnorm(n, 72, 9), 1),
  sex = rbinom(n, 1, 0.48),
  score = round(rnorm(n), 3),
  stage = sample(c("I", "II", "III"), n, replace = TRUE, prob = c(0.3, 0.4, 0.3))
)
ord$cluster <- (ord$id - 1) %/% 4 + 1
lp1 <- 0.03 * (ord$age - 72) + 0.4 * ord$sex + 0.3 * ord$score +
  0.5 * (ord$stage == "II") + 0.9 * (ord$stage == "III") + 0.3 * (ord$group == "hospice")
lp2 <- -0.02 * (ord$age - 72) - 0.2 * ord$sex + 0.2 * (ord$group == "hospital")
t1 <- rexp(n, 0.010 * exp(lp1))
t2 <- rexp(n, 0.006 * exp(lp2))
cens <- runif(n, 20, 250)
ord$time <- round(pmin(t1, t2, cens), 1)
ord$status <- ifelse(cens <= pmin(t1, t2), 0L, ifelse(t1 <= t2, 1L, 2L))

# 3. "edge": tiny data with events and censorings at time zero.
edge <- data.frame(
  time = c(0, 0, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5),
  status = c(1, 2, 0, 1, 1, 0, 2, 2, 1, 0, 1, 2),
  group = rep(c("g1", "g2"), 6),
  x1 = c(0.5, -1.2, 0.3, 1.1, -0.4, 0.8, 0.0, -0.7, 1.5, 0.2, -1.0, 0.6)
)

wcsv(ties, "data_ties.csv")
wcsv(ord, "data_ordinary.csv")
wcsv(edge, "data_edge.csv")

datasets <- list(ties = ties, ordinary = ord, edge = edge)

## ------------------------------------------ Aalen-Johansen (survfit multi-state)
aj_rows <- list()
km_rows <- list()
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  d$all <- "all"
  for (by in c("all", "group")) {
    fit <- survfit(as.formula(paste("Surv(time, factor(status, 0:2)) ~", by)), data = d)
    strata <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
      rep(sub(".*=", "", names(fit$strata)), fit$strata)
    for (cause in 1:2) {
      aj_rows[[length(aj_rows) + 1]] <- data.frame(
        dataset = nm, group = strata, cause = cause, time = fit$time,
        n_risk = fit$n.risk[, 1], n_event = fit$n.event[, cause + 1],
        n_censor = fit$n.censor, estimate = fit$pstate[, cause + 1],
        std_error = fit$std.err[, cause + 1],
        conf_low = fit$lower[, cause + 1], conf_high = fit$upper[, cause + 1])
    }
    # Kaplan-Meier of any event; CIs for the three common conf.type values
    f_km <- as.formula(paste("Surv(time, status > 0) ~", by))
    km <- survfit(f_km, data = d)  # conf.type = "log" (R default)
    kll <- survfit(f_km, data = d, conf.type = "log-log")
    kpl <- survfit(f_km, data = d, conf.type = "plain")
    strata <- if (is.null(km$strata)) rep("all", length(km$time)) else
      rep(sub(".*=", "", names(km$strata)), km$strata)
    km_rows[[length(km_rows) + 1]] <- data.frame(
      dataset = nm, group = strata, time = km$time,
      n_risk = km$n.risk, n_event = km$n.event, n_censor = km$n.censor,
      estimate = km$surv, std_error_log = km$std.err,
      std_error = km$surv * km$std.err,
      conf_low = km$lower, conf_high = km$upper,
      conf_low_loglog = kll$lower, conf_high_loglog = kll$upper,
      conf_low_plain = kpl$lower, conf_high_plain = kpl$upper)
  }
}
wcsv(do.call(rbind, aj_rows), "aalen_johansen.csv")
wcsv(do.call(rbind, km_rows), "kaplan_meier.csv")

## ------------------------------------------------------ Gray's test (cuminc)
gray_rows <- list()
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  for (rho in c(0, 1)) {
    ci <- cuminc(d$time, d$status, d$group, rho = rho)
    tst <- ci$Tests
    gray_rows[[length(gray_rows) + 1]] <- data.frame(
      dataset = nm, strata = "none", rho = rho, cause = as.integer(rownames(tst)),
      statistic = tst[, "stat"], p_value = tst[, "pv"], df = tst[, "df"])
  }
}
d <- ord
ci <- cuminc(d$time, d$status, d$group, strata = d$sex)
tst <- ci$Tests
gray_rows[[length(gray_rows) + 1]] <- data.frame(
  dataset = "ordinary", strata = "sex", rho = 0, cause = as.integer(rownames(tst)),
  statistic = tst[, "stat"], p_value = tst[, "pv"], df = tst[, "df"])
wcsv(do.call(rbind, gray_rows), "gray_test.csv")

## ------------------------------------------------------- Fine-Gray (crr)
# gtol is tightened (default 1e-6) so the reference is converged well beyond
# the 1e-4 test tolerance; the estimator itself is unchanged.
design <- list(
  ties = function(d) cbind(x1 = d$x1, x2 = d$x2),
  ordinary = function(d) model.matrix(~ age + sex + score + stage, data = d)[, -1],
  edge = function(d) cbind(x1 = d$x1)
)
fg_rows <- list()
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  X <- design[[nm]](d)
  for (fc in 1:2) {
    fit <- crr(d$time, d$status, X, failcode = fc, cencode = 0, gtol = 1e-12, maxiter = 100)
    fg_rows[[length(fg_rows) + 1]] <- data.frame(
      dataset = nm, failcode = fc, term = names(fit$coef), estimate = unname(fit$coef),
      std_error = sqrt(diag(fit$var)), std_error_naive = sqrt(diag(fit$invinf)),
      loglik = fit$loglik, loglik_null = fit$loglik.null, converged = fit$converged)
  }
}
wcsv(do.call(rbind, fg_rows), "fine_gray.csv")

## ------------------------------------------------------------ Cox (coxph)
cox_rows <- list()
add_cox <- function(nm, model, fit) {
  s <- summary(fit)$coefficients
  rob <- if ("robust se" %in% colnames(s)) s[, "robust se"] else NA
  cox_rows[[length(cox_rows) + 1]] <<- data.frame(
    dataset = nm, model = model, term = names(coef(fit)), estimate = unname(coef(fit)),
    std_error = sqrt(diag(fit$naive.var %||% fit$var)), robust_se = unname(rob),
    loglik = fit$loglik[2], loglik_null = fit$loglik[1])
}
`%||%` <- function(a, b) if (is.null(a)) b else a
rhs <- list(ties = "x1 + x2", ordinary = "age + sex + score + stage", edge = "x1")
for (nm in names(datasets)) {
  d <- datasets[[nm]]
  if (nm == "edge") d$time[d$time == 0] <- 0  # coxph accepts zero times
  for (ties_m in c("breslow", "efron")) {
    f_any <- paste("Surv(time, status > 0) ~", rhs[[nm]])
    add_cox(nm, paste0("any_", ties_m), coxph(as.formula(f_any), data = d, ties = ties_m))
    add_cox(nm, paste0("any_strata_", ties_m),
            coxph(as.formula(paste(f_any, "+ strata(group)")), data = d, ties = ties_m))
    for (cs in 1:2) {
      add_cox(nm, paste0("cause", cs, "_", ties_m),
              coxph(as.formula(paste0("Surv(time, status == ", cs, ") ~ ", rhs[[nm]])),
                    data = d, ties = ties_m))
    }
    if (nm != "edge") {
      add_cox(nm, paste0("any_cluster_", ties_m),
              coxph(as.formula(f_any), data = d, ties = ties_m, cluster = cluster))
      add_cox(nm, paste0("any_robust_", ties_m),
              coxph(as.formula(f_any), data = d, ties = ties_m, robust = TRUE))
    }
  }
}
wcsv(do.call(rbind, cox_rows), "cox.csv")

writeLines(c(
  paste("R:", R.version.string),
  paste("survival:", as.character(packageVersion("survival"))),
  paste("cmprsk:", as.character(packageVersion("cmprsk")))
), file.path(outdir, "versions.txt"))
