#!/usr/bin/env python3
"""Generates national-size open data files of the CNAF, as published (issue 15, point 5):

- txcouv_pe_com.csv: coverage rates by commune (`;`, decimal commas), N communes x Y years;
- s_ben_com_f.csv: allocataires by commune (`;`, counts rounded to 5, secret cells « s »), N x Y.

Deterministic (fixed seed); a few of the traps of the real files are there (rates above 100, blank
cells, `annee` as a date, the Lyon arrondissements, an EPCI « XX »).

usage: generer-donnees-ouvertes.py OUT_DIR [COMMUNES=35000] [YEARS=5]
"""
import os
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 35000
years = int(sys.argv[3]) if len(sys.argv) > 3 else 5
os.makedirs(out, exist_ok=True)
rng = random.Random(15)

deps = [f"{d:02d}" for d in range(1, 96) if d != 20]
communes = []
for i in range(n):
    dep = deps[i % len(deps)]
    num = 1 + i // len(deps)
    code = f"{dep}{num:03d}"
    communes.append((code, f"Commune {code}", f"2{i % 1255:08d}", dep))
# Lyon by arrondissement, as the CNAF writes it.
communes[:9] = [(f"6938{k}", f"Lyon {k}e Arrondissement", "200046977", "69") for k in range(1, 10)]
first = 2023 - years + 1


def dec(x):
    return f"{x:.1f}".replace(".", ",")


with open(os.path.join(out, "txcouv_pe_com.csv"), "w", encoding="utf-8", newline="") as f:
    f.write("annee;numcom;nomcom;numepci;nomepci;numdep;nomdep;txcouv_com;txcouv_eaje_com;txcouv_ind_com;"
            "txcouv_psu_col_com;txcouv_hors_psu_col_com;txcouv_prescol_com;txcouv_am_ind_com;txcouv_gad_ind_com\n")
    for y in range(first, first + years):
        annee = f"31/12/{y}" if y % 2 else str(y)
        for code, name, epci, dep in communes:
            epci = "XX" if code.endswith("999") else epci
            eaje = rng.uniform(0, 60)
            am = rng.uniform(0, 50)
            gad = rng.uniform(0, 3)
            pre = rng.uniform(0, 8)
            psu = eaje * 0.8
            total = eaje + am + gad + pre
            cells = [total, eaje, am + gad, psu, eaje - psu, pre, am, gad]
            row = [annee, code, name, epci, "EPCI " + epci, dep, "Département " + dep] + [dec(c) for c in cells]
            if rng.random() < 0.02:
                row[9] = ""
            f.write(";".join(row) + "\n")

cols = ["indfoy_ndur", "indnbp_ndur", "indfoy_af", "indfoy_cf", "indfoy_asf", "indfoy_ab", "indfoy_cmg",
        "indfoy_apl", "indfoy_als", "indfoy_alf", "indfoy_rsa", "indfoy_ppa", "indfoy_aah"]
with open(os.path.join(out, "s_ben_com_f.csv"), "w", encoding="utf-8", newline="") as f:
    f.write("dtreffre;numcomdo;nomcom;" + ";".join(cols) + "\n")
    for y in range(first, first + years):
        for code, name, _, _ in communes:
            base = rng.randint(5, 20000)
            vals = [base, base * 2 + 5] + [rng.randint(0, base) for _ in cols[2:]]
            cells = [str(5 * round(v / 5)) if v >= 5 else "s" for v in vals]
            f.write(f"31/12/{y};{code};{name};" + ";".join(cells) + "\n")
print(f"{n} communes x {years} années écrites dans {out}")
