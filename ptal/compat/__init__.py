"""Drop-in replacements of other TAL codebases' post-processing and evaluation, on ptal's ops:
``ptal.compat.actionformer`` (ActionFormer) and ``ptal.compat.opentad`` (OpenTAD). Same signatures, same results."""
