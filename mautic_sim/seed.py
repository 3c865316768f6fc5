"""Deterministic seed data: a fresh Mautic install plus, for ``contacts > 0``, realistic data at scale.

Bulk rows go in with ``executemany`` inside one transaction (100,000 contacts in seconds). Entities are made
through the same generic engine as API writes so their JSON has the recorded shape.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mautic_sim.util import RECORDED, db_ts, iso, php_serialize

if TYPE_CHECKING:
    from mautic_sim.app import Mautic

FIRST = ["Anna", "Bruno", "Chloé", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca",
         "Mia", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wim", "Yara", "Zoe"]
LAST = ["Schmidt", "Rossi", "Dubois", "Smith", "Müller", "García", "Novak", "Jensen", "Kowalski", "Silva",
        "Ivanova", "Brown", "Weber", "Moreau", "Bianchi", "Tanaka", "Okafor", "Larsen", "Hughes", "Costa"]
CITIES = [("Berlin", "Germany", "Berlin"), ("Paris", "France", None), ("Milano", "Italy", "Lombardia"),
          ("Austin", "United States", "Texas"), ("Toronto", "Canada", "Ontario"), ("London", "United Kingdom", None),
          ("Madrid", "Spain", "Madrid"), ("San Francisco", "United States", "California")]
CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"label": "Favorite Color", "alias": "favorite_color", "type": "text"},
    {"label": "Bio", "alias": "bio", "type": "textarea"},
    {"label": "Shoe Size", "alias": "shoe_size", "type": "number", "properties": {"roundmode": "4", "scale": "1"}},
    {"label": "Seats", "alias": "seats", "type": "number", "properties": {"roundmode": "4", "scale": "0"}},
    {"label": "Is VIP", "alias": "is_vip", "type": "boolean", "properties": {"no": "No", "yes": "Yes"}},
    {"label": "Birthday Date", "alias": "birthday_date", "type": "date"},
    {"label": "Last Purchase At", "alias": "last_purchase_at", "type": "datetime"},
    {"label": "Plan", "alias": "plan", "type": "select", "properties": {"list": [
        {"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"},
        {"label": "Enterprise", "value": "enterprise"}]}},
    {"label": "Interests", "alias": "interests", "type": "multiselect", "properties": {"list": [
        {"label": "Sports", "value": "sports"}, {"label": "Music", "value": "music"},
        {"label": "Tech", "value": "tech"}]}},
    {"label": "Backup Email", "alias": "backup_email", "type": "email"},
    {"label": "Blog URL", "alias": "blog_url", "type": "url"},
    {"label": "Office Phone", "alias": "office_phone", "type": "tel"},
    {"label": "Home Country", "alias": "home_country", "type": "country"},
    {"label": "Spoken Locale", "alias": "spoken_locale", "type": "locale"},
    {"label": "Home Timezone", "alias": "home_timezone", "type": "timezone"},
    {"label": "Salutation", "alias": "salutation", "type": "lookup", "properties": {"list": ["Dr", "Prof", "Sir"]}},
]


def install(app: Mautic) -> None:
    """What a fresh Mautic 5.1 has: the admin user and role, the system reports, the default fields."""
    g = app.generic
    role = copy.deepcopy(RECORDED["admin_role"])
    g.backends["roles"].insert(role)
    user = copy.deepcopy(RECORDED["admin_user"])
    user["username"] = app.username
    g.backends["users"].insert(user)
    for rep in RECORDED["system_reports"]:
        r = copy.deepcopy(rep)
        g.backends["reports"].insert(r)


def seed_data(app: Mautic, contacts: int, seed_value: int) -> None:
    """Seed ``contacts`` contacts and the entities and event rows that scale with them."""
    if contacts <= 0:
        return
    rng = random.Random(seed_value)
    store = app.store
    g = app.generic
    ctx = {c: g_ctx for c, g_ctx in __import__("mautic_sim.generic", fromlist=["CONTEXTS"]).CONTEXTS.items()}
    now = app.now().replace(microsecond=0)
    fb = g.backends["contactFields"]
    for f in CUSTOM_FIELDS:
        fb.insert({**f, "isPublished": True, "group": "core", "dateAdded": iso(db_ts(now - timedelta(days=400))),
                   "createdBy": 1, "createdByUser": "Admin User", "isListable": True, "isVisible": True,
                   "isShortVisible": True})
    g.backends["companyFields"].insert({"label": "Industry Segment", "alias": "industry_segment", "type": "text",
                                        "isPublished": True, "group": "core", "createdBy": 1,
                                        "createdByUser": "Admin User"})

    def make(name: str, payload: dict[str, Any]) -> dict[str, Any]:
        return g.create(ctx[name], payload, batch=True)

    owners = [1]
    for i, (fn, ln) in enumerate([("Olivia", "Owner"), ("Sam", "Sales")]):
        u = make("users", {"username": f"{fn.lower()}.{ln.lower()}", "firstName": fn, "lastName": ln,
                           "email": f"{fn.lower()}.{ln.lower()}@sim.example.com", "role": 1,
                           "plainPassword": {"password": f"pw{i}", "confirm": f"pw{i}"}})
        owners.append(u["id"])
    cats = [make("categories", {"title": t, "bundle": "global", "color": "4e5d9d"}) for t in ("Newsletters", "Events")]
    stages = [make("stages", {"name": n, "weight": w, "description": n}) for n, w in
              (("Lead", 10), ("Qualified", 20), ("Customer", 30))]
    tags = [g.create_tag(t) for t in ("vip", "newsletter", "prospect", "partner", "churn-risk")]
    n_seg = 3 + contacts // 20000
    segments = [make("segments", {"name": f"Segment {i + 1}", "alias": f"segment-{i + 1}", "isPublished": True})
                for i in range(n_seg)]
    n_emails = 3 + contacts // 5000
    emails = [make("emails", {"name": f"Email {i + 1}", "subject": f"Hello {i + 1}", "emailType": "template",
                              "customHtml": "<html><body>Hi {contactfield=firstname}</body></html>",
                              "category": cats[0]["id"]}) for i in range(n_emails)]
    forms = [make("forms", {"name": f"Form {i + 1}", "formType": "standalone"}) for i in range(2 + contacts // 20000)]
    pages = [make("pages", {"title": f"Landing {i + 1}", "template": "blank"}) for i in range(2)]
    assets = [make("assets", {"title": f"Whitepaper {i + 1}", "storageLocation": "remote",
                              "file": f"https://example.com/wp{i + 1}.pdf"}) for i in range(2)]
    campaigns = [make("campaigns", {"name": f"Campaign {i + 1}", "description": "seeded", "isPublished": True,
                                    "events": [{"name": "Send email", "type": "email.send", "eventType": "action",
                                                "order": 1, "properties": {"email": emails[0]["id"]},
                                                "triggerMode": "immediate"}]}) for i in range(2)]
    for p in ("Page visit", "Form submit"):
        make("points", {"name": p, "type": "url.hit", "delta": 5})
    sms = make("smses", {"name": "Reminder", "message": "See you soon"})
    hook = make("webhooks", {"name": "CRM sync", "webhookUrl": "http://127.0.0.1:9/hook",
                             "triggers": ["mautic.lead_post_save_new"]})
    dwc = [make("dynamiccontents", {"name": f"Banner {i + 1}", "content": "<p>Hi</p>", "slotName": f"slot{i + 1}",
                                    "isCampaignBased": False}) for i in range(2)]
    focus = [make("focus", {"name": f"Popup {i + 1}", "type": "notice", "style": "bar",
                            "website": "https://example.com"}) for i in range(2)]
    make("marketingmessages", {"name": "Welcome series", "description": "email first",
                               "channels": {"email": {"channel": "email", "channelId": emails[0]["id"],
                                                      "isEnabled": True}}})
    push = make("notifications", {"name": "Flash sale", "heading": "Sale", "message": "50% off today"})
    tweet = make("tweets", {"name": "Launch tweet", "text": "We launched!"})
    triggers = [make("pointtriggers", {"name": f"Reached {p}", "points": p}) for p in (50, 100)]
    point_ids = [p["id"] for p in g.backends["points"].all()]

    n_comp = max(2, contacts // 20)
    comp_cols = ["companyname", "companycity", "companycountry", "companyemail", "companywebsite",
                 "companynumber_of_employees", "industry_segment", "date_added", "created_by", "created_by_user",
                 "date_modified", "social_cache", "is_published", "score"]
    comp_rows = []
    for i in range(n_comp):
        city, country, _ = CITIES[i % len(CITIES)]
        added = now - timedelta(days=rng.randint(200, 700))
        comp_rows.append((f"Company {i + 1:05d}", city, country, f"info@company{i + 1}.example.com",
                          f"https://company{i + 1}.example.com", rng.randint(5, 5000),
                          rng.choice(["SaaS", "Retail", "Finance", "Health"]), db_ts(added), 1, "Admin User",
                          db_ts(added + timedelta(days=3)) if i % 3 else None, "a:0:{}", 1, 0))

    lead_cols = ["firstname", "lastname", "email", "city", "state", "country", "company", "phone", "title",
                 "position", "points", "owner_id", "stage_id", "date_added", "created_by", "created_by_user",
                 "date_modified", "modified_by", "modified_by_user", "last_active", "date_identified",
                 "is_published", "favorite_color", "bio", "shoe_size", "seats", "is_vip", "birthday_date",
                 "last_purchase_at", "plan", "interests", "backup_email", "blog_url", "office_phone", "home_country",
                 "spoken_locale", "home_timezone", "salutation"]
    leads, tag_x, seg_rows, camp_rows, comp_links, dnc_rows = [], [], [], [], [], []
    email_stats, page_hits, form_subs, events, points_log, camp_log, asset_dl, stage_log = ([] for _ in range(8))
    start_id = (store.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'leads'") or 0) + 1
    colors = ["red", "blue", "green", "black", None]
    for i in range(contacts):
        lid = start_id + i
        added = now - timedelta(days=365) + timedelta(seconds=int(i * 365 * 86400 / max(contacts, 1)))
        anonymous = rng.random() < 0.1
        modified = None if rng.random() < 0.3 else min(now, added + timedelta(minutes=rng.randint(1, 60 * 24 * 30)))
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        city, country, state = rng.choice(CITIES)
        comp_idx = rng.randrange(n_comp) if rng.random() < 0.6 else None
        owner = rng.choice(owners) if rng.random() < 0.6 else None
        stage = rng.choice(stages)["id"] if rng.random() < 0.4 else None
        last_active = min(now, added + timedelta(hours=rng.randint(1, 2000))) if rng.random() < 0.7 else None
        pts = rng.randint(0, 120)
        row: tuple[Any, ...]
        if anonymous:
            row = (None, None, None, city, None, country, None, None, None, None, 0, None, None, db_ts(added), None,
                   None, None, None, None, db_ts(last_active) if last_active else None, None, 1) + (None,) * 16
        else:
            # ASCII emails: a real Mautic never holds 'garcía@' (InputHelper::email would store 'garca@')
            email = f"{fn.lower().replace('é', 'e')}.{ln.lower().replace('ü', 'ue').replace('í', 'i')}.{lid}@example.com"
            row = (fn, ln, email, city,
                   state, country, comp_rows[comp_idx][0] if comp_idx is not None else None,
                   f"+1555{lid:07d}", rng.choice(["Mr", "Mrs", "Miss", None]), rng.choice(["CTO", "CEO", "Dev", None]),
                   pts, owner, stage, db_ts(added), 1, "Admin User", db_ts(modified) if modified else None,
                   1 if modified else None, "Admin User" if modified else None,
                   db_ts(last_active) if last_active else None, db_ts(added), 1,
                   rng.choice(colors), "Seeded contact" if i % 7 == 0 else None, round(rng.uniform(35, 47), 1),
                   rng.randint(1, 50), rng.randint(0, 1), f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-"
                   f"{rng.randint(1, 28):02d}", db_ts(added + timedelta(days=rng.randint(0, 30))).rsplit(":", 1)[0]
                   + ":00", rng.choice(["free", "pro", "enterprise"]),
                   "|".join(sorted(rng.sample(["sports", "music", "tech"], rng.randint(1, 2)))),
                   f"backup{lid}@example.org", f"https://blog{lid}.example.com", f"+4930{lid:06d}", country,
                   rng.choice(["en_US", "de_DE", "fr_FR"]), rng.choice(["Europe/Berlin", "America/Chicago", "UTC"]),
                   rng.choice(["Dr", "Prof", None]))
        leads.append(row)
        if anonymous:
            continue
        for t in rng.sample(tags, rng.randint(0, 2)):
            tag_x.append((lid, t))
        ts = db_ts(added + timedelta(minutes=5))
        if rng.random() < 0.5:
            seg_rows.append((rng.choice(segments)["id"], lid, ts, 0, 1))
        if rng.random() < 0.3:
            camp = rng.choice(campaigns)
            camp_rows.append((camp["id"], lid, ts, 0, 1, 1))
            camp_log.append((camp["id"], camp["events"][0]["id"], lid, ts, ts, 0, 1, "email", emails[0]["id"]))
        if comp_idx is not None:
            comp_links.append((comp_idx + 1, lid, db_ts(added), 1))
        if rng.random() < 0.03:
            dnc_rows.append((lid, ts, rng.choice([1, 2, 3]), "email", "seeded"))
        events.append((lid, "lead", "api-batch", "identified_contact", db_ts(added),
                       json.dumps({"object_description": "Admin User"})))
        if rng.random() < 0.8:
            e = rng.choice(emails)
            sent = added + timedelta(days=rng.randint(0, 20))
            read = rng.random() < 0.4
            email_stats.append((e["id"], lid, row[2], db_ts(sent), int(read), 0,
                                db_ts(sent + timedelta(hours=2)) if read else None, f"{lid:x}{e['id']:x}",
                                int(read), 0, 0))
        if rng.random() < 0.5:
            page_hits.append((pages[0]["id"], lid, db_ts(added + timedelta(hours=3)), "https://example.com/landing",
                              200, "Mozilla/5.0"))
        if rng.random() < 0.2:
            form_subs.append((rng.choice(forms)["id"], lid, db_ts(added + timedelta(hours=4)), "https://example.com/f"))
        if pts:
            points_log.append((lid, "API", "seed", "seeded points", pts, db_ts(added + timedelta(minutes=1))))
        if rng.random() < 0.1:
            asset_dl.append((rng.choice(assets)["id"], lid, db_ts(added + timedelta(hours=5)), 200, "seed"))
        if stage:
            stage_log.append((lid, stage, "Stage changed", "seed", ts))

    with store.lock:
        c = store.conn
        c.execute("BEGIN")
        c.executemany(f"INSERT INTO companies ({', '.join(comp_cols)}) VALUES ({', '.join('?' * len(comp_cols))})",
                      comp_rows)
        c.executemany(f"INSERT INTO leads ({', '.join(lead_cols)}) VALUES ({', '.join('?' * len(lead_cols))})", leads)
        c.executemany("INSERT OR IGNORE INTO lead_tags_xref (lead_id, tag_id) VALUES (?, ?)", tag_x)
        c.executemany("INSERT OR IGNORE INTO lead_lists_leads (leadlist_id, lead_id, date_added, manually_removed, "
                      "manually_added) VALUES (?, ?, ?, ?, ?)", seg_rows)
        c.executemany("INSERT OR IGNORE INTO campaign_leads (campaign_id, lead_id, date_added, manually_removed, "
                      "manually_added, rotation) VALUES (?, ?, ?, ?, ?, ?)", camp_rows)
        c.executemany("INSERT INTO campaign_lead_event_log (campaign_id, event_id, lead_id, date_triggered, "
                      "trigger_date, is_scheduled, system_triggered, channel, channel_id) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?)", camp_log)
        c.executemany("INSERT OR IGNORE INTO companies_leads (company_id, lead_id, date_added, is_primary) "
                      "VALUES (?, ?, ?, ?)", comp_links)
        c.executemany("INSERT INTO lead_donotcontact (lead_id, date_added, reason, channel, comments) "
                      "VALUES (?, ?, ?, ?, ?)", dnc_rows)
        c.executemany("INSERT INTO lead_event_log (lead_id, bundle, object, action, date_added, properties) "
                      "VALUES (?, ?, ?, ?, ?, ?)", events)
        seg_names = {sg["id"]: sg["name"] for sg in segments}
        c.executemany("INSERT INTO lead_event_log (lead_id, user_id, user_name, bundle, object, action, object_id, "
                      "date_added, properties) VALUES (?, 1, ?, 'lead', 'segment', 'added', ?, ?, ?)",
                      [(r[1], app.username, r[0], r[2], json.dumps({"object_description": seg_names[r[0]]}))
                       for r in seg_rows])
        c.executemany("INSERT INTO email_stats (email_id, lead_id, email_address, date_sent, is_read, is_failed, "
                      "date_read, tracking_hash, open_count, retry_count, viewed_in_browser) VALUES "
                      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", email_stats)
        c.executemany("INSERT INTO page_hits (page_id, lead_id, date_hit, url, code, user_agent) "
                      "VALUES (?, ?, ?, ?, ?, ?)", page_hits)
        c.executemany("INSERT INTO form_submissions (form_id, lead_id, date_submitted, referer) VALUES (?, ?, ?, ?)",
                      form_subs)
        c.executemany("INSERT INTO lead_points_change_log (lead_id, type, event_name, action_name, delta, date_added)"
                      " VALUES (?, ?, ?, ?, ?, ?)", points_log)
        c.executemany("INSERT INTO asset_downloads (asset_id, lead_id, date_download, code, source) "
                      "VALUES (?, ?, ?, ?, ?)", asset_dl)
        c.executemany("INSERT INTO lead_stages_change_log (lead_id, stage_id, event_name, action_name, date_added) "
                      "VALUES (?, ?, ?, ?, ?)", stage_log)
        c.executemany("INSERT INTO audit_log (user_id, user_name, bundle, object, object_id, action, details, "
                      "date_added, ip_address) VALUES (1, 'Admin User', 'lead', 'lead', ?, 'create', 'a:0:{}', ?, "
                      "'127.0.0.1')", ((start_id + i, r[13]) for i, r in enumerate(leads)))
        # An email deleted long ago: a real audit log holds such rows (recording 654 lists deleted objects),
        # and the tap's deletions stream reads them. Its id is past every seeded email, so nothing refers to it.
        gone = 'a:1:{s:4:"name";s:17:"Spring newsletter";}'
        c.execute("INSERT INTO audit_log (user_id, user_name, bundle, object, object_id, action, details, "
                  "date_added, ip_address) VALUES (1, 'Admin User', 'email', 'email', ?, 'delete', ?, ?, "
                  "'127.0.0.1')", (max(e["id"] for e in emails) + 1000, gone, db_ts(now - timedelta(days=200))))
        c.execute("COMMIT")
    refs = {"emails": [e["id"] for e in emails], "forms": [f["id"] for f in forms], "pages": [p["id"] for p in pages],
            "dwc": [d["id"] for d in dwc], "focus": [f["id"] for f in focus], "push": [push["id"]],
            "sms": [sms["id"]], "tweets": [tweet["id"]], "hooks": [hook["id"]], "points": point_ids,
            "triggers": [t["id"] for t in triggers], "stages": [st["id"] for st in stages],
            "categories": [c_["id"] for c_ in cats], "companies": n_comp}
    named = [start_id + i for i, r in enumerate(leads) if r[2]]
    seed_more(app, rng, named, now, refs, max(3, contacts // 50))
    seed_notes(app, named, now, seed_value)
    seed_history(app, now)


NOTE_TEXTS = [("call", "Called, interested in the Pro plan"), ("email", "<b>Email</b> follow-up sent"),
              ("meeting", "Demo meeting booked"), ("general", "Asked for a quote"),
              ("call", "No answer, try again next week"), ("general", "Met at the trade fair")]


def seed_history(app: Mautic, now: Any) -> None:
    """Audit rows as a real Mautic keeps them: each seeded contact's ``create`` row with its field values
    (the 5.1.0 details shape, mautic_sim.merges), a ``create`` row per seeded company, and a contact merged
    and deleted long ago (its id past every seeded contact, so nothing refers to it)."""
    from mautic_sim.merges import change_details, field_changes
    store = app.store
    lead_fields = [f for f in store.fields("lead") if f["alias"] not in ("points", "last_active")]
    company_fields = store.fields("company")
    with store.lock:
        creates = store.query("SELECT l.*, a.id AS audit_id FROM audit_log a JOIN leads l ON l.id = a.object_id "
                              "WHERE a.object = 'lead' AND a.action = 'create' AND a.details = 'a:0:{}'")
        store.executemany("UPDATE audit_log SET details = ? WHERE id = ?", [
            (php_serialize(change_details(field_changes(lead_fields, None, {f["alias"]: row.get(f["alias"])
                                                                            for f in lead_fields}),
                                          manipulator="lead:api-batch", user_name="Admin User")), row["audit_id"])
            for row in creates])
        companies = store.query("SELECT * FROM companies ORDER BY id")
        store.executemany(
            "INSERT INTO audit_log (user_id, user_name, bundle, object, object_id, action, details, date_added, "
            "ip_address) VALUES (1, 'Admin User', 'lead', 'company', ?, 'create', ?, ?, '127.0.0.1')",
            [(row["id"], php_serialize(change_details(field_changes(company_fields, None, row), top_level=())),
              row["date_added"]) for row in companies])
        gone = (store.scalar("SELECT COALESCE(MAX(id), 0) FROM leads") or 0) + 1000
        victor = store.scalar("SELECT MIN(id) FROM leads") or 1
        when = db_ts(now - timedelta(days=300))
        for action, details in (("merge", {"merged_into": victor}), ("delete", {"name": "Merged Long-ago"})):
            store.execute("INSERT INTO audit_log (user_id, user_name, bundle, object, object_id, action, details, "
                          "date_added, ip_address) VALUES (0, 'System', 'lead', 'lead', ?, ?, ?, ?, '127.0.0.1')",
                          (gone, action, php_serialize(details), when))


def seed_notes(app: Mautic, leads: list[int], now: Any, seed_value: int) -> None:
    """1-3 notes on every 50th-or-so identified contact (at least 3 contacts), in ``lead_notes`` with the
    recorded note shape (035/036: id, text, type, dateTime or null, lead). A generator of their own keeps the
    rest of the seed as it was before notes existed."""
    if not leads:
        return
    rng = random.Random(f"notes:{seed_value}")
    owners = sorted(rng.sample(leads, min(len(leads), max(3, len(leads) // 50))))
    rows = []
    for lid in owners:
        for _ in range(rng.randint(1, 3)):
            kind, text = rng.choice(NOTE_TEXTS)
            when = None if rng.random() < 0.25 else iso(db_ts(now - timedelta(seconds=rng.randint(3600, 300 * 86400))))
            rows.append({"text": text, "type": kind, "dateTime": when, "lead": {"id": lid}})
    with app.store.lock:
        c = app.store.conn
        c.execute("BEGIN")
        first = (app.store.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'lead_notes'") or 0) + 1
        c.executemany("INSERT INTO lead_notes (id, data) VALUES (?, ?)",
                      [(first + i, json.dumps({"id": first + i, **n})) for i, n in enumerate(rows)])
        c.execute("COMMIT")


def seed_more(app: Mautic, rng: random.Random, leads: list[int], now: Any, refs: dict[str, Any], n: int) -> None:
    """Devices and rows in every other stats table, so each context and table has data to read."""
    if not leads:
        return
    store = app.store

    def ts(days: int = 300) -> str:
        return db_ts(now - timedelta(seconds=rng.randint(60, days * 86400)))

    def lead() -> int:
        return rng.choice(leads)

    dev_tpl = {k: None for k in RECORDED["templates"]["devices"]}
    with store.lock:
        c = store.conn
        c.execute("BEGIN")
        for i in range(n):
            lid = lead()
            os_name = rng.choice(["Android", "iOS", "Windows", "Ubuntu"])
            dev: dict[str, Any] = {**dev_tpl, "lead": {"id": lid}, "clientInfo": [], "device": rng.choice(["smartphone", "desktop"]),
                   "deviceBrand": "", "deviceModel": "", "deviceOsName": os_name, "deviceOsShortName": os_name[:3].upper(),
                   "deviceOsVersion": "1.0", "deviceOsPlatform": "x64"}
            added = ts()
            cur = c.execute("INSERT INTO lead_devices (lead_id, date_added, device, device_brand, device_model, "
                            "device_os_name, device_os_shortname, device_os_version, device_os_platform, client_info, "
                            "tracking_id) VALUES (?, ?, ?, '', '', ?, ?, '1.0', 'x64', 'a:0:{}', ?)",
                            (lid, added, dev["device"], os_name, os_name[:3].upper(), f"trk{lid:x}{i}"))
            dev["id"] = cur.lastrowid
            c.execute("UPDATE lead_devices SET data = ? WHERE id = ?", (json.dumps(dev), cur.lastrowid))
        rows: dict[str, list[tuple[Any, ...]]] = {
            "dynamic_content_lead_data": [(ts(), rng.choice(refs["dwc"]), lead(), f"slot{rng.randint(1, 2)}") for _ in range(n)],
            "dynamic_content_stats": [(ts(), rng.choice(refs["dwc"]), lead(), 1, "a:0:{}", "campaign", 1) for _ in range(n)],
            "ip_addresses": [(f"10.0.{i // 250}.{i % 250 + 1}", "a:0:{}") for i in range(n)],
            "lead_categories": [(rng.choice(refs["categories"]), ts(), lead(), 1, 0) for _ in range(n)],
            "lead_companies_change_log": [("API", rng.randint(1, refs["companies"]), ts(), "added", lead(), "API") for _ in range(n)],
            "lead_frequencyrules": [("email", ts(), rng.randint(1, 5), rng.choice(["DAY", "WEEK", "MONTH"]), lead(), 1) for _ in range(n)],
            "lead_utmtags": [(ts(), lead(), '{"page":"1"}', "https://google.com", "https://example.com/?utm_source=google",
                              "Mozilla/5.0", "spring", "ad1", "cpc", "google", "crm") for _ in range(n)],
            "page_redirects": [(ts(), f"r{i:08x}", f"https://example.com/go/{i}", rng.randint(0, 50), rng.randint(0, 20), 1, 1,
                                "Admin User") for i in range(max(2, n // 5))],
            "push_notification_stats": [(ts(), rng.choice(refs["push"]), lead(), 0, 0, 0, f"p{i:x}") for i in range(n)],
            "sms_message_stats": [(ts(), rng.choice(refs["sms"]), lead(), 0, "a:0:{}", f"s{i:x}") for i in range(n)],
            "tweet_stats": [(ts(), rng.choice(refs["tweets"]), lead(), "@sim", 0, 0, 0, 0) for _ in range(n)],
            "video_hits": [(ts(), lead(), "https://example.com/video", rng.randint(5, 600), rng.randint(1, 300), 200, f"g{i:x}",
                            "Mozilla/5.0") for i in range(n)],
            "webhook_logs": [(ts(), rng.choice(refs["hooks"]), rng.choice([200, 200, 500]), round(rng.uniform(0.01, 2), 3), "sent")
                             for _ in range(n)],
            "focus_stats": [(ts(), rng.choice(refs["focus"]), lead(), rng.choice(["view", "click"]), None) for _ in range(n)],
        }
        sql = {
            "dynamic_content_lead_data": "(date_added, dynamic_content_id, lead_id, slot)",
            "dynamic_content_stats": "(date_sent, dynamic_content_id, lead_id, sent_count, sent_details, source, source_id)",
            "ip_addresses": "(ip_address, ip_details)",
            "lead_categories": "(category_id, date_added, lead_id, manually_added, manually_removed)",
            "lead_companies_change_log": "(action_name, company_id, date_added, event_name, lead_id, type)",
            "lead_frequencyrules": "(channel, date_added, frequency_number, frequency_time, lead_id, preferred_channel)",
            "lead_utmtags": "(date_added, lead_id, query, referer, url, user_agent, utm_campaign, utm_content, utm_medium, "
                            "utm_source, utm_term)",
            "page_redirects": "(date_added, redirect_id, url, hits, unique_hits, is_published, created_by, created_by_user)",
            "push_notification_stats": "(date_sent, notification_id, lead_id, is_clicked, click_count, retry_count, tracking_hash)",
            "sms_message_stats": "(date_sent, sms_id, lead_id, is_failed, details, tracking_hash)",
            "tweet_stats": "(date_sent, tweet_id, lead_id, handle, is_failed, retry_count, favorite_count, retweet_count)",
            "video_hits": "(date_hit, lead_id, url, duration, time_watched, code, guid, user_agent)",
            "webhook_logs": "(date_added, webhook_id, status_code, runtime, note)",
            "focus_stats": "(date_added, focus_id, lead_id, type, type_id)",
        }
        for table, values in rows.items():
            cols = sql[table]
            marks = ", ".join("?" * (cols.count(",") + 1))
            c.executemany(f"INSERT INTO {table} {cols} VALUES ({marks})", values)
        stat_ids = [r[0] for r in c.execute("SELECT id FROM email_stats ORDER BY id LIMIT ?", (n,)).fetchall()]
        c.executemany("INSERT INTO email_stat_replies (date_replied, message_id, stat_id) VALUES (?, ?, ?)",
                      [(ts(), f"<m{sid}@example.com>", sid) for sid in stat_ids[: max(1, n // 3)]])
        c.executemany("INSERT INTO email_stats_devices (date_opened, device_id, ip_id, stat_id) VALUES (?, ?, ?, ?)",
                      [(ts(), rng.randint(1, n), rng.randint(1, n), sid) for sid in stat_ids])
        for table, key, choices in (("point_lead_action_log", "point_id", refs["points"]),
                                    ("point_lead_event_log", "event_id", refs["triggers"]),
                                    ("stage_lead_action_log", "stage_id", refs["stages"])):
            pairs = {(rng.choice(choices), lead()) for _ in range(n)}
            c.executemany(f"INSERT INTO {table} ({key}, lead_id, date_fired, ip_id) VALUES (?, ?, ?, 1)",
                          [(a, b, ts()) for a, b in sorted(pairs)])
        c.executemany("INSERT INTO channel_url_trackables (channel, channel_id, redirect_id, hits, unique_hits) "
                      "VALUES ('email', ?, ?, ?, ?)",
                      [(e, i + 1, rng.randint(0, 40), rng.randint(0, 20)) for i, e in enumerate(refs["emails"])])
        c.execute("COMMIT")
