"""``python -m tap_mautic``."""

from tap_mautic.tap import TapMautic

TapMautic.cli()
