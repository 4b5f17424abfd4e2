#!/usr/bin/env python3
"""Summary of a bench/run.sh run: figures, ratios against the targets of issue 2 point 11, PASS/FAIL.

usage: summarize.py RESULTS_DIR RUNS

Reads the hyperfine JSON exports (import-*.json), the tools' own outputs (import-*.log) and the wrk
outputs (wrk-*.txt) of RESULTS_DIR; prints a table in French and writes summary.json beside them.
Exits 0 whether targets are met or not; exits 2 when the raw outputs are unusable (missing file,
HTTP errors during a load test), since the figures would then mean nothing.
"""
import json
import os
import re
import statistics
import sys

out, runs = sys.argv[1], int(sys.argv[2])
problems = []

# Targets of the issue.
IMPORT_SPEEDUP = 3.0  # ctg SQLite imports at least 3× as fast as their Python baselines (issue 15, point 5)
TERRITORY_SHARE = 1 / 3  # territory rps at least a third of /healthz rps


def path(name):
    return os.path.join(out, name)


def hyperfine(name):
    """Median and min of the whole-process wall time (s), or None when the step was skipped."""
    if not os.path.exists(path(name + ".json")):
        return None
    with open(path(name + ".json"), encoding="utf-8") as f:
        r = json.load(f)["results"][0]
    times = r["times"]
    return {"median": statistics.median(times), "min": min(times), "runs": len(times)}


def internal(name, pattern):
    """Median and min of the elapsed time each tool prints itself, over the timed runs (the last ones)."""
    if not os.path.exists(path(name + ".log")):
        return None
    with open(path(name + ".log"), encoding="utf-8") as f:
        found = [float(m.group(1)) for m in re.finditer(pattern, f.read())]
    found = found[-runs:]
    if not found:
        problems.append(f"{name}.log : aucun temps interne trouvé")
        return None
    return {"median": statistics.median(found), "min": min(found)}


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(name):
    if not os.path.exists(path(name + ".txt")):
        return None
    with open(path(name + ".txt"), encoding="utf-8") as f:
        text = f.read()
    r = {"rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1))}
    for p in (50, 75, 90, 99):
        r[f"p{p}"] = to_ms(re.search(rf"^\s+{p}%\s+(\S+)", text, re.M).group(1))
    r["requests"] = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        problems.append(f"{name} : {non2xx.group(1)} réponses HTTP en erreur")
    errors = re.search(r"Socket errors: (.*)", text)
    if errors:
        problems.append(f"{name} : erreurs de socket ({errors.group(1)})")
    return r


CTG = r"Territoire importé \(millésime \d+\) en ([0-9.]+) s"
PY = r"baseline python import: .* in ([0-9.]+) s"
imports = {
    "python": ("Python de référence (json + sqlite3)", hyperfine("import-python"), internal("import-python", PY)),
    "sqlite-first": ("ctg SQLite, premier chargement", hyperfine("import-sqlite-first"), internal("import-sqlite-first", CTG)),
    "sqlite-reimport": ("ctg SQLite, réimport", hyperfine("import-sqlite-reimport"), internal("import-sqlite-reimport", CTG)),
    "postgres-first": ("ctg PostgreSQL, premier chargement", hyperfine("import-postgres-first"), internal("import-postgres-first", CTG)),
    "postgres-reimport": ("ctg PostgreSQL, réimport", hyperfine("import-postgres-reimport"), internal("import-postgres-reimport", CTG)),
}
http = {
    (backend, endpoint): wrk(f"wrk-{backend}-{endpoint}")
    for backend in ("sqlite", "postgres")
    for endpoint in ("healthz", "territoire")
}
for key in ("python", "sqlite-first", "sqlite-reimport"):
    if imports[key][1] is None:
        problems.append(f"import-{key}.json manquant")
OD_CTG = r"chiffres importés depuis .* en ([0-9.]+) s"
OD_PY = r"baseline python import: .* in ([0-9.]+) s"


def memory(name):
    """The memory peak (MiB) of one run, as /usr/bin/time -f %M wrote it (KiB), or None."""
    if not os.path.exists(path(name + ".mem")):
        return None
    with open(path(name + ".mem"), encoding="utf-8") as f:
        found = re.findall(r"^(\d+)$", f.read(), re.M)
    return int(found[-1]) / 1024 if found else None


open_data = {
    name: {
        "python": (hyperfine(f"od-python-{name}"), internal(f"od-python-{name}", OD_PY), memory(f"od-python-{name}")),
        "ctg": (hyperfine(f"od-ctg-{name}"), internal(f"od-ctg-{name}", OD_CTG), memory(f"od-ctg-{name}")),
    }
    for name in ("txcouv_pe_com", "s_ben_com_f")
    if os.path.exists(path(f"od-ctg-{name}.json"))
}

print(f"Import du territoire complet (@etalab/decoupage-administratif 6.0.0), {runs} exécutions chronométrées")
print("  « processus » : temps total mesuré par hyperfine (démarrage compris) ; « interne » : temps affiché par l'outil")
print(f"  {'':38} {'processus médiane':>18} {'min':>8} {'interne médiane':>16} {'min':>8}")
for label, wall, inner in imports.values():
    if wall is None:
        continue
    inner_med = f"{inner['median']:.3f} s" if inner else "-"
    inner_min = f"{inner['min']:.3f} s" if inner else "-"
    print(f"  {label:38} {wall['median']:>16.3f} s {wall['min']:>6.3f} s {inner_med:>16} {inner_min:>8}")

if open_data:
    print()
    print("Données ouvertes de la CNAF, fichiers nationaux générés (bench/generer-donnees-ouvertes.py), SQLite")
    print(f"  {'':38} {'processus médiane':>18} {'min':>8} {'interne médiane':>16} {'mémoire max':>12}")
    for name, sides in open_data.items():
        for side, (wall, inner, mem) in sides.items():
            if wall is None:
                continue
            label = f"{name}.csv, {'Python (csv + sqlite3)' if side == 'python' else 'ctg'}"
            inner_med = f"{inner['median']:.3f} s" if inner else "-"
            mem_text = f"{mem:.0f} Mio" if mem else "-"
            print(f"  {label:38} {wall['median']:>16.3f} s {wall['min']:>6.3f} s {inner_med:>16} {mem_text:>12}")

print()
print("HTTP, wrk -t2 -c32 sur la boucle locale (127.0.0.1), même serveur pour les deux adresses")
print(f"  {'base':10} {'adresse':36} {'req/s':>10} {'p50':>10} {'p90':>10} {'p99':>10}")
for (backend, endpoint), r in http.items():
    if r is None:
        continue
    label = "/healthz" if endpoint == "healthz" else "/api/v1/conventions/{id}/territoire"
    print(f"  {backend:10} {label:36} {r['rps']:>10.0f} {r['p50']:>7.2f} ms {r['p90']:>7.2f} ms {r['p99']:>7.2f} ms")

print()
print("Objectifs")
verdicts = []


def verdict(ok, text):
    verdicts.append({"ok": ok, "text": text})
    print(f"  {'PASS' if ok else 'FAIL'}  {text}")


base = imports["python"][1]
for key, what in (("sqlite-first", "premier chargement"), ("sqlite-reimport", "réimport")):
    ours = imports[key][1]
    if base and ours:
        ratio = base["median"] / ours["median"]
        verdict(
            ratio >= IMPORT_SPEEDUP,
            f"import SQLite ({what}) au moins {IMPORT_SPEEDUP:g}× plus rapide que Python : "
            f"{base['median']:.3f} s / {ours['median']:.3f} s = {ratio:.2f}× (médianes, processus compris)",
        )
for name, sides in open_data.items():
    (py, py_inner, _), (ours, ours_inner, _) = sides["python"], sides["ctg"]
    if py and ours:
        ratio = py["median"] / ours["median"]
        verdict(
            ratio >= IMPORT_SPEEDUP,
            f"import des données ouvertes {name}.csv au moins {IMPORT_SPEEDUP:g}× plus rapide que Python : "
            f"{py['median']:.3f} s / {ours['median']:.3f} s = {ratio:.2f}× (médianes, processus compris)",
        )
    if py_inner and ours_inner:
        print(
            f"  info  temps internes ({name}.csv) : "
            f"{py_inner['median']:.3f} s / {ours_inner['median']:.3f} s = {py_inner['median'] / ours_inner['median']:.2f}×"
        )
inner_base = imports["python"][2]
for key, what in (("sqlite-first", "premier chargement"), ("sqlite-reimport", "réimport")):
    inner = imports[key][2]
    if inner_base and inner:
        print(
            f"  info  temps internes ({what}), démarrage des processus exclu : "
            f"{inner_base['median']:.3f} s / {inner['median']:.3f} s = {inner_base['median'] / inner['median']:.2f}×"
        )
for backend in ("sqlite", "postgres"):
    h, t = http[(backend, "healthz")], http[(backend, "territoire")]
    if h and t:
        share = t["rps"] / h["rps"]
        verdict(
            share >= TERRITORY_SHARE,
            f"territoire ({backend}) au moins le tiers du débit de /healthz : "
            f"{t['rps']:.0f} / {h['rps']:.0f} req/s = {share:.2f} (objectif ≥ 0,33)",
        )

with open(path("summary.json"), "w", encoding="utf-8") as f:
    json.dump(
        {
            "imports": {k: {"wall": v[1], "internal": v[2]} for k, v in imports.items()},
            "http": {f"{b}/{e}": r for (b, e), r in http.items()},
            "donnees_ouvertes": {
                n: {side: {"wall": v[0], "internal": v[1], "memory_mib": v[2]} for side, v in sides.items()}
                for n, sides in open_data.items()
            },
            "verdicts": verdicts,
            "problems": problems,
        },
        f,
        ensure_ascii=False,
        indent=2,
    )

if problems:
    print()
    print("Résultats inutilisables :")
    for p in problems:
        print(f"  - {p}")
    sys.exit(2)
