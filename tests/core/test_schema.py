"""Parameter and block schemas: validation, bounds messages, ``$name`` references."""

from __future__ import annotations

import math

import pytest

from resnet_studio.graph import (
    BlockSpec,
    GraphError,
    ParameterError,
    ParamSpec,
    PortSpec,
    is_param_name,
    reference_name,
    resolve_params,
)

KERNEL = ParamSpec("kernel_size", "int", 3, minimum=1, maximum=31)
PADDING = ParamSpec("padding", "int", 1, minimum=0, maximum=31, choices=("same",))
RATE = ParamSpec("p", "float", 0.5, minimum=0.0, maximum=1.0)
SCALE = ParamSpec("scale", "float", 1.0)
BIAS = ParamSpec("bias", "bool", True)
MODE = ParamSpec("mode", "choice", "max", choices=("max", "avg"))
MIXED = ParamSpec("k", "choice", 1, choices=(1, 2, "auto"))
CONV = BlockSpec("conv", "Conv", "Test", params=(KERNEL, PADDING, BIAS),
                 inputs=(PortSpec("in", "feature_map"),))


def rejects(spec: ParamSpec, value) -> str:
    with pytest.raises(ParameterError) as info:
        spec.validate(value, "Conv ‘c1’")
    return str(info.value)


# ----- references ------------------------------------------------------------------------------
@pytest.mark.parametrize("value, name", [("$classes", "classes"), ("$_w2", "_w2"), ("$W", "W")])
def test_reference_name_recognises_references(value, name):
    assert reference_name(value) == name


@pytest.mark.parametrize("value", ["classes", "$", "$1x", "$a b", "$a-b", "$a\n", "x$a", 3, None,
                                   ["$a"]])
def test_reference_name_refuses_everything_else(value):
    assert reference_name(value) is None


def test_is_param_name_matches_what_a_reference_can_name():
    assert is_param_name("width") and is_param_name("_w2")
    for bad in ("", "2w", "a b", "a\n", "$a", 3, None):
        assert not is_param_name(bad)


# ----- int -------------------------------------------------------------------------------------
def test_int_accepts_values_in_bounds_and_normalises_integral_floats():
    assert KERNEL.validate(1, "x") == 1 and KERNEL.validate(31, "x") == 31
    value = KERNEL.validate(5.0, "x")
    assert value == 5 and type(value) is int


@pytest.mark.parametrize("value", [0, 32, -1, 3.5, True, False, "3", None, [3], float("inf"),
                                   float("nan")])
def test_int_refuses_wrong_types_and_out_of_bounds(value):
    assert "an integer from 1 to 31" in rejects(KERNEL, value)


def test_int_message_names_where_the_parameter_and_the_value():
    message = rejects(KERNEL, 99)
    assert message.startswith("Conv ‘c1’, parameter ‘kernel_size’: 99 is not allowed")


def test_int_with_extra_string_choices_accepts_them_and_lists_them_when_refusing():
    assert PADDING.validate("same", "x") == "same"
    assert PADDING.validate(0, "x") == 0
    message = rejects(PADDING, "valid")
    assert "an integer from 0 to 31 or 'same'" in message


def test_int_without_maximum_states_its_open_bound():
    size = ParamSpec("size", "int", 2, minimum=1)
    assert size.validate(10 ** 9, "x") == 10 ** 9
    assert "an integer from 1 to ∞" in rejects(size, 0)


# ----- float -----------------------------------------------------------------------------------
def test_float_normalises_ints_to_floats():
    value = RATE.validate(1, "x")
    assert value == 1.0 and type(value) is float


@pytest.mark.parametrize("value", [-0.1, 1.5, True, "0.5", None, float("nan"), float("inf"),
                                   -float("inf"), 10 ** 400])
def test_float_refuses_wrong_types_non_finite_and_out_of_bounds(value):
    assert "a number from 0 to 1" in rejects(RATE, value)


def test_float_bounds_are_written_as_given():
    spec = ParamSpec("eps", "float", 1e-5, minimum=1e-12, maximum=0.5)
    assert "a number from 1e-12 to 0.5" in rejects(spec, 1.0)
    assert "a number from −∞ to ∞" in rejects(SCALE, float("nan"))


def test_float_without_bounds_accepts_any_finite_number():
    assert SCALE.validate(-1e300, "x") == -1e300
    assert math.copysign(1.0, SCALE.validate(-0.0, "x")) == -1.0


# ----- bool and choice -------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 1, "true", None])
def test_bool_accepts_only_true_and_false(value):
    assert BIAS.validate(False, "x") is False
    assert "true or false" in rejects(BIAS, value)


def test_choice_accepts_listed_values_and_lists_them_when_refusing():
    assert MODE.validate("avg", "x") == "avg"
    message = rejects(MODE, "min")
    assert "'min' is not allowed; expected one of 'max', 'avg'" in message


def test_choice_matches_kind_as_well_as_value():
    assert rejects(MIXED, True)  # True == 1 in Python, but true is not the choice 1
    value = MIXED.validate(2.0, "x")
    assert value == 2 and type(value) is int  # the declared choice is stored
    assert MIXED.validate("auto", "x") == "auto"
    assert "one of 1, 2, 'auto'" in rejects(MIXED, "1")


# ----- references in values --------------------------------------------------------------------
@pytest.mark.parametrize("spec", [KERNEL, RATE, BIAS, MODE])
def test_every_kind_accepts_a_reference(spec):
    assert spec.validate("$width", "x") == "$width"


def test_malformed_reference_is_just_a_wrong_value():
    assert "an integer from 1 to 31" in rejects(KERNEL, "$2")


def test_unknown_parameter_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind 'text'"):
        ParamSpec("x", "text", "")


def test_parameter_error_is_a_graph_error_and_a_value_error():
    error = ParameterError("Conv ‘c1’", "stride", "bad")
    assert isinstance(error, GraphError) and isinstance(error, ValueError)
    assert (error.where, error.param) == ("Conv ‘c1’", "stride")


def test_to_json_writes_only_what_is_set():
    assert KERNEL.to_json() == {"name": "kernel_size", "kind": "int", "default": 3,
                                "minimum": 1, "maximum": 31}
    assert MODE.to_json()["choices"] == ["max", "avg"]
    assert BIAS.to_json() == {"name": "bias", "kind": "bool", "default": True}


# ----- block specs -----------------------------------------------------------------------------
def test_block_spec_finds_ports_and_parameters_by_name():
    assert CONV.param("padding") is PADDING and CONV.param("nope") is None
    assert CONV.input("in").kind == "feature_map" and CONV.input("out") is None
    assert CONV.output("out").name == "out"
    assert CONV.defaults() == {"kernel_size": 3, "padding": 1, "bias": True}


def test_validate_params_fills_defaults_and_normalises():
    assert CONV.validate_params({"kernel_size": 5.0}, "x") == {
        "kernel_size": 5, "padding": 1, "bias": True}


def test_validate_params_refuses_unknown_names_listing_the_known_ones():
    with pytest.raises(ParameterError) as info:
        CONV.validate_params({"kernal_size": 5}, "Conv ‘c1’")
    message = str(info.value)
    assert "parameter ‘kernal_size’" in message
    assert "Conv has no such parameter (it has: kernel_size, padding, bias)" in message


def test_resolve_params_substitutes_references_then_validates():
    env = {"k": 7, "big": 99}
    assert resolve_params({"kernel_size": "$k"}, env, CONV, "x")["kernel_size"] == 7
    with pytest.raises(ParameterError, match="99 is not allowed; expected an integer from 1 to 31"):
        resolve_params({"kernel_size": "$big"}, env, CONV, "x")


def test_resolve_params_names_an_undefined_reference_and_what_is_defined():
    with pytest.raises(ParameterError) as info:
        resolve_params({"kernel_size": "$width"}, {"k": 3, "p": 1}, CONV, "Conv ‘c1’")
    assert "refers to $width, which is not defined here (defined: $k, $p)" in str(info.value)
    with pytest.raises(ParameterError, match=r"defined: none"):
        resolve_params({"kernel_size": "$width"}, {}, CONV, "x")
