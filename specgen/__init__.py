"""specgen: one JSON model spec -> Keras Sequential, Functional and subclassed modules.

Importing specgen never imports TensorFlow or Keras.
"""

from .api import compile, from_json, load, render, validate
from .spec.errors import SpecError, SpecInvalid

__version__ = "0.1.0"
__all__ = [
    "SpecError",
    "SpecInvalid",
    "__version__",
    "compile",
    "from_json",
    "load",
    "render",
    "validate",
]
