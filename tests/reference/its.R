# Reference numbers for paleval.stats.its.segmented_regression (interrupted time series).
# Run from the repo root:  Rscript tests/reference/its.R
# Needs R packages sandwich, MASS, nlme. Writes tests/reference/its/*.csv:
#   data_seatbelts.csv  datasets::Seatbelts (Harvey and Durbin 1986): monthly road casualties
#                       in Great Britain, Jan 1969 - Dec 1984; the compulsory wearing of front
#                       seat belts from 31 January 1983 (`law` = 1 from February 1983)
#   data_quarterly.csv  synthetic quarterly series, 48 quarters 2010-2021, two interventions
#                       (2014 Q3 and 2018 Q1), AR(1) errors, counts with person-years
#   coefs.csv   dataset, model, variant, term, estimate, std_error
#   extra.csv   dataset, model, quantity, value (AR(1) phi, sigma, log-likelihood; NB theta;
#               Newey-West lag chosen)
# Design (the definition tested): t = 0, 1, ... periods since the first; for intervention
# date T_k (first period of the new regime) level_k = 1(t >= T_k), slope_k = (t - T_k) 1(t >= T_k);
# Fourier pairs sin(2 pi j s / P), cos(2 pi j s / P) with s the period of the year (month - 1
# or quarter - 1) and P = 12 or 4, j = 1..K.
suppressPackageStartupMessages({library(sandwich); library(MASS); library(nlme)})
out <- file.path("tests", "reference", "its")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

sb <- data.frame(date = seq(as.Date("1969-01-01"), by = "month", length.out = 192),
                 as.data.frame(unclass(Seatbelts)))
write.csv(sb, file.path(out, "data_seatbelts.csv"), row.names = FALSE)

set.seed(42)
nq <- 48
qd <- seq(as.Date("2010-01-01"), by = "quarter", length.out = nq)
t <- 0:(nq - 1)
T1 <- 18; T2 <- 32  # 2014-07-01, 2018-01-01
season <- 0.3 * sin(2 * pi * (t %% 4) / 4)
e <- as.numeric(arima.sim(list(ar = 0.5), nq, sd = 0.6))
rate <- 20 + 0.1 * t - 2 * (t >= T1) - 0.15 * pmax(0, t - T1) + 1 * (t >= T2) + season + e
pyears <- round(runif(nq, 900, 1100))
deaths <- rnbinom(nq, size = 40, mu = pyears / 1000 * exp(3 + 0.01 * t - 0.2 * (t >= T1) +
                                                         0.1 * sin(2 * pi * (t %% 4) / 4)))
q <- data.frame(date = qd, rate = round(rate, 4), deaths, pyears)
write.csv(q, file.path(out, "data_quarterly.csv"), row.names = FALSE)

design <- function(d, P, K, Ts) {
  t <- 0:(nrow(d) - 1)
  s <- if (P == 12) as.integer(format(d$date, "%m")) - 1 else (as.integer(format(d$date, "%m")) - 1) %/% 3
  X <- data.frame(time = t)
  for (k in seq_along(Ts)) {
    X[[paste0("level", k)]] <- as.numeric(t >= Ts[k])
    X[[paste0("slope", k)]] <- (t - Ts[k]) * (t >= Ts[k])
  }
  for (j in seq_len(K)) {
    X[[paste0("sin", j)]] <- sin(2 * pi * j * s / P)
    X[[paste0("cos", j)]] <- cos(2 * pi * j * s / P)
  }
  cbind(d, X)
}
coefs <- list(); extra <- list()
add <- function(ds, model, variant, est, V) {
  coefs[[length(coefs) + 1]] <<- data.frame(dataset = ds, model = model, variant = variant,
    term = names(est), estimate = unname(est), std_error = sqrt(diag(V)))
}
ex <- function(ds, model, quantity, value)
  extra[[length(extra) + 1]] <<- data.frame(dataset = ds, model = model, quantity = quantity, value = value)
ctrl <- glm.control(epsilon = 1e-13, maxit = 200)
hac <- function(ds, model, m) {
  add(ds, model, "model", coef(m), vcov(m))
  add(ds, model, "NeweyWest", coef(m), NeweyWest(m))          # defaults: lag auto, prewhite, no adjust
  ex(ds, model, "nw_lag", floor(bwNeweyWest(m)))
  add(ds, model, "NeweyWest_lag3_noprewhite_adjust", coef(m),
      NeweyWest(m, lag = 3, prewhite = FALSE, adjust = TRUE))
}
gls_fits <- function(ds, f, d) {
  for (meth in c("ML", "REML")) {
    g <- gls(f, data = d, correlation = corAR1(form = ~ time), method = meth,
             control = glsControl(tolerance = 1e-10, msTol = 1e-10, msMaxIter = 500, maxIter = 500))
    add(ds, "gaussian", paste0("ar1_", meth), coef(g), vcov(g))
    ex(ds, "gaussian", paste0("phi_", meth), unname(coef(g$modelStruct$corStruct, unconstrained = FALSE)))
    ex(ds, "gaussian", paste0("sigma_", meth), g$sigma)
    ex(ds, "gaussian", paste0("loglik_", meth), as.numeric(logLik(g)))
  }
}

# Seatbelts: the law from February 1983 (row 170, t = 169); two Fourier pairs
d <- design(sb, 12, 2, 169)
hac("seatbelts", "poisson", glm(DriversKilled ~ time + level1 + slope1 + sin1 + cos1 + sin2 + cos2 +
    offset(log(kms)), poisson, d, control = ctrl))
nb <- glm.nb(DriversKilled ~ time + level1 + slope1 + sin1 + cos1 + sin2 + cos2 + offset(log(kms)),
             d, control = glm.control(epsilon = 1e-10, maxit = 200))
hac("seatbelts", "negbin", nb); ex("seatbelts", "negbin", "theta", nb$theta)
fg <- front ~ time + level1 + slope1 + sin1 + cos1 + sin2 + cos2
hac("seatbelts", "gaussian", lm(fg, d))
gls_fits("seatbelts", fg, d)

# quarterly synthetic: two interventions, one Fourier pair
d <- design(q, 4, 1, c(T1, T2))
fq <- rate ~ time + level1 + slope1 + level2 + slope2 + sin1 + cos1
hac("quarterly", "gaussian", lm(fq, d))
gls_fits("quarterly", fq, d)
hac("quarterly", "poisson", glm(deaths ~ time + level1 + slope1 + level2 + slope2 + sin1 + cos1 +
    offset(log(pyears)), poisson, d, control = ctrl))
nbq <- glm.nb(deaths ~ time + level1 + slope1 + level2 + slope2 + sin1 + cos1 + offset(log(pyears)),
              d, control = glm.control(epsilon = 1e-10, maxit = 200))
hac("quarterly", "negbin", nbq); ex("quarterly", "negbin", "theta", nbq$theta)

write.csv(do.call(rbind, coefs), file.path(out, "coefs.csv"), row.names = FALSE)
write.csv(do.call(rbind, extra), file.path(out, "extra.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("sandwich", packageVersion("sandwich")),
             paste("MASS", packageVersion("MASS")), paste("nlme", packageVersion("nlme"))),
           file.path(out, "versions.txt"))
