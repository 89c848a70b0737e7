"""One Registry for model parts, presets, architectures and text encoders: lazy plug-ins by name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from medvlseg.errors import ConfigError
from medvlseg.utils.registry import Registry


def test_registry_imports_a_plugin_only_when_its_name_is_used() -> None:
    reg: Registry = Registry("widget", {"json_dumps": "json", "missing": "medvlseg.utils.atomic"})
    assert reg.names() == ["json_dumps", "missing"] and "json_dumps" in reg
    with pytest.raises(ValueError, match="did not register widget 'missing'"):
        reg.get("missing")  # the module imports but registers nothing under that name
    reg.register("twice")(len)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("twice")(max)
    with pytest.raises(ConfigError, match="unknown widget 'nope'; known:"):
        reg.build("nope")
    assert reg.build("twice", [1, 2]) == 2


def test_model_and_text_registries_load_their_plugins_lazily() -> None:
    code = (
        "import sys\n"
        "from medvlseg.models import PRESETS, BACKBONES, ARCHITECTURES, get_preset, build_model\n"
        "from medvlseg.text import available_text_encoders\n"
        "heavy = ('medvlseg.models.medvlm.model', 'medvlseg.models.backbones.unet3d', 'medvlseg.text.clip')\n"
        "assert not [m for m in heavy if m in sys.modules], [m for m in heavy if m in sys.modules]\n"
        "assert {'lacaf', 'medvlm', 'segvol'} <= set(PRESETS.names()) and 'medvlm' in ARCHITECTURES\n"
        "assert available_text_encoders() == ['bert', 'clip', 'minilm', 'precomputed', 'random']\n"
        "build_model(get_preset('unet', light=True, num_classes=2))\n"
        "assert 'medvlseg.models.backbones.unet3d' in sys.modules and 'medvlseg.models.medvlm.model' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
