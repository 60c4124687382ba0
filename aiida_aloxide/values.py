"""Values for AiiDA attributes: databases store neither NaN nor inf, so those become None."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none", "finite_values"]


def finite_or_none(value: Any) -> float | None:
    """A float for an attribute: None, NaN and inf become None."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def finite_values(mapping: dict[str, Any]) -> dict[str, Any]:
    """The mapping with every non-finite float replaced by None (other values untouched)."""
    return {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in mapping.items()}
