"""Prompt templates, class names and the text-encoder registry."""

from __future__ import annotations

import pytest

from medvlseg.errors import ConfigError
from medvlseg.text import available_text_encoders, get_text_encoder
from medvlseg.text.prompts import (
    CLASSES_3,
    CLASSES_5,
    DEFAULT_TEMPLATE,
    TEMPLATES,
    class_names,
    class_prompts,
    resolve_template,
)


def test_seed_templates_and_best_default() -> None:
    assert set(TEMPLATES) == {"photo", "ct", "there_is", "branches"}
    # Seed 002 Table I: "... with small branches" scored best (76.22 % DSC).
    assert DEFAULT_TEMPLATE == "branches"
    assert class_prompts(["pulmonary artery"]) == ["A computerized tomography of a pulmonary artery with small branches"]
    assert class_prompts(["vein"], "there_is") == ["There is a vein in this computerized tomography"]
    assert class_prompts(["x"], "photo") == ["A photo of a x"]


def test_class_names_follow_label_contract() -> None:
    # 5-class labels: 1 left artery, 2 left vein, 3 right artery, 4 right vein.
    assert class_names(5) == CLASSES_5
    assert CLASSES_5[0] == "left pulmonary artery" and CLASSES_5[3] == "right pulmonary vein"
    assert class_names(3) == CLASSES_3 == ("pulmonary artery", "pulmonary vein")
    with pytest.raises(ConfigError):
        class_names(4)


def test_user_templates() -> None:
    assert class_prompts(CLASSES_3, "CT scan showing the {class}") == [
        "CT scan showing the pulmonary artery",
        "CT scan showing the pulmonary vein",
    ]
    assert resolve_template("{} in CT") == "{} in CT"
    for bad in ("no placeholder", "{} and {}", "{name} here", "unknown_short_name"):
        with pytest.raises(ConfigError):
            class_prompts(["a"], bad)
    with pytest.raises(ConfigError):
        class_prompts("pulmonary artery")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        class_prompts(["  "])


def test_registry_errors() -> None:
    assert available_text_encoders() == ["bert", "clip", "minilm", "precomputed", "random"]
    with pytest.raises(ConfigError, match="unknown text encoder"):
        get_text_encoder("no-such-encoder")
    with pytest.raises(ConfigError, match="bert"):
        get_text_encoder("bert", path="/nonexistent", no_such_option=1)
