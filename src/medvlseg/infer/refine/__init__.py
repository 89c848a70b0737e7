"""Post-network refinements of artery/vein label maps (`predict --refine`)."""

from medvlseg.infer.refine.topology import REFINE_MODES, TopologyOptions, av_evidence, refine_labels, refine_topology

__all__ = ["REFINE_MODES", "TopologyOptions", "av_evidence", "refine_labels", "refine_topology"]
