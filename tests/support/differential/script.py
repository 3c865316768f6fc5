"""The differential script: the requests sent, in order, to the simulator and to a real Mautic 5.1.0.

Both sides start from a fresh install (no contacts). Steps refer to what earlier answers created by name
(``${c_anna}`` is the id the step saved as ``c_anna`` on that side). :func:`steps` builds the list; it is data
(``python -m scripts.sim_diff --dump-script`` prints it as JSON).
"""

from __future__ import annotations

from typing import Any

from tests.support.differential.engine import Step

PW = "ApiUser12345!"
REDIRECT = "http://127.0.0.1/cb"

# (path, item key, list key, create body, second body, invalid body, edit key) of the standard contexts
GENERIC: list[tuple[str, str, str, dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
    ("assets", "asset", "assets", {"title": "Asset 1", "storageLocation": "remote", "file": "https://example.com/f1.pdf"},
     {"title": "Asset 2", "storageLocation": "remote", "file": "https://example.com/f2.pdf"}, {"title": "", "storageLocation": "remote"}, "title"),
    ("categories", "category", "categories", {"title": "Cat 1", "bundle": "global"}, {"title": "Cat 2", "bundle": "email", "color": "4e5d9d"},
     {"title": "", "bundle": "global"}, "title"),
    ("dynamiccontents", "dynamicContent", "dynamicContents", {"name": "DWC 1", "content": "<p>1</p>"}, {"name": "DWC 2", "content": "<p>2</p>"}, {"name": ""}, "name"),
    ("emails", "email", "emails", {"name": "Email 1", "subject": "Subject 1", "emailType": "template", "customHtml": "<html><body>x</body></html>"},
     {"name": "Email 2", "subject": "Subject 2", "emailType": "template", "customHtml": "<html><body>y</body></html>"}, {"name": "", "subject": ""}, "name"),
    ("focus", "focus", "focus", {"name": "Focus 1", "type": "notice", "style": "bar", "website": "https://example.com"},
     {"name": "Focus 2", "type": "notice", "style": "bar", "website": "https://example.com"}, {"name": ""}, "name"),
    ("forms", "form", "forms", {"name": "Form 1", "formType": "standalone"}, {"name": "Form 2", "formType": "standalone"}, {"name": ""}, "name"),
    ("messages", "message", "messages", {"name": "Message 1"}, {"name": "Message 2", "description": "d"}, {"name": ""}, "name"),
    ("notifications", "notification", "notifications", {"name": "Push 1", "heading": "h", "message": "m"}, {"name": "Push 2", "heading": "h", "message": "m"}, {"name": ""}, "name"),
    ("pages", "page", "pages", {"title": "Page 1", "template": "blank", "customHtml": "<html><body>p</body></html>"},
     {"title": "Page 2", "template": "blank", "customHtml": "<html><body>q</body></html>"}, {"title": ""}, "title"),
    ("points/triggers", "trigger", "triggers", {"name": "Trigger 1", "points": 11}, {"name": "Trigger 2", "points": 12}, {"name": ""}, "name"),
    ("points", "point", "points", {"name": "Point 1", "type": "url.hit", "delta": 1, "properties": {"page_url": "https://example.com/1", "page_hits": 1}},
     {"name": "Point 2", "type": "url.hit", "delta": 2, "properties": {"page_url": "https://example.com/2", "page_hits": 1}}, {"name": ""}, "name"),
    ("reports", "report", "reports", {"name": "Report 1", "source": "leads", "columns": ["l.id", "l.email"]},
     {"name": "Report 2", "source": "leads", "columns": ["l.id", "l.city"]}, {"name": ""}, "name"),
    ("roles", "role", "roles", {"name": "Role 1", "isAdmin": True}, {"name": "Role 2", "isAdmin": False, "rawPermissions": {"lead:leads": ["viewown"]}}, {"name": ""}, "name"),
    ("segments", "list", "lists", {"name": "Segment 1"}, {"name": "Segment 2", "isGlobal": True}, {"name": ""}, "name"),
    ("smses", "sms", "smses", {"name": "SMS 1", "message": "msg 1"}, {"name": "SMS 2", "message": "msg 2"}, {"name": ""}, "name"),
    ("stages", "stage", "stages", {"name": "Stage 1", "weight": 1}, {"name": "Stage 2", "weight": 2}, {"name": ""}, "name"),
    ("tweets", "tweet", "tweets", {"name": "Tweet 1", "text": "t1"}, {"name": "Tweet 2", "text": "t2"}, {"name": ""}, "name"),
    ("hooks", "hook", "hooks", {"name": "Hook 1", "webhookUrl": "http://127.0.0.1:9/h1", "eventsOrderbyDir": "ASC", "triggers": ["mautic.lead_post_save_new"]},
     {"name": "Hook 2", "webhookUrl": "http://127.0.0.1:9/h2", "eventsOrderbyDir": "ASC", "triggers": ["mautic.lead_post_save_new"]}, {"name": ""}, "name"),
    ("campaigns", "campaign", "campaigns", {"name": "Campaign 1"}, {"name": "Campaign 2", "description": "d"}, {"name": ""}, "name"),
    ("fields/contact", "field", "fields", {"label": "Ct Field 1", "type": "text"}, {"label": "Ct Field 2", "type": "text"}, {"label": "", "type": "text"}, "label"),
    ("fields/company", "field", "fields", {"label": "Co Field 1", "type": "text"}, {"label": "Co Field 2", "type": "text"}, {"label": "", "type": "text"}, "label"),
]


def _ref(path: str) -> str:
    return path.replace("/", "_")


def where(*clauses: dict[str, Any]) -> list[tuple[str, str]]:
    """``where[i][col|expr|val]`` query pairs (nested lists/dicts flattened PHP-style)."""
    out: list[tuple[str, str]] = []

    def flat(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                flat(f"{prefix}[{k}]", x)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                flat(f"{prefix}[{i}]", x)
        else:
            out.append((prefix, str(v)))

    for i, c in enumerate(clauses):
        flat(f"where[{i}]", c)
    return out


def generic_steps() -> list[Step]:
    """list/get/new/edit/delete/batch of every standard context, with each edge the corpus recorded."""
    s: list[Step] = []
    for path, _item, lst, body1, body2, bad, key in GENERIC:
        r = _ref(path)
        s += [
            Step(f"{r}-list-empty", "GET", f"/api/{path}"),
            Step(f"{r}-create", "POST", f"/api/{path}/new", body=body1, save=f"{r}_1"),
            Step(f"{r}-create-invalid", "POST", f"/api/{path}/new", body=bad),
            Step(f"{r}-batch-new-mixed", "POST", f"/api/{path}/batch/new", body=[body2, bad, {**body1, key: f"{body1[key]}b"}],
                 capture={f"{r}_2": ("json", f"{lst}.#0.id"), f"{r}_3": ("json", f"{lst}.#1.id")}),
            Step(f"{r}-list-default", "GET", f"/api/{path}"),
            Step(f"{r}-list-limit1-start1", "GET", f"/api/{path}", query={"limit": "1", "start": "1"}),
            Step(f"{r}-list-order-desc", "GET", f"/api/{path}", query={"orderBy": "id", "orderByDir": "DESC"}),
            Step(f"{r}-list-search", "GET", f"/api/{path}", query={"search": str(body2[key])}),
            Step(f"{r}-list-minimal-published", "GET", f"/api/{path}", query={"minimal": "true", "publishedOnly": "1"}),
            Step(f"{r}-get", "GET", f"/api/{path}/${{{r}_1}}"),
            Step(f"{r}-get-missing", "GET", f"/api/{path}/999999"),
            Step(f"{r}-patch", "PATCH", f"/api/{path}/${{{r}_1}}/edit", body={key: f"renamed {path}"}, save=f"{r}_1"),
            Step(f"{r}-patch-invalid", "PATCH", f"/api/{path}/${{{r}_1}}/edit", body={key: ""}),
            Step(f"{r}-put-existing", "PUT", f"/api/{path}/${{{r}_1}}/edit", body={**body1, key: f"put {path}"}),
            Step(f"{r}-patch-missing", "PATCH", f"/api/{path}/999999/edit", body={key: "x"}),
            Step(f"{r}-put-missing", "PUT", f"/api/{path}/999999/edit", body={**body1, key: f"created by put {path}"}, save=f"{r}_put"),
            Step(f"{r}-batch-edit-patch", "PATCH", f"/api/{path}/batch/edit",
                 body=[{"id": f"${{{r}_2}}", key: f"batch renamed {path}"}, {"id": 999999, key: "x"}, {**bad, "id": f"${{{r}_3}}"}]),
            Step(f"{r}-batch-edit-put", "PUT", f"/api/{path}/batch/edit", body=[{**body2, "id": f"${{{r}_2}}"}]),
            Step(f"{r}-batch-delete", "DELETE", f"/api/{path}/batch/delete", query={"ids": f"${{{r}_2}},${{{r}_3}},999999"}),
            Step(f"{r}-delete", "DELETE", f"/api/{path}/${{{r}_put}}/delete"),
            Step(f"{r}-delete-missing", "DELETE", f"/api/{path}/999999/delete"),
            Step(f"{r}-get-after-delete", "GET", f"/api/{path}/${{{r}_put}}"),
        ]
    return s


def field_setup() -> list[Step]:
    """Custom fields of each type the contacts below use (as the corpus's 001-011)."""
    defs = [
        ("favorite_color", "text", None), ("shoe_size", "number", {"roundmode": 4, "scale": 1}),
        ("visits", "number", {"roundmode": 4, "scale": 0}),
        ("is_vip", "boolean", {"no": "No", "yes": "Yes"}), ("birthday_date", "date", None),
        ("last_purchase_at", "datetime", None),
        ("plan", "select", {"list": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}, {"label": "Enterprise", "value": "enterprise"}]}),
        ("interests", "multiselect", {"list": [{"label": "Sports", "value": "sports"}, {"label": "Music", "value": "music"}, {"label": "Tech", "value": "tech"}]}),
        ("backup_email", "email", None), ("blog_url", "url", None), ("office_phone", "tel", None),
        ("member_no", "text", None),
    ]
    out = []
    for alias, typ, props in defs:
        body: dict[str, Any] = {"label": alias.replace("_", " ").title(), "alias": alias, "type": typ, "group": "core"}
        if props:
            body["properties"] = props
        if alias == "member_no":
            body["isUniqueIdentifer"] = True
        out.append(Step(f"fields-create-{alias}", "POST", "/api/fields/contact/new", body=body, save=f"f_{alias}"))
    out += [
        Step("fields-create-company-text", "POST", "/api/fields/company/new", body={"label": "Industry Segment", "alias": "industry_segment", "type": "text", "group": "core"}),
        Step("fields-create-company-number", "POST", "/api/fields/company/new", body={"label": "Seats", "alias": "seats", "type": "number", "group": "core"}),
        Step("fields-create-duplicate-alias", "POST", "/api/fields/contact/new", body={"label": "Plan again", "alias": "plan", "type": "text"}),
        Step("fields-create-bad-type", "POST", "/api/fields/contact/new", body={"label": "Weird", "type": "nosuchtype"}),
        Step("fields-get-select", "GET", "/api/fields/contact/${f_plan}"),
        Step("fields-list-contact-where-alias", "GET", "/api/fields/contact", query=where({"col": "alias", "expr": "eq", "val": "plan"})),
    ]
    return out


def contact_steps() -> list[Step]:
    c = "/api/contacts"
    anna = {"firstname": "Anna", "lastname": "Schmidt", "email": "anna.schmidt@example.com", "city": "Berlin", "country": "Germany",
            "company": "Acme GmbH", "position": "CTO", "favorite_color": "blue", "shoe_size": 38.5, "visits": 3, "is_vip": True,
            "birthday_date": "1990-05-17", "last_purchase_at": "2024-03-01 12:34:56", "plan": "pro", "interests": ["music", "tech"],
            "tags": ["vip", "newsletter"], "points": 10, "member_no": "M-1"}
    s = [
        Step("contacts-list-empty", "GET", c),
        Step("contacts-create-anna", "POST", f"{c}/new", body=anna, save="c_anna"),
        Step("contacts-create-bruno", "POST", f"{c}/new", body={"firstname": "Bruno", "lastname": "Rossi", "email": "bruno.rossi@example.com", "city": "Milano",
                                                               "country": "Italy", "state": "Lombardy", "shoe_size": 44, "is_vip": False, "plan": "free"}),
        Step("contacts-create-bruno-valid", "POST", f"{c}/new", body={"firstname": "Bruno", "lastname": "Rossi", "email": "bruno.rossi@example.com", "city": "Milano",
                                                                     "country": "Italy", "shoe_size": 44, "is_vip": False, "plan": "free", "tags": ["newsletter"]}, save="c_bruno"),
        Step("contacts-create-chloe", "POST", f"{c}/new", body={"firstname": "Chloé", "lastname": "Dubois", "email": "Chloe.Dubois@Example.com", "city": "Paris", "country": "France",
                                                               "preferred_locale": "fr_FR", "timezone": "Europe/Paris", "plan": "enterprise", "interests": "sports|tech", "is_vip": 1, "member_no": "M-3"}, save="c_chloe"),
        Step("contacts-create-anonymous", "POST", f"{c}/new", body={}, save="c_anon"),
        Step("contacts-create-form-encoded", "POST", f"{c}/new", body={"firstname": "Formy", "email": "formy@example.com"}, form=True, save="c_formy"),
        Step("contacts-create-owner-stage-missing", "POST", f"{c}/new", body={"firstname": "Owner", "email": "owner@example.com", "owner": 999999}),
        Step("contacts-create-bad-email", "POST", f"{c}/new", body={"firstname": "Bad", "email": "not-an-email"}),
        Step("contacts-create-bad-select", "POST", f"{c}/new", body={"firstname": "Bad", "plan": "platinum"}),
        Step("contacts-create-bad-number", "POST", f"{c}/new", body={"firstname": "Bad", "shoe_size": "big"}),
        Step("contacts-create-bad-date", "POST", f"{c}/new", body={"firstname": "Bad", "birthday_date": "not a date"}),
        Step("contacts-create-bad-bool", "POST", f"{c}/new", body={"firstname": "Bool", "email": "bool@example.com", "is_vip": "maybe"}, save="c_bool"),
        Step("contacts-create-malformed-json", "POST", f"{c}/new", raw='{"firstname": "Broken", "email": '),
        Step("contacts-create-dup-email-merges", "POST", f"{c}/new", body={"email": "anna.schmidt@example.com", "city": "Munich"}),
        Step("contacts-create-dup-email-other-case", "POST", f"{c}/new", body={"email": "ANNA.SCHMIDT@example.com", "position": "CEO"}),
        Step("contacts-create-unique-field-conflict", "POST", f"{c}/new", body={"firstname": "Other", "member_no": "M-1"}),
        # fractions and 0 on create vs edit (being fixed elsewhere: reported, not touched)
        Step("contacts-create-fraction-zero", "POST", f"{c}/new", body={"firstname": "Frac", "email": "frac@example.com", "shoe_size": 0.5, "visits": 0}, save="c_frac"),
        Step("contacts-patch-fraction-zero", "PATCH", f"{c}/${{c_frac}}/edit", body={"shoe_size": 0.25, "visits": 0, "points": 0}),
        Step("contacts-get-frac", "GET", f"{c}/${{c_frac}}"),
        Step("contacts-get-anna", "GET", f"{c}/${{c_anna}}"),
        Step("contacts-get-chloe", "GET", f"{c}/${{c_chloe}}"),
        Step("contacts-get-missing", "GET", f"{c}/999999"),
        Step("contacts-patch-anna", "PATCH", f"{c}/${{c_anna}}/edit", body={"city": "Hamburg", "tags": ["-newsletter", "hot"], "lastActive": "2024-01-02 03:04:05"}),
        Step("contacts-patch-bad-email", "PATCH", f"{c}/${{c_anna}}/edit", body={"email": "broken"}),
        # unique-identifier conflicts on throwaway contacts: the simulator merges and deletes the other contact, which
        # would cascade into every later step that uses it
        Step("contacts-create-uniq-1", "POST", f"{c}/new", body={"firstname": "Uniq", "email": "uniq1@example.com"}, save="c_u1"),
        Step("contacts-create-uniq-2", "POST", f"{c}/new", body={"firstname": "Uniq", "email": "uniq2@example.com", "member_no": "M-9"}, save="c_u2"),
        Step("contacts-patch-unique-email-conflict", "PATCH", f"{c}/${{c_u1}}/edit", body={"email": "formy@example.com"}, note="being fixed elsewhere (2)"),
        Step("contacts-patch-unique-field-conflict", "PATCH", f"{c}/${{c_u1}}/edit", body={"member_no": "M-9"}),
        Step("contacts-put-existing-blanks", "PUT", f"{c}/${{c_bool}}/edit", body={"firstname": "Bool2", "email": "bool@example.com"}),
        Step("contacts-patch-missing", "PATCH", f"{c}/999999/edit", body={"firstname": "x"}),
        Step("contacts-put-missing-creates", "PUT", f"{c}/999999/edit", body={"firstname": "Put", "email": "put@example.com"}, save="c_put"),
        Step("contacts-get-bruno", "GET", f"{c}/${{c_bruno}}"),
        Step("contacts-list-after-writes", "GET", c, query={"orderBy": "id"}),
        Step("contacts-list-minimal", "GET", c, query={"minimal": "true", "orderBy": "id"}),
        Step("contacts-list-limit1-start1", "GET", c, query={"limit": "1", "start": "1", "orderBy": "id"}),
        Step("contacts-list-order-email-desc", "GET", c, query={"orderBy": "email", "orderByDir": "DESC", "minimal": "true"}),
        Step("contacts-list-order-lower-asc", "GET", c, query={"orderBy": "id", "orderByDir": "asc", "minimal": "true"}),
        Step("contacts-list-published-only", "GET", c, query={"publishedOnly": "1", "minimal": "true", "orderBy": "id"}),
        Step("contacts-list-published-only-false", "GET", c, query={"publishedOnly": "false", "minimal": "true", "orderBy": "id"}),
        Step("contacts-list-limit-0", "GET", c, query={"limit": "0", "minimal": "true", "orderBy": "id"}),
        Step("contacts-list-limit-minus1", "GET", c, query={"limit": "-1", "minimal": "true"}),
        Step("contacts-list-limit-abc", "GET", c, query={"limit": "abc"}),
        Step("contacts-list-start-beyond", "GET", c, query={"start": "100", "minimal": "true"}),
        Step("contacts-list-orderBy-unknown", "GET", c, query={"orderBy": "nosuch"}),
        Step("contacts-list-orderByDir-bogus", "GET", c, query={"orderBy": "id", "orderByDir": "SIDEWAYS"}),
        Step("contacts-list-order-array", "GET", c, query=[("order[0][col]", "email"), ("order[0][dir]", "DESC"), ("minimal", "true")]),
        Step("contacts-list-select", "GET", c, query=[("select[0]", "id"), ("select[1]", "email"), ("orderBy", "id")]),
    ]
    for term in ["anna", "email:bruno.rossi@example.com", "is:anonymous", "!is:anonymous", "is:mine", "is:unowned", "tag:vip", "city:Paris",
                 "name:Anna", "ids:${c_anna},${c_bruno}", "anna OR bruno", "company:Acme", "chloé", "CHLOE", "plan:pro", "owner:admin", "\"Anna Schmidt\"", "!anna"]:
        s.append(Step(f"contacts-search-{term}", "GET", c, query={"search": term, "minimal": "true", "orderBy": "id"}))
    ops = [
        ("eq", "city", "Paris"), ("neq", "city", "Paris"), ("lt", "id", "${c_chloe}"), ("lte", "id", "${c_chloe}"), ("gt", "id", "${c_bruno}"),
        ("gte", "id", "${c_bruno}"), ("like", "email", "%example.com"), ("notLike", "email", "%example.com"),
        ("in", "id", "${c_anna},${c_chloe}"), ("notIn", "id", "${c_anna},${c_chloe}"), ("in", "city", "Paris"), ("in", "firstname", "\"Anna\",Bruno"),
        ("isNull", "date_modified", None), ("isNotNull", "date_modified", None), ("isEmpty", "city", None), ("isNotEmpty", "city", None),
        ("eq", "dateAdded", "2000-01-01"), ("gt", "date_added", "2000-01-01"), ("eq", "plan", "pro"), ("eq", "is_vip", "1"),
        ("eq", "city", "paris"), ("eq", "lastname", "O'Neil"), ("bogus", "id", "1"), ("eq", "nosuch", "x"),
    ]
    for op, col, val in ops:
        clause: dict[str, Any] = {"col": col, "expr": op}
        if val is not None:
            clause["val"] = val
        s.append(Step(f"contacts-where-{col}-{op}-{val}", "GET", c, query=where(clause) + [("orderBy", "id"), ("minimal", "true")]))
    s += [
        Step("contacts-where-between", "GET", c, query=where({"col": "id", "expr": "between", "val": ["${c_anna}", "${c_bruno}"]}) + [("orderBy", "id"), ("minimal", "true")]),
        Step("contacts-where-notBetween", "GET", c, query=where({"col": "id", "expr": "notBetween", "val": ["${c_anna}", "${c_bruno}"]}) + [("orderBy", "id"), ("minimal", "true")]),
        Step("contacts-where-between-one-value", "GET", c, query=where({"col": "id", "expr": "between", "val": ["${c_anna}"]}) + [("orderBy", "id"), ("minimal", "true")]),
        Step("contacts-where-in-array", "GET", c, query=where({"col": "id", "expr": "in", "val": ["${c_anna}", "${c_bruno}"]}) + [("minimal", "true")]),
        Step("contacts-where-orX", "GET", c, query=where({"expr": "orX", "val": [{"col": "city", "expr": "eq", "val": "Paris"}, {"col": "city", "expr": "eq", "val": "Milano"}]}) + [("orderBy", "id"), ("minimal", "true")]),
        Step("contacts-where-andX", "GET", c, query=where({"expr": "andX", "val": [{"col": "country", "expr": "eq", "val": "Italy"}, {"col": "firstname", "expr": "eq", "val": "Bruno"}]}) + [("orderBy", "id"), ("minimal", "true")]),
        Step("contacts-where-orX-camel", "GET", c, query=where({"expr": "orX", "val": [{"col": "dateAdded", "expr": "gt", "val": "2000-01-01"}]}) + [("minimal", "true")]),
        Step("contacts-where-plus-search", "GET", c, query=where({"col": "id", "expr": "gt", "val": "0"}) + [("search", "anna"), ("orderBy", "id"), ("minimal", "true")]),
        Step("contacts-where-two-clauses", "GET", c, query=where({"col": "country", "expr": "eq", "val": "France"}, {"col": "plan", "expr": "eq", "val": "enterprise"}) + [("minimal", "true")]),
    ]
    return s


def company_steps() -> list[Step]:
    co = "/api/companies"
    return [
        Step("companies-list-empty", "GET", co),
        Step("companies-create", "POST", f"{co}/new", body={"companyname": "Acme Corp", "companycity": "Berlin", "companyemail": "info@acme.example.com",
                                                           "companynumber_of_employees": 120, "companyannual_revenue": 5000000.5, "industry_segment": "B2B", "seats": 10}, save="co_acme"),
        Step("companies-create-dup-name-merges", "POST", f"{co}/new", body={"companyname": "ACME CORP", "companycity": "Munich"}),
        Step("companies-create-bad-email", "POST", f"{co}/new", body={"companyname": "Bad Co", "companyemail": "nope"}),
        Step("companies-create-no-name", "POST", f"{co}/new", body={"companycity": "Nowhere"}),
        Step("companies-create-fraction-zero", "POST", f"{co}/new", body={"companyname": "Frac Co", "seats": 0, "companyannual_revenue": 0.5}, save="co_frac"),
        Step("companies-patch-fraction-zero", "PATCH", f"{co}/${{co_frac}}/edit", body={"seats": 0, "companyannual_revenue": 0.25}),
        Step("companies-batch-new-mixed", "POST", f"{co}/batch/new", body=[{"companyname": "Globex", "companycity": "Oslo"}, {"companyname": "Bad", "companyemail": "x"},
                                                                       {"companyname": "Initech", "companycity": "Austin"}],
             capture={"co_g": ("json", "companies.#0.id"), "co_i": ("json", "companies.#1.id")}),
        Step("companies-batch-new-dup-name", "POST", f"{co}/batch/new", body=[{"companyname": "Globex"}]),
        Step("companies-list", "GET", co, query={"orderBy": "id"}),
        Step("companies-list-search", "GET", co, query={"search": "glob"}),
        Step("companies-list-where", "GET", co, query=where({"col": "companycity", "expr": "eq", "val": "Oslo"}) + [("orderBy", "id")]),
        Step("companies-get", "GET", f"{co}/${{co_acme}}"),
        Step("companies-patch", "PATCH", f"{co}/${{co_acme}}/edit", body={"companycity": "Hamburg"}),
        Step("companies-put", "PUT", f"{co}/${{co_acme}}/edit", body={"companyname": "Acme Corp"}),
        Step("companies-patch-missing", "PATCH", f"{co}/999999/edit", body={"companycity": "x"}),
        Step("companies-put-missing", "PUT", f"{co}/999999/edit", body={"companyname": "Put Co"}, save="co_put"),
        Step("companies-batch-edit", "PATCH", f"{co}/batch/edit", body=[{"id": "${co_g}", "companycity": "Bergen"}, {"id": 999999, "companycity": "x"},
                                                                    {"id": "${co_i}", "companyemail": "bad"}]),
        Step("companies-add-contact", "POST", f"{co}/${{co_acme}}/contact/${{c_anna}}/add"),
        Step("companies-add-contact-missing", "POST", f"{co}/${{co_acme}}/contact/999999/add"),
        Step("companies-add-contact-missing-company", "POST", f"{co}/999999/contact/${{c_anna}}/add"),
        Step("contacts-get-companies", "GET", "/api/contacts/${c_anna}/companies"),
        Step("companies-remove-contact", "POST", f"{co}/${{co_acme}}/contact/${{c_anna}}/remove"),
        Step("companies-batch-delete", "DELETE", f"{co}/batch/delete", query={"ids": "${co_g},${co_i},999999"}),
        Step("companies-delete", "DELETE", f"{co}/${{co_put}}/delete"),
        Step("companies-delete-missing", "DELETE", f"{co}/999999/delete"),
    ]


def membership_steps() -> list[Step]:
    return [
        Step("segments-create-static", "POST", "/api/segments/new", body={"name": "Static VIPs", "isPublished": True}, save="seg"),
        Step("segments-create-dup-alias", "POST", "/api/segments/new", body={"name": "Static VIPs", "isPublished": True}),
        Step("segments-add-contact", "POST", "/api/segments/${seg}/contact/${c_anna}/add"),
        Step("segments-add-contact-again", "POST", "/api/segments/${seg}/contact/${c_anna}/add"),
        Step("segments-add-contacts-batch", "POST", "/api/segments/${seg}/contacts/add", body={"ids": ["${c_bruno}", "${c_chloe}", 999999]}),
        Step("segments-add-contact-missing", "POST", "/api/segments/${seg}/contact/999999/add"),
        Step("segments-add-to-missing-segment", "POST", "/api/segments/999999/contact/${c_anna}/add"),
        Step("contacts-get-segments", "GET", "/api/contacts/${c_anna}/segments"),
        Step("contacts-search-segment", "GET", "/api/contacts", query={"search": "segment:static-vips", "minimal": "true", "orderBy": "id"}),
        Step("segments-remove-contact", "POST", "/api/segments/${seg}/contact/${c_chloe}/remove"),
        Step("segments-remove-contacts-batch", "POST", "/api/segments/${seg}/contacts/remove", body={"ids": ["${c_bruno}"]}),
        Step("contacts-list-segments", "GET", "/api/contacts/list/segments"),
        Step("stats-lead_lists_leads", "GET", "/api/stats/lead_lists_leads"),
        Step("campaigns-create-with-segment", "POST", "/api/campaigns/new", body={"name": "Onboarding", "isPublished": False, "lists": [{"id": "${seg}"}],
                                                                                  "events": [{"id": "new_1", "name": "Tag it", "type": "lead.changetags", "eventType": "action", "order": 1,
                                                                                              "properties": {"add_tags": ["onboarded"], "remove_tags": []}, "triggerMode": "immediate", "triggerInterval": 0,
                                                                                              "triggerIntervalUnit": "d"}]},
             save="camp", capture={"camp_event": ("json", "campaign.events.#0.id")}),
        Step("campaigns-add-contact", "POST", "/api/campaigns/${camp}/contact/${c_anna}/add"),
        Step("campaigns-add-contact-missing", "POST", "/api/campaigns/${camp}/contact/999999/add"),
        Step("campaigns-contacts", "GET", "/api/campaigns/${camp}/contacts"),
        Step("contacts-get-campaigns", "GET", "/api/contacts/${c_anna}/campaigns"),
        Step("campaigns-events-list", "GET", "/api/campaigns/events"),
        Step("campaigns-events-get", "GET", "/api/campaigns/events/${camp_event}"),
        Step("campaigns-events-contact", "GET", "/api/campaigns/events/contact/${c_anna}"),
        Step("campaigns-clone", "POST", "/api/campaigns/clone/${camp}"),
        Step("campaigns-remove-contact", "POST", "/api/campaigns/${camp}/contact/${c_anna}/remove"),
        Step("stats-campaign_leads", "GET", "/api/stats/campaign_leads"),
        Step("stages-create-qualified", "POST", "/api/stages/new", body={"name": "Qualified", "weight": 10}, save="stage"),
        Step("stages-add-contact", "POST", "/api/stages/${stage}/contact/${c_anna}/add"),
        Step("contacts-search-stage", "GET", "/api/contacts", query={"search": "stage:Qualified", "minimal": "true"}),
        Step("stages-remove-contact", "POST", "/api/stages/${stage}/contact/${c_anna}/remove"),
        Step("tags-create", "POST", "/api/tags/new", body={"tag": "prospect", "description": "Sales prospect"}, save="tag"),
        Step("tags-create-duplicate", "POST", "/api/tags/new", body={"tag": "prospect"}),
        Step("tags-list", "GET", "/api/tags", query={"orderBy": "id"}),
        Step("tags-list-search", "GET", "/api/tags", query={"search": "vip"}),
        Step("tags-patch", "PATCH", "/api/tags/${tag}/edit", body={"description": "changed"}),
        Step("contacts-patch-tags", "PATCH", "/api/contacts/${c_chloe}/edit", body={"tags": ["prospect", "new-one"]}),
        Step("contacts-get-chloe-tags", "GET", "/api/contacts/${c_chloe}"),
        Step("notes-create", "POST", "/api/notes/new", body={"lead": "${c_anna}", "text": "Called, interested in Pro", "type": "call", "dateTime": "2024-05-01T10:00:00+00:00"}, save="note"),
        Step("notes-create-missing-lead", "POST", "/api/notes/new", body={"lead": 999999, "text": "x", "type": "general"}),
        Step("notes-create-no-text", "POST", "/api/notes/new", body={"lead": "${c_anna}", "type": "general"}),
        Step("notes-list", "GET", "/api/notes"),
        Step("notes-get", "GET", "/api/notes/${note}"),
        Step("notes-patch", "PATCH", "/api/notes/${note}/edit", body={"text": "Called twice"}),
        Step("contacts-get-notes", "GET", "/api/contacts/${c_anna}/notes"),
        Step("contacts-get-notes-search", "GET", "/api/contacts/${c_anna}/notes", query={"search": "Called", "limit": "1"}),
        Step("notes-batch-new-mixed", "POST", "/api/notes/batch/new", body=[{"lead": "${c_anna}", "text": "n1", "type": "general"}, {"lead": 999999, "text": "n2", "type": "general"}]),
        Step("notes-delete", "DELETE", "/api/notes/${note}/delete"),
        Step("dnc-add-email", "POST", "/api/contacts/${c_bruno}/dnc/email/add", body={"reason": 3, "comments": "asked"}),
        Step("dnc-add-email-again", "POST", "/api/contacts/${c_bruno}/dnc/email/add"),
        Step("dnc-add-sms", "POST", "/api/contacts/${c_chloe}/dnc/sms/add", body={"reason": 2}),
        Step("dnc-add-missing-contact", "POST", "/api/contacts/999999/dnc/email/add"),
        Step("contacts-get-bruno-dnc", "GET", "/api/contacts/${c_bruno}"),
        Step("stats-lead_donotcontact", "GET", "/api/stats/lead_donotcontact"),
        Step("dnc-remove-email", "POST", "/api/contacts/${c_bruno}/dnc/email/remove"),
        Step("dnc-remove-not-set", "POST", "/api/contacts/${c_anna}/dnc/email/remove"),
        Step("points-plus", "POST", "/api/contacts/${c_anna}/points/plus/5"),
        Step("points-minus-body", "POST", "/api/contacts/${c_anna}/points/minus/2", body={"eventName": "API", "actionName": "minus"}),
        Step("points-set", "POST", "/api/contacts/${c_anna}/points/set/7"),
        Step("points-missing-contact", "POST", "/api/contacts/999999/points/plus/5"),
        Step("stats-lead_points_change_log", "GET", "/api/stats/lead_points_change_log"),
        Step("utm-add", "POST", "/api/contacts/${c_anna}/utm/add", body={"utm_source": "news", "utm_medium": "email", "url": "https://example.com/x"}),
        Step("contacts-get-activity", "GET", "/api/contacts/${c_anna}/activity"),
        Step("contacts-get-devices", "GET", "/api/contacts/${c_anna}/devices"),
        Step("contacts-list-owners", "GET", "/api/contacts/list/owners"),
        Step("contacts-list-fields", "GET", "/api/contacts/list/fields"),
    ]


def batch_edge_steps() -> list[Step]:
    many = [{"firstname": f"Bulk{i}", "email": f"bulk{i}@example.com"} for i in range(201)]
    return [
        Step("contacts-batch-new-empty", "POST", "/api/contacts/batch/new", body=[]),
        Step("contacts-batch-new-not-array", "POST", "/api/contacts/batch/new", body={"firstname": "x"}),
        Step("contacts-batch-new-201", "POST", "/api/contacts/batch/new", body=many),
        Step("contacts-batch-new-mixed", "POST", "/api/contacts/batch/new", body=[{"firstname": "B1", "email": "b1@example.com"}, {"email": "bad"},
                                                                               {"firstname": "B2", "email": "b2@example.com", "shoe_size": 0.5}],
             capture={"cb1": ("json", "contacts.#0.id"), "cb2": ("json", "contacts.#1.id")}),
        Step("contacts-batch-new-dup-in-batch", "POST", "/api/contacts/batch/new", body=[{"firstname": "D1", "email": "dup@example.com"}, {"firstname": "D2", "email": "dup@example.com"}]),
        Step("contacts-batch-new-existing-email", "POST", "/api/contacts/batch/new", body=[{"email": "b1@example.com", "city": "Oslo"}]),
        Step("contacts-batch-edit-empty", "PATCH", "/api/contacts/batch/edit", body=[]),
        Step("contacts-batch-edit-mixed", "PATCH", "/api/contacts/batch/edit", body=[{"id": "${cb1}", "city": "Rome"}, {"id": 999999, "city": "x"}, {"id": "${cb2}", "email": "bad"}]),
        Step("contacts-batch-edit-no-id", "PATCH", "/api/contacts/batch/edit", body=[{"city": "x"}]),
        Step("contacts-batch-edit-put", "PUT", "/api/contacts/batch/edit", body=[{"id": "${cb1}", "firstname": "B1put", "email": "b1@example.com"}, {"id": 999999, "firstname": "new by put"}]),
        Step("contacts-batch-delete-none", "DELETE", "/api/contacts/batch/delete"),
        Step("contacts-batch-delete", "DELETE", "/api/contacts/batch/delete", query={"ids": "${cb1},${cb2},999999"}),
        Step("contacts-batch-delete-json-body", "DELETE", "/api/contacts/batch/delete", body={"ids": [999998]}),
        Step("contacts-delete", "DELETE", "/api/contacts/${c_put}/delete"),
        Step("contacts-get-deleted", "GET", "/api/contacts/${c_put}"),
        Step("contacts-delete-missing", "DELETE", "/api/contacts/999999/delete"),
    ]


def stats_steps() -> list[Step]:
    out = [Step("stats-tables", "GET", "/api/stats")]
    for table in ["audit_log", "lead_event_log", "companies_leads", "email_stats", "page_hits", "form_submissions", "lead_stages_change_log", "campaign_lead_event_log"]:
        out.append(Step(f"stats-{table}", "GET", f"/api/stats/{table}"))
    out += [
        Step("stats-audit_log-start-limit", "GET", "/api/stats/audit_log", query={"start": "1", "limit": "2"}),
        Step("stats-audit_log-where-order", "GET", "/api/stats/audit_log", query=where({"col": "id", "expr": "gt", "val": "3"}) + [("order[0][col]", "id"), ("order[0][dir]", "ASC")]),
        Step("stats-audit_log-where-action", "GET", "/api/stats/audit_log", query=where({"col": "action", "expr": "eq", "val": "delete"}, {"col": "object", "expr": "eq", "val": "lead"})),
        Step("stats-audit_log-bad-col", "GET", "/api/stats/audit_log", query=where({"col": "nosuch", "expr": "eq", "val": "x"})),
        Step("stats-bogus-table", "GET", "/api/stats/bogus_table"),
        Step("stats-users", "GET", "/api/stats/users"),
        Step("stats-lead_event_log-bad-dir", "GET", "/api/stats/lead_event_log", query={"order[0][col]": "id", "order[0][dir]": "sideways", "limit": "2"}),
    ]
    return out


def auth_error_steps() -> list[Step]:
    return [
        Step("users-self", "GET", "/api/users/self"),
        Step("users-list", "GET", "/api/users"),
        Step("users-create-limited", "POST", "/api/users/new", body={"username": "reader", "firstName": "Read", "lastName": "Only", "email": "reader@example.com",
                                                                     "plainPassword": {"password": PW, "confirm": PW}, "role": "${roles_1}"}, save="u_reader"),
        Step("roles-create-reader", "POST", "/api/roles/new", body={"name": "Readers", "isAdmin": False, "rawPermissions": {"lead:leads": ["viewown"]}}, save="role_reader"),
        Step("users-create-reader", "POST", "/api/users/new", body={"username": "reader2", "firstName": "Read", "lastName": "Two", "email": "reader2@example.com",
                                                                    "plainPassword": {"password": PW, "confirm": PW}, "role": "${role_reader}"}, save="u_reader2"),
        Step("users-create-dup-username", "POST", "/api/users/new", body={"username": "reader2", "firstName": "R", "lastName": "T", "email": "other@example.com",
                                                                          "plainPassword": {"password": PW, "confirm": PW}, "role": "${role_reader}"}),
        Step("users-create-dup-email", "POST", "/api/users/new", body={"username": "reader3", "firstName": "R", "lastName": "T", "email": "reader2@example.com",
                                                                       "plainPassword": {"password": PW, "confirm": PW}, "role": "${role_reader}"}),
        Step("users-create-password-mismatch", "POST", "/api/users/new", body={"username": "reader4", "firstName": "R", "lastName": "T", "email": "r4@example.com",
                                                                               "plainPassword": {"password": PW, "confirm": "other"}, "role": "${role_reader}"}),
        Step("users-get", "GET", "/api/users/${u_reader2}"),
        Step("users-permissioncheck", "POST", "/api/users/${u_reader2}/permissioncheck", body={"permissions": ["lead:leads:viewown", "lead:leads:create"]}),
        Step("limited-users-self", "GET", "/api/users/self", auth=f"user:reader2:{PW}"),
        Step("limited-contacts-list", "GET", "/api/contacts", query={"limit": "1"}, auth=f"user:reader2:{PW}"),
        Step("limited-contacts-create-403", "POST", "/api/contacts/new", body={"firstname": "No"}, auth=f"user:reader2:{PW}"),
        Step("limited-contacts-delete-403", "DELETE", "/api/contacts/${c_anna}/delete", auth=f"user:reader2:{PW}"),
        Step("limited-emails-list-403", "GET", "/api/emails", auth=f"user:reader2:{PW}"),
        Step("limited-users-list-403", "GET", "/api/users", auth=f"user:reader2:{PW}"),
        Step("auth-bad-password", "GET", "/api/contacts", query={"limit": "1"}, auth="badpass"),
        Step("auth-none", "GET", "/api/contacts", query={"limit": "1"}, auth="none"),
        Step("auth-unknown-user", "GET", "/api/contacts", auth="user:nobody:x"),
        Step("auth-bogus-token-bearer", "GET", "/api/contacts", auth="bearer:bogus-token-0000"),
        Step("errors-unknown-route", "GET", "/api/nosuchcontext"),
        Step("errors-wrong-method", "POST", "/api/contacts/${c_anna}", body={}),
        Step("errors-get-new", "GET", "/api/contacts/new"),
        Step("errors-delete-collection", "DELETE", "/api/contacts"),
        Step("errors-oauth1", "POST", "/oauth/v1/request_token", auth="none"),
        Step("users-patch", "PATCH", "/api/users/${u_reader2}/edit", body={"firstName": "Reader"}),
        Step("users-delete", "DELETE", "/api/users/${u_reader2}/delete"),
    ]


def oauth_steps() -> list[Step]:
    tok = "/oauth/v2/token"
    cc = {"grant_type": "client_credentials", "client_id": "${client_id}", "client_secret": "${client_secret}"}
    authq = {"client_id": "${client_id}", "response_type": "code", "redirect_uri": REDIRECT, "state": "xyz123"}
    form: dict[str, Any] = {"fos_oauth_server_authorize_form": {"client_id": "${client_id}", "response_type": "code", "redirect_uri": REDIRECT, "state": "xyz123", "scope": ""}, "accepted": "Accept"}
    return [
        Step("oauth2-client-credentials", "POST", tok, body=cc, form=True, auth="none", capture={"cc_token": ("json", "access_token")}),
        Step("oauth2-client-credentials-json", "POST", tok, body=cc, auth="none"),
        Step("oauth2-client-credentials-bad-secret", "POST", tok, body={**cc, "client_secret": "wrong"}, form=True, auth="none"),
        Step("oauth2-unknown-client", "POST", tok, body={**cc, "client_id": "9_nosuch"}, form=True, auth="none"),
        Step("oauth2-password-grant", "POST", tok, body={**cc, "grant_type": "password", "username": "admin", "password": "${password}"}, form=True, auth="none"),
        Step("oauth2-no-grant", "POST", tok, body={"client_id": "${client_id}"}, form=True, auth="none"),
        Step("oauth2-bearer-contacts", "GET", "/api/contacts", query={"limit": "1", "minimal": "true"}, auth="bearer:cc_token"),
        Step("oauth2-bearer-users-self", "GET", "/api/users/self", auth="bearer:cc_token"),
        Step("oauth2-token-query-param", "GET", "/api/contacts", query={"limit": "1", "minimal": "true"}, auth="token-query:cc_token"),
        Step("oauth2-authorize-no-session", "GET", "/oauth/v2/authorize", query=authq, auth="none"),
        Step("oauth2-authorize-login-page", "GET", "/oauth/v2/authorize_login", auth="none", cookie=True),
        Step("oauth2-login-check-bad-password", "POST", "/oauth/v2/authorize_login_check", body={"_username": "admin", "_password": "wrong"}, form=True, auth="none", cookie=True),
        Step("oauth2-login-check", "POST", "/oauth/v2/authorize_login_check", body={"_username": "${username}", "_password": "${password}"}, form=True, auth="none", cookie=True),
        Step("oauth2-authorize-with-session", "GET", "/oauth/v2/authorize", query=authq, auth="none", cookie=True),
        Step("oauth2-authorize-accept", "POST", "/oauth/v2/authorize", query=authq, body=form, form=True, auth="none", cookie=True,
             capture={"auth_code": ("location", r"[?&]code=([^&]+)")}),
        Step("oauth2-authcode-no-redirect", "POST", tok, body={"grant_type": "authorization_code", "client_id": "${client_id}", "client_secret": "${client_secret}", "code": "${auth_code}"},
             form=True, auth="none"),
        Step("oauth2-authcode-token", "POST", tok, body={"grant_type": "authorization_code", "client_id": "${client_id}", "client_secret": "${client_secret}",
                                                        "redirect_uri": REDIRECT, "code": "${auth_code}"}, form=True, auth="none",
             capture={"ac_token": ("json", "access_token"), "refresh": ("json", "refresh_token")}),
        Step("oauth2-authcode-reused", "POST", tok, body={"grant_type": "authorization_code", "client_id": "${client_id}", "client_secret": "${client_secret}",
                                                         "redirect_uri": REDIRECT, "code": "${auth_code}"}, form=True, auth="none"),
        Step("oauth2-authcode-users-self", "GET", "/api/users/self", auth="bearer:ac_token"),
        Step("oauth2-refresh", "POST", tok, body={"grant_type": "refresh_token", "client_id": "${client_id}", "client_secret": "${client_secret}", "refresh_token": "${refresh}"},
             form=True, auth="none"),
        Step("oauth2-refresh-reused", "POST", tok, body={"grant_type": "refresh_token", "client_id": "${client_id}", "client_secret": "${client_secret}", "refresh_token": "${refresh}"},
             form=True, auth="none"),
        Step("oauth2-refresh-bogus", "POST", tok, body={"grant_type": "refresh_token", "client_id": "${client_id}", "client_secret": "${client_secret}", "refresh_token": "bogus"},
             form=True, auth="none"),
        Step("oauth2-authorize-deny", "POST", "/oauth/v2/authorize", query=authq, body={**form, "accepted": None, "rejected": "Deny"}, form=True, auth="none", cookie=True),
        Step("oauth2-authorize-unregistered-redirect", "GET", "/oauth/v2/authorize", query={**authq, "redirect_uri": "http://evil.example/cb"}, auth="none", cookie=True),
        Step("oauth2-authorize-accept-unregistered-redirect", "POST", "/oauth/v2/authorize", query={**authq, "redirect_uri": "http://evil.example/cb"},
             body={**form, "fos_oauth_server_authorize_form": {**form["fos_oauth_server_authorize_form"], "redirect_uri": "http://evil.example/cb"}}, form=True, auth="none", cookie=True),
        Step("oauth2-authorize-unknown-client", "GET", "/oauth/v2/authorize", query={**authq, "client_id": "9_nosuch"}, auth="none", cookie=True),
    ]


def steps() -> list[Step]:
    """The whole script, in the order it runs (generic contexts first: later sections use their ids)."""
    out = field_setup() + generic_steps() + contact_steps() + company_steps() + membership_steps() + batch_edge_steps()
    out += stats_steps() + auth_error_steps() + oauth_steps()
    # the form encoding leaves out None values (Deny has no "accepted")
    for st in out:
        if st.form and isinstance(st.body, dict):
            st.body = {k: v for k, v in st.body.items() if v is not None}
    names = [st.name for st in out]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate step names: {dup}"
    return out
