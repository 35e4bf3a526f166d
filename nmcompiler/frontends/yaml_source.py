"""Read YAML with ``yaml.safe_load`` semantics while remembering the line of every value.

The result is plain Python data plus a map from a *path* (tuple of keys and list indices) to
its 1-based line, so errors can say ``net.yaml:12``. Duplicate mapping keys are errors
(plain ``safe_load`` silently keeps the last one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import Diagnostic, UserError, ValidationError

__all__ = ["YamlDocument", "read_yaml"]

Path_ = tuple[object, ...]
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


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
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                errors.append(doc.diagnostic(path, f"mapping key {key!r} must be a plain value"))
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


def read_yaml(path: str | Path) -> YamlDocument:
    """Parse ``path``; syntax errors and duplicate keys raise with ``file:line``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({exc})") from None
    doc = YamlDocument(file=str(path), data=None)
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
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
