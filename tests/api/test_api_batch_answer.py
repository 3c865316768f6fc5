"""Trimmed batch answers (``keep``): the results a caller reads are those of the whole answer, each saved
item cut to the kept keys; an answer of another shape is decoded whole."""

from __future__ import annotations

import json

import msgspec

from mautic_api.answers import BatchAnswerShape
from mautic_api.client import MauticClient
from mautic_sim import Simulator
from tests.support.config import basic_config

KEEP = ("id", "dateAdded")


def test_a_batch_new_read_trimmed_gives_the_same_results_as_read_whole(sim: Simulator):
    client = MauticClient(basic_config(sim))
    existing = sim.query("SELECT email FROM leads WHERE email IS NOT NULL ORDER BY id LIMIT 1")[0]["email"]
    items = [{"email": f"trim{i}@example.org", "firstname": "Trim"} for i in range(5)]
    items += [{"email": existing}, {"email": "not-an-email"}]
    trimmed = client.batch_new("contacts", items, keep=KEEP)
    again = client.batch_new("contacts", items)  # the same batch again, read whole (now all exist)
    client.close()
    assert [r.status for r in trimmed][:5] == [201] * 5 and trimmed[5].status == 200
    assert not trimmed[6].ok and trimmed[6].error == again[6].error
    for cut, whole in zip(trimmed[:6], again[:6], strict=True):
        assert cut.item is not None and whole.item is not None
        assert set(cut.item) == set(KEEP) and cut.item["id"] == whole.item["id"]
        assert cut.item["dateAdded"] == whole.item["dateAdded"]
        assert len(whole.item) > 10  # the whole item carries every field


def test_the_shape_keeps_codes_and_errors_and_refuses_what_does_not_fit():
    shape = BatchAnswerShape("contacts", KEEP)
    answer = {"contacts": {"0": {"id": 7, "dateAdded": "2026-12-06T10:00:00+00:00", "fields": {"all": {}}},
                           "2": []},
              "statusCodes": {"0": 201, "1": 422, "2": 201},
              "errors": {"1": {"code": 422, "message": "email: invalid"}}, "other": {"big": [1, 2, 3]}}
    got = shape.decode(json.dumps(answer).encode())
    assert got == {"contacts": {"0": {"id": 7, "dateAdded": "2026-12-06T10:00:00+00:00"}, "2": []},
                   "statusCodes": answer["statusCodes"], "errors": answer["errors"]}
    listed = {"contacts": [{"id": 1, "email": "a@b"}], "statusCodes": [201]}
    as_list = shape.decode(msgspec.json.encode(listed))
    assert as_list == {"contacts": [{"id": 1}], "statusCodes": [201]}
    assert shape.decode(b'{"contacts": "not items"}') is None
    assert shape.decode(b"<html>") is None
