"""Named protocols (``smoke``, ``demo``, ``fast``, ``paper``) stored as YAML, with checked overrides."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

__all__ = ["ProtocolError", "available_protocols", "load_protocol"]


class ProtocolError(ValueError):
    """Unknown protocol name or override key."""


def _read(workflow: str) -> dict[str, Any]:
    """The parsed YAML file of a workflow's protocols."""
    text = resources.files(__package__).joinpath(f"{workflow}.yaml").read_text()
    return yaml.safe_load(text)


def available_protocols(workflow: str) -> list[str]:
    """Names of the protocols a workflow defines."""
    return list(_read(workflow)["protocols"])


def load_protocol(workflow: str, protocol: str | None = None, overrides: dict[str, Any] | None = None) -> dict:
    """Parameters of ``protocol`` for ``workflow`` with ``overrides`` applied (keys must exist)."""
    data = _read(workflow)
    name = protocol or data["default_protocol"]
    if name not in data["protocols"]:
        raise ProtocolError(f"unknown protocol {name!r} for {workflow}; choose from {sorted(data['protocols'])}")
    params = copy.deepcopy(data["protocols"][name])
    params.pop("description", None)
    _merge(params, overrides or {}, path=workflow)
    params["protocol"] = name
    return params


def _merge(base: dict, overrides: dict, path: str) -> None:
    """Recursively apply overrides in place, refusing keys the protocol does not have."""
    if not isinstance(overrides, dict):
        raise ProtocolError(f"overrides for {path} must be a dictionary")
    for key, value in overrides.items():
        if key not in base:
            raise ProtocolError(f"unknown override key {path}.{key}; known keys: {sorted(base)}")
        if isinstance(base[key], dict) and isinstance(value, dict):
            _merge(base[key], value, f"{path}.{key}")
        else:
            base[key] = copy.deepcopy(value)
