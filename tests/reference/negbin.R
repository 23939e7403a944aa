# Reference numbers for paleval.stats.count.negative_binomial (R MASS::glm.nb).
# Run from the repo root:  Rscript tests/reference/negbin.R
# Writes tests/reference/negbin/*.csv:
#   data_quine.csv  MASS::quine (Venables & Ripley 2002; Quine 1975): days absent from
#                   school of 146 Australian children; a real public data set shipped with R
#   data_synth.csv  800 synthetic rows: counts with person-time (years), a 4-level region,
#                   age, a few missing values
#   coefs.csv       dataset, term, estimate, std_error
#   theta.csv       dataset, theta, theta_se (glm.nb's SE.theta), theta_se_final (theta.ml's
#                   SE re-evaluated at the final theta and fitted means), loglik, aic, deviance
suppressPackageStartupMessages(library(MASS))
out <- file.path("tests", "reference", "negbin")
dir.create(out, showWarnings = FALSE, recursive = TRUE)

q <- MASS::quine
write.csv(q, file.path(out, "data_quine.csv"), row.names = FALSE)

set.seed(1813)
n <- 800
region <- sample(c("Capital", "Zealand", "South", "North"), n, TRUE)
age <- round(rnorm(n, 75, 10))
years <- round(runif(n, 0.2, 3), 3)
lp <- log(years) + 0.4 + 0.3 * (region == "South") - 0.2 * (region == "North") +
  0.5 * (region == "Zealand") + 0.015 * (age - 75)
admissions <- rnbinom(n, size = 1.7, mu = exp(lp))
age[sample(n, 9)] <- NA
region[sample(n, 4)] <- NA
s <- data.frame(admissions, region, age, years)
write.csv(s, file.path(out, "data_synth.csv"), row.names = FALSE)

ctrl <- glm.control(epsilon = 1e-13, maxit = 200)
coefs <- list(); th <- list()
add <- function(ds, m) {
  V <- vcov(m)
  coefs[[length(coefs) + 1]] <<- data.frame(dataset = ds, term = names(coef(m)),
    estimate = unname(coef(m)), std_error = sqrt(diag(V)))
  y <- m$y; mu <- fitted(m); w <- m$prior.weights
  t2 <- theta.ml(y, mu, sum(w), w, limit = 200, eps = 1e-14)
  th[[length(th) + 1]] <<- data.frame(dataset = ds, theta = m$theta, theta_se = m$SE.theta,
    theta_se_final = attr(t2, "SE"), loglik = as.numeric(logLik(m)), aic = AIC(m),
    deviance = deviance(m))
}
# quine: the model of Venables & Ripley (2002, section 7.4), main effects
q$Eth <- factor(q$Eth, levels = c("A", "N")); q$Sex <- factor(q$Sex, levels = c("F", "M"))
q$Age <- factor(q$Age, levels = c("F0", "F1", "F2", "F3")); q$Lrn <- factor(q$Lrn, levels = c("AL", "SL"))
add("quine", glm.nb(Days ~ Eth + Sex + Age + Lrn, data = q, control = ctrl))
s <- s[complete.cases(s), ]
s$region <- factor(s$region, levels = c("Capital", "North", "South", "Zealand"))
add("synth", glm.nb(admissions ~ region + age + offset(log(years)), data = s, control = ctrl))
write.csv(do.call(rbind, coefs), file.path(out, "coefs.csv"), row.names = FALSE)
write.csv(do.call(rbind, th), file.path(out, "theta.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("MASS", packageVersion("MASS"))),
           file.path(out, "versions.txt"))
