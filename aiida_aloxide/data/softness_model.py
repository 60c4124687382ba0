"""``SoftnessModelData``: a trained linear-SVM softness model stored as an AiiDA node (SPEC §5).

The standardisation (``mean``, ``scale``) and the hyperplane (``w``, ``b``) live in the file
repository as float64 ``.npy`` arrays, so a round trip reproduces the pure
:class:`~aiida_aloxide.analysis.softness.SoftnessModel` bit for bit. The feature names, the
SVM penalty ``C`` and the structure-function parameters needed to recompute the features of a
new configuration are attributes, so they can be queried and a model is self-describing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from aiida import orm
from numpy.typing import ArrayLike, NDArray

from ..analysis.softness import SoftnessModel, softness

__all__ = ["SoftnessModelData"]

_ARRAYS = ("mean", "scale", "w", "b")


class SoftnessModelData(orm.ArrayData):
    """Scaler + hyperplane of a softness SVM with its feature names and structure-function parameters.

    Arrays (repository): ``mean``, ``scale``, ``w`` of shape (n_features,) and ``b`` of shape (1,).
    ``domain_lower`` / ``domain_upper``: the training range of every feature (out-of-domain flags).
    Attributes: ``feature_names``, ``C``, ``n_features``, ``w_norm``, ``intercept``,
    ``configuration`` (the kind of configuration trained on: a model refuses other kinds),
    ``average_window`` and ``structure_functions`` (keyword arguments of
    :func:`~aiida_aloxide.analysis.structure_functions.structure_functions`), ``dropped_features``
    (constant training columns, weight 0), ``z_clip`` and ``max_abs_softness`` (the bound on |S|).
    """

    def __init__(
        self,
        model: SoftnessModel | None = None,
        structure_functions: Mapping[str, Any] | None = None,
        configuration: str = "thermal",
        average_window: float | None = None,
        domain: Mapping[str, ArrayLike] | None = None,
        **kwargs,
    ):
        """Store ``model`` (if given), the feature parameters and the configuration kind it was trained
        on, and the training range of every feature (``domain``: ``lower``, ``upper``)."""
        super().__init__(**kwargs)
        if model is not None:
            self.set_model(model, structure_functions or {}, configuration, average_window, domain)

    def set_model(
        self,
        model: SoftnessModel,
        structure_functions: Mapping[str, Any],
        configuration: str = "thermal",
        average_window: float | None = None,
        domain: Mapping[str, ArrayLike] | None = None,
    ) -> None:
        """Write the arrays and attributes of ``model`` (only on an unstored node)."""
        from ..analysis.configurations import CONFIGURATION_KINDS

        if configuration not in CONFIGURATION_KINDS:
            raise ValueError(f"configuration must be one of {CONFIGURATION_KINDS}, got {configuration!r}")
        self.base.attributes.set("configuration", configuration)
        self.base.attributes.set("average_window", None if average_window is None else float(average_window))
        if domain is not None:
            for key in ("lower", "upper"):
                arr = np.asarray(domain[key], dtype=np.float64)
                if arr.shape != (len(model.feature_names),):
                    raise ValueError(f"domain {key} must have one entry per feature")
                self.set_array(f"domain_{key}", arr)
        for name in ("mean", "scale", "w"):
            self.set_array(name, np.asarray(getattr(model, name), dtype=np.float64))
        self.set_array("b", np.array([model.b], dtype=np.float64))
        self.base.attributes.set("feature_names", list(model.feature_names))
        self.base.attributes.set("n_features", len(model.feature_names))
        self.base.attributes.set("C", float(model.C))
        self.base.attributes.set("intercept", float(model.b))
        self.base.attributes.set("w_norm", float(np.sqrt(model.w @ model.w)))
        self.base.attributes.set("dropped_features", list(model.dropped))
        self.base.attributes.set("n_dropped_features", len(model.dropped))
        self.base.attributes.set("z_clip", None if model.z_clip is None else float(model.z_clip))
        bound = float(model.max_abs_softness())
        self.base.attributes.set("max_abs_softness", bound if np.isfinite(bound) else None)  # None: unbounded
        self.base.attributes.set("structure_functions", _jsonable(dict(structure_functions)))

    @classmethod
    def from_model(cls, model: SoftnessModel, structure_functions: Mapping[str, Any] | None = None):
        """New unstored node holding ``model``."""
        return cls(model=model, structure_functions=structure_functions)

    @property
    def feature_names(self) -> list[str]:
        """Column names in the order the model expects."""
        return list(self.base.attributes.get("feature_names"))

    @property
    def structure_function_parameters(self) -> dict[str, Any]:
        """Keyword arguments for ``structure_functions`` that reproduce the training features."""
        return dict(self.base.attributes.get("structure_functions", {}))

    @property
    def C(self) -> float:  # noqa: N802 - the SVM's name for it
        """SVM penalty the model was trained with."""
        return float(self.base.attributes.get("C"))

    def to_model(self) -> SoftnessModel:
        """The pure-numpy model (exactly the stored float64 numbers)."""
        return SoftnessModel(
            feature_names=tuple(self.feature_names),
            mean=self.get_array("mean"),
            scale=self.get_array("scale"),
            w=self.get_array("w"),
            b=float(self.get_array("b")[0]),
            C=self.C,
            dropped=tuple(self.base.attributes.get("dropped_features", ())),
            z_clip=self.base.attributes.get("z_clip", None),
        )

    @property
    def configuration(self) -> str:
        """The configuration kind the model was trained on (thermal, time_averaged, inherent)."""
        return str(self.base.attributes.get("configuration", "thermal"))

    def domain(self) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        """Training range of every feature (lower, upper), or None for a model stored without it."""
        if "domain_lower" not in self.get_arraynames():
            return None
        return self.get_array("domain_lower"), self.get_array("domain_upper")

    def softness(self, features: ArrayLike) -> NDArray[np.float64]:
        """Signed distance of each feature row to the hyperplane (positive = rearranging side)."""
        return softness(features, self.to_model())


def _jsonable(value: Any) -> Any:
    """Tuples / numpy scalars / arrays → JSON-safe lists and Python numbers (attributes)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
