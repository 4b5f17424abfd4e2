"""Prepares the contract tests of scripts/contract.sh against a server holding the demo.

Adds through the API what the demo lacks (a fiche, a meeting and its decision, an indicator, an
objective, an avenant), reads the ids of what exists, and writes a schemathesis configuration that draws the
ids of the paths from them most of the time: without it, nearly every generated id names nothing,
the server answers 404 before reading the body, and the bodies go untested.

Usage: python contract_setup.py BASE_URL TOKEN CONVENTION CONFIG_PATH
"""

import json
import sys
import urllib.request

base, token, convention, config_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
api = f"{base}/api/v1"

# How often a path id is drawn from the real ones rather than generated (generated ids still test
# the 404 answers).
PROBABILITY = 0.9


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{api}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            text = r.read()
    except urllib.error.HTTPError as e:
        sys.exit(f"ÉCHEC de la préparation : {method} {path} → {e.code} {e.read().decode(errors='replace')}")
    return json.loads(text) if text else None


c = f"/conventions/{convention}"
fiches = [call("POST", f"{c}/plan/fiches", {"code": "TC1", "intitule": "Fiche des tests de contrat", "ambitions": [1]})["id"]]
instances = [b["id"] for b in call("GET", f"{c}/instances")]
if not instances:
    sys.exit("ÉCHEC de la préparation : la démonstration n'a pas d'instance dans cette convention")

meeting = call(
    "POST",
    f"{c}/instances/{instances[0]}/seances",
    {"intitule": "Séance des tests de contrat", "date": "2026-12-10", "debut": "14:00", "fin": "16:00"},
)["id"]
call(
    "POST",
    f"{c}/seances/{meeting}/decisions",
    {"texte": "Décision des tests de contrat", "fiches": [fiches[0]], "suivi_par": "CAF", "echeance": "2027-03-31"},
)
call(
    "POST",
    f"{c}/plan/indicateurs",
    {
        "fiche": fiches[0],
        "definition": {
            "name": "Places créées",
            "kind": {"nature": "quantitative", "unit": "places", "baseline": 0, "baseline_year": 2025, "direction": "increase"},
            "targets": {"2026": 10, "2027": 25},
        },
    },
)
objective = call("POST", f"{c}/plan/objectifs", {"ambition": 1, "code": "9.9", "intitule": "Objectif des tests de contrat"})["id"]
call(
    "POST",
    f"{c}/avenants",
    {"date": "2026-11-20", "intitule": "Avenant des tests de contrat", "modifications": [{"objet": "autre", "nom": "essai", "avant": "a", "apres": "b"}]},
)

detail = call("GET", f"{c}")
plan = call("GET", f"{c}/plan")
life = call("GET", f"{c}/vie")
meetings = [m["id"] for b in instances for m in call("GET", f"{c}/instances/{b}/seances")]
ids = {
    "id": [convention],
    "partie": [p["id"] for p in detail["parties"]],
    "equipement": [f["id"] for f in call("GET", f"{c}/equipements")][:10],
    "fiche": [f["id"] for f in plan["fiches"]],
    "indicateur": [i["id"] for i in plan["indicateurs"]],
    "objectif": [objective],
    "instance": instances,
    "seance": meetings,
    "decision": [d["id"] for d in call("GET", f"{c}/decisions")],
    "evenement": [e["id"] for e in call("GET", f"{c}/concertation")["evenements"]],
    "avenant": [a["id"] for a in life["avenants"]],
    "cle": ["convention", "annexe-1"],
    "siren": [detail["epci"]["siren"]],
}
empty = [name for name, values in ids.items() if not values]
if empty:
    sys.exit(f"ÉCHEC de la préparation : aucun identifiant pour {', '.join(empty)}")

with open(config_path, "w", encoding="utf-8") as f:
    for name, values in ids.items():
        f.write(f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n\n")
    f.write("[parameters]\n")
    for name in ids:
        f.write(f'"path.{name}" = {{ dictionary = "{name}", probability = {PROBABILITY} }}\n')
print(", ".join(f"{name} : {len(values)}" for name, values in ids.items()))
