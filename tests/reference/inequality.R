# Reference numbers for paleval.stats.inequality (SII, RII, concentration index).
# Run from the repo root:  Rscript tests/reference/inequality.R   (needs sandwich)
suppressPackageStartupMessages(library(sandwich))
out <- file.path("tests", "reference", "inequality")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
edu_levels <- c("Primary", "Lower secondary", "Upper secondary", "Short tertiary", "Long tertiary")

# individual-level data: 30 clusters of unequal size, a sparse top category, weights
set.seed(1997)
G <- 30
id <- rep(seq_len(G), pmax(2, round(rexp(G, 1 / 25))))
N <- length(id)
edu <- sample(edu_levels, N, TRUE, prob = c(0.25, 0.35, 0.25, 0.12, 0.03))
k <- match(edu, edu_levels)
age <- round(rnorm(N, 78, 8))
y <- rbinom(N, 1, plogis(-1.2 + 0.25 * (k - 1) - 0.02 * (age - 78) + rnorm(G, 0, 0.4)[id]))
w <- sample(1:3, N, TRUE)
income <- round(rlnorm(N, 12 + 0.1 * k, 0.5))          # continuous ranking variable
visits <- rpois(N, exp(1.2 - 0.15 * (k - 1)))          # non-binary outcome for C
ind <- data.frame(id = sprintf("c%02d", id), education = edu, age, y, w, income, visits)
ind$education[c(5, 17)] <- NA
write.csv(ind, file.path(out, "individual.csv"), row.names = FALSE)
# grouped counts: education x age band (one sparse education category)
grp <- data.frame(education = rep(edu_levels, each = 2), ageband = rep(c("<80", "80+"), 5),
                  n = c(400, 350, 500, 420, 300, 260, 150, 90, 12, 7),
                  events = c(60, 40, 100, 70, 80, 50, 45, 20, 5, 1))
write.csv(grp, file.path(out, "grouped.csv"), row.names = FALSE)

ridit <- function(k, w) {            # k: category index 1..K, w: weights
  s <- tapply(w, factor(k, levels = sort(unique(k))), sum); s <- s / sum(s)
  r <- cumsum(s) - s / 2
  unname(r[match(k, as.numeric(names(r)))])
}
res <- list()
add <- function(dataset, variant, measure, est, se) {
  res[[length(res) + 1]] <<- data.frame(dataset = dataset, variant = variant, measure = measure,
                                        estimate = est, std_error = se)
}
d <- ind[complete.cases(ind), ]
d$k <- match(d$education, edu_levels)
d$r <- ridit(d$k, rep(1, nrow(d)))
fit_all <- function(dd, dataset, variant, rhs = "r", cl = NULL) {
  f <- as.formula(paste("y ~", rhs))
  ctrl <- glm.control(epsilon = 1e-14, maxit = 100)
  m <- lm(f, dd); p <- glm(f, poisson, dd, control = ctrl); l <- glm(f, binomial, dd, control = ctrl)
  V <- if (is.null(cl)) function(x) vcovHC(x, type = "HC0") else function(x) vcovCL(x, cluster = cl, type = "HC0")
  add(dataset, variant, "SII", coef(m)[["r"]], sqrt(V(m)["r", "r"]))
  add(dataset, variant, "RII_poisson", coef(p)[["r"]], sqrt(V(p)["r", "r"]))
  add(dataset, variant, "RII_logit", coef(l)[["r"]], sqrt(V(l)["r", "r"]))
}
fit_all(d, "individual", "plain")
fit_all(d, "individual", "age", rhs = "r + age")
fit_all(d, "individual", "cluster", cl = ~id)
# frequency weights = expanded data
de <- d[rep(seq_len(nrow(d)), d$w), ]
de$r <- ridit(de$k, rep(1, nrow(de)))
fit_all(de, "individual", "weights")
# grouped counts -> expanded individuals
ge <- grp[rep(seq_len(nrow(grp)), grp$n), ]
ge$y <- unlist(lapply(seq_len(nrow(grp)), function(i) rep(c(1, 0), c(grp$events[i], grp$n[i] - grp$events[i]))))
ge$k <- match(ge$education, edu_levels)
ge$r <- ridit(ge$k, rep(1, nrow(ge)))
fit_all(ge, "grouped", "plain")
fit_all(ge, "grouped", "ageband", rhs = "r + ageband")

# concentration index: C = 2 cov(y, R) / mean(y) with fractional rank R (ties averaged)
conc <- function(y, x, grouped_se = TRUE) {
  n <- length(y)
  R <- (rank(x, ties.method = "average") - 0.5) / n
  mu <- mean(y)
  C <- 2 * mean((y - mu) * (R - mean(R))) / mu
  # convenient regression check
  b <- coef(lm(I(2 * mean((R - mean(R))^2) * y / mu) ~ R))[["R"]]
  stopifnot(abs(b - C) < 1e-10)
  # Kakwani, Wagstaff & van Doorslaer (1997) SE; groups = distinct values of x
  g <- factor(x); f <- as.vector(table(g)) / n
  mt <- as.vector(tapply(y, g, mean)); st <- as.vector(tapply(y, g, function(v) mean((v - mean(v))^2)))
  Rt <- as.vector(tapply(R, g, mean))
  q <- cumsum(f * mt) / mu; qp <- c(0, head(q, -1))
  a <- (mt / mu) * (2 * Rt - 1 - C) + 2 - qp - q
  v <- (sum(f * a^2) - (1 + C)^2) / n + sum(f * st * (2 * Rt - 1 - C)^2) / (n * mu^2)
  c(C, sqrt(v))
}
# individual formula (O'Donnell et al. 2008 eq. 8.7) for unique ranks, as a cross-check
conc_ind <- function(y, x) {
  o <- order(x); y <- y[o]; n <- length(y); R <- (seq_len(n) - 0.5) / n; mu <- mean(y)
  C <- 2 * mean((y - mu) * (R - mean(R))) / mu
  q <- cumsum(y) / sum(y); qp <- c(0, head(q, -1))
  a <- (y / mu) * (2 * R - 1 - C) + 2 - qp - q
  c(C, sqrt((mean(a^2) - (1 + C)^2) / n))
}
dj <- d
dj$income <- dj$income + seq_len(nrow(dj)) * 1e-3      # make income ranks unique
stopifnot(!any(duplicated(dj$income)))
write.csv(dj[, c("income", "visits", "y")], file.path(out, "individual_unique_income.csv"), row.names = FALSE)
a <- conc(dj$visits, dj$income); b <- conc_ind(dj$visits, dj$income)
stopifnot(abs(a - b) < 1e-12)
add("individual", "income_visits", "C", a[1], a[2])
a <- conc(dj$y, dj$income); add("individual", "income_y", "C", a[1], a[2])
a <- conc(d$y, d$k); add("individual", "education_y", "C", a[1], a[2])
a <- conc(d$visits, d$k); add("individual", "education_visits", "C", a[1], a[2])
a <- conc(ge$y, ge$k); add("grouped", "plain", "C", a[1], a[2])
# ridits of the grouped data
rt <- aggregate(n ~ education, grp, sum); rt <- rt[match(edu_levels, rt$education), ]
rt$share <- rt$n / sum(rt$n); rt$ridit <- cumsum(rt$share) - rt$share / 2
write.csv(rt, file.path(out, "ridits_grouped.csv"), row.names = FALSE)
write.csv(do.call(rbind, res), file.path(out, "results.csv"), row.names = FALSE)
