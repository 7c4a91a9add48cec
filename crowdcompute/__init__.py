"""crowdcompute: a decentralized marketplace for ML compute."""

__version__ = "0.1.0"
