# Reference numbers for paleval.stats.lexis (lexis_split, person_time_table).
# Run from the repo root:  Rscript tests/reference/lexis.R
# survival::survSplit cuts the follow-up on one time scale; the age bands are cut on the age
# scale (start = entry - birth), the calendar years by a second survSplit on the calendar scale.
# Dates are decimal years of 365.25 days since 1970-01-01 (the Epi::cal.yr convention).
suppressPackageStartupMessages(library(survival))
out <- file.path("tests", "reference", "lexis")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
writeLines(c(R.version.string, paste("survival", packageVersion("survival"))),
           file.path(out, "versions.txt"))

split_table <- function(d, cuts, years = NULL) {
  # d: id, birth, entry, exit (numeric years), event (0/1)
  d$a0 <- d$entry - d$birth
  d$a1 <- d$exit - d$birth
  s <- survSplit(Surv(a0, a1, event) ~ id + birth, data = d, cut = cuts, episode = "band",
                 start = "a0", end = "a1")
  s$age_lower <- c(-Inf, cuts)[s$band]
  s$start <- s$a0 + s$birth
  s$stop <- s$a1 + s$birth
  if (!is.null(years)) {
    jan1 <- as.numeric(as.Date(sprintf("%d-01-01", years))) / 365.25
    s <- survSplit(Surv(start, stop, event) ~ id + birth + age_lower, data = s, cut = jan1,
                   episode = "yr", start = "start", end = "stop")
    s$calendar_year <- c(years[1] - 1, years)[s$yr]
  } else {
    s$calendar_year <- NA_integer_
  }
  s$person_years <- s$stop - s$start
  s[order(s$id, s$start), c("id", "age_lower", "calendar_year", "start", "stop",
                            "person_years", "event")]
}

# data set 1 (real): survival::lung, age at entry (years) to death or censoring;
# birth = 0, entry = age, exit = age + time / 365.25, event = status == 2
lung <- survival::lung
d1 <- data.frame(id = seq_len(nrow(lung)), birth = 0, entry = lung$age,
                 exit = lung$age + lung$time / 365.25, event = as.integer(lung$status == 2))
write.csv(d1, file.path(out, "lung_input.csv"), row.names = FALSE)
s1 <- split_table(d1, c(40, 50, 60, 65, 70, 75, 80))
write.csv(s1, file.path(out, "lung_split.csv"), row.names = FALSE)

# data set 2 (synthetic, dates): birth 1915-1960, entry 2010-2014, up to 9 years of follow-up,
# age bands and calendar years
set.seed(2013)
n <- 300
birth <- as.Date("1915-01-01") + sample(0:(45 * 365), n, replace = TRUE)
birth[1:3] <- as.Date(c("1940-02-29", "1950-01-01", "1945-06-30"))
entry <- as.Date("2010-01-01") + sample(0:(5 * 365), n, replace = TRUE)
entry[2] <- as.Date("2015-01-01")  # entry on 1 January
fu <- pmax(1, round(rexp(n, 1 / 1200)))
exit <- pmin(entry + fu, as.Date("2019-12-31"))
exit[3] <- as.Date("2018-01-01")  # exit on 1 January
event <- rbinom(n, 1, 0.6)
d2 <- data.frame(id = seq_len(n), birth = birth, entry = entry, exit = exit, event = event)
write.csv(d2, file.path(out, "synth_input.csv"), row.names = FALSE)
num <- function(x) as.numeric(x) / 365.25
d2n <- data.frame(id = d2$id, birth = num(birth), entry = num(entry), exit = num(exit),
                  event = event)
s2 <- split_table(d2n, c(50, 60, 70, 80, 90), years = 2010:2020)
write.csv(s2, file.path(out, "synth_split.csv"), row.names = FALSE)
tab <- aggregate(cbind(events = event, person_years = person_years) ~ age_lower + calendar_year,
                 data = s2, FUN = sum)
write.csv(tab[order(tab$age_lower, tab$calendar_year), ], file.path(out, "synth_table.csv"),
          row.names = FALSE)
