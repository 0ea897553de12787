# Writes public tabular data sets that ship with R (Debian: r-base-core, r-cran-mass) as CSV files into the folder given
# as the first argument, for the tabular benchmark's unseen sets (TabularBenchmark.RDataSets). Nothing is downloaded:
# the data come from the installed packages. Values only, no quotes, label last unless the benchmark says otherwise.
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
dir.create(out, recursive = TRUE, showWarnings = FALSE)
library(MASS)
put <- function(frame, name) write.csv(frame, file.path(out, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)

# Regression
put(Boston, "boston")                                                        # medv: median home value, 13 features
put(cpus[, c("syct", "mmin", "mmax", "cach", "chmin", "chmax", "perf")], "cpus") # published performance (estperf dropped)
put(quakes[, c("lat", "long", "depth", "stations", "mag")], "quakes")        # magnitude of 1,000 Fiji earthquakes
nl <- nlschools
nl$COMB <- as.integer(nl$COMB == "1")
put(nl[, c("class", "IQ", "GS", "SES", "COMB", "lang")], "nlschools")        # language score; class keeps pupils together

# Binary
put(rbind(Pima.tr, Pima.te), "pima")                                         # type: diabetes Yes/No, 532 women
put(na.omit(biopsy), "biopsy")                                               # class: benign/malignant; ID keeps repeats together
put(birthwt[, c("age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv", "low")], "birthwt") # low birth weight (bwt dropped)
put(infert[, c("education", "age", "parity", "induced", "spontaneous", "stratum", "case")], "infert") # matched strata
put(rbind(synth.tr, synth.te), "synth")                                      # Ripley's two-feature synthetic problem

# Multiclass
put(fgl, "fgl")                                                              # forensic glass, 6 types
cr <- crabs[, c("FL", "RW", "CL", "CW", "BD")]
cr$group <- paste0(crabs$sp, crabs$sex)
put(cr, "crabs")                                                             # species x sex, 4 classes
