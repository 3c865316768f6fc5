"""``python -m target_mautic`` runs the target CLI."""

from target_mautic.target import TargetMautic

TargetMautic.cli()
