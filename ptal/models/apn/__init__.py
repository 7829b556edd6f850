"""APN — proposal-based temporal action localization with point-level supervision (Yin et al., BMVC 2023).
Spec: docs/apn.md."""
from ptal.models.apn.config import ApnConfig
from ptal.models.apn.losses import LossWeights, bdm_loss, boundary_targets, ctr_loss, pem_loss, proposal_targets
from ptal.models.apn.method import ApnMethod
from ptal.models.apn.network import ApnNetwork, ApnOutput, BoundaryOutput, ProposalOutput
from ptal.models.apn.text import class_text_embeddings

__all__ = ["ApnConfig", "ApnMethod", "ApnNetwork", "ApnOutput", "BoundaryOutput", "LossWeights", "ProposalOutput", "bdm_loss",
           "boundary_targets", "class_text_embeddings", "ctr_loss", "pem_loss", "proposal_targets"]
