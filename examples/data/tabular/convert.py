#!/usr/bin/env python3
"""Makes the CSV files of this folder from Debian's python3-sklearn (BSD-3-Clause) and python3-statsmodels data.

Usage: python3 convert.py SKLEARN_DATA_DIR STATSMODELS_DATASETS_DIR
  (after `apt-get download python3-sklearn python3-statsmodels` and `dpkg-deb -x` of each, or with the packages installed:
   /usr/lib/python3/dist-packages/sklearn/datasets/data and /usr/lib/python3/dist-packages/statsmodels/datasets)
Every output: a header line, then one row per sample: the features f0..fN-1, then the label, comma-separated.
"""
import csv, gzip, os, sys

def write(name, rows, header):
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)

def sklearn_table(path, opener=open):
    with opener(path, "rt") as f:
        lines = list(csv.reader(f))
    return [row for row in lines[1:] if row]

def main():
    sk, sm = sys.argv[1], sys.argv[2]
    iris = sklearn_table(os.path.join(sk, "iris.csv"))
    write("iris.csv", iris, ["sepal_length", "sepal_width", "petal_length", "petal_width", "label"])
    wine = sklearn_table(os.path.join(sk, "wine_data.csv"))
    write("wine.csv", wine, [f"f{i}" for i in range(13)] + ["label"])
    with gzip.open(os.path.join(sk, "digits.csv.gz"), "rt") as f:
        digits = [row for row in csv.reader(f) if row]
    write("digits.csv", digits, [f"p{i}" for i in range(64)] + ["label"])
    with gzip.open(os.path.join(sk, "diabetes_data_raw.csv.gz"), "rt") as f:
        x = [line.split() for line in f if line.strip()]
    with gzip.open(os.path.join(sk, "diabetes_target.csv.gz"), "rt") as f:
        y = [str(float(line)) for line in f if line.strip()]
    write("diabetes.csv", [a + [b] for a, b in zip(x, y)], ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "label"])
    with open(os.path.join(sm, "anes96", "anes96.csv")) as f:
        rows = list(csv.reader(f, delimiter="\t"))
    names = [n.strip("'") for n in rows[0]]
    vote = names.index("vote")
    keep = [i for i, n in enumerate(names) if n != "vote"]
    write("anes96.csv", [[r[i] for i in keep] + [r[vote]] for r in rows[1:] if r], [names[i] for i in keep] + ["label"])

main()
