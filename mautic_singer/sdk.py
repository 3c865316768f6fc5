"""singer-sdk glue: the same session, auth, retry policy and error mapping inside singer-sdk's own loops.

Why: the tap's ``RESTStream`` sends its requests itself (``requests_session.send`` inside singer-sdk's
``backoff`` decorator). This mixin makes those requests use the pooled session and authenticator of
:class:`~mautic_api.client.MauticClient` and the retry policy of :mod:`mautic_api.http`, so a tap stream
and a ``MauticClient`` call behave the same. Usage::

    class MauticStream(MauticStreamMixin, RESTStream):   # the mixin must come BEFORE RESTStream
        def get_url_params(self, context, next_page_token):
            # a dict of already-bracketed keys; singer-sdk 0.54 deprecates returning a string
            return dict(php_query({"limit": 100, "where": [...], "orderBy": "id"}))

        def parse_response(self, response):
            body = response_json(response)[1]   # decoded once, cached on the response
            yield from as_records(body.get(self.list_key))

The target's overrides of private Sink and Target methods live here too (:class:`MauticSinkSeam`,
:class:`MauticTargetSeam`), so that every private singer-sdk name the project overrides is in this one module
(tests/project/test_sdk_seam.py pins each one); the target fills in their public hooks.

Configuration and auth errors raised inside a sync become singer-sdk ``ConfigValidationError``, which the
SDK CLI prints as one line and exits 1 without a traceback; :func:`sdk_error` does the same conversion for
code outside a stream (the target's sinks).
"""

from __future__ import annotations

import difflib
import json
import logging
import sys
import traceback
from collections.abc import Generator, Mapping, Sequence
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import click
import requests
import simplejson
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, InvalidRecord, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.plugin_base import SingerCommand
from singer_sdk.singerlib import RecordMessage

from mautic_api.answers import ListAnswerShape
from mautic_api.client import MauticClient
from mautic_api.errors import ConfigurationError, MauticError, RetryableError, scrub
from mautic_api.http import classify_response, php_query, response_json
from mautic_api.retry import wait_generator
from mautic_api.settings import PHP_ALIASES, SDK_SETTINGS, SECRET_SETTINGS, normalize_config

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context


def php_query_string(params: Mapping[str, Any] | None) -> str:
    """PHP-bracket query string (``where[0][col]=id&...``, percent-encoded), e.g. for logging or a URL.

    For ``get_url_params`` prefer ``dict(php_query(params))``: singer-sdk 0.54 deprecates string params.
    """
    return urlencode(php_query(params))


def sdk_error(exc: MauticError) -> Exception:
    """The exception to raise under singer-sdk: ConfigValidationError (one line, exit 1) for config/auth
    errors, the original exception otherwise."""
    if isinstance(exc, ConfigurationError):
        return ConfigValidationError(str(exc), errors=[str(exc)])
    return exc


def config_file_problem(exc: BaseException) -> str | None:
    """One line for a --config/--state/--catalog file singer-sdk could not read, or None for other errors.

    singer-sdk reads those files in its click callbacks, so these errors escape as tracebacks otherwise.
    """
    if isinstance(exc, json.JSONDecodeError | simplejson.JSONDecodeError):
        return f"a --config, --state or --catalog file is not JSON: {exc}"
    if isinstance(exc, FileNotFoundError):  # singer-sdk: "File at '<path>' was not found."
        return f"a --config, --state or --catalog file is missing: {exc}"
    if isinstance(exc, AttributeError | TypeError | ValueError):
        # a file holding a list or a number fails inside singer-sdk's merging of config dicts
        frames = traceback.extract_tb(exc.__traceback__)
        if any("singer_sdk" in f.filename and "config" in f"{f.name} {f.line}" for f in frames):
            return "the --config file must hold a JSON object of settings."
    return None


class MauticConfigMixin:
    """Put first in the bases of the Tap/Target class: normalises config before singer-sdk validates it.

    It overrides ``PluginBase._validate_config``; see the module docstring for the usage.
    """

    _config: dict[str, Any]
    logger: logging.Logger

    def _warn_unknown_settings(self) -> None:
        """A misspelt key (``passwrd``) would silently do nothing: name it and the closest setting."""
        schema = getattr(self, "config_jsonschema", None) or {}
        known = {*schema.get("properties", {}), *PHP_ALIASES, *SDK_SETTINGS}
        name = getattr(self, "name", "this plugin")
        for key in sorted(k for k in self._config if isinstance(k, str) and k not in known):
            if key.startswith("_"):  # Meltano's and the user's own annotations
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else "; it is ignored."
            self.logger.warning("Setting '%s' is not a setting of %s%s", key, name, hint)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        if not isinstance(self._config, dict):
            message = "The config must be a JSON object of settings."
            raise ConfigValidationError(message, errors=[message])
        if raise_errors:
            self._warn_unknown_settings()
        try:
            self._config = normalize_config(self._config, self.logger, strict=raise_errors)
        except ConfigurationError as exc:
            raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        # singer-sdk's schema errors quote the value at fault: never let that value be a secret.
        wrong_type = [k for k in SECRET_SETTINGS if self._config.get(k) not in (None, "")
                      and not isinstance(self._config[k], str)]
        if wrong_type and raise_errors:
            message = f"Setting '{wrong_type[0]}' must be a string (its value is not shown: it is a secret)."
            raise ConfigValidationError(message, errors=[message])
        try:
            # [misc] below: super() of a mixin: the SDK class after it
            errors = super()._validate_config(raise_errors=raise_errors)  # type: ignore[misc]
        except ConfigValidationError as exc:
            secrets = [str(self._config[k]) for k in SECRET_SETTINGS if self._config.get(k) not in (None, "")]
            errors = [scrub(error, secrets) for error in exc.errors]
            first = errors[0] if errors else str(exc)
            raise ConfigValidationError(f"Config validation failed: {first}", errors=errors) from None
        if raise_errors:
            problem = self.config_check()
            if problem:
                raise ConfigValidationError(problem, errors=[problem])
        return errors

    def config_check(self) -> str | None:
        """A plugin's own check beyond the schema (the tap: ``start_date`` must parse); None when fine."""
        return None

class MauticStreamSeam:
    """The tap streams' private singer-sdk overrides; the stream fills in :meth:`bookmark_cap`.

    Put before ``MauticStreamMixin`` and ``RESTStream`` in the stream's bases.
    """

    # provided by singer-sdk's Stream / the tap's stream
    name: str
    logger: Any
    mask: Any
    stream_maps: Any
    effective_schema: dict
    replication_key: str | None
    is_timestamp_replication_key: bool
    TYPE_CONFORMANCE_LEVEL: Any
    _stream_version: Any
    state_manager: Any

    def bookmark_cap(self) -> datetime:
        """The timestamp every bookmark of this run is capped at (the server's clock at run start)."""
        raise NotImplementedError

    # True while a stream emits records that must not move its bookmark (set and reset by the stream)
    bookmark_frozen: bool = False

    def emit_state_now(self) -> None:
        """Write a STATE message now (a mid-stream checkpoint), not at singer-sdk's next flush."""
        self.state_manager.is_flushed = False
        # [attr-defined] below: singer-sdk private, pinned by test_sdk_seam
        self._write_state_message()  # type: ignore[attr-defined]

    def _generate_record_messages(self, record: dict[str, Any]) -> Generator[RecordMessage, None, None]:
        """singer-sdk's RECORD messages, without its per-record deselection walk when the catalog selects
        every property and type conformance is off (the tap's case; that walk was 6 % of a contacts sync):
        the record then goes to the stream maps as it is. Otherwise the SDK's own."""
        if self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE or not self._every_property_selected():
            # [misc] below: super() of a mixin: the SDK class after it
            yield from super()._generate_record_messages(record)  # type: ignore[misc]
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(stream=stream_map.stream_alias, record=mapped,
                                    version=self._stream_version, time_extracted=datetime.now(timezone.utc))

    def _every_property_selected(self) -> bool:
        every = getattr(self, "_all_selected", None)
        if every is None:
            every = self._all_selected = all(self.mask.values())
        return every

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        # Timestamp bookmarks are the server's time at the start of the run, never a record's value:
        # once the walk completes, every change made before that instant has been read (keyset on id
        # does not skip rows), and changes made while it paged are read again next run. singer-sdk
        # promotes this progress marker only when the stream completes (is_sorted = False).
        if self.bookmark_frozen:
            return  # a record below the bookmark, emitted again on purpose (rows a contact merge re-pointed)
        key = self.replication_key
        if key and self.is_timestamp_replication_key:
            latest_record = {**latest_record, key: self.bookmark_cap().isoformat()}
        super()._increment_stream_state(  # type: ignore[misc]  # super() of a mixin: the SDK class after it
            latest_record, context=context)


class MauticCommand(SingerCommand):
    """The one CLI error handler of tap and target: a problem the user can fix becomes one line on stderr
    and exit code 1, no traceback (the line names the cause and the fix).

    ``one_line`` are the exception classes reported that way (the tap adds singer-sdk's API errors; the
    target handles its own errors inside ``invoke``, where it must first drain its input).
    """

    def __init__(self, *args: Any, one_line: tuple[type[BaseException], ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.one_line = one_line

    @classmethod
    def of(cls, command: click.Command, *, one_line: tuple[type[BaseException], ...] = ()) -> MauticCommand:
        """The SDK's command (``get_singer_command``) rebuilt as a MauticCommand, options and all."""
        return cls(
            name=command.name,
            callback=command.callback,
            params=list(command.params),
            context_settings=command.context_settings,
            help=command.help,
            logger=getattr(command, "logger", None),
            one_line=one_line,
        )

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except self.one_line as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            click.echo(f"{self.name}: {message}", err=True)
            sys.exit(1)
        except (ValueError, TypeError, AttributeError, OSError) as exc:
            problem = config_file_problem(exc)
            if problem is None:
                raise
            click.echo(f"{self.name}: {problem}", err=True)
            sys.exit(1)


TAP_ONE_LINE_ERRORS = (MauticError, ConfigValidationError, FatalAPIError, RetriableAPIError)


class MauticPluginMixin(MauticConfigMixin):
    """Mixin for a singer-sdk Tap or Target: Mautic's settings, and the run's ONE :class:`MauticClient`.

    Every stream or sink of the run uses ``plugin.client``: one connection pool, one authenticator (a
    single-use refresh token spent once), one Mautic-Version, advice logged once.
    """

    config: Mapping[str, Any]  # singer-sdk's PluginBase.config

    @cached_property
    def client(self) -> MauticClient:
        # The config was validated (and advised on) by the plugin: the client need not advise again.
        return MauticClient(self.config, logger=self.logger, advise=False)


class MauticStreamMixin:
    """Mixin for a singer-sdk ``RESTStream`` talking to Mautic through ``mautic_api``."""

    config: Mapping[str, Any]
    logger: Any
    _tap: Any

    @property
    def mautic_client(self) -> MauticClient:
        """The tap's one client (:class:`MauticPluginMixin`), shared by every stream of the run."""
        return self._tap.client

    @property
    def url_base(self) -> str:
        return f"{self.mautic_client.base_url}/api"

    @property
    def requests_session(self) -> requests.Session:
        return self.mautic_client.session

    @property
    def authenticator(self) -> Any:
        return self.mautic_client.auth

    @property
    def timeout(self) -> float:
        return self.mautic_client.settings.request_timeout

    @property
    def http_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.mautic_client.settings.user_agent:
            headers["User-Agent"] = self.mautic_client.settings.user_agent
        return headers

    def answer_shape(self) -> ListAnswerShape | None:
        """What the stream reads of its list answers (None: all of it); see :mod:`mautic_api.answers`."""
        return None

    def validate_response(self, response: requests.Response) -> None:
        """Map the answer with mautic_api's rules; retryable ones become singer-sdk RetriableAPIError."""
        response_json(response, self.answer_shape())  # decoded here once (cached), to the stream's shape
        client = self.mautic_client
        try:
            classify_response(response, secrets=client.secrets(), auth_method=client.settings.auth_method)
        except RetryableError as exc:
            raise RetriableAPIError(str(exc), response) from exc
        except MauticError as exc:
            raise self.stream_error(exc) from None

    def stream_error(self, exc: MauticError) -> Exception:
        """The exception a final Mautic error becomes in this stream (override to name the stream)."""
        return sdk_error(exc)

    def response_error_message(self, response: requests.Response) -> str:
        """Never echo the query string (it may hold access_token) or the body."""
        return f"{response.status_code} for path {urlsplit(response.url or '').path}"

    def backoff_wait_generator(self) -> Any:
        return wait_generator(budget=self.mautic_client.settings.max_retry_seconds)

    def backoff_max_tries(self) -> int:
        return self.mautic_client.settings.max_retries + 1

    def backoff_jitter(self, value: float) -> float:
        return value  # wait_generator already jitters, and must not shorten a server-requested wait


class MauticSinkSeam:
    """Mixin for a singer-sdk ``Sink`` (before ``BatchSink``): a record that fails validation is marked, not
    fatal, so it gets its own failed result line and the run goes on; ``_sdc_deleted_at`` is kept.

    Hooks: :meth:`mark_invalid` (how a record is marked) and :meth:`record_problem` (checks of its own).
    """

    _validator: Any
    _key_properties: Sequence[str]
    schema: dict
    datetime_error_treatment: Any

    def mark_invalid(self, record: dict, message: str) -> None:
        """Mark ``record`` as failed with ``message`` (the first problem found wins)."""
        raise NotImplementedError

    def record_problem(self, record: dict) -> str | None:
        """A further problem of a record that passed the schema, or None."""
        return None

    def _validate_and_parse(self, record: dict) -> dict:
        """A record that does not match its own schema is reported failed instead of ending the run."""
        if self._validator is not None:
            try:
                self._validator.validate(record)
            except InvalidRecord as exc:
                self.mark_invalid(record, f"record does not match the stream's schema: {exc.error_message}")
                return record
        try:
            # [attr-defined] below: singer-sdk private, pinned by test_sdk_seam
            self._parse_timestamps_in_record(  # type: ignore[attr-defined]
                record=record, schema=self.schema, treatment=self.datetime_error_treatment
            )
        except (ValueError, TypeError, OverflowError) as exc:
            self.mark_invalid(record, f"unparseable date or date-time: {exc}")
        problem = self.record_problem(record)
        if problem is not None:
            self.mark_invalid(record, problem)
        return record

    def _singer_validate_message(self, record: dict) -> None:
        """A record without its key properties is reported failed, like a null email, not a fatal error."""
        missing = [k for k in self._key_properties if k not in record]
        if missing:
            names = ", ".join(f"'{k}'" for k in missing)
            self.mark_invalid(record, f"record has no key property {names} (key_properties of its stream)")

    def _remove_sdc_metadata_from_schema(self) -> None:
        """Keep a declared ``_sdc_deleted_at`` in the schema (it is parsed and validated like any column)."""
        declared = self.schema.get("properties", {}).get("_sdc_deleted_at")
        # [misc] below: super() of a mixin: the SDK class after it
        super()._remove_sdc_metadata_from_schema()  # type: ignore[misc]
        if declared is not None:
            self.schema["properties"]["_sdc_deleted_at"] = declared

    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        """Keep ``_sdc_deleted_at``: it is how a record asks for a removal."""
        deleted_at = record.get("_sdc_deleted_at")
        # [misc] below: super() of a mixin: the SDK class after it
        super()._remove_sdc_metadata_from_record(record)  # type: ignore[misc]
        if deleted_at is not None:
            record["_sdc_deleted_at"] = deleted_at

    def buffered_batches(self) -> list[dict]:
        """The SDK's contexts of this sink holding records without a result: the batch being drained and
        the pending one (private SDK attributes, read here only)."""
        return [c for c in (getattr(self, "_context_draining", None), getattr(self, "_pending_batch", None))
                if c]


class MauticTargetSeam:
    """Mixin for a singer-sdk ``Target`` (before ``Target``): STATE can be withheld, and the CLI run ends on
    the target's own errors with one line.

    Hooks: :meth:`state_allowed` (False withholds a STATE message), :meth:`before_state` (e.g. flush
    results first), :meth:`note_record` and :meth:`activate_version` (the table versions of a snapshot),
    :meth:`config_problem` (a setting that must be named before jsonschema sees it) and
    :meth:`end_run` (turns an error of the run into a clean exit, or returns to let it propagate).
    """

    _config: dict[str, Any]

    def state_allowed(self) -> bool:
        return True

    def before_state(self) -> None:
        """Called right before a STATE message is written."""

    def config_problem(self) -> str | None:
        """One line naming a setting whose shape would trip jsonschema's own code (a traceback), or None."""
        return None

    @classmethod
    def before_invoke(cls) -> None:
        """Called once before the run starts (e.g. to quiet a logger)."""

    @classmethod
    def end_run(cls, exc: BaseException, *, reading_stdin: bool) -> None:
        """Exit cleanly for errors the target reports itself; return to let ``exc`` propagate."""

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        problem = self.config_problem() if raise_errors else None
        if problem is not None:
            raise ConfigValidationError(problem, errors=[problem])
        # [misc] below: super() of a mixin: the SDK class after it
        return super()._validate_config(raise_errors=raise_errors)  # type: ignore[misc]

    def note_record(self, message_dict: dict) -> None:
        """Called for every RECORD message, before the SDK handles it."""

    def activate_version(self, message_dict: dict) -> None:
        """Handles an ACTIVATE_VERSION message in place of the SDK (which would drain the stream's sink and
        ask it to delete older versions, something no Mautic sink does); by default it is ignored."""

    def _process_record_message(self, message_dict: dict) -> None:
        self.note_record(message_dict)
        # [misc] below: super() of a mixin: the SDK class after it
        super()._process_record_message(message_dict)  # type: ignore[misc]

    def _process_activate_version_message(self, message_dict: dict) -> None:
        self.activate_version(message_dict)

    def _write_state_message(self, state: dict) -> None:
        if not self.state_allowed():
            return
        self.before_state()
        # [misc] below: super() of a mixin: the SDK class after it
        super()._write_state_message(state)  # type: ignore[misc]

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """The target's own errors end the run with one clear line and exit code 1, no traceback."""
        cls.before_invoke()
        try:
            # [misc] below: super() of a mixin: the SDK class after it
            super().invoke(*args, **kwargs)  # type: ignore[misc]
        except SystemExit:
            raise
        except BaseException as exc:
            cls.end_run(exc, reading_stdin=kwargs.get("file_input") is None)
            raise
