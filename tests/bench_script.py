"""Load a script of bench/ as a module, for the tests of what it computes (the scripts are run
by path, not installed, so they are not importable by name)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from qa.settings import REPO_ROOT


def bench_script(name: str) -> ModuleType:
    """bench/<name>.py as the module `name` (registered in sys.modules: its dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
