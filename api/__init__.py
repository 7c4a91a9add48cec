"""The gateway: bundle uploads, verified content, the index of chain events, the log relay and the dApp."""
