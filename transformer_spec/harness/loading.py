"""Resolving ``--impl``: a registered name, ``package.module:attr`` or ``path/to/file.py:attr``."""
from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

from implementations.protocol import COMPONENTS, Implementation
from reference.config import TransformerConfig
from reference.errors import SpecUsageError
from transformer_spec.harness.target import Target

ENTRY_POINT_GROUP = "transformer_spec.implementations"

BUILTIN: dict[str, str] = {
    "transformer-spec": "implementations.adapters.ours:TransformerSpec",
    "reference": "implementations.adapters.reference:Reference",
    "torch-sdpa": "implementations.adapters.torch_sdpa:TorchSDPA",
    "torch-mha": "implementations.adapters.torch_mha:TorchMHA",
    "torch-transformer": "implementations.adapters.torch_transformer:TorchTransformer",
}
"""The shipped adapters, by registered name."""

MUTANT_PREFIX = "mutant:"
VARIANT_PREFIX = "variant:"


def registered() -> dict[str, str]:
    """Built-in adapters plus those of the entry-point group ``transformer_spec.implementations``."""
    found = dict(BUILTIN)
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
    from implementations.mutants import MUTANTS
    name = spec[len(MUTANT_PREFIX):]
    if name not in MUTANTS:
        raise SpecUsageError("--impl", spec, f"no such mutant (known: {', '.join(sorted(MUTANTS))})")
    return MUTANTS[name]


def _variant(spec: str) -> Any:
    from implementations.variants import VARIANTS, variant_factory
    name = spec[len(VARIANT_PREFIX):]
    if name not in VARIANTS:
        raise SpecUsageError("--impl", spec, f"no such variant (known: {', '.join(sorted(VARIANTS))})")
    return variant_factory(name)


def _import_attr(target: str, spec: str) -> Any:
    where, _, attr = target.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise SpecUsageError("--impl", spec, f"file {where} does not exist")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
        module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            raise SpecUsageError("--impl", spec, f"module {exc.name!r} not found") from None
        except Exception as exc:  # the user's module failed while importing
            raise SpecUsageError("--impl", spec, f"importing {where} failed: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, attr):
        raise SpecUsageError("--impl", spec, f"module {where} has no attribute {attr!r}")
    return getattr(module, attr)


def check_implementation(impl: Any, spec: str) -> Implementation:
    """Raise a usage error unless ``impl`` has the protocol's attributes and offered methods."""
    if not isinstance(impl, Implementation):
        raise SpecUsageError("--impl", spec, "is not an implementation (needs name, version, offers, deviations)")
    unknown = set(impl.offers) - set(COMPONENTS)
    if unknown:
        raise SpecUsageError("--impl", spec, f"offers unknown components {sorted(unknown)}")
    missing = [m for c in impl.offers for m in COMPONENTS[c] if not callable(getattr(impl, m, None))]
    if missing:
        raise SpecUsageError("--impl", spec, f"offers components without methods {missing}")
    fields = set(TransformerConfig.__dataclass_fields__)
    bad = set(impl.deviations) - fields
    if bad:
        raise SpecUsageError("--impl", spec, f"declares deviations of unknown config fields {sorted(bad)}")
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
