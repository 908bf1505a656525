"""The one reader and writer of run artifacts, format version 1 (``docs/format.md``).

Imports numpy, pandas and pyarrow; never torch, never another part of ``fwanalysis``.
"""

from .bitset import and_count, as_bool, check_packed, or_count, pack, packed_length, popcount, unpack
from .find import find_runs
from .io import ArtifactError, atomic_path, write_bytes, write_json, write_npz
from .lock import RunLock, RunLocked, claim_run, lock_path
from .reader import LayerInfo, Run, StateDump, UpdateSets, load_run, validate_run
from .schema import CONFIG_KEYS, CRITERIA, FORMAT, FORMAT_VERSION, GROWTH, METHODS, step_file
from .writer import RunWriter, canonical_config, run_id_for, software_versions

__all__ = [
    "ArtifactError",
    "Run",
    "LayerInfo",
    "UpdateSets",
    "StateDump",
    "RunWriter",
    "find_runs",
    "load_run",
    "validate_run",
    "run_id_for",
    "canonical_config",
    "software_versions",
    "pack",
    "unpack",
    "as_bool",
    "check_packed",
    "packed_length",
    "popcount",
    "and_count",
    "or_count",
    "atomic_path",
    "write_json",
    "write_npz",
    "write_bytes",
    "RunLock",
    "RunLocked",
    "claim_run",
    "lock_path",
    "CRITERIA",
    "GROWTH",
    "METHODS",
    "CONFIG_KEYS",
    "FORMAT",
    "FORMAT_VERSION",
    "step_file",
]
