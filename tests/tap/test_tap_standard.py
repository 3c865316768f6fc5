"""singer-sdk's standard tap suite against a simulator of its own.

This module starts its simulator at import, not in a fixture: ``get_tap_test_class`` runs the tap's
discovery while pytest collects the tests (it parametrizes by stream), so the server must answer before any
fixture exists. It is the only tap test that does (tests/target/test_target_standard.py is the target's
one); every other test gets its simulator from a fixture (tests/conftest.py).
"""

from __future__ import annotations

import atexit
import warnings
from typing import Any

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.suites import SingerTestSuite, tap_stream_attribute_tests
from singer_sdk.testing.templates import AttributeTestTemplate

from mautic_sim import Simulator
from tap_mautic.tap import TapMautic
from tests.support.config import SIM_PASSWORD, SIM_USER, basic_config

# the session simulator's seed (the suite ran on it before it moved here): every stream holds records
STANDARD_SIM = Simulator(contacts=120, seed=7, username=SIM_USER, password=SIM_PASSWORD).start()
atexit.register(STANDARD_SIM.stop)
CONFIG = basic_config(STANDARD_SIM, page_size=25)

def _per_property(test_class: type[AttributeTestTemplate]) -> type[AttributeTestTemplate]:
    """singer-sdk 0.54.9's attribute test, made to test each property it is run for.

    The SDK builds ONE instance per attribute test and runs it for every (stream, property) parameter, while
    ``non_null_attribute_values`` is a cached_property: every parameter after the first re-checks the first
    property's values and passes whatever its own values are. Here the values are read per run. Properties
    typed with several JSON types (Mautic's free-form ``properties``, ``filters``, ...) are left to the
    schema validation test: "is an integer" and "is an object" cannot both hold for them.
    """

    class PerProperty(test_class):  # type: ignore[valid-type,misc]  # a class the SDK's suite hands in at run time
        @property
        def non_null_attribute_values(self) -> list[Any]:
            name = self.attribute_name
            values = [r[name] for r in self.stream_records if r.get(name) is not None]
            if not values:
                warnings.warn(UserWarning(f"No records were available to test {name}."), stacklevel=2)
            return values

        @classmethod
        def evaluate(cls, stream: Any, property_name: str, property_schema: dict) -> bool:
            types = property_schema.get("type")
            types = [types] if isinstance(types, str) else [t for t in types or [] if t != "null"]
            return len(types) == 1 and test_class.evaluate(stream, property_name, property_schema)

    PerProperty.__name__ = test_class.__name__
    return PerProperty


ATTRIBUTE_TESTS = SingerTestSuite(
    kind="tap_stream_attribute",
    tests=[_per_property(t) for t in tap_stream_attribute_tests.tests],
)

TestTapMautic = get_tap_test_class(
    tap_class=TapMautic,
    config=CONFIG,
    # The SDK's default cap (150 records a stream) keeps the one dry-run sync quick; the simulator seeds every
    # stream, so each must return records.
    suite_config=SuiteConfig(max_records_limit=150),
    parse_env_config=False,
    include_stream_attribute_tests=False,  # replaced by ATTRIBUTE_TESTS (see _per_property)
    custom_suites=[ATTRIBUTE_TESTS],
)
