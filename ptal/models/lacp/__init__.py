"""LACP — Learning Action Completeness from Points (Lee & Byun, ICCV 2021). Spec: docs/lacp.md."""
from ptal.models.lacp.config import LacpConfig
from ptal.models.lacp.losses import LossWeights, lacp_losses
from ptal.models.lacp.method import LacpMethod
from ptal.models.lacp.network import LacpNetwork, LacpOutput

__all__ = ["LacpConfig", "LacpMethod", "LacpNetwork", "LacpOutput", "LossWeights", "lacp_losses"]
