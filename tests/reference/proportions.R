# Reference numbers for paleval.stats.proportions.
# Run from the repo root:  Rscript tests/reference/proportions.R
# Writes tests/reference/proportions/*.csv (base R only: prop.test, binom.test).
out <- file.path("tests", "reference", "proportions")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

# data set 1: hand-picked edge cases (0 events, all events, n = 1, small n)
d1 <- data.frame(events = c(0, 1, 1, 5, 10, 0, 3, 49, 1), n = c(10, 1, 2, 10, 10, 1, 20, 50, 1000))
# data set 2: pseudo-random counts
set.seed(20261123)
n2 <- sample(c(1:30, 100, 517, 2000), 40, replace = TRUE)
d2 <- data.frame(events = rbinom(40, n2, runif(40, 0, 0.6)), n = n2)
d <- rbind(cbind(dataset = 1, d1), cbind(dataset = 2, d2))

res <- list()
for (cl in c(0.95, 0.90)) {
  w <- t(mapply(function(x, n) suppressWarnings(prop.test(x, n, conf.level = cl, correct = FALSE)$conf.int), d$events, d$n))
  cp <- t(mapply(function(x, n) binom.test(x, n, conf.level = cl)$conf.int, d$events, d$n))
  res[[length(res) + 1]] <- data.frame(d, conf_level = cl, method = "wilson", conf_low = w[, 1], conf_high = w[, 2])
  res[[length(res) + 1]] <- data.frame(d, conf_level = cl, method = "clopper-pearson", conf_low = cp[, 1], conf_high = cp[, 2])
}
write.csv(do.call(rbind, res), file.path(out, "proportion_ci.csv"), row.names = FALSE)

# two-group comparisons
t1 <- data.frame(events_1 = c(30, 0, 5, 12, 1, 7), n_1 = c(100, 20, 5, 40, 3, 1000),
                 events_0 = c(20, 4, 2, 0, 1, 31), n_0 = c(100, 25, 9, 35, 2, 2000))
set.seed(7)
m1 <- sample(5:400, 20); m0 <- sample(5:400, 20)
t2 <- data.frame(events_1 = rbinom(20, m1, 0.3), n_1 = m1, events_0 = rbinom(20, m0, 0.2), n_0 = m0)
tt <- rbind(cbind(dataset = 1, t1), cbind(dataset = 2, t2))
z <- qnorm(0.975)
p1 <- tt$events_1 / tt$n_1; p0 <- tt$events_0 / tt$n_0
rd <- p1 - p0; se <- sqrt(p1 * (1 - p1) / tt$n_1 + p0 * (1 - p0) / tt$n_0)
# cross-check the Wald difference interval with prop.test(correct = FALSE) where defined
pt <- t(mapply(function(a, b, c, e) tryCatch(suppressWarnings(prop.test(c(a, c), c(b, e), correct = FALSE)$conf.int),
               error = function(err) c(NA, NA)), tt$events_1, tt$n_1, tt$events_0, tt$n_0))
# prop.test truncates the interval to [-1, 1]; so does paleval
lo <- pmax(-1, rd - z * se); hi <- pmin(1, rd + z * se)
stopifnot(all(abs(pt[, 1] - lo) < 1e-12, abs(pt[, 2] - hi) < 1e-12, na.rm = TRUE))
write.csv(data.frame(tt, estimate = rd, std_error = se, conf_low = lo, conf_high = hi,
                     p_value = 2 * pnorm(-abs(rd / se))),
          file.path(out, "risk_difference.csv"), row.names = FALSE)
# log-scale Wald interval for the ratio, without and with a 0.5 zero-cell correction
rr_ref <- function(x1, n1, x0, n0, cc) {
  zero <- x1 == 0 | x0 == 0
  k <- ifelse(zero, cc, 0)
  a1 <- x1 + k; b1 <- n1 + 2 * k; a0 <- x0 + k; b0 <- n0 + 2 * k
  est <- (a1 / b1) / (a0 / b0)
  se <- sqrt(1 / a1 - 1 / b1 + 1 / a0 - 1 / b0)
  se[!is.finite(se)] <- NA
  data.frame(zero_correction = cc, estimate = est, std_error = se,
             conf_low = exp(log(est) - z * se), conf_high = exp(log(est) + z * se),
             p_value = 2 * pnorm(-abs(log(est) / se)))
}
rr <- rbind(cbind(tt, rr_ref(tt$events_1, tt$n_1, tt$events_0, tt$n_0, 0)),
            cbind(tt, rr_ref(tt$events_1, tt$n_1, tt$events_0, tt$n_0, 0.5)))
write.csv(rr, file.path(out, "risk_ratio.csv"), row.names = FALSE)
