"""Read YAML with ``yaml.safe_load`` semantics while remembering the line of every value.

The result is plain Python data plus a map from a *path* (tuple of keys and list indices) to
its 1-based line, so errors can say ``net.yaml:12``. Duplicate mapping keys are errors
(plain ``safe_load`` silently keeps the last one), and so are keys that are not strings (``5:``,
``yes:``: quote them).

Before any value is built, the document's node graph is measured: aliases that would expand to
more than :data:`MAX_VALUES` values (the "billion laughs"), an alias to a node that contains it,
and nesting deeper than :data:`MAX_DEPTH` are refused with their line; a hostile file cannot
make the reader allocate or recurse without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import Diagnostic, UserError, ValidationError

__all__ = ["MAX_DEPTH", "MAX_VALUES", "YamlDocument", "parse_yaml", "read_yaml"]

Path_ = tuple[object, ...]
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
MAX_VALUES = 2_000_000  # values (scalars, lists, mappings) after alias expansion
MAX_DEPTH = 64  # nested lists and mappings


@dataclass
class YamlDocument:
    file: str
    data: object
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        """Line of ``path``, or of its longest prefix that has one."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def where(self, path: Path_) -> str:
        return f"{self.file}:{self.line(path)}"

    def diagnostic(self, path: Path_, message: str) -> Diagnostic:
        return Diagnostic(where=self.where(path), message=message)

    @property
    def folder(self) -> Path:
        return Path(self.file).parent


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, doc: YamlDocument, errors: list) -> object:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        raise yaml.constructor.ConstructorError(None, None, f"unsupported YAML tag {node.tag}", node.start_mark)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                shown = repr(key) if isinstance(key_node, yaml.ScalarNode) else "a list or mapping"
                errors.append(Diagnostic(where=f"{doc.file}:{key_node.start_mark.line + 1}",
                                         message=f"mapping key {shown} must be a string"
                                         + (f" (quote it: '{key_node.value}')" if isinstance(key_node, yaml.ScalarNode)
                                            else "")))
                continue
            if key in out:
                errors.append(Diagnostic(where=f"{doc.file}:{key_node.start_mark.line + 1}",
                                         message=f"duplicate key '{key}'"))
                continue
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _convert(loader, value_node, (*path, key), doc, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), doc, errors) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _measure(root: yaml.Node) -> tuple[str, int]:
    """Why the document is refused before its values are built ("" if it is not), and the line:
    its values after alias expansion and its depth, counted once per node (depth-first, without
    recursion)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()  # the nodes on the current path
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            kids = _children(node)
            size[key] = min(1 + sum(size[id(k)] for k in kids), MAX_VALUES + 1)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            line = node.start_mark.line + 1
            if size[key] > MAX_VALUES:
                return f"aliases expand to more than {MAX_VALUES:,} values: write the values out, or use .npy files", line
            if depth[key] > MAX_DEPTH:
                return f"lists and mappings nested deeper than {MAX_DEPTH} levels", line
            continue
        if key in size:
            continue
        if key in open_:
            return "an alias refers to a list or mapping that contains it", node.start_mark.line + 1
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)
    return "", 0


def read_yaml(path: str | Path) -> YamlDocument:
    """Parse ``path``; syntax errors and duplicate keys raise with ``file:line``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    return parse_yaml(text, str(path))


def _check_nesting(text: str, path: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ValidationError([Diagnostic(where=f"{path}:{event.start_mark.line + 1}",
                                                  message=f"lists and mappings nested deeper than {MAX_DEPTH} levels")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse ``text`` (from ``path``, which errors name) as :func:`read_yaml` does."""
    doc = YamlDocument(file=str(path), data=None)
    loader = None
    try:
        _check_nesting(text, path)  # PyYAML composes recursively: bound the depth on the flat event stream first
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        refused, line = _measure(root) if root is not None else ("", 0)
        if refused:
            raise ValidationError([Diagnostic(where=f"{path}:{line}", message=refused)])
        errors: list[Diagnostic] = []
        doc.data = _convert(loader, root, (), doc, errors) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ValidationError([Diagnostic(where=f"{path}:{line}", message=f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise ValidationError([Diagnostic(where=f"{path}:1", message=f"invalid YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if errors:
        raise ValidationError(errors)
    return doc
