"""The JSON Schema forms the training catalog and the data sources share: numbers by their
bounds, names, flags."""

NUMBER = {"type": "number"}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
NON_NEGATIVE = {"type": "number", "minimum": 0}
UNIT = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
BOOL = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
STEPS = {"type": "integer", "minimum": 1}
NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}(?!\\n)$"}
MODE = {"enum": ["auto", "min", "max"]}
REDUCTION = {"enum": ["sum_over_batch_size", "sum", "mean", "none"]}
