# Reference numbers for paleval.stats.did (group-time ATTs, Callaway and Sant'Anna 2021).
# Run from the repo root:  Rscript tests/reference/did.R
# Needs R package sandwich (the did package is not installable here). Reads/writes
# tests/reference/did/:
#   mpdta.csv   the did package's mpdta (500 counties, 2003-2007; first.treat 0 = never),
#               exported from data/mpdta.rda of github.com/bcallaway11/did at commit 71ba8a5
#               with load("mpdta.rda"); write.csv(mpdta, "mpdta.csv", row.names = FALSE)
#   synth.csv   written here: 240 units in 12 regions, periods 1-8, cohorts 3, 5, 7 and
#               never (0), planted effect 0.5 + 0.2 * (t - g) from t = g, parallel trends
#   attgt.csv   dataset, control, cluster, g, t, base, att, std_error, n_treated, n_control:
#               each ATT(g,t) as the coefficient of `treated` in lm(y_t - y_base ~ treated)
#               on the cohort and its controls, SE from sandwich (HC0, by unit; or vcovCL
#               by region, type HC0, cadjust FALSE), the did package's analytical SE
#   agg.csv     dataset, control, cluster, type, key, att, std_error: the aggregations
#               (simple, dynamic, group, and their overall values) with their influence
#               functions, written here from the formulas of Callaway and Sant'Anna (2021,
#               sec. 4) and the did package's R/compute.aggte.R (wif, get_agg_inf_func)
suppressPackageStartupMessages(library(sandwich))
out <- file.path("tests", "reference", "did")
mp <- read.csv(file.path(out, "mpdta.csv"))

set.seed(2021)
N <- 240; T <- 8
region <- rep(sprintf("r%02d", 1:12), each = N / 12)
g <- sample(c(0, 3, 5, 7), N, TRUE, prob = c(0.4, 0.2, 0.2, 0.2))
a <- rnorm(N, 0, 1)[rep(1:N, each = T)]
tt <- rep(1:T, N)
gg <- g[rep(1:N, each = T)]
reg_shock <- rnorm(12 * T, 0, 0.3)[(match(region, unique(region))[rep(1:N, each = T)] - 1) * T + tt]
eff <- ifelse(gg > 0 & tt >= gg, 0.5 + 0.2 * (tt - gg), 0)
y <- a + 0.1 * tt + reg_shock + eff + rnorm(N * T, 0, 0.5)
synth <- data.frame(unit = sprintf("u%03d", rep(1:N, each = T)), region = region[rep(1:N, each = T)],
                    period = tt, first_treated = gg, y = round(y, 6))
write.csv(synth, file.path(out, "synth.csv"), row.names = FALSE)

# wide outcome matrix, one row per unit
prep <- function(d, id, tname, yname, gname, cl) {
  ids <- sort(unique(d[[id]])); times <- sort(unique(d[[tname]]))
  Y <- matrix(NA, length(ids), length(times))
  Y[cbind(match(d[[id]], ids), match(d[[tname]], times))] <- d[[yname]]
  G <- d[[gname]][match(ids, d[[id]])]
  C <- if (is.null(cl)) ids else d[[cl]][match(ids, d[[id]])]
  list(Y = Y, G = G, times = times, n = length(ids), cl = C)
}

att_gt_ref <- function(p, control, cluster) {
  glist <- sort(unique(p$G[p$G > 0])); res <- list(); IF <- NULL
  for (g in glist) for (ti in 2:length(p$times)) {
    t <- p$times[ti]
    base <- if (t >= g) max(p$times[p$times < g]) else p$times[ti - 1]
    ctrl <- if (control == "never") p$G == 0 else (p$G == 0 | (p$G > t & p$G != g))
    keep <- p$G == g | ctrl
    dy <- p$Y[, ti] - p$Y[, match(base, p$times)]
    d2 <- data.frame(dy = dy[keep], treated = as.numeric(p$G[keep] == g), cl = p$cl[keep])
    fit <- lm(dy ~ treated, d2)
    V <- if (cluster) vcovCL(fit, cluster = ~cl, type = "HC0", cadjust = FALSE) else vcovHC(fit, type = "HC0")
    # the influence function of ATT(g,t) on the full sample (zero outside the cell)
    n1 <- sum(p$G == g); n0 <- sum(ctrl)
    inf <- numeric(p$n)
    inf[p$G == g] <- p$n * (dy[p$G == g] - mean(dy[p$G == g])) / n1
    inf[ctrl] <- -p$n * (dy[ctrl] - mean(dy[ctrl])) / n0
    IF <- cbind(IF, inf)
    se_if <- sqrt(sum(rowsum(inf, p$cl)^2)) / p$n
    stopifnot(abs(se_if - sqrt(V[2, 2])) < 1e-12)
    res[[length(res) + 1]] <- data.frame(g = g, t = t, base = base, att = unname(coef(fit)[2]),
      std_error = sqrt(V[2, 2]), n_treated = n1, n_control = n0)
  }
  list(tab = do.call(rbind, res), IF = IF)
}

se_of <- function(inf, p) sqrt(sum(rowsum(inf, p$cl)^2)) / p$n
wif <- function(keepers, pg, G, group) {
  Spg <- sum(pg[keepers])
  centered <- sapply(keepers, function(k) 1 * (G == group[k]) - pg[k])
  centered / Spg - rowSums(centered) %*% t(pg[keepers] / Spg^2)
}

aggregate_ref <- function(p, r) {
  tab <- r$tab; IF <- r$IF
  pg_all <- sapply(sort(unique(p$G[p$G > 0])), function(g) mean(p$G == g))
  glist <- sort(unique(p$G[p$G > 0]))
  pg <- pg_all[match(tab$g, glist)]
  rows <- list()
  add <- function(type, key, att, inf) rows[[length(rows) + 1]] <<-
    data.frame(type = type, key = key, att = att, std_error = se_of(inf, p))
  keep <- which(tab$t >= tab$g)
  w <- pg[keep] / sum(pg[keep])
  add("simple", NA, sum(w * tab$att[keep]),
      IF[, keep] %*% w + wif(keep, pg, p$G, tab$g) %*% tab$att[keep])
  e <- tab$t - tab$g; eseq <- sort(unique(e)); att_e <- c(); inf_e <- NULL
  for (ee in eseq) {
    k <- which(e == ee); w <- pg[k] / sum(pg[k])
    inf <- IF[, k, drop = FALSE] %*% w + wif(k, pg, p$G, tab$g) %*% tab$att[k]
    att_e <- c(att_e, sum(w * tab$att[k])); inf_e <- cbind(inf_e, inf)
    add("dynamic", ee, sum(w * tab$att[k]), inf)
  }
  pos <- eseq >= 0
  add("dynamic_overall", NA, mean(att_e[pos]), inf_e[, pos, drop = FALSE] %*% rep(1 / sum(pos), sum(pos)))
  att_g <- c(); inf_g <- NULL
  for (g in glist) {
    k <- which(tab$g == g & tab$t >= g)
    inf <- IF[, k, drop = FALSE] %*% rep(1 / length(k), length(k))
    att_g <- c(att_g, mean(tab$att[k])); inf_g <- cbind(inf_g, inf)
    add("group", g, mean(tab$att[k]), inf)
  }
  add("group_overall", NA, sum(att_g * pg_all) / sum(pg_all),
      inf_g %*% (pg_all / sum(pg_all)) + wif(seq_along(glist), pg_all, p$G, glist) %*% att_g)
  do.call(rbind, rows)
}

A <- list(); B <- list()
sets <- list(
  list(name = "mpdta", p = prep(mp, "countyreal", "year", "lemp", "first.treat", NULL), cl = FALSE),
  list(name = "synth", p = prep(synth, "unit", "period", "y", "first_treated", NULL), cl = FALSE),
  list(name = "synth", p = prep(synth, "unit", "period", "y", "first_treated", "region"), cl = TRUE)
)
for (s in sets) for (control in c("never", "not_yet")) {
  r <- att_gt_ref(s$p, control, s$cl)
  A[[length(A) + 1]] <- cbind(dataset = s$name, control = control, cluster = s$cl, r$tab)
  B[[length(B) + 1]] <- cbind(dataset = s$name, control = control, cluster = s$cl, aggregate_ref(s$p, r))
}
write.csv(do.call(rbind, A), file.path(out, "attgt.csv"), row.names = FALSE)
write.csv(do.call(rbind, B), file.path(out, "agg.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("sandwich", packageVersion("sandwich"))),
           file.path(out, "versions.txt"))
