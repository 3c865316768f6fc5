"""Compatibility shim: the singer-sdk seam moved to :mod:`mautic_singer.sdk` (``mautic_api`` needs no
singer-sdk). Kept only for target_mautic's imports until they point at the new place; needs singer-sdk."""

from mautic_singer.sdk import (
    TAP_ONE_LINE_ERRORS,
    MauticCommand,
    MauticConfigMixin,
    MauticPluginMixin,
    MauticSinkSeam,
    MauticStreamMixin,
    MauticStreamSeam,
    MauticTargetSeam,
    php_query_string,
    sdk_error,
)

__all__ = [
    "TAP_ONE_LINE_ERRORS",
    "MauticCommand",
    "MauticConfigMixin",
    "MauticPluginMixin",
    "MauticSinkSeam",
    "MauticStreamMixin",
    "MauticStreamSeam",
    "MauticTargetSeam",
    "php_query_string",
    "sdk_error",
]
