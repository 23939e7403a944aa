#!/usr/bin/env Rscript
# Reference numbers for paleval.stats.fine_gray(..., cengroup=...): Fine-Gray with a separate
# Kaplan-Meier censoring distribution per censoring group (cmprsk::crr's `cengroup`).
#
# Re-run from the repository root:
#     Rscript tests/reference/fine_gray_cengroup.R
# Reads tests/reference/competing_risks/data_*.csv (written by competing_risks.R) and writes
# tests/reference/fine_gray_cengroup/ (numbers with 17 significant digits).
#
# Data sets
#   mgus2   (survival::mgus2, Kyle et al. NEJM 2002; real, public): progression to a plasma-cell
#           malignancy (cause 1) vs death without progression (cause 2), months; censoring
#           groups = calendar period of diagnosis (dxyr <= 1974, 1975-1984, >= 1985), the
#           situation of time-to-referral by entry period; complete cases for mspike.
#   pbc     (survival::pbc, Mayo Clinic PBC; real, public): transplant (1) vs death (2), days;
#           censoring groups = randomised trial (id <= 312) vs follow-up cohort.
#   periods (synthetic): three entry periods with administrative censoring at different
#           horizons, integer (tied) times; the last time of one group is an event, so the
#           censoring KM of that group is set to 0 beyond it as crr does.
#   ties, ordinary, edge: the competing_risks.R data sets with `group` as censoring group.
# A few fits report converged = FALSE: crr's line search stops at the floating-point optimum
# under gtol = 1e-10; their coefficients equal those of gtol = 1e-6 / 1e-8 fits to 1e-9.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
outdir <- file.path("tests", "reference", "fine_gray_cengroup")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
wcsv <- function(df, name) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], function(x) ifelse(is.na(x), NA, sprintf("%.17g", x)))
  write.csv(df, file.path(outdir, name), row.names = FALSE, quote = FALSE, na = "")
}

## mgus2
m <- mgus2[!is.na(mgus2$mspike), ]
mg <- data.frame(
  time = ifelse(m$pstat == 1, m$ptime, m$futime),
  status = ifelse(m$pstat == 1, 1L, 2L * m$death),
  period = cut(m$dxyr, c(-Inf, 1974, 1984, Inf), labels = c("-1974", "1975-1984", "1985-")),
  age = m$age, male = as.integer(m$sex == "M"), mspike = m$mspike
)
mg$period <- as.character(mg$period)
wcsv(mg, "data_mgus2.csv")

## pbc
p <- pbc[, c("id", "time", "status", "age", "edema", "bili", "albumin")]
pb <- data.frame(
  time = p$time, status = p$status,
  group = ifelse(p$id <= 312, "trial", "cohort"),
  age = p$age, edema = p$edema, logbili = log(p$bili), albumin = p$albumin
)
wcsv(pb, "data_pbc.csv")

## periods (synthetic)
set.seed(20261202)
n <- 300
per <- data.frame(period = rep(c("2010-14", "2015-19", "2020-24"), each = n / 3))
per$x <- round(rnorm(n), 2)
per$z <- rbinom(n, 1, 0.4)
horizon <- c("2010-14" = 60, "2015-19" = 40, "2020-24" = 20)[per$period]
t1 <- rexp(n, 0.02 * exp(0.5 * per$x + 0.3 * (per$period != "2010-14")))
t2 <- rexp(n, 0.03 * exp(-0.3 * per$z))
cc <- pmin(runif(n, 5, 120), horizon)
per$time <- ceiling(pmin(t1, t2, cc))
per$status <- ifelse(cc <= pmin(t1, t2), 0L, ifelse(t1 <= t2, 1L, 2L))
# the last time in 2020-24 is a cause-1 event (no censoring there)
last <- which(per$period == "2020-24")[1]
per$time[last] <- 21
per$status[last] <- 1L
wcsv(per, "data_periods.csv")

ref <- file.path("tests", "reference", "competing_risks")
ties <- read.csv(file.path(ref, "data_ties.csv"))
ord <- read.csv(file.path(ref, "data_ordinary.csv"))
edge <- read.csv(file.path(ref, "data_edge.csv"))

fits <- list(
  mgus2 = list(d = mg, g = "period", X = function(d) cbind(age = d$age, male = d$male,
                                                          mspike = d$mspike)),
  pbc = list(d = pb, g = "group", X = function(d) cbind(age = d$age, edema = d$edema,
                                                       logbili = d$logbili,
                                                       albumin = d$albumin)),
  periods = list(d = per, g = "period", X = function(d) cbind(x = d$x, z = d$z)),
  ties = list(d = ties, g = "group", X = function(d) cbind(x1 = d$x1, x2 = d$x2)),
  ordinary = list(d = ord, g = "group", X = function(d)
    model.matrix(~ age + sex + score + stage, data = d)[, -1]),
  edge = list(d = edge, g = "group", X = function(d) cbind(x1 = d$x1))
)
rows <- list()
vrows <- list()
for (nm in names(fits)) {
  f <- fits[[nm]]
  d <- f$d
  X <- f$X(d)
  for (fc in 1:2) {
    for (cg in c("none", f$g)) {
      fit <- if (cg == "none") {
        crr(d$time, d$status, X, failcode = fc, cencode = 0, gtol = 1e-10, maxiter = 100)
      } else {
        crr(d$time, d$status, X, cengroup = d[[cg]], failcode = fc, cencode = 0,
            gtol = 1e-10, maxiter = 100)
      }
      rows[[length(rows) + 1]] <- data.frame(
        dataset = nm, failcode = fc, cengroup = cg, term = names(fit$coef),
        estimate = unname(fit$coef), std_error = sqrt(diag(fit$var)),
        std_error_naive = sqrt(diag(fit$invinf)), loglik = fit$loglik,
        loglik_null = fit$loglik.null, converged = fit$converged, n = fit$n)
      k <- length(fit$coef)
      vrows[[length(vrows) + 1]] <- data.frame(
        dataset = nm, failcode = fc, cengroup = cg,
        row = rep(seq_len(k), k), col = rep(seq_len(k), each = k),
        var = as.vector(fit$var))
    }
  }
}
wcsv(do.call(rbind, rows), "fine_gray_cengroup.csv")
wcsv(do.call(rbind, vrows), "fine_gray_cengroup_vcov.csv")
writeLines(c(
  paste("R:", R.version.string),
  paste("survival:", as.character(packageVersion("survival"))),
  paste("cmprsk:", as.character(packageVersion("cmprsk")))
), file.path(outdir, "versions.txt"))
