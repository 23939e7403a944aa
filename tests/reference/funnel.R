# Reference numbers for paleval.stats.funnel (Spiegelhalter 2005 limits).
# Run from the repo root:  Rscript tests/reference/funnel.R
out <- file.path("tests", "reference", "funnel")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
exact <- function(n, t, p) {
  rp <- qbinom(p, n, t)
  a <- (pbinom(rp, n, t) - p) / dbinom(rp, n, t)
  (rp - a) / n
}
normal <- function(n, t, p) pmin(1, pmax(0, t + qnorm(p) * sqrt(t * (1 - t) / n)))
ns <- c(1:60, seq(70, 500, by = 10), 1000, 2500, 10000)
res <- list()
for (t in c(0.3, 0.02, 0.85)) for (lv in c(0.95, 0.998)) {
  pl <- (1 - lv) / 2; pu <- 1 - pl
  res[[length(res) + 1]] <- data.frame(n = ns, target = t, level = lv, method = "exact",
    lower_limit = exact(ns, t, pl), upper_limit = exact(ns, t, pu))
  res[[length(res) + 1]] <- data.frame(n = ns, target = t, level = lv, method = "normal",
    lower_limit = normal(ns, t, pl), upper_limit = normal(ns, t, pu))
}
write.csv(do.call(rbind, res), file.path(out, "funnel_limits.csv"), row.names = FALSE)

# units to flag (target = pooled proportion)
set.seed(2005)
n <- c(5, 12, 40, sample(20:800, 27))
p <- c(0.9, 0, 0.3, rep(0.3, 27)) + c(0, 0, 0, rnorm(27, 0, 0.08))
events <- rbinom(30, n, pmin(pmax(p, 0.01), 0.99)); events[1] <- 5; events[2] <- 0
u <- data.frame(unit = sprintf("u%02d", 1:30), events = events, n = n)
t <- sum(u$events) / sum(u$n)
for (lv in c(0.95, 0.998)) {
  lab <- gsub(".", "_", format(100 * lv), fixed = TRUE)
  lo <- exact(u$n, t, (1 - lv) / 2); hi <- exact(u$n, t, 1 - (1 - lv) / 2)
  pr <- u$events / u$n
  u[[paste0("lower_", lab)]] <- lo
  u[[paste0("upper_", lab)]] <- hi
  u[[paste0("flag_", lab)]] <- ifelse(pr > hi, "above", ifelse(pr < lo, "below", "within"))
}
write.csv(u, file.path(out, "funnel_units.csv"), row.names = FALSE)
