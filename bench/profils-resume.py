#!/usr/bin/env python3
"""Summary of bench/profils-banc.sh: per profile, the median over rounds of each runtime figure.

usage: profils-resume.py bench/results/profils-banc.tsv
"""
import json
import os
import re
import statistics
import sys
from collections import defaultdict

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if re.search(r"Non-2xx or 3xx responses|Socket errors", text):
        raise SystemExit(f"{path}: erreurs HTTP")
    return (float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)),
            to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
            to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))


def hyperfine(path):
    with open(path, encoding="utf-8") as f:
        return statistics.median(json.load(f)["results"][0]["times"]) * 1000


def couverture(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    num = lambda pat: float(re.search(pat, text).group(1).replace(",", ".").replace("\u202f", "").replace(" ", ""))
    return (num(r"Lecture des lignes.*médiane ([0-9, \u202f]+) ms"),
            num(r"Analyse de toutes les communes.*médiane ([0-9, \u202f]+) ms"))


figures = defaultdict(lambda: defaultdict(list))
order = []
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        name, _round, d = line.rstrip("\n").split("\t")
        if name not in order:
            order.append(name)
        fig = figures[name]
        fig["import_first_ms"].append(hyperfine(os.path.join(d, "import-sqlite-first.json")))
        fig["import_reimport_ms"].append(hyperfine(os.path.join(d, "import-sqlite-reimport.json")))
        rps, p50, p99 = wrk(os.path.join(d, "wrk-sqlite-territoire.txt"))
        fig["territoire_rps"].append(rps); fig["territoire_p50"].append(p50); fig["territoire_p99"].append(p99)
        fig["healthz_rps"].append(wrk(os.path.join(d, "wrk-sqlite-healthz.txt"))[0])
        read, analysis = couverture(os.path.join(d, "couverture.txt"))
        fig["couv_lecture_ms"].append(read); fig["couv_analyse_ms"].append(analysis)
        rps, p50, p99 = wrk(os.path.join(d, "plan-wrk-arborescence.txt"))
        fig["plan_rps"].append(rps); fig["plan_p50"].append(p50); fig["plan_p99"].append(p99)
        fig["plan1_p50"].append(wrk(os.path.join(d, "plan-wrk-arborescence-seule.txt"))[1])

keys = ["import_first_ms", "import_reimport_ms", "healthz_rps", "territoire_rps", "territoire_p50",
        "territoire_p99", "couv_lecture_ms", "couv_analyse_ms", "plan_rps", "plan_p50", "plan_p99", "plan1_p50"]
ref = order[-1] if "fat1" not in order else "fat1"
print("médianes sur les tours ; entre parenthèses : écart à " + ref + " (le signe + est toujours un gain)")
print("mesure".ljust(20) + "".join(n.rjust(22) for n in order))
for k in keys:
    row = k.ljust(20)
    for n in order:
        v = statistics.median(figures[n][k])
        r = statistics.median(figures[ref][k])
        higher_better = k.endswith("rps")
        gain = (v / r - 1) if higher_better else (r / v - 1)
        row += f"{v:12.2f} ({gain * 100:+5.1f} %)".rjust(22)
    print(row)
print()
for n in order:
    print(n, {k: [round(x, 2) for x in figures[n][k]] for k in keys})
