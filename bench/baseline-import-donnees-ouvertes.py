#!/usr/bin/env python3
"""Baseline for the open data import benchmark (issue 15, point 5): what a user would write instead.

Reads one CNAF file (txcouv_pe_com or s_ben_com_f) with the csv module, by column name, turns every
cell into one figure (indicator, commune, year, value; decimal commas, blank or secret cells skipped),
and writes them into a fresh SQLite database with sqlite3, in one transaction. Prints the elapsed time.

usage: baseline-import-donnees-ouvertes.py FILE.csv DB_PATH
"""
import csv
import os
import sqlite3
import sys
import time

path, db = sys.argv[1:3]
start = time.perf_counter()
if os.path.exists(db):
    os.remove(db)
con = sqlite3.connect(db)
con.execute("pragma journal_mode=wal")
con.execute(
    "create table figure(indicator text, area_kind text, area_code text, year int, value real, "
    "source_file text, primary key(indicator, area_kind, area_code, year))"
)
name = os.path.basename(path)
with open(path, encoding="utf-8-sig", newline="") as f:
    reader = csv.reader(f, delimiter=";")
    header = [h.strip().lower() for h in next(reader)]
    code_col = header.index("numcom") if "numcom" in header else header.index("numcomdo")
    year_col = header.index("annee") if "annee" in header else header.index("dtreffre")
    measures = [(i, h) for i, h in enumerate(header) if h.startswith("txcouv") or h.startswith("ind")]
    rows = []
    for r in reader:
        code = r[code_col].strip()
        if not code:
            continue
        raw = r[year_col].strip()
        year = int(raw[-4:]) if "/" in raw else int(raw[:4])
        for i, h in measures:
            cell = r[i].strip()
            if not cell or cell == "s":
                continue
            rows.append((h, "commune", code, year, float(cell.replace(",", ".")), name))
with con:
    con.executemany("insert or replace into figure values (?, ?, ?, ?, ?, ?)", rows)
elapsed = time.perf_counter() - start
print(f"baseline python import: {len(rows)} chiffres de {name} in {elapsed:.3f} s")
