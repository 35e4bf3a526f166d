import math

import pytest

from nmcompiler.units import QuantityError, format_time, parse_quantity


@pytest.mark.parametrize("text,dim,value", [
    ("20 ms", "time", 0.02), ("0.1ms", "time", 1e-4), ("-50 mV", "voltage", -0.05), ("10 Hz", "rate", 10.0),
    ("2 kHz", "rate", 2000.0), ("1.5e-3 s", "time", 1.5e-3), (3, "any", 3.0), ("5 pA", "any", 5e-12),
    ("7", "time", 7.0), ("100 MOhm", "resistance", 1e8),
])
def test_parse(text, dim, value):
    assert math.isclose(parse_quantity(text, dim), value, rel_tol=1e-12)


@pytest.mark.parametrize("text,dim,pattern", [
    ("20 mV", "time", r"^'20 mV' is a voltage, expected a time$"),
    ("20 parsecs", "time", r"^unknown unit 'parsecs'"),
    ("fast", "time", r"^cannot read 'fast' as a quantity"),
    (float("nan"), "any", r"^value nan is not finite$"),
    (True, "time", r"^expected a time quantity, not a boolean$"),
])
def test_parse_errors(text, dim, pattern):
    with pytest.raises(QuantityError, match=pattern):
        parse_quantity(text, dim)


def test_format_time():
    assert format_time(5e-5) == "0.05 ms"
    assert format_time(1e-4) == "0.1 ms"
    assert format_time(1.5) == "1.5 s"
