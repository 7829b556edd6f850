"""Hypothesis strategies that corrupt a valid input file: each draws ``(how, content)``, a short description
of the corruption and the corrupted bytes.

Corruptions of any file: truncation, an empty file, bytes that are not UTF-8, a flipped byte. Of a JSON or
YAML document, at a node drawn anywhere in it: a key removed or added, a value of another type, NaN,
infinities, huge, negative and zero numbers, a key duplicated in the text, a video id (an object key or a
string) that looks like a path. Of CSV and line-per-record text: a cell or line replaced by the same kinds
of values, a row dropped, duplicated or given another number of cells. Of ``.npy`` arrays: another dtype,
shape or byte order, non-finite values, a cut or lying header.
"""
from __future__ import annotations

import codecs
import collections
import csv
import io
import json
import math
import os

import numpy as np
import yaml
from hypothesis import strategies as st

from tests.data.test_sfnet import object_array

# Video ids (and other names) that look like paths: they must never lead a write out of its folder.
PATH_LIKE = ("../escaped", "../../escaped", "a/../../escaped", "/tmp/ptal-fuzz-absolute", "sub/video", ".", "..",
             "", "video\x00nul", "..\\escaped", "~/escaped")
ODD_NUMBERS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 1e19, 2**63, -(2**63) - 1, -1, -0.5, 0, 1e-320, 10**400)
ODD_TEXT = ("", " ", "nan", "inf", "-1", "1e999", "0x10", "None", "null", "true", "é", "\u202e", "a" * 300)


def odd_scalars():
    """Values of every JSON type, the awkward numbers first."""
    return st.one_of(st.sampled_from(ODD_NUMBERS), st.sampled_from(ODD_TEXT), st.sampled_from(PATH_LIKE),
                     st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))


def odd_values():
    """Scalars, and containers of the wrong shape."""
    return st.one_of(odd_scalars(), st.lists(odd_scalars(), max_size=3),
                     st.dictionaries(st.text(max_size=5), odd_scalars(), max_size=2), st.just([[1, 2]]),
                     st.just({"segment": [1, 2]}))


@st.composite
def corrupted_bytes(draw, content: bytes):
    """Truncation, emptiness, non-UTF-8 bytes or a flipped byte of ``content``."""
    kind = draw(st.sampled_from(("truncated", "empty", "not UTF-8", "flipped byte", "doubled")))
    if kind == "empty" or not content:
        return "empty", b""
    position = draw(st.integers(0, len(content) - 1))
    if kind == "truncated":
        return f"truncated at byte {position}", content[:position]
    if kind == "not UTF-8":
        bad = draw(st.sampled_from((b"\xff", b"\xfe\xff", b"\xc3\x28", b"\x80", b"\xed\xa0\x80")))
        return f"bytes {bad!r} at {position}", content[:position] + bad + content[position:]
    if kind == "doubled":
        return "content twice", content + content
    flipped = bytes([content[position] ^ (1 << draw(st.integers(0, 7)))])
    return f"byte {position} flipped", content[:position] + flipped + content[position + 1:]


def node_paths(node, prefix=()):
    """Every (path, node) of a nested dict/list/tuple document, the root first."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from node_paths(value, (*prefix, key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from node_paths(value, (*prefix, index))


def replaced(document, path, value):
    """A copy of ``document`` with the node at ``path`` replaced by ``value``."""
    if not path:
        return value
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = replaced(document[head], rest, value)
    return copy


@st.composite
def corrupted_document(draw, document, kept=()):
    """``(how, corrupted document)``: one structural change at a node drawn anywhere in ``document`` but the
    paths ``kept`` (tuples of keys)."""
    paths = [(path, node) for path, node in node_paths(document) if path not in kept]
    path, node = draw(st.sampled_from(paths))
    where = "/".join(map(str, path)) or "the top"
    containers = isinstance(node, (dict, list))
    kinds = ["other value", "odd number"] + (["remove item", "add item", "rename key", "duplicate item"]
                                              if containers and node else []) + (["add item"] if containers else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "other value":
        value = draw(odd_values())
        return f"{where} = {value!r:.60}", replaced(document, path, value)
    if kind == "odd number":
        value = draw(st.sampled_from(ODD_NUMBERS))
        return f"{where} = {value!r:.60}", replaced(document, path, value)
    if isinstance(node, dict):
        keys = list(node)
        key = draw(st.sampled_from(keys)) if keys else None
        if kind == "remove item":
            return f"{where}: {key!r} removed", replaced(document, path, {k: v for k, v in node.items() if k != key})
        if kind == "rename key":  # an id that looks like a path, or one already there
            new = draw(st.sampled_from([*PATH_LIKE, *keys]))
            renamed = {(new if k == key else k): v for k, v in node.items()}
            return f"{where}: key {key!r} renamed {new!r}", replaced(document, path, renamed)
        if kind == "duplicate item":  # written twice in the text: handled by dumps_with_duplicate
            return f"{where}: key {key!r} twice", replaced(document, path, _Duplicated(node, key))
        name, value = draw(st.sampled_from([*PATH_LIKE, "extra", "subset", "annotations", "segment", "label"])), draw(odd_values())
        return f"{where}: extra key {name!r}", replaced(document, path, {**node, name: value})
    if kind == "remove item":
        index = draw(st.integers(0, len(node) - 1))
        return f"{where}: item {index} removed", replaced(document, path, node[:index] + node[index + 1:])
    if kind in ("duplicate item", "rename key"):
        index = draw(st.integers(0, len(node) - 1))
        return f"{where}: item {index} twice", replaced(document, path, [*node, node[index]])
    return f"{where}: extra item", replaced(document, path, [*node, draw(odd_values())])


class _Duplicated(dict):
    """A mapping written to JSON with one of its keys twice (JSON allows it; the last one counts)."""

    def __init__(self, mapping: dict, key):
        super().__init__(mapping)
        self.key = key


def dumps(document) -> str:
    """JSON text of a document, NaN and infinities as Python's json writes them, duplicated keys twice."""
    if isinstance(document, _Duplicated):
        items = [*document.items(), (document.key, document[document.key])]
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v)}" for k, v in items) + "}"
    if isinstance(document, dict):
        return "{" + ", ".join(f"{json.dumps(k if isinstance(k, str) else str(k))}: {dumps(v)}"
                               for k, v in document.items()) + "}"
    if isinstance(document, list):
        return "[" + ", ".join(dumps(item) for item in document) + "]"
    if isinstance(document, int) and not isinstance(document, bool) and abs(document) > 10**300:
        return str(document)  # a number no float holds
    return json.dumps(document)


def corrupted_json(content: bytes):
    """A JSON file's ``content`` structurally corrupted (mostly) or byte-corrupted."""
    document = json.loads(content)
    text = dumps(document).encode()
    structural = corrupted_document(document).map(lambda found: (found[0], dumps(found[1]).encode()))
    return st.one_of(structural, structural, structural, corrupted_bytes(text))


def corrupted_yaml(content: bytes):
    """A YAML file's ``content`` structurally corrupted (mostly) or byte-corrupted."""
    document = yaml.safe_load(content)
    text = yaml.safe_dump(document, sort_keys=False).encode()

    def as_yaml(found):
        how, changed = found
        try:
            return how, yaml.safe_dump(plain(changed), sort_keys=False, allow_unicode=True).encode()
        except yaml.YAMLError:
            return how, dumps(changed).encode()  # JSON is YAML
    structural = corrupted_document(document).map(as_yaml)
    return st.one_of(structural, structural, corrupted_bytes(text))


def plain(document):
    """A corrupted document without the markers of duplicated keys (plain dicts and lists)."""
    if isinstance(document, dict):
        return {key: plain(value) for key, value in document.items()}
    if isinstance(document, list):
        return [plain(value) for value in document]
    return document


@st.composite
def corrupted_rows(draw, rows: list[list[str]], header: bool):
    """Rows of cells (CSV, or one cell a line): a cell replaced, a row dropped, duplicated, given another
    number of cells, or a row of path-like ids; the header row (if ``header``) is fair game too."""
    first = 0 if header and draw(st.booleans()) else int(header)
    index = draw(st.integers(first, len(rows) - 1))
    row = rows[index]
    kind = draw(st.sampled_from(("cell", "cell", "drop row", "duplicate row", "shorter row", "longer row", "path id")))
    changed = [list(r) for r in rows]
    if kind == "cell":
        column = draw(st.integers(0, len(row) - 1))
        value = draw(st.one_of(st.sampled_from(ODD_TEXT), st.sampled_from(PATH_LIKE),
                               st.sampled_from([str(n) for n in ODD_NUMBERS]), st.text(max_size=6)))
        changed[index][column] = value
        how = f"row {index} cell {column} = {value!r:.40}"
    elif kind == "drop row":
        del changed[index]
        how = f"row {index} dropped"
    elif kind == "duplicate row":
        changed.insert(index, list(row))
        how = f"row {index} twice"
    elif kind == "shorter row":
        changed[index] = row[:-1]
        how = f"row {index} without its last cell"
    elif kind == "longer row":
        changed[index] = [*row, "extra"]
        how = f"row {index} with an extra cell"
    else:
        changed[index] = [draw(st.sampled_from(PATH_LIKE)) if cell.startswith("video") else cell for cell in row]
        how = f"row {index} with a path-like video id"
    return how, changed


def corrupted_csv(text: str):
    """A CSV file made from ``text`` (with a header): row-corrupted (mostly) or byte-corrupted."""
    rows = list(csv.reader(io.StringIO(text)))

    def as_csv(found):
        how, changed = found
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(changed)
        return how, out.getvalue().encode()
    structural = corrupted_rows(rows, header=True).map(as_csv)
    return st.one_of(structural, structural, corrupted_bytes(text.encode()))


def corrupted_lines(text: str):
    """A file of one record a line: a line corrupted, dropped, duplicated (mostly) or its bytes corrupted."""
    rows = [[line] for line in text.splitlines()]
    structural = corrupted_rows(rows, header=False).map(
        lambda found: (found[0], "".join(f"{' '.join(row)}\n" for row in found[1]).encode()))
    return st.one_of(structural, structural, corrupted_bytes(text.encode()))


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


@st.composite
def changed_matrix(draw, array: np.ndarray):
    """``(how, array)``: a ``(T, D)`` float array of another dtype, shape, order or byte order, with a non-finite
    or huge value, or of Python objects."""
    kind = draw(st.sampled_from(("dtype", "shape", "values", "fortran", "big-endian", "object")))
    if kind == "dtype":
        dtype = draw(st.sampled_from((np.int64, np.int8, np.bool_, np.complex64, np.float16, np.float64, np.uint8)))
        return f"dtype {np.dtype(dtype)}", array.astype(dtype)
    if kind == "shape":
        shape = draw(st.sampled_from([(array.size,), (1, *array.shape), (0, array.shape[1]), (array.shape[0], 0),
                                      (array.shape[0], array.shape[1] + 1), (array.shape[0], array.shape[1] - 1), ()]))
        return f"shape {shape}", np.asarray(np.resize(array, shape) if shape else np.float32(1.0))
    if kind == "values":
        value = draw(st.sampled_from((np.nan, np.inf, -np.inf, 1e38, -1e38, 3.5e38)))
        changed = array.copy()
        changed[draw(st.integers(0, len(array) - 1)), draw(st.integers(0, array.shape[1] - 1))] = value
        return f"a value {value}", changed
    if kind == "fortran":
        return "Fortran order", np.asfortranarray(array)
    if kind == "big-endian":
        return "big-endian", array.astype(array.dtype.newbyteorder(">"))
    return "Python objects", np.array([[object()]], dtype=object)


@st.composite
def corrupted_npy(draw, array: np.ndarray):
    """An ``.npy`` file made from a ``(T, D)`` float array: changed (:func:`changed_matrix`), a header that lies
    about the shape, or corrupted bytes."""
    kind = draw(st.sampled_from(("changed", "changed", "changed", "changed", "lying header", "bytes", "bytes")))
    if kind == "changed":
        how, changed = draw(changed_matrix(array))
        return how, _npy(changed)
    content = _npy(array)
    if kind == "lying header":
        rows = draw(st.sampled_from((len(array) + 1, 10**12, 2**62)))
        return f"header says {rows} rows", content.replace(f"({len(array)}, ".encode(), f"({rows}, ".encode(), 1)
    return draw(corrupted_bytes(content))


def _entries_array(entries: list, like: np.ndarray) -> np.ndarray:
    """``entries`` as a 1-D array: of ``like``'s dtype where they all still fit it (names stay bytes, numbers
    numbers), else of objects."""
    if like.dtype != object:
        kinds = {bytes} if like.dtype.kind == "S" else {str} if like.dtype.kind == "U" else {int, float}
        if entries and {type(entry) for entry in entries} <= kinds:
            try:
                return np.array(entries, dtype=like.dtype.kind if like.dtype.kind in "SU" else like.dtype)
            except OverflowError:  # an integer no float holds
                pass
    return object_array(entries)


class _Foreign:
    """Pickled as a call of ``function(*arguments)``: what an object array must never make ptal run."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


FOREIGN_GLOBALS = ((os.getcwd,), (print, "unpickled"), (dict, ()), (collections.OrderedDict, ()), (complex, 1, 2),
                   (codecs.encode, "x", "no-such-codec"), (np.dtype, "no-such-dtype"), (slice, 1, 2))
ENTRY_VALUES = (b"\xff\xfe", b"", "\udcff", np.float64(np.nan), np.int64(-1), np.array([[1.0, 2.0, 3.0]]),
                np.array(["a", "b"]), np.zeros((2, 2, 2)), [[np.nan, 1.0]], [[5.0, 1.0]], [[-3.0, 1.0]],
                [[0.0, 1e308]], [[1.0, 2.0, 3.0]], [[1.0]], [1.0, 2.0], [["1", "2"]], [[True, False]], [[None, 1.0]])


@st.composite
def corrupted_entries_npy(draw, content: bytes):
    """An ``.npy`` file of one entry per video (names, subsets, durations, per-video lists of segments or labels,
    per-video feature arrays: :func:`object_array`), changed: an entry (or a node inside one) replaced, removed,
    added or duplicated (:func:`corrupted_document`), an entry that is an array of another dtype or shape, one
    that unpickles by calling something other than NumPy, the array of another dtype or shape, or its bytes
    corrupted."""
    array = np.load(io.BytesIO(content), allow_pickle=True)
    entries = array.tolist() if array.dtype != object else list(array)
    kind = draw(st.sampled_from(("document", "document", "document", "entry", "matrix", "foreign", "array",
                                 "bytes")))
    if kind == "document":
        how, changed = draw(corrupted_document(entries))
        changed = plain(changed)
        if not isinstance(changed, list):
            return how, _npy(np.array(changed, dtype=object))
        return how, _npy(_entries_array(changed, array))
    index = draw(st.integers(0, len(entries) - 1))
    if kind == "entry":
        value = draw(st.one_of(st.sampled_from(ENTRY_VALUES), st.sampled_from(PATH_LIKE).map(str.encode), odd_values()))
        return f"entry {index} = {value!r:.60}", _npy(_entries_array([*entries[:index], value, *entries[index + 1:]],
                                                                    array))
    if kind == "matrix":
        if isinstance(entries[index], np.ndarray) and entries[index].ndim == 2:
            how, changed = draw(changed_matrix(entries[index]))
        else:
            how, changed = "a matrix", np.ones((2, 2))
        return f"entry {index}: {how}", _npy(object_array([*entries[:index], changed, *entries[index + 1:]]))
    if kind == "foreign":
        function, *arguments = draw(st.sampled_from(FOREIGN_GLOBALS))
        how = f"entry {index} unpickles by calling {getattr(function, '__name__', function)}"
        return how, _npy(object_array([*entries[:index], _Foreign(function, *arguments), *entries[index + 1:]]))
    if kind == "array":
        shape = draw(st.sampled_from(("2-D", "0-D", "empty", "numbers", "text")))
        changed = {"2-D": lambda: object_array(entries).reshape(-1, 1), "0-D": lambda: np.array(entries[0], dtype=object),
                   "empty": lambda: array[:0], "numbers": lambda: np.arange(len(entries), dtype=np.float64),
                   "text": lambda: np.array([str(entry) for entry in entries])}[shape]()
        return f"the array {shape}", _npy(changed)
    return draw(corrupted_bytes(content))
