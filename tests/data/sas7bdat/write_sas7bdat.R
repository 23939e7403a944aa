# Writes the SAS datasets (sas7bdat) in sas/ from the CSV files in csv/, once; the files are
# committed, so neither R nor haven is needed to run the tests.
#   Rscript write_sas7bdat.R          (run from this folder; R haven 2.5.1 was used)
# haven writes sas7bdat with the ReadStat library (pyreadstat, which paleval reads SAS
# files with, can read sas7bdat but not write it). Dates become SAS dates (days since
# 1960-01-01 with a date format), counts and codes stored as numbers become SAS numerics,
# and missing text becomes the empty string, as in files delivered by SAS.
library(haven)
dates <- c("DODDATO", "FOED_DAG", "REFERENCETID", "HENV_DATO", "FOERSTE_KONTAKT_DATO")
numbers <- c("KOEN", "FAMILIE_TYPE", "ANTPERSF", "IE_TYPE", "OPR_LAND", "MODTAGET",
             "EORTC_UDFYLDT", "MDK")
for (stem in c("dod", "dpd", "bef201912")) {
  df <- read.csv(file.path("csv", paste0(stem, ".csv")), colClasses = "character",
                 encoding = "UTF-8", na.strings = character(0))
  for (col in names(df)) {
    if (col %in% dates) df[[col]] <- as.Date(ifelse(df[[col]] == "", NA, df[[col]]))
    if (col %in% numbers) df[[col]] <- as.numeric(ifelse(df[[col]] == "", NA, df[[col]]))
  }
  write_sas(df, file.path("sas", paste0(toupper(stem), ".sas7bdat")))
}
