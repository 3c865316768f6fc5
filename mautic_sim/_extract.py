"""Build ``mautic_sim/data/recorded.json`` from the recorded Mautic 5.1.0 exchanges.

Run once by a developer (``python -m mautic_sim._extract ../shared/mautic-5.1.0``). The simulator itself only
reads the generated JSON, so it works without the recordings. Only facts are taken: default field
definitions, the serialized shape of each context's entity, stats table columns and a few fixed bodies.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mautic_sim.recording import Exchange, load_all

OUT = Path(__file__).with_name("data") / "recorded.json"

# context name in file names -> (item key of the create response)
TEMPLATE_FILES = {  # get-by-id of the seeded entity where there is one: it has its nested lists filled
    "assets": "069", "campaigns": "042", "categories": "100", "companyFields": "134", "contactFields": "151",
    "devices": "185", "dynamiccontents": "199", "emails": "216", "focus": "233", "forms": "250",
    "marketingmessages": "267", "notes": "284", "notifications": "298", "pages": "315",
    "pointtriggers": "332", "points": "349", "reports": "368", "roles": "383", "segments": "400",
    "smses": "417", "stages": "434", "tags": "451", "tweets": "465", "users": "482", "webhooks": "496",
    "campaignevents": "582",
}
BODIES = {
    "themes": "600", "data_types": "605", "hook_triggers": "617", "point_action_types": "618",
    "trigger_event_types": "619", "users_self": "614", "users_self_client": "665", "permissioncheck": "616",
    "report_data": "366", "activity": "521", "activity_all": "524", "campaign_contact_events": "585",
    "data_emails.in.time": "606", "data_map.of.leads": "608", "data_top.lists": "609",
    "data_created.leads.in.time": "610", "data_anonymous.vs.identified.leads": "611",
    "data_created.leads.in.time_raw": "613", "campaign_event_edit": "586", "campaign_events_batch": "587",
    "contact_companies": "532", "contact_devices": "533", "utm_add": "516", "focus_js": "631",
    "email_send": "626", "sms_send": "627",
}


def main(folder: str) -> None:
    ex: dict[str, Exchange] = {e.name[:3]: e for e in load_all(Path(folder))}
    out: dict[str, Any] = {}
    fields: dict[int, dict[str, Any]] = {}
    for k in ("147", "148", "149", "150", "130"):
        for f in ex[k].resp_json()["fields"].values():
            fields[f["id"]] = f
    out["contact_fields"] = [fields[i] for i in sorted(fields) if i <= 28]
    out["company_fields"] = [fields[i] for i in sorted(fields) if 29 <= i <= 43]
    templates = {}
    for ctx, num in TEMPLATE_FILES.items():
        body = ex[num].resp_json()
        templates[ctx] = next(iter(body.values()))
    out["templates"] = templates
    out["system_reports"] = [r for r in ex["362"].resp_json()["reports"] if r["system"]]
    admin = ex["478"].resp_json()["users"][0]
    out["admin_user"] = admin
    out["admin_role"] = ex["379"].resp_json()["roles"][0]
    stats = ex["632"].resp_json()
    out["stats_tables"] = stats["availableTables"]
    out["stats_columns"] = stats["tableColumns"]
    row_keys = {}
    for e in ex.values():
        j = e.resp_json()
        if e.path.startswith("/api/stats/") and isinstance(j, dict) and j.get("stats"):
            row_keys[e.path.rsplit("/", 1)[1]] = list(j["stats"][0].keys())
    out["stats_row_keys"] = row_keys
    out["bodies"] = {name: ex[num].resp_json() for name, num in BODIES.items() if num in ex}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1, sort_keys=False))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/mautic-5.1.0")
