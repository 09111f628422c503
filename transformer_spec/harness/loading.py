"""Resolving ``--impl``: a registered name, ``package.module:attr`` or ``path/to/file.py:attr``."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from transformer_spec.implementations.protocol import COMPONENTS, Implementation, check_declarations
from transformer_spec.reference.config import TransformerConfig
from transformer_spec.reference.errors import SpecUsageError
from transformer_spec.harness.target import Target

ENTRY_POINT_GROUP = "transformer_spec.implementations"
DEFAULT_IMPL = "transformer-spec"
"""What ``--impl`` is when not given."""

BUILTIN: dict[str, str] = {
    "transformer-spec": "transformer_spec.implementations.adapters.ours:TransformerSpec",
    "reference": "transformer_spec.implementations.adapters.reference:Reference",
    "torch-sdpa": "transformer_spec.implementations.adapters.torch_sdpa:TorchSDPA",
    "torch-mha": "transformer_spec.implementations.adapters.torch_mha:TorchMHA",
    "torch-transformer": "transformer_spec.implementations.adapters.torch_transformer:TorchTransformer",
}
"""The shipped adapters of torch and of this project, by registered name."""


@dataclass(frozen=True)
class Library:
    """A shipped adapter of a third-party library, installed with its optional extra."""

    name: str  # the registered --impl name
    target: str  # module:Factory of the adapter
    extra: str  # pip install 'transformer-spec[<extra>]'
    module: str  # the library's import name


LIBRARIES = (
    Library("hf-marian", "transformer_spec.implementations.adapters.hf_marian:HFMarian", "hf", "transformers"),
    Library("flax-attention", "transformer_spec.implementations.adapters.flax_attention:FlaxAttention", "flax", "flax"),
    Library("keras-mha", "transformer_spec.implementations.adapters.keras_mha:KerasMHA", "keras", "keras"),
)
"""The shipped library adapters; their verdict tables are docs/libraries/<name>.md."""

MUTANT_PREFIX = "mutant:"
VARIANT_PREFIX = "variant:"


def registered() -> dict[str, str]:
    """Built-in adapters plus those of the entry-point group ``transformer_spec.implementations``."""
    import importlib.metadata  # here: it costs a third of the command line's start-up, and --help needs none of it
    found = dict(BUILTIN) | {library.name: library.target for library in LIBRARIES}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def resolved_target(spec: str) -> str:
    """Where ``spec`` points: ``module:attr``, ``file.py:attr`` or ``mutant:<name>``."""
    if spec.startswith((MUTANT_PREFIX, VARIANT_PREFIX)):
        return spec
    names = registered()
    if spec in names:
        return names[spec]
    if ":" not in spec:
        raise SpecUsageError("--impl", spec, f"not a registered name ({', '.join(sorted(names))}) nor module:attr")
    return spec


def _mutant(spec: str) -> Any:
    from transformer_spec.implementations.mutants import MUTANTS
    name = spec[len(MUTANT_PREFIX):]
    if name not in MUTANTS:
        raise SpecUsageError("--impl", spec, f"no such mutant (known: {', '.join(sorted(MUTANTS))})")
    return MUTANTS[name]


def _variant(spec: str) -> Any:
    from transformer_spec.implementations.variants import VARIANTS, variant_factory
    name = spec[len(VARIANT_PREFIX):]
    if name not in VARIANTS:
        raise SpecUsageError("--impl", spec, f"no such variant (known: {', '.join(sorted(VARIANTS))})")
    return variant_factory(name)


def _module_from_file(path: Path, spec: str) -> ModuleType:
    """Execute an adapter file as a module, registered in ``sys.modules`` (as dataclasses and pickling need)."""
    if not path.is_file():
        raise SpecUsageError("--impl", spec, f"file {path} does not exist")
    module_spec = importlib.util.spec_from_file_location(f"transformer_spec_adapter_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    sys.modules[module.__name__] = module
    module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _extra_hint(spec: str) -> str:
    """How to install the library a shipped library adapter needs ("" for any other adapter)."""
    extras = [library.extra for library in LIBRARIES if library.name == spec]
    return f"; install it with: pip install 'transformer-spec[{extras[0]}]'" if extras else ""


def _import_attr(target: str, spec: str) -> Any:
    where, _, attr = target.rpartition(":")
    if not where or not attr:
        raise SpecUsageError("--impl", spec, "give module:Factory or path/to/file.py:Factory, neither part empty")
    try:
        module = _module_from_file(Path(where), spec) if where.endswith(".py") else importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name is None or not f"{where}.".startswith(f"{exc.name}."):
            raise SpecUsageError("--impl", spec, f"importing {where} failed: {exc}{_extra_hint(spec)}") from None
        raise SpecUsageError("--impl", spec, f"module {exc.name!r} not found") from None
    except SpecUsageError:
        raise
    except Exception as exc:  # the user's module failed while importing, a syntax error included
        raise SpecUsageError("--impl", spec, f"importing {where} failed: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, attr):
        raise SpecUsageError("--impl", spec, f"module {where} has no attribute {attr!r}")
    return getattr(module, attr)


def _kind_of(default: object) -> tuple[tuple[type, ...], str]:
    """The types a deviation of a config field with this default may take, and how to name them."""
    if isinstance(default, bool):
        return (bool,), "true or false"
    if isinstance(default, int):
        return (int,), "an integer"
    if isinstance(default, float):
        return (int, float), "a number"
    return (str,), "a string"


def _check_identity(impl: Any, spec: str) -> None:
    for attribute in ("name", "version"):
        value = getattr(impl, attribute)
        if not isinstance(value, str) or not value:
            raise SpecUsageError("--impl", spec, f"its {attribute} must be a non-empty string, not {value!r}")


def _check_offers(impl: Any, spec: str) -> None:
    offers = impl.offers
    if isinstance(offers, (str, bytes)) or not isinstance(offers, Collection):
        raise SpecUsageError("--impl", spec, "offers must be a set of component names such as "
                                             f"frozenset({{'attention'}}), not {offers!r}")
    unknown = [c for c in offers if not isinstance(c, str) or c not in COMPONENTS]
    if unknown:
        raise SpecUsageError("--impl", spec, f"offers unknown components {sorted(unknown, key=str)}")
    missing = [m for c in offers for m in COMPONENTS[c] if not callable(getattr(impl, m, None))]
    if missing:
        raise SpecUsageError("--impl", spec, f"offers components without methods {missing}")


def _check_deviations(impl: Any, spec: str) -> None:
    """Deviations name config fields, with values of the field's type that the config accepts."""
    deviations = impl.deviations
    if not isinstance(deviations, Mapping):
        raise SpecUsageError("--impl", spec, "deviations must be a mapping {config field: value} ({} for none), "
                                             f"not {deviations!r}")
    paper = TransformerConfig()
    bad = [k for k in deviations if not isinstance(k, str) or k not in TransformerConfig.__dataclass_fields__]
    if bad:
        raise SpecUsageError("--impl", spec, f"declares deviations of unknown config fields {sorted(bad, key=str)}")
    for field, value in deviations.items():
        types, kind = _kind_of(getattr(paper, field))
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise SpecUsageError("--impl", spec, f"declares the deviation {field}={value!r}, which should be {kind}")
    try:
        paper.replace(**deviations)
    except SpecUsageError as exc:
        raise SpecUsageError("--impl", spec, f"declares an impossible deviation: {exc}") from None


def check_implementation(impl: Any, spec: str) -> Implementation:
    """Raise a usage error unless ``impl`` has the protocol's attributes, of the right kinds, and offered methods."""
    if not isinstance(impl, Implementation):
        raise SpecUsageError("--impl", spec, "is not an implementation (needs name, version, offers, deviations)")
    _check_identity(impl, spec)
    _check_offers(impl, spec)
    _check_deviations(impl, spec)
    check_declarations(impl, spec)
    return impl


def load(spec: str, target: Target) -> Implementation:
    """The implementation named by ``spec``, built for ``target``, checked against the protocol."""
    target_ref = resolved_target(spec)
    if target_ref.startswith(MUTANT_PREFIX):
        factory = _mutant(spec)
    elif target_ref.startswith(VARIANT_PREFIX):
        factory = _variant(spec)
    else:
        factory = _import_attr(target_ref, spec)
    if not callable(factory):
        raise SpecUsageError("--impl", spec, "must name a factory (usually a class) taking a Target")
    try:
        impl = factory(target)
    except SpecUsageError:
        raise
    except Exception as exc:
        raise SpecUsageError("--impl", spec, f"building it failed: {type(exc).__name__}: {exc}") from None
    return check_implementation(impl, spec)
