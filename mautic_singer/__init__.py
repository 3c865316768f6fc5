"""The singer-sdk side shared by tap-mautic and target-mautic: the SDK seam and the config schema.

Why a package of its own: ``mautic_api`` is the client a script imports and needs no singer-sdk; the tap
and the target both build on singer-sdk the same way, and neither imports the other. Layers:
``mautic_api`` <- ``mautic_singer`` <- ``tap_mautic`` / ``target_mautic``.
"""
