"""`TrainConfig`: every setting of a training run (seed 002 defaults), serialised to the run folder as YAML.

Defaults follow seed 002 (section IV.C): AdamW, lr 8e-4, weight decay 1e-5, batch 4, 96³ patches, warm-up +
cosine schedule, best model chosen by validation Dice. CPU users shrink `patch_size`, `batch_size` and use
`light: true` (configs/*.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medvlseg.data.label_scheme import FIVE, THREE, LabelScheme, scheme_for_mode
from medvlseg.data.preprocess import PreprocessConfig
from medvlseg.train.stream import StreamConfig

LABEL_MODES = (FIVE.label_mode, THREE.label_mode)


@dataclass
class TextConfig:
    """Frozen text encoder and the prompt template of the class prompts."""

    name: str = "minilm"  # minilm | clip | bert | precomputed
    options: dict[str, Any] = field(default_factory=dict)  # encoder kwargs (e.g. path: /models/clip)
    template: str = "branches"  # a TEMPLATES short name or a string with one "{}"
    descriptions: str = ""  # "" → template prompts; none | simple | complex → anatomical descriptions (Med-VLM)
    descriptions_file: str = ""  # YAML of descriptions ("" → medvlseg/resources/descriptions.yaml)

    def __post_init__(self) -> None:
        """Reject unknown description levels (ValueError → ConfigError in from_dict)."""
        if self.descriptions not in ("", "none", "simple", "complex"):
            raise ValueError(f"text.descriptions must be '', none, simple or complex, got {self.descriptions!r}")


@dataclass
class AugmentConfig:
    """Random patch augmentations (MONAI): probabilities in [0, 1], intensities on the [0, 1] scale."""

    flip_prob: float = 0.5  # per axis, axes 1 and 2 only (a left–right flip would swap the L/R classes)
    rotate90_prob: float = 0.5  # in the anterior–superior plane (axes 1, 2); axis 0 (left–right) is never flipped
    scale_prob: float = 0.3
    scale_range: float = 0.1  # intensity × (1 ± range)
    shift_prob: float = 0.3
    shift_range: float = 0.05  # intensity + U(−range, range)


@dataclass
class LossConfig:
    """Extra loss terms added to the partial-label ½(Dice + CE) loss (weights, 0 = off)."""

    skeleton_recall: float = 0.0  # weight of the Skeleton Recall loss (Kirchhoff et al., ECCV 2024)

    def __post_init__(self) -> None:
        """Reject negative weights (ValueError → ConfigError in from_dict)."""
        if self.skeleton_recall < 0:
            raise ValueError(f"loss.skeleton_recall must be ≥ 0, got {self.skeleton_recall}")


@dataclass
class TrainConfig:
    """A training run: model preset, data, optimisation, validation (voxels, epochs, seconds)."""

    preset: str = "lacaf"  # lacaf | universal | unet | medvlm
    light: bool = False  # CPU variant of the backbone (width 0.25, strided stem)
    model: dict[str, Any] = field(default_factory=dict)  # dotted ModelConfig overrides, e.g. backbone.width
    label_mode: str = "5class"  # 5class: partial-label loss; 3class: naive (unannotated lung = background)
    train_annotated: str = "any"  # any: every training case; both: only fully-labeled ones (half-labeled left out)
    text: TextConfig = field(default_factory=TextConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)  # used when --data is a manifest
    data: str = ""  # default training data when --data is not given: a manifest, a cache or phantom:PRESET
    stream: StreamConfig = field(default_factory=StreamConfig)  # on-the-fly engine cases (data phantom:PRESET)
    init: str = ""  # start from these weights: a shipped model name (default) or a run folder ("" = scratch)
    patch_size: int = 96  # voxels per edge
    batch_size: int = 4
    epochs: int = 100
    steps_per_epoch: int = 50  # optimizer steps per epoch (patches drawn at random each step)
    lr: float = 8e-4
    weight_decay: float = 1e-5
    warmup_epochs: float = 2.0  # linear warm-up, then cosine decay to 0
    pos_ratio: float = 0.67  # fraction of patches centred on an annotated vessel voxel
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    val_every: int = 1  # epochs between validations (0: never; best = last)
    val_overlap: float = 0.25  # sliding-window overlap of validation
    seed: int = 0
    device: str = "auto"  # auto → cuda when present
    amp: str = "auto"  # auto (bf16 on CUDA, off on CPU) | bf16 | fp16 | off
    num_workers: int = 1  # patch-loading worker processes
    threads: int = 0  # torch intra-op threads (0: torch default)
    tensorboard: bool = False

    def __post_init__(self) -> None:
        """Reject values no run can use (ValueError → ConfigError in from_dict)."""
        if self.train_annotated not in ("any", "both"):
            raise ValueError(f"train_annotated must be 'any' or 'both', got {self.train_annotated!r}")
        if self.label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {self.label_mode!r}")
        for name in ("patch_size", "batch_size", "epochs", "steps_per_epoch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if not 0.0 <= self.pos_ratio <= 1.0:
            raise ValueError(f"pos_ratio must be in [0, 1], got {self.pos_ratio}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise ValueError(f"amp must be auto, bf16, fp16 or off, got {self.amp!r}")
        if self.num_workers < 0 or self.val_every < 0:
            raise ValueError("num_workers and val_every must be ≥ 0")

    @property
    def scheme(self) -> LabelScheme:
        """The label scheme trained: 5-class (L/R artery/vein) or 3-class (artery/vein)."""
        return scheme_for_mode(self.label_mode)

    @property
    def num_classes(self) -> int:
        """Foreground channels: 4 (L/R artery/vein) in 5-class mode, 2 (artery/vein) in 3-class mode."""
        return self.scheme.num_foreground
