"""Bounded JSON reading and typed fields: bad files and fields give one ChoreoError line."""

import json

import numpy as np
import pytest
from choreo_studio.core.errors import ChoreoError
from choreo_studio.core.json_files import (
    Where,
    json_depth,
    read_json_file,
    require_bool,
    require_dict,
    require_float,
    require_int,
    require_list,
    require_numbers,
    require_str,
    short_repr,
)

W = Where("f.json", "fix it")


def test_reads_a_normal_file(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"a": [1, 2.5, {"b": "c"}]}))
    assert read_json_file(path) == {"a": [1, 2.5, {"b": "c"}]}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested 100000 levels"),
        ('{"a": NaN}', "NaN"),
        ('{"a": Infinity}', "Infinity"),
        ('{"a": 1e999}', "too large"),
        ('{"a": ' + "9" * 5001 + "}", "5001 digits"),
        ('{"a": 1,}', "not valid JSON (line 1"),
        ("", "not valid JSON"),
    ],
)
def test_hostile_text_is_one_line(tmp_path, text, needle):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ChoreoError) as info:
        read_json_file(path, fix="do X")
    message = str(info.value)
    assert needle in message and str(path) in message and message.endswith("do X")
    assert "\n" not in message


def test_brackets_inside_strings_do_not_count_as_depth():
    assert json_depth(b'{"a": "[[[[[[[[{{{{\\"[[["}') == 1
    assert json_depth(b"[[[]], [[[ ]]]]") == 4
    assert json_depth(b"12") == 0


def test_size_limit_and_binary(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b"[" + b"1," * 1000 + b"1]")
    with pytest.raises(ChoreoError, match="larger than"):
        read_json_file(path, max_bytes=100)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ChoreoError, match="not UTF-8"):
        read_json_file(path)


def test_missing_file_and_folder_are_path_errors(tmp_path):
    with pytest.raises(ChoreoError, match="no such file"):
        read_json_file(tmp_path / "nope.json")
    with pytest.raises(ChoreoError, match="folder, not a file"):
        read_json_file(tmp_path)


def test_typed_fields_name_the_field():
    obj = {"n": 3, "x": 2, "s": "hi", "b": True, "l": [1], "d": {"k": "ten"}}
    assert require_int(obj, "n", W, lo=1) == 3
    assert require_float(obj, "x", W) == 2.0
    assert require_str(obj, "s", W) == "hi"
    assert require_bool(obj, "b", W) is True
    assert require_list(obj, "l", W) == [1]
    assert require_int(obj, "missing", W, default=7) == 7
    nested = require_dict(obj, "d", W)
    with pytest.raises(ChoreoError, match=r"f.json: field 'd.k' must be an integer .*'ten'"):
        require_int(nested, "k", W.at("d"))
    with pytest.raises(ChoreoError, match="field 'n' must be between 5 and 9"):
        require_int(obj, "n", W, lo=5, hi=9)
    with pytest.raises(ChoreoError, match="field 'b' must be a number"):
        require_float(obj, "b", W)
    with pytest.raises(ChoreoError, match="field 's' must be true or false"):
        require_bool({"s": "no"}, "s", W)
    with pytest.raises(ChoreoError, match="field 'zz' is missing"):
        require_str(obj, "zz", W)
    with pytest.raises(ChoreoError, match="must be one of a, b"):
        require_str(obj, "s", W, choices=("a", "b"))


def test_number_lists():
    got = require_numbers({"v": [0, 0.5, 1]}, "v", W, lo=0, increasing=True)
    assert np.array_equal(got, [0, 0.5, 1])
    with pytest.raises(ChoreoError, match=r"field 'v\[1\]' must be larger"):
        require_numbers({"v": [1, 1]}, "v", W, increasing=True)
    with pytest.raises(ChoreoError, match=r"field 'v\[0\]' must be a number"):
        require_numbers({"v": ["x"]}, "v", W)
    with pytest.raises(ChoreoError, match=r"has 0 items"):
        require_numbers({"v": []}, "v", W, min_len=1)


def test_short_repr_never_echoes_a_huge_value():
    assert len(short_repr("x" * 10_000_000)) < 50
    assert short_repr({"a": 1}) == "dict"
