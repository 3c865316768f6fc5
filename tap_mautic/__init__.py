"""tap-mautic: a Singer tap for Mautic, built on singer-sdk and the shared ``mautic_api`` layer."""

from tap_mautic.tap import TapMautic

__all__ = ["TapMautic"]
