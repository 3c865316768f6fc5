"""mautic_api.answers: a list answer decoded to a shape keeps everything but the trimmed sub-objects' other
keys, and an answer that does not fit the shape is refused (its caller decodes it in full)."""

from __future__ import annotations

import json

import pytest
import requests

from mautic_api.answers import ListAnswerShape
from mautic_api.http import response_json

SHAPE = ListAnswerShape("contacts", ["id", "points", "owner", "tags"], {"fields": ("all",)})


def contact(cid: int, **extra: object) -> dict[str, object]:
    return {
        "id": cid, "points": 3, "tags": [],
        "owner": {"id": 1, "username": "admin", "extra": [1, {"a": None}]},
        "fields": {"core": {"email": {"id": "6", "alias": "email", "value": f"c{cid}@example.org"}},
                   "all": {"id": cid, "email": f"c{cid}@example.org", "score": 1.5}},
        **extra,
    }


@pytest.mark.parametrize("container", [dict, list])
def test_a_fitting_answer_keeps_all_but_the_other_field_groups(container):
    items = [contact(1), contact(2)]
    contacts = {str(c["id"]): c for c in items} if container is dict else items
    body = {"total": "2", "contacts": contacts}
    got = SHAPE.decode(json.dumps(body).encode())
    assert got is not None
    expected = json.loads(json.dumps(body))
    for item in (expected["contacts"].values() if container is dict else expected["contacts"]):
        item["fields"] = {"all": item["fields"]["all"]}
    assert got == expected


def test_absent_keys_stay_absent_and_empty_containers_are_kept():
    body = {"total": 0, "contacts": {"7": {"id": 7, "fields": []}}}
    assert SHAPE.decode(json.dumps(body).encode()) == body
    assert SHAPE.decode(b'{"total": "0", "contacts": []}') == {"total": "0", "contacts": []}


@pytest.mark.parametrize("body", [
    b'{"total": "1", "contacts": {"1": {"id": 1, "surprise": true}}}',  # a key the shape lacks
    b'{"total": "1", "contacts": [], "errors": [{"code": 500}]}',  # an error inside a 200
    b'{"errors": [{"code": 403, "message": "denied"}]}',
    b'{"total": "1", "contacts": {"1": [1]}}',  # not an object
    b'{"total": "1", "contacts": null}',
    b'{"total": NaN, "contacts": []}',
    b"<html>Maintenance</html>",
])
def test_an_answer_that_does_not_fit_is_refused(body):
    assert SHAPE.decode(body) is None


def answer(body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


def test_response_json_decodes_in_full_what_does_not_fit():
    body = {"total": "1", "contacts": {"1": contact(1, surprise=True)}}
    assert response_json(answer(json.dumps(body).encode()), SHAPE) == (True, body)


def test_response_json_outcomes_for_bodies_msgspec_refuses():
    assert response_json(answer(b'{"a": NaN}'))[0] is True  # json's path reads NaN, as before
    assert response_json(answer(b"<html>oops</html>", "text/html")) == (False, "<html>oops</html>")
    assert response_json(answer(b"not json")) == (False, "not json")
    assert response_json(answer(b"   ")) == (True, None)
    latin = answer('{"name": "Zoë"}'.encode("latin-1"), "application/json; charset=iso-8859-1")
    assert response_json(latin) == (True, {"name": "Zoë"})
