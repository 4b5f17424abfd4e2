#!/usr/bin/env python3
"""Summary of bench/profils-http.sh: per profile, the median over rounds of each figure.

usage: profils-http-resume.py OUT_DIR PROFILE...
"""
import glob
import os
import re
import statistics
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(path):
    text = open(path, encoding="utf-8").read()
    if re.search(r"Non-2xx or 3xx responses|Socket errors", text):
        raise SystemExit(f"{path}: erreurs HTTP")
    return {"rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1)),
            "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
            "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))}


def couv(path):
    text = open(path, encoding="utf-8").read()
    num = lambda pat: float(re.sub(r"[\s\u202f]", "", re.search(pat, text).group(1)).replace(",", "."))
    return {"lecture": num(r"Lecture des lignes.*?médiane ([0-9,\s\u202f]+?) ms"),
            "analyse": num(r"Analyse de toutes les communes.*?médiane ([0-9,\s\u202f]+?) ms")}


out, names = sys.argv[1], sys.argv[2:]
rows = {}
for n in names:
    r = {}
    for kind in ("healthz", "territoire", "plan"):
        vals = [wrk(p) for p in sorted(glob.glob(os.path.join(out, f"{n}-*-{kind}.txt")))]
        for k in ("rps", "p50", "p99"):
            r[f"{kind}_{k}"] = [v[k] for v in vals]
    vals = [couv(p) for p in sorted(glob.glob(os.path.join(out, f"{n}-*-couverture.txt")))]
    r["couv_lecture_ms"] = [v["lecture"] for v in vals]
    r["couv_analyse_ms"] = [v["analyse"] for v in vals]
    rows[n] = r
ref = "fat1" if "fat1" in names else names[0]
print(f"médianes des tours ; (écart à {ref}, + = mieux)")
print("mesure".ljust(18) + "".join(n.rjust(24) for n in names))
for k in rows[names[0]]:
    line = k.ljust(18)
    for n in names:
        if not rows[n][k] or not rows[ref][k]:
            line += "—".rjust(24)
            continue
        v, r = statistics.median(rows[n][k]), statistics.median(rows[ref][k])
        gain = v / r - 1 if k.endswith("rps") else r / v - 1
        line += f"{v:11.2f} ({gain * 100:+5.1f} %)".rjust(24)
    print(line)
for n in names:
    print(n, {k: [round(x, 2) for x in v] for k, v in rows[n].items()})
