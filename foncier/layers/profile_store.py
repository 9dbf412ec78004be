"""Scoring profiles on disk: the built-in YAML profiles and planners' own files.

Built-in profiles live in ``foncier/layers/profiles/*.yaml`` (package data): ``default``, ``logistics``,
``bio-economy``, ``eco-construction``, ``agri-food``. A planner copies one (:func:`profile_path` gives the
file, comments included), edits it and loads it by path.

Errors are reported, never raised as stack traces: an unknown name raises
:class:`~foncier.errors.NotFoundError` listing the available profiles; a YAML syntax error or an invalid
profile raises :class:`~foncier.errors.ProfileError` with the file and line.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from foncier.errors import NotFoundError, Problem, ProfileError
from foncier.geo.profile import Profile

logger = logging.getLogger(__name__)

__all__ = ["dump_profile", "list_profiles", "load_profile", "profile_path", "profiles_dir"]

_SUFFIXES = (".yaml", ".yml")


def profiles_dir() -> Path:
    """Directory holding the built-in profiles."""
    return Path(str(resources.files("foncier.layers").joinpath("profiles")))


def list_profiles() -> list[str]:
    """Names of the built-in profiles, sorted (``default`` first)."""
    d = profiles_dir()
    names = sorted(p.stem for p in d.iterdir() if p.suffix in _SUFFIXES) if d.is_dir() else []
    if "default" in names:
        names.remove("default")
        names.insert(0, "default")
    return names


def profile_path(name: str) -> Path:
    """Path of the built-in profile ``name``.

    Raises
    ------
    NotFoundError
        When there is no such built-in profile (the message lists the available ones).
    """
    for suffix in _SUFFIXES:
        p = profiles_dir() / f"{name}{suffix}"
        if p.is_file():
            return p
    raise NotFoundError(
        f"unknown profile '{name}'; available profiles: {', '.join(list_profiles()) or 'none'} "
        "(or give the path of a YAML file)"
    )


def _looks_like_path(value: str | Path) -> bool:
    if isinstance(value, Path):
        return True
    return value.endswith(_SUFFIXES) or "/" in value or "\\" in value


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key '{key}' (first at line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return dict(loader.construct_mapping(node, deep=deep))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise ProfileError(
            [Problem(f"YAML syntax error at {where}{what}", source=source)], title="unreadable profile"
        ) from None
    except yaml.YAMLError as e:
        raise ProfileError([Problem(f"YAML error: {e}", source=source)], title="unreadable profile") from None


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a profile by built-in name (``"logistics"``) or from a YAML file path.

    A file without a ``name`` takes its file name (stem) as name.

    Raises
    ------
    NotFoundError
        Unknown built-in name, or missing file.
    ProfileError
        YAML syntax error (with line and column) or invalid profile (every problem, with the file).
    """
    if _looks_like_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise NotFoundError(f"profile file not found: {path}")
    else:
        path = profile_path(str(name_or_path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(
            [Problem(f"cannot read the file: {e}", source=str(path))], title="unreadable profile"
        ) from None
    data = _parse_yaml(text, str(path))
    if data is None:
        raise ProfileError([Problem("the file is empty", source=str(path))], title="invalid profile")
    if isinstance(data, dict) and "name" not in data:
        data = {"name": path.stem, **data}
    profile = Profile.from_dict(data, source=str(path))
    logger.debug("loaded profile %s from %s", profile.name, path)
    return profile


def dump_profile(profile: Profile) -> str:
    """YAML text of ``profile`` (comments are not kept; copy :func:`profile_path` to keep them)."""
    return yaml.safe_dump(profile.to_dict(), sort_keys=False, allow_unicode=True, width=110)
