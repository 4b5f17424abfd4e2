#!/usr/bin/env python3
"""Cuts the extract of @etalab/decoupage-administratif 6.0.0 that ships with the project (demo and tests).

usage: scripts/extraire-territoire.py PACKAGE_DATA_DIR OUT_DIR

Keeps, unchanged, the records of: the CA de Béthune-Bruay, Artois Lys Romane (200072460) and its 100
communes; an EPCI of Corse-du-Sud (codes 2A); an EPCI of La Réunion (codes 974); the Métropole de Lyon
(type MET69, with its arrondissements municipaux); and every other record that shares a code with a
kept commune (communes déléguées or associées), plus one commune outside any EPCI (Île-de-Bréhat).
"""
import json
import sys

src, out = sys.argv[1:3]
communes = json.load(open(f"{src}/communes.json", encoding="utf-8"))
epcis = json.load(open(f"{src}/epci.json", encoding="utf-8"))

def epci_of(code):
    return next(e for e in epcis if any(m["code"] == code for m in e["membres"]))

kept_epci = [next(e for e in epcis if e["code"] == "200072460"), epci_of("2A004"), epci_of("97411"), epci_of("69123")]
codes = {m["code"] for e in kept_epci for m in e["membres"]} | {"22016"}
kept_communes = [c for c in communes if c["code"] in codes or c.get("commune") in codes or c.get("chefLieu") in codes]
with open(f"{out}/communes.json", "w", encoding="utf-8") as f:
    json.dump(kept_communes, f, ensure_ascii=False, indent=1)
with open(f"{out}/epci.json", "w", encoding="utf-8") as f:
    json.dump(kept_epci, f, ensure_ascii=False, indent=1)
types = {}
for c in kept_communes:
    types[c["type"]] = types.get(c["type"], 0) + 1
print(len(kept_communes), "communes", types, len(kept_epci), "epci", [(e["code"], e["nom"], len(e["membres"])) for e in kept_epci])
