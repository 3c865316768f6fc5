"""Mautic's clock for the run's bookmarks comes from the first answer of the run (discovery's reads), not from
a call of its own: on a real 5.1.0 a ``users/self`` call cost ~0.65 s before the first page could be asked."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from mautic_sim import Simulator
from tap_mautic.tap import TapMautic
from tests.support.config import basic_config
from tests.support.tap import sync


def test_a_sync_takes_mautic_clock_from_its_first_answer(sim: Simulator) -> None:
    sim.clear_log()
    run = sync(basic_config(sim), streams=["contacts"])
    paths = [r["path"] for r in sim.request_log]
    assert "/api/users/self" not in paths
    assert run.records["contacts"]


def test_the_clock_is_the_first_answers_date_header(sim: Simulator) -> None:
    tap = TapMautic(config=basic_config(sim), parse_env_config=False)
    first = tap.client.first_date
    assert first is not None  # discovery answered
    assert tap.server_start_time() == parsedate_to_datetime(first).replace(microsecond=0)


def test_without_any_answer_yet_the_clock_is_asked_for(sim: Simulator) -> None:
    tap = TapMautic(config=basic_config(sim), parse_env_config=False)
    tap.client.session.first_date = None  # as before any answer
    sim.clear_log()
    tap._fetch_server_time()  # what server_start_time() calls once per run
    assert [r["path"] for r in sim.request_log] == ["/api/users/self"]
