# Reference numbers for paleval.stats.standardise.
# Run from the repo root:  Rscript tests/reference/standardise.R
# Direct standardisation: the code of epitools::ageadjust.direct (Fay & Feuer 1997),
# reproduced here so that epitools is not required; indirect: poisson.test().
out <- file.path("tests", "reference", "standardise")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
ageadjust.direct <- function(count, pop, rate = NULL, stdpop, conf.level = 0.95) {
  if (missing(count) == TRUE & !missing(pop) == TRUE & is.null(rate) == TRUE) count <- rate * pop
  if (missing(pop) == TRUE & !missing(count) == TRUE & is.null(rate) == TRUE) pop <- count / rate
  if (is.null(rate) == TRUE & !missing(count) == TRUE & !missing(pop) == TRUE) rate <- count / pop
  alpha <- 1 - conf.level
  cruderate <- sum(count) / sum(pop)
  stdwt <- stdpop / sum(stdpop)
  dsr <- sum(stdwt * rate)
  dsr.var <- sum((stdwt^2) * (count / pop^2))
  wm <- max(stdwt / pop)
  gamma.lci <- qgamma(alpha / 2, shape = (dsr^2) / dsr.var, scale = dsr.var / dsr)
  gamma.uci <- qgamma(1 - alpha / 2, shape = ((dsr + wm)^2) / (dsr.var + wm^2),
                      scale = (dsr.var + wm^2) / (dsr + wm))
  c(crude.rate = cruderate, adj.rate = dsr, lci = gamma.lci, uci = gamma.uci, var = dsr.var)
}
strata <- expand.grid(age = c("18-64", "65-74", "75-84", "85+"), sex = c("F", "M"), stringsAsFactors = FALSE)
std <- cbind(strata, population = c(300, 120, 80, 30, 310, 110, 60, 15))
# data set 1: 4 regions with moderate counts; data set 2: sparse (small groups, zero cells,
# a group with no events at all)
set.seed(1997)
mk <- function(groups, nmin, nmax, p) {
  d <- merge(data.frame(group = groups), strata)
  d$n <- sample(nmin:nmax, nrow(d), replace = TRUE)
  d$events <- rbinom(nrow(d), d$n, p)
  d[order(d$group, d$sex, d$age), ]
}
d1 <- mk(c("Hovedstaden", "Midtjylland", "Nordjylland", "Sjaelland"), 50, 600, 0.35)
d2 <- mk(c("A", "B", "C"), 1, 8, 0.15)
d2$events[d2$group == "C"] <- 0
write.csv(d1, file.path(out, "direct_data1.csv"), row.names = FALSE)
write.csv(d2, file.path(out, "direct_data2.csv"), row.names = FALSE)
write.csv(std, file.path(out, "standard.csv"), row.names = FALSE)
res <- list()
for (k in 1:2) {
  d <- list(d1, d2)[[k]]
  for (cl in c(0.95, 0.99)) for (g in unique(d$group)) {
    s <- merge(d[d$group == g, ], std, by = c("age", "sex"))
    a <- ageadjust.direct(s$events, s$n, stdpop = s$population, conf.level = cl)
    z <- qnorm(1 - (1 - cl) / 2)
    res[[length(res) + 1]] <- data.frame(dataset = k, group = g, conf_level = cl,
      events = sum(s$events), n = sum(s$n), crude = a[["crude.rate"]], estimate = a[["adj.rate"]],
      std_error = sqrt(a[["var"]]), gamma_low = a[["lci"]], gamma_high = a[["uci"]],
      normal_low = a[["adj.rate"]] - z * sqrt(a[["var"]]), normal_high = a[["adj.rate"]] + z * sqrt(a[["var"]]))
  }
}
write.csv(do.call(rbind, res), file.path(out, "direct_results.csv"), row.names = FALSE)

# indirect standardisation: reference = data set 1 pooled; groups of data sets 1 and 2
ref <- aggregate(cbind(events, n) ~ age + sex, data = d1, FUN = sum)
write.csv(ref, file.path(out, "reference.csv"), row.names = FALSE)
crude_ref <- sum(ref$events) / sum(ref$n)
res <- list()
for (k in 1:2) {
  d <- list(d1, d2)[[k]]
  for (cl in c(0.95, 0.99)) for (g in unique(d$group)) {
    s <- merge(d[d$group == g, ], ref, by = c("age", "sex"), suffixes = c("", "_ref"))
    O <- sum(s$events); E <- sum(s$n * s$events_ref / s$n_ref)
    pt <- poisson.test(O, E, conf.level = cl)
    res[[length(res) + 1]] <- data.frame(dataset = k, group = g, conf_level = cl, observed = O,
      n = sum(s$n), expected = E, estimate = O / E, conf_low = pt$conf.int[1],
      conf_high = pt$conf.int[2], p_value = pt$p.value, reference_crude = crude_ref,
      isr = O / E * crude_ref)
  }
}
write.csv(do.call(rbind, res), file.path(out, "indirect_results.csv"), row.names = FALSE)
