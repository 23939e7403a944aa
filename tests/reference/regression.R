# Reference numbers for paleval.stats.regression.
# Run from the repo root:  Rscript tests/reference/regression.R
# Needs R packages sandwich and nnet. Writes tests/reference/regression/*.csv:
#   data1.csv  600-ish rows, 30 clusters of unequal size, missing values, case weights
#   data2.csv  small sparse data set (80 rows, 10 clusters, rare levels)
#   coefs.csv  dataset, model, variant, term, estimate, std_error (R coefficient names)
#   marginal.csv  g-computation risks / differences / ratios with numeric delta-method SEs
suppressPackageStartupMessages({library(sandwich); library(nnet)})
out <- file.path("tests", "reference", "regression")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

make_data <- function(seed, G, mean_size, n_rare) {
  set.seed(seed)
  sizes <- pmax(2, round(rexp(G, 1 / mean_size)))
  id <- rep(seq_len(G), sizes)
  n <- length(id)
  u <- rnorm(G, 0, 0.5)[id]
  spc <- sample(c("no", "yes"), n, TRUE, prob = c(0.6, 0.4))
  education <- sample(c("Lower secondary", "Upper secondary", "Tertiary"), n, TRUE,
                      prob = c(0.45, 0.45, 0.1))
  if (n_rare > 0) { education[education == "Tertiary"] <- "Upper secondary"
                    education[sample(n, n_rare)] <- "Tertiary" }
  age <- round(rnorm(n, 78, 9))
  sex <- sample(c("F", "M"), n, TRUE)
  lp <- -1.3 + 0.6 * (spc == "yes") + 0.3 * (education == "Upper secondary") +
    0.5 * (education == "Tertiary") - 0.02 * (age - 78) + u
  home_death <- rbinom(n, 1, plogis(lp))
  # place of death: hospital (ref), home, nursing home, hospice
  e1 <- exp(-0.5 + 0.5 * (spc == "yes") - 0.02 * (age - 78) + u)
  e2 <- exp(-0.8 + 0.04 * (age - 78))
  e3 <- exp(-2.0 + 1.0 * (spc == "yes"))
  P <- cbind(1, e1, e2, e3) / (1 + e1 + e2 + e3)
  place <- c("hospital", "home", "nursing home", "hospice")[apply(P, 1, function(p) sample(4, 1, prob = p))]
  w <- sample(1:3, n, TRUE)
  age[sample(n, max(2, n %/% 50))] <- NA
  education[sample(n, max(1, n %/% 80))] <- NA
  data.frame(id = sprintf("c%02d", id), home_death, spc, education, age, sex, place, w)
}
d1 <- make_data(2004, 30, 20, 0)
d2 <- make_data(1997, 10, 8, 5)
write.csv(d1, file.path(out, "data1.csv"), row.names = FALSE)
write.csv(d2, file.path(out, "data2.csv"), row.names = FALSE)

prep <- function(d, used = c("home_death", "spc", "education", "age", "sex", "id", "w", "place")) {
  d <- d[complete.cases(d[, used]), ]
  d$spc <- factor(d$spc, levels = c("no", "yes"))
  d$education <- factor(d$education, levels = c("Upper secondary", "Lower secondary", "Tertiary"))
  d$sex <- factor(d$sex, levels = c("F", "M"))
  d$place <- factor(d$place, levels = c("hospital", "home", "nursing home", "hospice"))
  d
}
f <- home_death ~ spc + education + age + sex
ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
rows <- list()
add <- function(ds, model, variant, est, V) {
  rows[[length(rows) + 1]] <<- data.frame(dataset = ds, model = model, variant = variant,
    term = names(est), estimate = unname(est), std_error = sqrt(diag(V)))
}
marg <- list()
# numeric delta method for g-computation risks (central differences)
mrisk <- function(fit, V, d, var, w) {
  lv <- levels(d[[var]]); tt <- delete.response(terms(fit))
  Xs <- lapply(lv, function(l) { nd <- d; nd[[var]] <- factor(l, levels = lv)
    model.matrix(tt, nd, xlev = fit$xlevels) })
  rf <- function(b) sapply(Xs, function(X) sum(w * fit$family$linkinv(drop(X %*% b))) / sum(w))
  b <- coef(fit); h <- 1e-6
  J <- sapply(seq_along(b), function(k) { e <- replace(numeric(length(b)), k, h)
    (rf(b + e) - rf(b - e)) / (2 * h) })
  r <- rf(b)
  res <- data.frame(level = lv, contrast = "risk", estimate = r, std_error = sqrt(diag(J %*% V %*% t(J))))
  for (i in 2:length(lv)) {
    gd <- J[i, ] - J[1, ]; gl <- J[i, ] / r[i] - J[1, ] / r[1]
    res <- rbind(res, data.frame(level = lv[i], contrast = c("difference", "ratio"),
      estimate = c(r[i] - r[1], r[i] / r[1]),
      std_error = c(sqrt(drop(gd %*% V %*% gd)), sqrt(drop(gl %*% V %*% gl)))))
  }
  res
}

for (ds in 1:2) {
  d <- prep(list(d1, d2)[[ds]])
  # frequency-weight expansion
  de <- d[rep(seq_len(nrow(d)), d$w), ]
  # logistic
  m <- glm(f, binomial, d, control = ctrl)
  add(ds, "logistic", "model", coef(m), vcov(m))
  add(ds, "logistic", "HC0", coef(m), vcovHC(m, type = "HC0"))
  add(ds, "logistic", "CL", coef(m), vcovCL(m, cluster = ~id, type = "HC0"))
  mw <- glm(f, binomial, d, weights = w, control = ctrl)
  add(ds, "logistic", "weights_model", coef(mw), vcov(mw))
  add(ds, "logistic", "weights_prior_HC0", coef(mw), vcovHC(mw, type = "HC0"))
  add(ds, "logistic", "weights_CL", coef(mw), vcovCL(mw, cluster = ~id, type = "HC0"))
  me <- glm(f, binomial, de, control = ctrl)
  add(ds, "logistic", "weights_frequency_HC0", coef(me), vcovHC(me, type = "HC0"))
  for (v in c("spc", "education"))
    marg[[length(marg) + 1]] <- cbind(dataset = ds, model = "logistic", exposure = v,
      mrisk(m, vcov(m), d, v, rep(1, nrow(d))))
  # modified Poisson
  p <- glm(f, poisson, d, control = ctrl)
  add(ds, "modified_poisson", "HC0", coef(p), vcovHC(p, type = "HC0"))
  add(ds, "modified_poisson", "CL", coef(p), vcovCL(p, cluster = ~id, type = "HC0"))
  pw <- glm(f, poisson, d, weights = w, control = ctrl)
  add(ds, "modified_poisson", "weights_prior_HC0", coef(pw), vcovHC(pw, type = "HC0"))
  pe <- glm(f, poisson, de, control = ctrl)
  add(ds, "modified_poisson", "weights_frequency_HC0", coef(pe), vcovHC(pe, type = "HC0"))
  for (v in c("spc", "education"))
    marg[[length(marg) + 1]] <- cbind(dataset = ds, model = "modified_poisson", exposure = v,
      mrisk(p, vcovHC(p, type = "HC0"), d, v, rep(1, nrow(d))))
  pc <- vcovCL(p, cluster = ~id, type = "HC0")
  marg[[length(marg) + 1]] <- cbind(dataset = ds, model = "modified_poisson_CL", exposure = "education",
      mrisk(p, pc, d, "education", rep(1, nrow(d))))
  # log-binomial: default R starting values; if those fail, start from the Poisson fit with
  # the intercept shifted so that all fitted risks are < 1 (as paleval does)
  lb <- tryCatch(glm(f, binomial(link = "log"), d, control = ctrl), error = function(e) {
    st <- coef(p); em <- max(model.matrix(p) %*% st)
    if (em >= -1e-3) st[1] <- st[1] - em - 1e-3
    glm(f, binomial(link = "log"), d, control = ctrl, start = st) })
  stopifnot(lb$converged)
  add(ds, "log_binomial", "model", coef(lb), vcov(lb))
  add(ds, "log_binomial", "CL", coef(lb), vcovCL(lb, cluster = ~id, type = "HC0"))
  add(ds, "log_binomial", "HC0", coef(lb), vcovHC(lb, type = "HC0"))
  # multinomial logit (reference: hospital)
  # (data set 2 has an empty home x Tertiary cell -> separation, so education is left out)
  fm <- if (ds == 1) place ~ spc + education + age + sex else place ~ spc + age + sex
  # rows are dropped only for missing values in the variables used (as paleval does)
  d <- prep(list(d1, d2)[[ds]], c(all.vars(fm), "id", "w"))
  mm <- multinom(fm, d, Hess = TRUE, trace = FALSE, reltol = 1e-15, abstol = 1e-20, maxit = 2000)
  cf <- coef(mm)   # levels x terms
  est <- as.vector(t(cf)); names(est) <- as.vector(t(outer(rownames(cf), colnames(cf), paste, sep = ":")))
  H <- mm$Hessian[names(est), names(est)]
  B <- solve(H)
  add(ds, "multinomial", "model", est, B)
  # score contributions (Y - P) x, stacked by level as `est`; cluster-robust by hand
  X <- model.matrix(fm, d); P <- fitted(mm)
  Y <- sapply(levels(d$place), function(l) as.numeric(d$place == l))
  U <- do.call(cbind, lapply(2:ncol(P), function(j) (Y[, j] - P[, j]) * X))
  G <- length(unique(d$id))
  S <- rowsum(U, d$id)
  add(ds, "multinomial", "CL", est, B %*% (crossprod(S) * G / (G - 1)) %*% B)
  add(ds, "multinomial", "HC0", est, B %*% crossprod(U) %*% B)
  mmw <- multinom(fm, d, weights = w, Hess = TRUE, trace = FALSE, reltol = 1e-15, abstol = 1e-20, maxit = 2000)
  cfw <- coef(mmw); estw <- as.vector(t(cfw)); names(estw) <- names(est)
  add(ds, "multinomial", "weights_model", estw, solve(mmw$Hessian[names(est), names(est)]))
}
write.csv(do.call(rbind, rows), file.path(out, "coefs.csv"), row.names = FALSE)
write.csv(do.call(rbind, marg), file.path(out, "marginal.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("sandwich", packageVersion("sandwich")),
             paste("nnet", packageVersion("nnet"))), file.path(out, "versions.txt"))
