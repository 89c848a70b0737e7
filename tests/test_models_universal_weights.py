"""Loading Universal-Model U-Net weights (published key names) reproduces the reference network's outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from medvlseg.errors import CheckpointError
from medvlseg.models import build_model, get_preset
from medvlseg.models.backbones.unet3d import UNet3D
from medvlseg.models.backbones.universal_weights import load_universal_weights, map_universal_key


class RefConv(nn.Module):
    """Reference block with the published names: conv1 → bn1 (always batch statistics) → ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, padding=1)
        self.bn1 = nn.BatchNorm3d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bn1
        return F.relu(F.batch_norm(self.conv1(x), None, None, b.weight, b.bias, True, 0.0, b.eps))


class RefDown(nn.Module):
    def __init__(self, cin: int, cmid: int, cout: int) -> None:
        super().__init__()
        self.ops = nn.Sequential(RefConv(cin, cmid), RefConv(cmid, cout))


class RefUp(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.up_conv = nn.ConvTranspose3d(cin, cin, 2, stride=2)
        self.ops = nn.Sequential(RefConv(cin + cskip, cout), RefConv(cout, cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.ops(torch.cat([self.up_conv(x), skip], 1))


class RefUNet3D(nn.Module):
    """Independent re-statement of the published layout (1 input channel), channels c·(1,2,4,8,16)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.down_tr64 = RefDown(1, c, 2 * c)
        self.down_tr128 = RefDown(2 * c, 2 * c, 4 * c)
        self.down_tr256 = RefDown(4 * c, 4 * c, 8 * c)
        self.down_tr512 = RefDown(8 * c, 8 * c, 16 * c)
        self.up_tr256 = RefUp(16 * c, 8 * c, 8 * c)
        self.up_tr128 = RefUp(8 * c, 4 * c, 4 * c)
        self.up_tr64 = RefUp(4 * c, 2 * c, 2 * c)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s64 = self.down_tr64.ops(x)
        s128 = self.down_tr128.ops(F.max_pool3d(s64, 2))
        s256 = self.down_tr256.ops(F.max_pool3d(s128, 2))
        out512 = self.down_tr512.ops(F.max_pool3d(s256, 2))
        return out512, self.up_tr64(self.up_tr128(self.up_tr256(out512, s256), s128), s64)


def _published(c: int = 4) -> tuple[RefUNet3D, dict[str, torch.Tensor]]:
    torch.manual_seed(7)
    ref = RefUNet3D(c)
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm3d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    state = {f"module.backbone.{k}": v for k, v in ref.state_dict().items()}
    state["module.organ_embedding"] = torch.randn(32, 512)  # non-backbone keys are ignored
    state["module.controller.weight"] = torch.randn(153, 512, 1, 1, 1)
    return ref, state


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_published_names_load_and_reproduce_outputs(tmp_path: Path, fmt: str) -> None:
    ref, state = _published()
    path = tmp_path / f"unet.{fmt}"
    if fmt == "pth":
        torch.save({"net": state, "epoch": 3}, path)
    else:
        save_file(state, str(path))
    ours = UNet3D(in_channels=2, width=0.125, norm="batch_stats").eval()
    load_universal_weights(ours, path)
    x = torch.randn(2, 1, 16, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref_b, ref_d = ref(x)
        our_b, our_d = ours(torch.cat([x, torch.zeros_like(x)], dim=1))  # tubularity channel zero
    torch.testing.assert_close(our_b, ref_b, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(our_d, ref_d, rtol=1e-4, atol=1e-5)
    first = ours.enc1.blocks[0].conv.weight
    assert torch.equal(first[:, 0], ref.down_tr64.ops[0].conv1.weight[:, 0]) and not first[:, 1].any()
    assert torch.equal(ours.enc2.blocks[1].norm.running_var, ref.down_tr128.ops[1].bn1.running_var)


def test_pretrained_path_in_model_config(tmp_path: Path) -> None:
    _, state = _published()
    torch.save({"net": state}, tmp_path / "w.pth")
    cfg = get_preset("universal", num_classes=2, text_dim=16, **{"backbone.width": 0.125,
                                                                  "backbone.pretrained": str(tmp_path / "w.pth")})
    model = build_model(cfg)
    assert torch.equal(model.backbone.dec1.up.weight, state["module.backbone.up_tr64.up_conv.weight"])


def test_key_table() -> None:
    assert map_universal_key("module.backbone.down_tr64.ops.0.conv1.weight") == "enc1.blocks.0.conv.weight"
    assert map_universal_key("module.backbone.up_tr128.ops.1.bn1.running_mean") == "dec2.blocks.1.norm.running_mean"
    assert map_universal_key("module.backbone.up_tr256.up_conv.bias") == "dec3.up.bias"
    assert map_universal_key("module.precls_conv.0.weight") is None


def test_clear_errors(tmp_path: Path) -> None:
    _, state = _published()
    ours = UNet3D(in_channels=2, width=0.125)
    missing = {k: v for k, v in state.items() if "down_tr256.ops.1.bn1.weight" not in k}
    torch.save({"net": missing}, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match=r"missing \['enc3.blocks.1.norm.weight'\]"):
        load_universal_weights(ours, tmp_path / "missing.pth")
    extra = dict(state, **{"module.backbone.down_tr64.ops.0.conv2.weight": torch.zeros(1)})
    torch.save({"net": extra}, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match=r"unexpected \['enc1.blocks.0.conv2.weight'\]"):
        load_universal_weights(ours, tmp_path / "extra.pth")
    with pytest.raises(CheckpointError, match="shape"):
        load_universal_weights(UNet3D(in_channels=2, width=0.25), _save(tmp_path / "ok.pth", state))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_universal_weights(ours, tmp_path / "junk.pth")
    with pytest.raises(CheckpointError, match="not found"):
        load_universal_weights(ours, tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="variant 'paper'"):
        load_universal_weights(UNet3D(2, 0.125, variant="light"), tmp_path / "ok.pth")


def _save(path: Path, state: dict[str, torch.Tensor]) -> Path:
    torch.save({"net": state}, path)
    return path


def test_full_width_checkpoint_loads(tmp_path: Path) -> None:
    """Paper width (19.1 M parameters): load published names, one tiny 16³ forward."""
    ref, state = _published(c=32)
    torch.save({"net": state}, tmp_path / "full.pth")
    ours = UNet3D(in_channels=2, norm="batch_stats").eval()
    load_universal_weights(ours, tmp_path / "full.pth")
    assert sum(p.numel() for p in ours.parameters()) == pytest.approx(19.07e6, rel=0.01)
    x = torch.randn(1, 1, 16, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(torch.cat([x, 0 * x], 1))[1], ref(x)[1], rtol=1e-4, atol=1e-5)
