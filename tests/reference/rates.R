# Reference numbers for direct age standardisation of rates with person-time
# (paleval.stats.standardise.direct_standardise(per=...), european_standard_population).
# Run from the repo root:  Rscript tests/reference/rates.R
# epitools::ageadjust.direct itself (Fay & Feuer 1997 gamma limits).
suppressPackageStartupMessages(library(epitools))
out <- file.path("tests", "reference", "rates")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
writeLines(c(R.version.string, paste("epitools", packageVersion("epitools"))),
           file.path(out, "versions.txt"))

# data set 1: epitools' own example (Fleiss 1981 p. 249; Fay & Feuer 1997 Table 1): live births
# with Down syndrome by birth order and maternal age, standard = mean population of orders 1-5
population <- matrix(c(230061, 329449, 114920, 39487, 14208, 3052,
  72202, 326701, 208667, 83228, 28466, 5375, 15050, 175702,
  207081, 117300, 45026, 8660, 2293, 68800, 132424, 98301,
  46075, 9834, 327, 30666, 123419, 149919, 104088, 34392), 6, 5)
count <- matrix(c(107, 141, 60, 40, 39, 25, 25, 150, 110, 84, 82, 39,
  3, 71, 114, 103, 108, 75, 1, 26, 64, 89, 137, 96, 0, 8, 63, 112, 262, 295), 6, 5)
ages <- c("Under 20", "20-24", "25-29", "30-34", "35-39", "40 and over")
orders <- c("1", "2", "3", "4", "5+")
standard <- apply(population, 1, mean)
d1 <- data.frame(age = rep(ages, 5), birth_order = rep(orders, each = 6),
                 events = as.vector(count), person_years = as.vector(population))
write.csv(d1, file.path(out, "epitools_data.csv"), row.names = FALSE)
write.csv(data.frame(age = ages, population = standard), file.path(out, "epitools_standard.csv"),
          row.names = FALSE)

# data set 2: synthetic rates per person-year (fractional person-years), 4 regions x 2
# periods, ESP2013 aggregated to the bands <65 (from 40), 65-74, 75-84, 85+; one group with
# a zero-event band and one with very few events
esp <- c(1000, 4000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000,
         5500, 5000, 4000, 2500, 1500, 800, 200)
esp_lower <- c(0, 1, seq(5, 95, 5))
write.csv(data.frame(age_lower = esp_lower, population = esp), file.path(out, "esp2013.csv"),
          row.names = FALSE)
bands <- c(40, 65, 75, 85)
band_of <- findInterval(esp_lower, bands)
std2 <- tapply(esp[band_of > 0], band_of[band_of > 0], sum)
set.seed(2013)
g <- expand.grid(age_lower = bands, period = c("2015-2017", "2018-2020"),
                 region = c("Hovedstaden", "Midtjylland", "Nordjylland", "Sjaelland"))
g$person_years <- round(runif(nrow(g), 200, 4000) * c(3, 1.5, 1, 0.4), 4)
g$events <- rpois(nrow(g), g$person_years * c(0.004, 0.012, 0.03, 0.08))
g$events[g$region == "Nordjylland" & g$period == "2015-2017" & g$age_lower == 40] <- 0
sparse <- g$region == "Sjaelland" & g$period == "2018-2020"
g$person_years[sparse] <- g$person_years[sparse] / 50
g$events[sparse] <- c(0, 1, 1, 3)
write.csv(g, file.path(out, "synth_data.csv"), row.names = FALSE)
write.csv(data.frame(age_lower = bands, population = as.vector(std2)),
          file.path(out, "synth_standard.csv"), row.names = FALSE)

res <- list()
add <- function(ds, grp, x, pop, std, cl) {
  a <- ageadjust.direct(count = x, pop = pop, stdpop = std, conf.level = cl)
  w <- std / sum(std)
  data.frame(dataset = ds, group = grp, conf_level = cl, events = sum(x), person_years = sum(pop),
             crude = a[["crude.rate"]], estimate = a[["adj.rate"]],
             std_error = sqrt(sum(w^2 * x / pop^2)), conf_low = a[["lci"]], conf_high = a[["uci"]])
}
for (cl in c(0.95, 0.9)) {
  for (k in 1:5) res[[length(res) + 1]] <- add("epitools", orders[k], count[, k], population[, k],
                                               standard, cl)
  for (r in unique(g$region)) for (p in unique(g$period)) {
    s <- g[g$region == r & g$period == p, ]
    s <- s[order(s$age_lower), ]
    res[[length(res) + 1]] <- add("synth", paste(r, p, sep = "|"), s$events, s$person_years,
                                  as.vector(std2), cl)
  }
}
write.csv(do.call(rbind, res), file.path(out, "results.csv"), row.names = FALSE)
