"""The seam to singer-sdk: every private (or behaviour-bearing) SDK name this project overrides or calls, with
the signature it was written against. A test here fails when the pinned SDK renames or re-signs one, so the
pin can be raised safely: fix the override named in the failure, then update its line below."""

from __future__ import annotations

import inspect

import pytest
from singer_sdk import RESTStream, Tap, Target
from singer_sdk.plugin_base import PluginBase, SingerCommand
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
from singer_sdk.sinks import Sink

from mautic_singer.sdk import (
    MauticCommand,
    MauticConfigMixin,
    MauticPluginMixin,
    MauticSinkSeam,
    MauticStreamMixin,
    MauticStreamSeam,
    MauticTargetSeam,
)
from tap_mautic.base_stream import MauticStream
from tap_mautic.tap import TapMautic
from target_mautic.reader import MauticSingerReader
from target_mautic.sinks import SINK_CLASSES
from target_mautic.target import TargetMautic

PROCESS_LINES = ("(self, file_input: 't.IO[_RT] | None', callbacks: 'dict[str, t.Callable[[dict], None]]') "
                 "-> 't.Counter[str]'")

# (SDK owner, name, its signature in the pinned SDK, the project class that overrides or calls it)
SEAM = [
    (PluginBase, "_validate_config", "(self, *, raise_errors: 'bool' = True) -> 'list[str]'",
     MauticConfigMixin),
    (PluginBase, "get_singer_command", "() -> 'click.Command'", TapMautic),
    (PluginBase, "get_singer_command", "() -> 'click.Command'", TargetMautic),
    (SingerCommand, "__init__",
     "(self, *args: 't.Any', logger: 'logging.Logger', **kwargs: 't.Any') -> 'None'", MauticCommand),
    (SingerCommand, "main", "(self, args: 'cabc.Sequence[str] | None' = None, "
     "prog_name: 'str | None' = None, complete_var: 'str | None' = None, standalone_mode: 'bool' = True, "
     "windows_expand_args: 'bool' = True, "
     "**extra: 't.Any') -> 't.Any'", MauticCommand),
    (Target, "invoke", "(*, about: 'bool' = False, about_format: 'str | None' = None, config: "
     "'_ConfigInput | None' = None, file_input: 't.IO[str] | None' = None) -> 'None'", MauticTargetSeam),
    (Target, "_write_state_message", "(self, state: 'dict') -> 'None'", MauticTargetSeam),
    (Target, "_process_record_message", "(self, message_dict: 'dict') -> 'None'", MauticTargetSeam),
    (Target, "_process_activate_version_message", "(self, message_dict: 'dict') -> 'None'", MauticTargetSeam),
    # @final in the SDK, overridden anyway (target_mautic/target.py says why)
    (Target, "add_sink", "(self, stream_name: 'str', schema: 'dict', "
     "key_properties: 't.Sequence[str] | None' = None) -> 'Sink'", TargetMautic),
    (Target, "drain_all", "(self, *, is_endofpipe: 'bool' = False) -> 'None'", TargetMautic),
    (PluginBase, "_validate_config", "(self, *, raise_errors: 'bool' = True) -> 'list[str]'",
     MauticTargetSeam),
    (Tap, "cb_test", "(ctx: 'click.Context', param: 'click.Option', value: 'str') -> 'None'", TapMautic),
    (Sink, "_validate_and_parse", "(self, record: 'dict') -> 'dict'", MauticSinkSeam),
    (Sink, "_singer_validate_message", "(self, record: 'dict') -> 'None'", MauticSinkSeam),
    (Sink, "_remove_sdc_metadata_from_schema", "(self) -> 'None'", MauticSinkSeam),
    (Sink, "_remove_sdc_metadata_from_record", "(self, record: 'dict') -> 'None'", MauticSinkSeam),
    (Sink, "_parse_timestamps_in_record", "(self, record: 'dict', schema: 'dict', treatment: "
     "'DatetimeErrorTreatmentEnum') -> 'None'", None),  # called by MauticSinkSeam._validate_and_parse
    (RESTStream, "_generate_record_messages", "(self, record: 'types.Record') -> "
     "'t.Generator[singer.RecordMessage, None, None]'", MauticStreamSeam),
    (RESTStream, "_increment_stream_state", "(self, latest_record: 'types.Record', *, "
     "context: 'types.Context | None' = None) -> 'None'", MauticStreamSeam),
    (RESTStream, "_write_state_message", "(self) -> 'None'", None),  # called by emit_state_now
    (RESTStream, "backoff_wait_generator", None, MauticStreamMixin),
    (RESTStream, "backoff_max_tries", None, MauticStreamMixin),
    (RESTStream, "backoff_jitter", None, MauticStreamMixin),
    (RESTStream, "validate_response", None, MauticStreamMixin),
    (RESTStream, "response_error_message", None, MauticStreamMixin),
]


@pytest.mark.parametrize(("owner", "name", "signature", "ours"), SEAM,
                         ids=[f"{o.__name__}.{n}<-{getattr(c, '__name__', 'called')}" for o, n, _, c in SEAM])
def test_the_overridden_sdk_name_still_has_the_signature_we_wrote_against(owner, name, signature, ours):
    if ours is not None:
        ours_prefix = ("mautic_singer", "tap_mautic", "target_")
        mine = [k for k in ours.__mro__ if k.__module__.startswith(ours_prefix)]
        assert any(name in vars(k) for k in mine), f"{ours.__name__} no longer overrides {name}: drop its row"
    assert hasattr(owner, name), f"singer-sdk no longer has {owner.__name__}.{name}"
    if signature is not None:
        assert str(inspect.signature(getattr(owner, name))) == signature


def test_the_reader_overrides_still_match_the_sdk_reader():
    assert MauticSingerReader.__mro__[1] is SimpleSingerReader
    assert "process_lines" in vars(MauticSingerReader) and "deserialize_json" in vars(MauticSingerReader)
    assert str(inspect.signature(SimpleSingerReader.process_lines)) == PROCESS_LINES
    assert str(inspect.signature(SimpleSingerReader.deserialize_json)) == "(self, line: 'str') -> 'dict'"


def test_the_rest_stream_mixin_comes_before_rest_stream():
    mro = MauticStream.__mro__
    assert mro.index(MauticStreamMixin) < mro.index(RESTStream)


def test_both_plugins_get_the_one_cli_error_handler():
    for plugin in (TapMautic, TargetMautic):
        command = plugin.get_singer_command()
        assert type(command) is MauticCommand
        assert {"--config", "--about"} <= {opt for p in command.params for opt in p.opts}
    assert "--discover" in {opt for p in TapMautic.get_singer_command().params for opt in p.opts}
    assert issubclass(TapMautic, MauticPluginMixin) and issubclass(TargetMautic, MauticPluginMixin)


def test_the_sink_seam_reads_the_sdk_batch_attributes_it_names():
    # MauticSinkSeam.buffered_batches reads these private attributes of the SDK's Sink
    source = inspect.getsource(Sink)
    assert "self._context_draining" in source and "self._pending_batch" in source


def _sdk_private_names(cls: type) -> set[str]:
    """Private (single underscore) names of singer-sdk classes in ``cls``'s MRO."""
    return {n for k in cls.__mro__ if k.__module__.startswith("singer_sdk") for n in vars(k)
            if n.startswith("_") and not n.startswith("__") and n != "_abc_impl"}  # abc bookkeeping


@pytest.mark.parametrize("cls", [TargetMautic, *SINK_CLASSES.values()], ids=lambda c: c.__name__)
def test_every_private_sdk_override_of_the_target_is_in_the_seam_module(cls):
    sdk_private = _sdk_private_names(cls) | {"invoke"}
    for klass in cls.__mro__:
        if klass.__module__.startswith("target_mautic"):
            overridden = sorted(set(vars(klass)) & sdk_private)
            assert not overridden, f"{klass.__name__} overrides {overridden}: move it into mautic_singer.sdk"
    assert issubclass(cls, MauticTargetSeam if cls is TargetMautic else MauticSinkSeam)


def test_the_stream_seam_sets_the_sdk_state_attribute_it_names():
    # MauticStreamSeam.emit_state_now resets this attribute of singer-sdk's state manager
    import singer_sdk.streams.core as core

    assert "is_flushed" in inspect.getsource(core)


def _tap_classes() -> list[type]:
    import tap_mautic.streams as streams

    found = {TapMautic, MauticStream}
    found |= {v for v in vars(streams).values() if isinstance(v, type) and issubclass(v, MauticStream)}
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _tap_classes(), ids=lambda c: c.__name__)
def test_every_private_sdk_override_of_the_tap_is_in_the_seam_module(cls):
    sdk_private = _sdk_private_names(cls)
    for klass in cls.__mro__:
        if klass.__module__.startswith("tap_mautic"):
            overridden = sorted(set(vars(klass)) & sdk_private)
            assert not overridden, f"{klass.__name__} overrides {overridden}: move it into mautic_singer.sdk"
