"""Post-network refinements of artery/vein label maps (`predict --refine`)."""

from medvlseg.infer.refine.topology import REFINE_MODES, TopologyOptions, refine_topology, refine_with_sides

__all__ = ["REFINE_MODES", "TopologyOptions", "refine_topology", "refine_with_sides"]
