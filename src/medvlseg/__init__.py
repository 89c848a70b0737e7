"""medvlseg: language-guided medical image segmentation (pulmonary artery/vein from chest CT)."""

__version__ = "0.1.0"
