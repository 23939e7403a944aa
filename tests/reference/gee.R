# Reference numbers for paleval.stats.gee.gee (R geepack::geeglm).
# Run from the repo root:  Rscript tests/reference/gee.R
# Writes tests/reference/gee/*.csv:
#   data_respiratory.csv  geepack::respiratory (Koch et al. 1990; Stokes et al. 1995):
#                         respiratory status (0/1) at 4 visits, 111 patients in 2 centres
#   data_dietox.csv       geepack::dietox (Lauridsen et al. 1999): weekly weight of 72 pigs
#   data_epil.csv         MASS::epil (Thall and Vail 1990): seizure counts in 4 two-week
#                         periods, 59 patients
#   data_synth.csv        synthetic: 120 clusters of 1-9 rows, order values with gaps, a
#                         3-level factor, person-time, binary/count/continuous outcomes,
#                         missing values
#   coefs.csv   dataset, family, corstr, term, estimate, std_error (san.se, geeglm's
#               default), std_error_naive (vbeta.naiv)
#   params.csv  dataset, family, corstr, alpha, scale
# Control: geese.control(epsilon = 1e-10, maxit = 500). Clusters are contiguous (sorted by
# cluster, then order), as geeglm requires.
suppressPackageStartupMessages({library(geepack); library(MASS)})
out <- file.path("tests", "reference", "gee")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

data(respiratory, package = "geepack"); data(dietox, package = "geepack")
resp <- respiratory
resp$cid <- resp$center * 1000 + resp$id   # id restarts in each centre
resp <- resp[order(resp$cid, resp$visit), ]
write.csv(resp, file.path(out, "data_respiratory.csv"), row.names = FALSE)
diet <- dietox[order(dietox$Pig, dietox$Time), c("Pig", "Cu", "Evit", "Start", "Weight", "Time")]
write.csv(diet, file.path(out, "data_dietox.csv"), row.names = FALSE)
ep <- MASS::epil[order(MASS::epil$subject, MASS::epil$period), ]
write.csv(ep, file.path(out, "data_epil.csv"), row.names = FALSE)

set.seed(2026)
G <- 120
sizes <- sample(1:9, G, TRUE)
cl <- rep(seq_len(G), sizes)
n <- length(cl)
ord <- unlist(lapply(sizes, function(s) sort(sample(1:14, s))))  # gaps in the order
u <- rnorm(G, 0, 0.6)[cl]
ar <- unlist(lapply(sizes, function(s) as.numeric(arima.sim(list(ar = 0.5), s))))
grp <- sample(c("x", "y", "z"), n, TRUE)
age <- round(rnorm(n, 70, 8))
years <- round(runif(n, 0.5, 2), 3)
lp <- -0.3 + 0.4 * (grp == "y") - 0.5 * (grp == "z") + 0.03 * (age - 70) + 0.05 * ord + u
bin <- rbinom(n, 1, plogis(lp))
cnt <- rpois(n, years * exp(0.2 + 0.3 * (grp == "y") + 0.02 * (age - 70) + 0.7 * u))
cont <- 10 + 1.5 * (grp == "y") - 0.8 * (grp == "z") + 0.1 * (age - 70) + 0.2 * ord + 2 * u + ar
age[sample(n, 6)] <- NA
synth <- data.frame(cl = sprintf("k%03d", cl), ord, grp, age, years, bin, cnt, cont)
write.csv(synth, file.path(out, "data_synth.csv"), row.names = FALSE)
synth <- synth[complete.cases(synth), ]
synth$grp <- factor(synth$grp, levels = c("x", "y", "z"))

ctrl <- geese.control(epsilon = 1e-10, maxit = 500)
coefs <- list(); pars <- list()
fitall <- function(ds, fam, f, d, id, waves, offs = NULL) {
  for (cs in c("independence", "exchangeable", "ar1")) {
    d$.id <- id; d$.w <- waves
    m <- if (is.null(offs)) geeglm(f, family = fam, data = d, id = .id, waves = .w,
                                   corstr = cs, control = ctrl)
         else { d$.off <- offs; geeglm(f, family = fam, data = d, id = .id, waves = .w,
                                       offset = .off, corstr = cs, control = ctrl) }
    message(ds, " ", fam, " ", cs, " error=", m$geese$error)
    stopifnot(m$geese$error == 0)
    coefs[[length(coefs) + 1]] <<- data.frame(dataset = ds, family = fam, corstr = cs,
      term = names(coef(m)), estimate = unname(coef(m)),
      std_error = sqrt(diag(m$geese$vbeta)), std_error_naive = sqrt(diag(m$geese$vbeta.naiv)))
    pars[[length(pars) + 1]] <<- data.frame(dataset = ds, family = fam, corstr = cs,
      alpha = if (length(m$geese$alpha)) unname(m$geese$alpha) else NA,
      scale = unname(m$geese$gamma))
  }
}
resp$treat <- factor(resp$treat, levels = c("A", "P")); resp$sex <- factor(resp$sex, levels = c("F", "M"))
fitall("respiratory", "binomial", outcome ~ treat + sex + age + baseline + factor(center),
       resp, resp$cid, resp$visit)
fitall("dietox", "gaussian", Weight ~ Time + Cu + Start, diet, as.integer(diet$Pig), diet$Time)
fitall("epil", "poisson", y ~ lbase + trt + lage + V4, ep, ep$subject, ep$period)
fitall("synth", "binomial", bin ~ grp + age + ord, synth, as.integer(factor(synth$cl)), synth$ord)
fitall("synth", "poisson", cnt ~ grp + age, synth, as.integer(factor(synth$cl)), synth$ord, log(synth$years))
fitall("synth", "gaussian", cont ~ grp + age + ord, synth, as.integer(factor(synth$cl)), synth$ord)
write.csv(do.call(rbind, coefs), file.path(out, "coefs.csv"), row.names = FALSE)
write.csv(do.call(rbind, pars), file.path(out, "params.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("geepack", packageVersion("geepack")),
             paste("MASS", packageVersion("MASS"))), file.path(out, "versions.txt"))
