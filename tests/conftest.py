"""Shared test setup: offscreen Qt, quiet TensorFlow, small real fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random model set: universal + every category that has data (tests/modelsets.py)."""
    from tests.modelsets import make_model_set

    return make_model_set(tmp_path_factory.mktemp("models_full"))


@pytest.fixture(scope="session")
def animal_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random model set with an own model for 'animal' only (the rest fall back)."""
    from tests.modelsets import make_model_set

    return make_model_set(tmp_path_factory.mktemp("models_animal"), categories=("animal",),
                          seed=1)


@pytest.fixture(scope="session")
def tiny_colorizer(models_dir: Path):
    """One Colorizer over ``models_dir`` shared by the engine and batch tests (loads once)."""
    from core.engine import Colorizer

    return Colorizer(models_dir)
