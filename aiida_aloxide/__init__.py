"""aiida-aloxide: provenance-tracked fracture + ML study of amorphous alumina."""

__version__ = "0.1.0"
