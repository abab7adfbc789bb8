"""Names a spec may not use: they would shadow what the generated code itself relies on."""

from __future__ import annotations

import builtins
import keyword

# Public attributes (class and instance) of keras.Model and keras.layers.Layer (Keras 3.15):
# a subclassed model stores each layer as `self.<name>`, so these would shadow Keras's own
# methods and properties.
# tests/test_reserved.py fails when the installed Keras has attributes missing here.
KERAS_ATTRIBUTES = frozenset(
    """
    activity_regularizer add_loss add_metric add_variable add_weight autocast build
    build_from_config built call call_signature_parameters compile compile_from_config compiled
    compiled_loss compiled_metrics compute_dtype compute_loss compute_mask compute_metrics
    compute_output_shape compute_output_spec count_params distribute_reduction_method
    distribute_strategy dtype dtype_policy evaluate export fit from_config get_build_config
    get_compile_config get_config get_layer get_metrics_result get_quantization_layer_structure
    get_state_tree get_weights input input_dtype input_spec jit_compile layers
    load_own_variables load_weights loss losses make_predict_function make_test_function
    make_train_function metrics metrics_names metrics_variables name non_trainable_variables
    non_trainable_weights optimizer output path predict predict_function predict_on_batch
    predict_step quantization_mode quantize quantized_build quantized_call rematerialized_call
    reset_metrics run_eagerly save save_own_variables save_weights set_state_tree set_weights
    stateless_call stateless_compute_loss steps_per_execution stop_training summary supports_jit
    supports_masking symbolic_call test_function test_on_batch test_step to_json train_function
    train_on_batch train_step trainable trainable_variables trainable_weights
    unrolled_steps_per_execution variable_dtype variables weights
    """.split()
)

# Names bound in the scopes where generated code also binds layer and input names.
GENERATED = frozenset(
    """
    build_model cls config from_spec_config in_spec_order InferenceSequential input_shape
    inputs keras kwargs model MODEL_SHA256 SEED seed seeded self set_trainable symbolic_inputs
    training
    """.split()
)

PYTHON = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


def why_reserved(name: str) -> str | None:
    if name in keyword.kwlist or name in keyword.softkwlist:
        return "a Python keyword"
    if name in PYTHON:
        return "a Python builtin"
    if name in GENERATED:
        return "a name the generated code uses"
    if name in KERAS_ATTRIBUTES:
        return "an attribute of keras.Model"
    return None
