"""The model families of ptal: LACP (``ptal.models.lacp``) and APN."""
