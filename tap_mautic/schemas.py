"""Schemas of the streams, as data.

Why data: thirty contexts share one shape (Mautic's ``FormEntity`` publish fields plus a handful of own
properties), so each context is a line of ``name:type`` pairs taken from the recorded 5.1.0 list answers
(``../shared/mautic-5.1.0/*-list-default.http``). Types: ``s`` string, ``i`` integer, ``n`` number, ``b``
boolean, ``dt`` date-time, ``cat`` a category object, ``x`` any JSON (nested objects/arrays whose shape
Mautic varies, e.g. ``[]`` for an empty object). Contacts, companies and stats tables get their schemas at
discovery time (``tap_mautic.streams``).
"""

from __future__ import annotations

from typing import Any

from tap_mautic.fields import ANY, BOOLEAN, DATETIME, INTEGER, NUMBER, STRING

# A context's category: null or an object (the recorded answers); extra keys Mautic adds are kept.
CATEGORY: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"id": INTEGER, "title": STRING, "alias": STRING, "description": STRING, "color": STRING,
                   "bundle": STRING},
    "additionalProperties": True,
}
TYPES: dict[str, dict[str, Any]] = {"s": STRING, "i": INTEGER, "n": NUMBER, "b": BOOLEAN, "dt": DATETIME,
                                    "x": ANY, "cat": CATEGORY}

# The replication key of every incremental entity stream: dateModified, or dateAdded while Mautic leaves
# dateModified null (until the first update), normalised to ISO 8601 UTC.
MODIFIED_AT = "_mautic_modified_at"
DELETED_AT = "_sdc_deleted_at"

FORM_ENTITY = ("isPublished:b dateAdded:dt dateModified:dt createdBy:i createdByUser:s modifiedBy:i "
               "modifiedByUser:s id:i")
PUBLISH = "publishUp:dt publishDown:dt"
VARIANTS = "variantParent:x variantChildren:x translationParent:x translationChildren:x"

SPECS: dict[str, str] = {
    "segments": f"{FORM_ENTITY} name:s publicName:s alias:s description:s category:cat filters:x isGlobal:b "
                "isPreferenceCenter:b",
    "campaigns": f"{FORM_ENTITY} name:s category:cat description:s allowRestart:b {PUBLISH} events:x forms:x "
                 "lists:x canvasSettings:x",
    "campaign_events": "id:i name:s description:s type:s eventType:s channel:s channelId:x order:i "
                       "properties:x "
                       "triggerDate:dt triggerInterval:i triggerIntervalUnit:s triggerHour:x "
                       "triggerRestrictedStartHour:x triggerRestrictedStopHour:x "
                       "triggerRestrictedDaysOfWeek:x triggerMode:s decisionPath:s parent:x children:x "
                       "campaign:x",
    "emails": f"{FORM_ENTITY} name:s subject:s language:s category:cat fromAddress:s fromName:s "
              "replyToAddress:s bccAddress:s useOwnerAsMailer:b utmTags:x customHtml:s plainText:s "
              "template:s "
              f"emailType:s {PUBLISH} publicPreview:b readCount:i sentCount:i revision:i assetAttachments:x "
              f"variantStartDate:dt variantSentCount:i variantReadCount:i {VARIANTS} unsubscribeForm:x "
              "dynamicContent:x lists:x headers:x",
    "forms": f"{FORM_ENTITY} name:s alias:s category:cat description:s cachedHtml:s {PUBLISH} fields:x "
             "actions:x template:s inKioskMode:b renderStyle:b formType:s postAction:s postActionProperty:s "
             "noIndex:b formAttributes:s language:s",
    "pages": f"{FORM_ENTITY} title:s alias:s category:cat language:s {PUBLISH} hits:i uniqueHits:i "
             "variantHits:i revision:i metaDescription:s redirectType:x redirectUrl:s isPreferenceCenter:b "
             f"noIndex:b variantSettings:x variantStartDate:dt {VARIANTS} template:s customHtml:s",
    "assets": f"{FORM_ENTITY} title:s alias:s category:cat description:s language:s {PUBLISH} "
              "downloadCount:i uniqueDownloadCount:i revision:i extension:s mime:s size:i downloadUrl:s "
              "storageLocation:s disallow:b",
    "notes": "id:i text:s type:s dateTime:dt lead:x",
    "stages": f"{FORM_ENTITY} name:s category:cat weight:i description:s {PUBLISH}",
    "tags": "id:i tag:s description:s",
    "users": f"{FORM_ENTITY} username:s firstName:s lastName:s email:s position:s role:x timezone:s "
             "locale:s lastLogin:dt lastActive:dt signature:s",
    "roles": f"{FORM_ENTITY} name:s description:s isAdmin:b rawPermissions:x",
    "categories": "id:i title:s alias:s description:s color:s bundle:s",
    "contact_fields": f"{FORM_ENTITY} label:s alias:s type:s group:s order:i object:s defaultValue:x "
                      "isRequired:b isFixed:b isListable:b isVisible:b isShortVisible:b isUniqueIdentifier:b "
                      "isPubliclyUpdatable:b properties:x",
    "points": f"{FORM_ENTITY} name:s category:cat type:s description:s {PUBLISH} delta:i properties:x "
              "repeatable:b",
    "point_triggers": f"{FORM_ENTITY} name:s category:cat description:s {PUBLISH} points:i color:s events:x "
                      "triggerExistingLeads:b",
    # The webhook's signing ``secret`` is deliberately not replicated (tap_mautic.streams drops it).
    "webhooks": f"{FORM_ENTITY} name:s description:s webhookUrl:s eventsOrderbyDir:s category:cat triggers:x",
    "focus": f"{FORM_ENTITY} name:s category:cat description:s type:s website:s style:s {PUBLISH} "
             "properties:x utmTags:x form:x htmlMode:x html:s editor:x cache:s",
    "dynamic_contents": f"{FORM_ENTITY} name:s category:cat {PUBLISH} sentCount:i variantParent:x "
                        "variantChildren:x content:s utmTags:x filters:x isCampaignBased:b slotName:s",
    "smses": f"{FORM_ENTITY} name:s message:s language:s category:cat {PUBLISH} sentCount:i",
    "marketing_messages": f"{FORM_ENTITY} name:s description:s {PUBLISH} channels:x category:cat",
    "notifications": f"{FORM_ENTITY} name:s heading:s message:s url:s language:s category:cat button:s "
                     f"utmTags:x {PUBLISH} readCount:i sentCount:i",
    "reports": "id:i name:s description:s system:b isScheduled:b source:s columns:x filters:x tableOrder:x "
               "graphs:x groupBy:x settings:x aggregators:x scheduleUnit:s toAddress:s scheduleDay:s "
               "scheduleMonthFrequency:s",
    "devices": "id:i lead:x clientInfo:x device:s deviceBrand:s deviceModel:s deviceOsName:s "
               "deviceOsShortName:s deviceOsVersion:s deviceOsPlatform:s",
}
SPECS["company_fields"] = SPECS["contact_fields"]

# Contacts: the fixed (non-field) properties of a contact answer; custom fields are added per alias.
CONTACT_SPEC = (f"{FORM_ENTITY} points:i color:s lastActive:dt dateIdentified:dt preferredProfileImage:s "
                "frequencyRules:x")

# Companies answer {id, score, fields} on 5.1.0; the publish fields appear when Mautic sends them.
COMPANY_SPEC = f"{FORM_ENTITY} score:i"

# form_submissions_results: one row per submission of a form, the submitted values under ``results``.
SUBMISSION_SPEC = ("id:i form_id:i lead_id:i dateSubmitted:dt referer:s trackingId:s ipAddress:x page:x "
                   "lead:x form:x")


def properties_from_spec(spec: str) -> dict[str, dict[str, Any]]:
    """``"id:i name:s"`` -> ``{"id": INTEGER, "name": STRING}`` (fresh dicts, safe to mutate)."""
    out: dict[str, dict[str, Any]] = {}
    for item in spec.split():
        name, code = item.split(":")
        out[name] = dict(TYPES[code])
    return out


def object_schema(properties: dict[str, dict[str, Any]], *, required: tuple[str, ...] = ("id",)
                  ) -> dict[str, Any]:
    """A stream schema: ``id`` non-null and required, every other property nullable."""
    props = {name: dict(schema) for name, schema in properties.items()}
    for key in required:
        if key in props:
            types = props[key]["type"]
            props[key]["type"] = [t for t in types if t != "null"] if isinstance(types, list) else types
    return {"type": "object", "properties": props, "required": [k for k in required if k in props]}


def _nested(spec: str) -> dict[str, Any]:
    """A nullable object of ``spec``'s properties that keeps keys Mautic adds (``additionalProperties``)."""
    props = properties_from_spec(spec)
    return {"type": ["object", "null"], "properties": props, "additionalProperties": True}


def _list_of(spec: str) -> dict[str, Any]:
    return {"type": ["array", "null"], "items": _nested(spec)}


# The contact's relations, typed from the recorded answers (owner and stage objects; tags, UTM tags, DNC
# entries and IP addresses as lists; older Mautic sent ipAddresses keyed by IP, the tap emits the values).
CONTACT_RELATIONS: dict[str, dict[str, Any]] = {
    "owner": _nested("id:i username:s firstName:s lastName:s email:s"),
    "stage": _nested("id:i name:s weight:i description:s"),
    "tags": _list_of("id:i tag:s description:s"),
    "utmtags": _list_of("id:i query:x referer:s remoteHost:s url:s userAgent:s utmCampaign:s utmContent:s "
                        "utmMedium:s utmSource:s utmTerm:s"),
    "doNotContact": _list_of("id:i dateAdded:dt reason:i comments:s channel:s channelId:i"),
    "ipAddresses": _list_of("id:i ipAddress:s ipDetails:x"),  # a list on 5.1 (recorded: 017, 164)
}
