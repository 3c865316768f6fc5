"""tap-mautic's own output loads into target-mautic as it is: no option set, every record accounted for.

The two real CLIs run as processes joined by a pipe, as `tap-mautic | target-mautic` or a Meltano run does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

from mautic_api import normalize
from tests.support.config import basic_config
from tests.support.tap import ROOT, catalog_for

# Every stream the tap emits under a name the target loads.
SHARED_STREAMS = ["contacts", "companies", "notes"]


def _contact_rows(sim):
    return {r["id"]: r for r in sim.query("SELECT id, email, firstname, lastname, city, points FROM leads")}


def test_tap_output_loads_into_target_unchanged(sim, tmp_path):
    cfg = basic_config(sim)
    (tmp_path / "tap.json").write_text(json.dumps(cfg))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for(cfg, SHARED_STREAMS)))
    target_cfg = {k: cfg[k] for k in ("base_url", "username", "password")}
    target_cfg["results_path"] = str(tmp_path / "results.jsonl")
    (tmp_path / "target.json").write_text(json.dumps(target_cfg))
    # an email a real 5.1 would store stripped ("ünï@…" -> "n@…"): set in the database, as the API cannot
    sim.execute("UPDATE leads SET email = 'zoë.ünï@example.com' WHERE id = (SELECT MIN(id) FROM leads "
                "WHERE email IS NOT NULL)")
    before = _contact_rows(sim)
    notes_before = sim.query("SELECT COUNT(*) AS n FROM lead_notes")[0]["n"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    tap = subprocess.Popen(
        [sys.executable, "-m", "tap_mautic", "--config", str(tmp_path / "tap.json"),
         "--catalog", str(tmp_path / "catalog.json")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path,
    )
    target = subprocess.run(
        [sys.executable, "-m", "target_mautic", "--config", str(tmp_path / "target.json")],
        stdin=tap.stdout, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert tap.wait(timeout=60) == 0
    assert target.returncode == 0, target.stderr[-2000:]
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    outcomes = Counter((r["stream"], r["outcome"]) for r in results)
    n_companies = sim.query("SELECT COUNT(*) AS n FROM companies")[0]["n"]
    cleaned = {cid for cid, row in before.items()
               if row.get("email") and normalize.email(row["email"]) != row["email"]}
    # compare before write: the contacts (tags, owner and stage included) and companies Mautic already holds
    # as read are unchanged, nothing is sent for them; but for the emails Mautic's cleaning alters (below)
    assert outcomes == {("contacts", "unchanged"): len(before) - len(cleaned),
                        ("contacts", "updated"): len(cleaned), ("companies", "unchanged"): n_companies,
                        ("notes", "updated"): notes_before}, outcomes
    # Writing back what was read changes nothing and creates nothing, but what Mautic's own cleaning alters:
    # the non-ASCII email set above, which a real 5.1 stores stripped on any write (mautic_api.normalize);
    # that row says so in a warning.
    assert len(cleaned) == 1
    expected = {cid: {**row, "email": normalize.email(row["email"])} if cid in cleaned else row
                for cid, row in before.items()}
    assert _contact_rows(sim) == expected
    warned = {r["mautic_id"] for r in results
              if r["stream"] == "contacts" and any(w.startswith("property 'email'") for w in r["warnings"])}
    assert warned == cleaned
    assert sim.query("SELECT COUNT(*) AS n FROM lead_notes")[0]["n"] == notes_before
    assert "bookmarks" in json.loads(target.stdout.strip().splitlines()[-1])  # the tap's state, passed on
