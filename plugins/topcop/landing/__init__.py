"""Landing storage: where focal points drop returns and read receipts.

One small interface (``Landing``) with a local-folder backend as the embedded
default and an S3 backend for production, chosen by ``TOPCOP_LANDING`` alone.
"""

from __future__ import annotations

from topcop import config
from topcop.landing.base import AREAS, InboxFile, Landing, stored_name

__all__ = ["AREAS", "InboxFile", "Landing", "landing", "stored_name"]


def landing() -> Landing:
    """The configured landing backend (``TOPCOP_LANDING=local|s3``)."""
    backend = config.landing_backend()
    if backend == "local":
        from topcop.landing.local import LocalLanding

        return LocalLanding(config.landing_root())
    if backend == "s3":
        from topcop.landing.s3 import S3Landing

        return S3Landing()
    raise ValueError(f"TOPCOP_LANDING={backend!r}: expected 'local' or 's3'")
