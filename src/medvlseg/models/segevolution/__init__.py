"""SegVol / SegEVOLution (seed 004): promptable 3-D ViT segmentation with top-1 Mixture-of-Adapters and context
priors. Importing this package registers the `segevolution` architecture; presets live in models.presets.
"""

from medvlseg.models.segevolution.model import SegEvolution, build_segevolution
from medvlseg.models.segevolution.options import SegEvoOptions
from medvlseg.models.segevolution.prompts import voxel_to_unit

__all__ = ["SegEvoOptions", "SegEvolution", "build_segevolution", "voxel_to_unit"]
